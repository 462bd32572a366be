"""Backward graph nodes: one :class:`Node` per recorded primitive call, one
:class:`AccumulateGrad` per leaf tensor.

A node keeps the edges to the nodes that produced its inputs, the tensors its vjp needs
(explicitly saved, with the version each had when saved) and the shape/dtype of its outputs.
It is also the ``ctx`` a vjp rule receives: ``ctx.inputs``, ``ctx.outputs``, ``ctx.attrs``,
``ctx.needs_input_grad``.
"""

from __future__ import annotations

import itertools
import weakref

__all__ = ["Node", "AccumulateGrad", "SavedTensorError"]

_sequence = itertools.count()


class SavedTensorError(RuntimeError):
    """A tensor saved for backward was modified in place or already freed."""


_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class Node:
    """A recorded op in the backward graph (``tensor.grad_fn``)."""

    __slots__ = (
        "prim",
        "attrs",
        "next_edges",
        "needs_input_grad",
        "in_meta",
        "out_meta",
        "seq",
        "_saved_in",
        "_saved_out",
        "_released",
        "_pre_hooks",
        "_retain",
        "__weakref__",
    )

    def __init__(self, prim, attrs: dict, next_edges: tuple, in_meta: tuple, out_meta: tuple):
        self.prim = prim
        self.in_meta = in_meta
        self.attrs = attrs
        self.next_edges = next_edges
        self.needs_input_grad = tuple(e is not None for e in next_edges)
        self.out_meta = out_meta
        self.seq = next(_sequence)
        self._saved_in = None
        self._saved_out = None
        self._released = False
        self._pre_hooks = None
        self._retain = None

    # -- saving -------------------------------------------------------------------------------
    def save_inputs(self, tensors, which=True) -> None:
        """Keep the inputs the vjp reads (``which``: True, or positions as a tuple or slice)."""
        keep = _selected(len(tensors), which)
        self._saved_in = tuple(
            (t, t._version.value) if k in keep else None for k, t in enumerate(tensors)
        )

    def save_outputs(self, outputs, which=True) -> None:
        keep = _selected(len(outputs), which)
        self._saved_out = tuple(
            (t._data, t._version, t._version.value, t._requires_grad) if k in keep else None
            for k, t in enumerate(outputs)
        )

    # -- ctx API for vjp rules ----------------------------------------------------------------
    @property
    def inputs(self) -> tuple:
        if self._released:
            raise SavedTensorError(_FREED)
        saved = self._saved_in
        if saved is None:
            raise RuntimeError(f"{self.name()}: the vjp reads inputs but the op did not save them")
        for entry in saved:
            if entry is not None and entry[0]._version.value != entry[1]:
                t, version = entry
                self._raise_modified(t._data.shape, t.dtype, t._version.value, version)
        return tuple(entry[0] if entry is not None else None for entry in saved)

    @property
    def outputs(self) -> tuple:
        if self._released:
            raise SavedTensorError(_FREED)
        from ..tensor import Tensor

        outs = []
        for nr, entry in enumerate(self._saved_out):
            if entry is None:
                outs.append(None)
                continue
            data, counter, version, req = entry
            if counter.value != version:
                from ..dtypes import from_numpy_dtype

                self._raise_modified(
                    data.shape, from_numpy_dtype(data.dtype), counter.value, version
                )
            t = Tensor._wrap(data)
            t._version = counter
            if req:
                t._requires_grad = True
                t._grad_fn = self
                t._output_nr = nr
            outs.append(t)
        return tuple(outs)

    def _raise_modified(self, shape, dtype, now: int, expected: int):
        raise SavedTensorError(
            "one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: [{dtype} {list(shape)}], which is output 0 of {self.name()}, is at version "
            f"{now}; expected version {expected} instead. (op {self.prim.name!r} saved it for "
            "backward; clone() the tensor before modifying it in place.)"
        )

    def release(self) -> None:
        self._saved_in = None
        self._saved_out = None
        self._released = True

    # -- hooks --------------------------------------------------------------------------------
    def pre_hooks_for(self, output_nr: int) -> list:
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return self._pre_hooks.setdefault(output_nr, [])

    def add_retain_grad(self, output_nr: int, ref: weakref.ref) -> None:
        if self._retain is None:
            self._retain = {}
        self._retain[output_nr] = ref

    # -- running --------------------------------------------------------------------------------
    def apply(self, grads: list) -> tuple:
        """Input gradients for the given output gradients (the primitive's vjp)."""
        return self.prim.vjp(self, *grads)

    def name(self) -> str:
        return _node_name(self.prim.name)

    @property
    def next_functions(self) -> tuple:
        return tuple((e[0], e[1]) if e is not None else (None, 0) for e in self.next_edges)

    def register_hook(self, fn):  # pragma: no cover - rarely used PyTorch API
        raise NotImplementedError("Node.register_hook is not supported; use Tensor.register_hook")

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


def _selected(n: int, which) -> range | tuple:
    if which is True:
        return range(n)
    if isinstance(which, slice):
        return range(n)[which]
    return which


def _node_name(op: str) -> str:
    return "".join(part.capitalize() for part in op.split("_")) + "Backward0"


class AccumulateGrad:
    """The node that writes a leaf's gradient into ``leaf.grad``."""

    __slots__ = ("variable", "seq", "next_edges", "__weakref__")

    def __init__(self, variable):
        self.variable = variable
        self.seq = next(_sequence)
        self.next_edges = ()

    def name(self) -> str:
        return "AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


def accumulator_for(leaf) -> AccumulateGrad:
    """The (cached, weakly held) AccumulateGrad node of a leaf tensor."""
    ref = leaf._accumulator
    acc = ref() if ref is not None else None
    if acc is None:
        acc = AccumulateGrad(leaf)
        leaf._accumulator = weakref.ref(acc)
    return acc


def edge_of(t):
    """The backward edge ``(node, output_nr)`` of a tensor, or None if it needs no grad."""
    if not t._requires_grad:
        return None
    fn = t._grad_fn
    if fn is None:
        return (accumulator_for(t), 0)
    return (fn, t._output_nr)
