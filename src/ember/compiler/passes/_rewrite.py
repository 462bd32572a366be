"""Helpers the graph passes share: copying a graph, renaming values, hashable attribute keys.

Passes never edit the graph they are given (``ember.compile`` keeps the traced graph for
exporters and for autograd bookkeeping): each works on :func:`copy_graph` of it.

Example:
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes._rewrite import copy_graph, attr_key
    >>> g = Graph()
    >>> x = g.add_input((2,), "float32")
    >>> (y,) = g.add_node("exp", [x], {}, [((2,), "float32")])
    >>> g.outputs = [y]
    >>> h = copy_graph(g)
    >>> h.nodes[0] is g.nodes[0], h.nodes[0].op
    (False, 'exp')
    >>> attr_key({"axes": (1,), "keepdim": True}) == attr_key({"keepdim": True, "axes": (1,)})
    True
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.graph import Graph, Node, Value

__all__ = ["copy_graph", "rename_uses", "attr_key", "prune_values", "const_scalar"]


def copy_graph(g: Graph) -> Graph:
    """A copy whose values, nodes and lists can be edited without touching ``g``.

    Constant arrays and attribute objects are shared (passes never modify them in place).
    """
    out = Graph()
    out.values = {k: Value(v.id, v.shape, v.dtype, v.kind, v.name) for k, v in g.values.items()}
    out.nodes = [Node(n.op, list(n.inputs), list(n.outputs), dict(n.attrs)) for n in g.nodes]
    out.inputs = list(g.inputs)
    out.outputs = list(g.outputs)
    out.params = dict(g.params)
    out.consts = dict(g.consts)
    out.mutations = list(g.mutations)
    out._next = g._next
    return out


def rename_uses(g: Graph, mapping: dict[int, int]) -> None:
    """Replace every read of value ``a`` by ``mapping[a]`` (chains are followed), in place."""
    if not mapping:
        return

    def final(v: int) -> int:
        seen = 0
        while v in mapping:
            v = mapping[v]
            seen += 1
            if seen > len(mapping):
                raise RuntimeError("rename_uses: cyclic renaming")
        return v

    for n in g.nodes:
        n.inputs = [final(i) for i in n.inputs]
    g.outputs = [final(o) for o in g.outputs]
    g.mutations = [(t, final(s)) for t, s in g.mutations]


def prune_values(g: Graph) -> None:
    """Drop values (and their constants/parameters) that nothing refers to any more.

    Graph inputs always stay: they are the graph's signature.
    """
    used = set(g.inputs) | set(g.outputs)
    for t, s in g.mutations:
        used.add(t)
        used.add(s)
    for n in g.nodes:
        used.update(n.inputs)
        used.update(n.outputs)
    g.values = {k: v for k, v in g.values.items() if k in used}
    g.params = {k: v for k, v in g.params.items() if k in used}
    g.consts = {k: v for k, v in g.consts.items() if k in used}


def attr_key(value) -> object:
    """A hashable, order-independent key for an attribute value (dicts, arrays, ops...)."""
    if isinstance(value, dict):
        return ("dict",) + tuple(sorted((str(k), attr_key(v)) for k, v in value.items()))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__,) + tuple(attr_key(v) for v in value)
    if isinstance(value, slice):
        return ("slice", attr_key(value.start), attr_key(value.stop), attr_key(value.step))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, float) and math.isnan(value):
        return ("nan", id(value))  # NaN attributes never compare equal, as NaN itself
    name = getattr(value, "name", None)
    if type(value).__name__ == "Primitive" and isinstance(name, str):
        return ("op", name)
    try:
        hash(value)
    except TypeError:
        return ("object", id(value))
    return (type(value).__name__, value)


def const_scalar(g: Graph, vid: int):
    """The single value of a constant whose elements are all equal, else None."""
    arr = g.consts.get(vid)
    if arr is None or arr.size == 0:
        return None
    first = arr.reshape(-1)[0]
    if arr.size > 1 and not np.all(arr == first):
        return None
    return first.item()
