"""One graph for every batch size: merge two traces taken at different batch sizes.

Tracing runs at batch sizes ``n_a`` and ``n_b``; if both traces perform the same ops in the
same order, every integer that differs (shapes, reshape targets, slice bounds...) is linear in
the batch size and becomes a :class:`~ember.ir.symbolic.SymInt`. Constants whose shape depends
on the batch size become ``fill`` nodes when they hold a single repeated value (zero initial
states, all-ones masks); anything else that differs is refused with :class:`TraceError`.

Example:
    >>> import ember
    >>> from ember.compiler.dynamic import capture
    >>> lin = ember.nn.Linear(3, 2)
    >>> cap = capture(lin, (ember.ones(4, 3),), params=dict(lin.named_parameters()),
    ...               dynamic_batch=True)
    >>> [str(v.shape) for v in map(cap.graph.values.get, cap.graph.outputs)]
    ['(N, 2)']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..autograd.grad_mode import no_grad
from ..ir.graph import Graph
from ..ir.symbolic import _MismatchError, unify
from ..tensor import Tensor
from .tracer import (
    Traced,
    TraceError,
    check_same_constants,
    flatten,
    map_leaves,
    restore,
    trace,
    unflatten,
)

__all__ = ["capture", "Captured", "unify_traces", "batch_resized"]


@dataclass
class Captured:
    """A forward-only graph with the tensors it reads by reference and the output structure."""

    graph: Graph
    live: dict
    out_tree: object
    result: object


def batch_resized(t: Tensor, n: int) -> Tensor:
    """``t`` with axis 0 resized to ``n`` (rows repeated cyclically), values rolled by one."""
    arr = t._data
    if arr.ndim == 0:
        return t
    idx = (np.arange(n) + 1) % arr.shape[0]
    out = Tensor._wrap(np.ascontiguousarray(arr[idx]))
    if t._requires_grad:
        out.requires_grad_(True)
    return out


def _retrace(fn, args, kwargs, params, n_b, want_backward):
    from ..random import default_generator

    leaves: list = []
    tree = flatten((args, kwargs), leaves)
    new_args, new_kwargs = unflatten(tree, map_leaves(leaves, lambda t: batch_resized(t, n_b)))
    state = default_generator.get_state()
    second = None
    try:
        second = trace(
            fn, tuple(new_args), dict(new_kwargs), params=params, want_backward=want_backward
        )
    finally:
        default_generator.set_state(state)
        if second is not None:
            restore(second.snapshots)
    return second


def batch_of(args, kwargs) -> int:
    leaves: list = []
    flatten((args, kwargs), leaves)
    sizes = {t._data.shape[0] for t in leaves if t._data.ndim > 0}
    if len(sizes) != 1:
        raise TraceError(
            "dynamic batch: every tensor argument needs the same size on axis 0 (the batch axis); "
            f"got sizes {sorted(sizes)}"
        )
    return sizes.pop()


def trace_dynamic(fn, args, kwargs, params, want_backward=True) -> Traced:
    """Trace at the arguments' batch size and at one more; return the merged trace."""
    n_a = batch_of(args, kwargs)
    first = trace(fn, args, kwargs, params=params, want_backward=want_backward)
    restore(first.snapshots)
    n_b = n_a + 1
    second = _retrace(fn, args, kwargs, params, n_b, want_backward)
    return unify_traces(first, second, n_a, n_b)


def unify_traces(a: Traced, b: Traced, n_a: int, n_b: int) -> Traced:
    """``a`` with batch-dependent integers replaced by SymInts (``b`` traced at ``n_b``)."""
    try:
        graph = _unify_graph(_copy(a.graph), b.graph, n_a, n_b, a.const_origin)
        backward = None
        if a.backward is not None:
            if b.backward is None:
                raise TraceError("dynamic batch: the backward graph depends on the batch size")
            backward = _unify_graph(_copy(a.backward), b.backward, n_a, n_b, a.const_origin)
        a.graph, a.backward = graph, backward
    except _MismatchError as exc:
        raise TraceError(f"dynamic batch: the graph depends on the batch size ({exc})") from None
    return a


def _copy(g: Graph) -> Graph:
    """A copy of ``g`` that shares its constant arrays (unification must not touch ``g``)."""
    import copy

    memo = {id(arr): arr for arr in g.consts.values()}
    return copy.deepcopy(g, memo)


