"""Constant folding: evaluate at compile time the nodes whose inputs are all constants.

The node runs once through its registry NumPy forward and its outputs become constants of the
graph. A node is left alone when it samples random numbers (``is_random``: each run must draw
anew), when an attribute depends on the batch size, when its result would be larger than
``max_bytes`` (folding ``expand(0.0, (4096, 4096))`` would store 64 MiB in the graph), when the
forward fails (the error then happens at run time, as in eager mode) or when the result's
shape or dtype is not what the graph recorded.

Example:
    >>> import numpy as np
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes import fold_constants
    >>> g = Graph()
    >>> x = g.add_input((2,), "float32", name="x")
    >>> c = g.add_const(np.array(2.0, np.float32))
    >>> (e,) = g.add_node("exp", [c], {}, [((), "float32")])
    >>> (y,) = g.add_node("mul", [x, e], {}, [((2,), "float32")])
    >>> g.outputs = [y]
    >>> folded = fold_constants(g)
    >>> [n.op for n in folded.nodes], round(float(folded.consts[e]), 4)
    (['mul'], 7.3891)
"""

from __future__ import annotations

import numpy as np

from ...ir.graph import Graph
from ...ir.symbolic import has_sym
from ._rewrite import copy_graph, prune_values

__all__ = ["fold_constants", "DEFAULT_MAX_BYTES"]

#: Largest constant (in bytes) that folding may create.
DEFAULT_MAX_BYTES = 1 << 20


def fold_constants(graph: Graph, max_bytes: int = DEFAULT_MAX_BYTES) -> Graph:
    """A copy of ``graph`` with every foldable all-constant node replaced by its result."""
    from ...registry import REGISTRY

    g = copy_graph(graph)
    kept = []
    for n in g.nodes:
        results = _try_fold(g, n, REGISTRY.get(n.op), max_bytes)
        if results is None:
            kept.append(n)
            continue
        for vid, arr in zip(n.outputs, results):
            g.values[vid].kind = "const"
            g.consts[vid] = arr
    g.nodes = kept
    prune_values(g)
    return g


def _try_fold(g: Graph, n, prim, max_bytes: int):
    if prim is None or prim.is_random or has_sym(n.attrs):
        return None
    if not all(i in g.consts for i in n.inputs):
        return None
    out_values = [g.values[o] for o in n.outputs]
    for v in out_values:
        if has_sym(v.shape) or _nbytes(v) > max_bytes:
            return None
    try:
        with np.errstate(all="ignore"):
            res = prim.forward(*[g.consts[i] for i in n.inputs], **n.attrs)
    except Exception:  # noqa: BLE001 - the same error is raised when the graph runs
        return None
    res = list(res) if prim.num_outputs > 1 else [res]
    out = []
    for v, r in zip(out_values, res):
        arr = np.array(r, copy=True, order="C")  # never a view of another constant
        if arr.shape != tuple(v.shape) or arr.dtype.name != v.dtype:
            return None
        arr.flags.writeable = False
        out.append(arr)
    return out


def _nbytes(v) -> int:
    size = 1
    for d in v.shape:
        size *= int(d)
    try:
        return size * np.dtype(v.dtype).itemsize
    except TypeError:  # a dtype NumPy does not know by that name (bfloat16 without ml_dtypes)
        return size * 8
