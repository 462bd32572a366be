"""``view_scatter``: the primitive behind in-place writes through views (PyTorch's CopySlices).

``view_scatter(base, value, chain)`` is ``base`` with the view described by ``chain`` (the
view primitives that made it, with their attributes) replaced by ``value``. Its vjp sends the
gradient of the view region to ``value`` and the rest to ``base``; both halves are ember ops,
so double backward works through in-place updates too.
"""

from __future__ import annotations

from .._dispatch import apply, replay_view
from ..registry import Spec, primitive
from ..tensor import Tensor


def _replay_np(arr, chain):
    for prim, attrs in chain:
        arr = prim.forward(arr, **attrs)
    return arr


def _rule(base: Spec, value: Spec, *, chain) -> Spec:
    return base


@primitive("view_scatter", _rule)
def _view_scatter(base, value, *, chain):
    """Copy of ``base`` with the view ``chain`` overwritten by ``value``."""
    out = base.copy()
    region = _replay_np(out, chain)
    region[...] = value
    return out


@_view_scatter.defvjp
def _(ctx, g):
    from .creation import zeros
    from .elementwise import cast  # noqa: F401 - keeps the module graph explicit

    chain = ctx.attrs["chain"]
    g_base = None
    if ctx.needs_input_grad[0]:
        vshape, vdtype = ctx.in_meta[1]
        g_base = view_scatter(g, zeros(vshape, dtype=g.dtype), chain)
    g_value = replay_view(g, chain) if ctx.needs_input_grad[1] else None
    return (g_base, g_value)


def view_scatter(base: Tensor, value: Tensor, chain) -> Tensor:
    """``base`` with the view ``chain`` replaced by ``value`` (out of place)."""
    return apply(_view_scatter, base, value, chain=tuple(chain))