def _unify_graph(ga: Graph, gb: Graph, n_a: int, n_b: int, origin: dict) -> Graph:
    if [n.op for n in ga.nodes] != [n.op for n in gb.nodes] or ga.inputs != gb.inputs:
        raise TraceError(
            "dynamic batch: the ops performed depend on the batch size (a Python branch on a "
            "shape?); compile with dynamic=False"
        )
    for vid, va in ga.values.items():
        vb = gb.values.get(vid)
        if vb is None:
            raise TraceError(f"dynamic batch: value %{vid} exists at one batch size only")
        va.shape = tuple(unify(va.shape, vb.shape, n_a, n_b, f"shape of %{vid}"))
    for k, (na, nb) in enumerate(zip(ga.nodes, gb.nodes)):
        if na.inputs != nb.inputs:
            raise TraceError(f"dynamic batch: node {k} ({na.op}) reads different values")
        na.attrs = unify(na.attrs, nb.attrs, n_a, n_b, f"node {k} ({na.op})")
    _symbolic_consts(ga, gb, n_a, n_b, origin)
    return ga


def _symbolic_consts(ga: Graph, gb: Graph, n_a: int, n_b: int, origin: dict) -> None:
    """Constants with a batch-dependent shape become ``fill`` nodes at the graph's start."""
    fills = []
    for vid in list(ga.consts):
        arr_a, arr_b = ga.consts[vid], gb.consts.get(vid)
        if arr_b is not None and arr_a.shape == arr_b.shape:
            if np.array_equal(arr_a, arr_b, equal_nan=True):
                continue
        elif arr_b is not None and arr_a.size and arr_b.size:
            first = arr_a.reshape(-1)[0]
            uniform = (arr_a == first).all() and (arr_b == first).all()
            if uniform:
                value = ga.values[vid]
                value.kind = "node"
                del ga.consts[vid]
                fills.append(_fill_node(vid, value.shape, first.item(), arr_a.dtype.name))
                continue
        op, line = origin.get(vid, ("an op", "<unknown line>"))
        raise TraceError(
            f"dynamic batch: a constant read by {op} depends on the batch size and is not a "
            f"fill value (at {line}); compile with dynamic=False"
        )
    ga.nodes[:0] = fills


def _fill_node(vid, shape, value, dtype):
    from ..ir.graph import Node

    return Node("fill", [], [vid], {"shape": tuple(shape), "value": value, "dtype": dtype})


def capture(
    fn,
    example_args: tuple,
    example_kwargs: dict | None = None,
    *,
    params: dict | None = None,
    dynamic_batch: bool = False,
) -> Captured:
    """Trace ``fn`` for inference (no grad) into a forward graph (exporters start here).

    ``params`` maps names to the tensors the graph reads by reference (a module's
    ``named_parameters()`` and ``named_buffers()``); with ``dynamic_batch`` axis 0 of every
    argument is the batch axis. Values computed outside the op registry are refused.
    """
    from ..random import default_generator

    kwargs = dict(example_kwargs or {})
    state = default_generator.get_state()
    with no_grad():
        first = trace(fn, tuple(example_args), kwargs, params=params, want_backward=False)
        restore(first.snapshots)
        if dynamic_batch:
            n_a = batch_of(example_args, kwargs)
            second = _retrace(fn, tuple(example_args), kwargs, params, n_a + 1, False)
            check_frozen = _roll_probe(fn, example_args, kwargs, params)
            check_same_constants(first, check_frozen)
            unify_traces(first, second, n_a, n_a + 1)
        else:
            check_same_constants(first, _roll_probe(fn, example_args, kwargs, params))
    default_generator.set_state(state)
    return Captured(first.graph, first.live, first.out_tree, first.result)


def _roll_probe(fn, args, kwargs, params) -> Traced:
    from ..random import default_generator
    from .tracer import perturbed

    leaves: list = []
    tree = flatten((tuple(args), kwargs), leaves)
    new_args, new_kwargs = unflatten(tree, map_leaves(leaves, perturbed))
    state = default_generator.get_state()
    probe = None
    try:
        probe = trace(fn, tuple(new_args), dict(new_kwargs), params=params, want_backward=False)
    finally:
        default_generator.set_state(state)
        if probe is not None:
            restore(probe.snapshots)
    return probe
