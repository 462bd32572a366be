"""``ember.autograd.Function``: user-defined ops with their own backward.

Example:
    >>> import ember
    >>> class Cube(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return grad * 3 * x ** 2
    >>> x = ember.tensor([2.0], requires_grad=True)
    >>> Cube.apply(x).backward(ember.ones(1))
    >>> x.grad
    tensor([12.])
"""

from __future__ import annotations

import itertools

from .grad_mode import STATE
from .graph import SavedTensorError, edge_of

__all__ = ["Function", "FunctionCtx"]

_seq = itertools.count(10**12)


class FunctionCtx:
    """The ``ctx`` passed to a Function's forward and backward."""

    def __init__(self):
        self._saved = None
        self._saved_versions = None
        self._non_differentiable = set()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._released = False

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors for backward; in-place changes to them are detected."""
        self._saved = tensors
        self._saved_versions = tuple(t._version.value if t is not None else None for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise SavedTensorError(
                "Trying to backward through the graph a second time; specify retain_graph=True"
            )
        if self._saved is None:
            return ()
        for t, v in zip(self._saved, self._saved_versions):
            if t is not None and t._version.value != v:
                raise SavedTensorError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{t.dtype} {list(t.shape)}] is at version "
                    f"{t._version.value}; expected version {v} instead."
                )
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        """Outputs that never get a gradient (e.g. indices)."""
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for PyTorch compatibility; in-place inputs bump their own versions."""

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class _FunctionNode:
    """Backward node of a custom Function call."""

    __slots__ = (
        "cls",
        "ctx",
        "next_edges",
        "out_meta",
        "in_meta",
        "seq",
        "_pre_hooks",
        "_retain",
        "needs_input_grad",
        "__weakref__",
    )

    def __init__(self, cls, ctx, next_edges, in_meta, out_meta):
        self.cls = cls
        self.ctx = ctx
        self.next_edges = next_edges
        self.in_meta = in_meta
        self.out_meta = out_meta
        self.seq = next(_seq)
        self._pre_hooks = None
        self._retain = None
        self.needs_input_grad = tuple(e is not None for e in next_edges)

    pre_hooks_for = None  # set below from Node
    add_retain_grad = None

    def apply(self, grads):
        from ..tensor import Tensor

        res = self.cls.backward(self.ctx, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        n_in = len(self.next_edges)
        if len(res) < n_in:
            raise RuntimeError(
                f"function {self.cls.__name__}Backward returned an incorrect number of gradients "
                f"(expected {n_in}, got {len(res)})"
            )
        res = res[:n_in] if all(r is None for r in res[n_in:]) else res
        if len(res) != n_in:
            raise RuntimeError(
                f"function {self.cls.__name__}Backward returned an incorrect number of gradients "
                f"(expected {n_in}, got {len(res)})"
            )
        out = []
        for g, meta, edge in zip(res, self.in_meta, self.next_edges):
            if edge is None or g is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"{self.cls.__name__}.backward must return Tensors or None")
            if tuple(g.shape) != tuple(meta[0]):
                raise RuntimeError(
                    f"function {self.cls.__name__}Backward returned an invalid gradient: got shape "
                    f"{tuple(g.shape)} but expected shape {tuple(meta[0])}"
                )
            out.append(g)
        return tuple(out)

    def release(self):
        self.ctx._released = True

    def name(self) -> str:
        return self.cls.__name__ + "Backward"

    @property
    def next_functions(self):
        return tuple(e if e is not None else (None, 0) for e in self.next_edges)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


def _install_hook_helpers():
    from .graph import Node

    _FunctionNode.pre_hooks_for = Node.pre_hooks_for
    _FunctionNode.add_retain_grad = Node.add_retain_grad


_install_hook_helpers()


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``apply``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function subclasses must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("Function subclasses must implement backward(ctx, ...)")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor

        ctx = FunctionCtx()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        prev = STATE.enabled
        STATE.enabled = False
        try:
            result = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.enabled = prev
        single = not isinstance(result, tuple)
        outs = (result,) if single else result
        record = prev and any(t._requires_grad for t in tensor_args)
        if record:
            edges = tuple(edge_of(a) if isinstance(a, Tensor) else None for a in args)
            in_meta = tuple(
                (tuple(a.shape), a._data.dtype) if isinstance(a, Tensor) else ((), None)
                for a in args
            )
            wrapped = []
            for o in outs:
                if isinstance(o, Tensor) and any(o is a for a in tensor_args):
                    o = o.detach()  # an input returned as is becomes a new view
                wrapped.append(o)
            node = _FunctionNode(
                cls,
                ctx,
                edges,
                in_meta,
                tuple(
                    (o._data.shape, o._data.dtype) if isinstance(o, Tensor) else ((), None)
                    for o in wrapped
                ),
            )
            for nr, o in enumerate(wrapped):
                if (
                    isinstance(o, Tensor)
                    and o._data.dtype.kind == "f"
                    and id(o) not in ctx._non_differentiable
                ):
                    o._requires_grad = True
                    o._grad_fn = node
                    o._output_nr = nr
            outs = tuple(wrapped)
        return outs[0] if single else outs
