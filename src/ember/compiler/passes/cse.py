"""Common-subexpression elimination: compute each distinct expression once.

Two nodes are the same expression when they call the same op on the same values with equal
attributes (operands of commutative ops in either order). The later one is removed and its
readers use the first one's results. Equal constants (same dtype, shape and bytes) are merged
first, so ``x * 0.5`` written twice with two literal ``0.5`` tensors is one multiplication.
Sampling ops (``is_random``) are never merged: two draws are two different tensors; nor is
``clone``, whose whole point is a second, separate copy.

Example:
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes import eliminate_common_subexpressions
    >>> g = Graph()
    >>> x = g.add_input((3,), "float32", name="x")
    >>> (a,) = g.add_node("exp", [x], {}, [((3,), "float32")])
    >>> (b,) = g.add_node("exp", [x], {}, [((3,), "float32")])
    >>> (c,) = g.add_node("add", [a, b], {}, [((3,), "float32")])
    >>> g.outputs = [c]
    >>> print(eliminate_common_subexpressions(g).table())
    %0 = input x                 float32[3]
    %1 = exp(%0)                 float32[3]
    %3 = add(%1, %1)             float32[3]
    return %3
"""

from __future__ import annotations

from ...ir.graph import Graph
from ._rewrite import attr_key, copy_graph, prune_values, rename_uses

__all__ = ["eliminate_common_subexpressions", "COMMUTATIVE"]

#: Binary primitives whose two operands may be swapped (same shape rule, same result).
COMMUTATIVE = frozenset(
    {
        "add",
        "mul",
        "maximum",
        "minimum",
        "eq",
        "ne",
        "logical_and",
        "logical_or",
        "logical_xor",
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
    }
)


def eliminate_common_subexpressions(graph: Graph) -> Graph:
    """A copy of ``graph`` where repeated expressions and equal constants are computed once."""
    from ...registry import REGISTRY

    g = copy_graph(graph)
    mapping = _merge_constants(g)
    seen: dict = {}
    kept = []
    for n in g.nodes:
        n.inputs = [mapping.get(i, i) for i in n.inputs]
        prim = REGISTRY.get(n.op)
        if prim is None or prim.is_random or n.op == "clone":
            kept.append(n)
            continue
        ins = tuple(n.inputs)
        if n.op in COMMUTATIVE and len(ins) == 2:
            ins = tuple(sorted(ins))
        key = (n.op, ins, attr_key(n.attrs))
        first = seen.get(key)
        if first is not None and _same_types(g, first.outputs, n.outputs):
            for mine, theirs in zip(n.outputs, first.outputs):
                mapping[mine] = theirs
            continue
        seen.setdefault(key, n)
        kept.append(n)
    g.nodes = kept
    rename_uses(g, mapping)
    prune_values(g)
    return g


def _same_types(g: Graph, a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        g.values[x].shape == g.values[y].shape and g.values[x].dtype == g.values[y].dtype
        for x, y in zip(a, b)
    )


def _merge_constants(g: Graph) -> dict[int, int]:
    """Map every constant to the first constant with the same dtype, shape and bytes."""
    first: dict = {}
    mapping: dict[int, int] = {}
    for vid, arr in g.consts.items():
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        other = first.setdefault(key, vid)
        if other != vid:
            mapping[vid] = other
    return mapping
