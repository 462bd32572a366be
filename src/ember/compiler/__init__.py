"""``ember.compile``: capture a function or module as a graph and run it optimized.

Example:
    >>> import ember
    >>> f = ember.compile(lambda x: (x * 2).exp().sum())
    >>> x = ember.ones(3, requires_grad=True)
    >>> y = f(x)
    >>> y.backward()
    >>> round(y.item(), 4), [round(g, 4) for g in x.grad.tolist()]
    (22.1672, [14.7781, 14.7781, 14.7781])
"""

from __future__ import annotations

from .compiled import CompiledFunction
from .tracer import TraceError

__all__ = ["compile", "CompiledFunction", "TraceError"]


def compile(  # noqa: A001 - PyTorch's name
    model=None,
    *,
    dynamic: bool = False,
    fullgraph: bool = True,
    backend: str = "auto",
    mode: str | None = None,
    options: dict | None = None,
):
    """Compile a function or an ``nn.Module`` (also usable as ``@ember.compile(...)``).

    ``dynamic=True`` keeps one graph for every batch size (axis 0 of each tensor argument).
    ``fullgraph=False`` runs eagerly, with a warning, what cannot be traced instead of raising
    :class:`TraceError`. ``backend``: ``"auto"`` (C kernels where a compiler is present),
    ``"c"`` or ``"numpy"``.
    """
    opts = dict(options or {})
    opts.setdefault("backend", backend)
    if mode is not None:
        opts.setdefault("mode", mode)

    def wrap(fn):
        from ..nn.modules.module import Module

        if isinstance(fn, Module):
            from .module import OptimizedModule

            return OptimizedModule(fn, dynamic=dynamic, fullgraph=fullgraph, options=opts)
        return CompiledFunction(fn, dynamic=dynamic, fullgraph=fullgraph, options=opts)

    if model is None:
        return wrap
    return wrap(model)
