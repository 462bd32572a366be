"""Split the bias off ``linear`` when an elementwise op reads the result.

``linear(x, w, b)`` computes ``x @ w.T`` and then adds ``b`` in a second pass over the output.
When the output goes on into elementwise ops (``relu``, GELU, a residual ``add``), that
second pass can be part of their fused kernel instead: the node becomes ``linear(x, w)``
followed by ``add(., b)``, which computes the same numbers (the same single rounding per
element) and lets fusion merge the ``add`` with what follows.

Example:
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes import split_linear_bias
    >>> g = Graph()
    >>> x = g.add_input((4, 8), "float32", name="x")
    >>> w = g.add_param((16, 8), "float32", "w")
    >>> b = g.add_param((16,), "float32", "b")
    >>> (y,) = g.add_node("linear", [x, w, b], {}, [((4, 16), "float32")])
    >>> (z,) = g.add_node("relu", [y], {}, [((4, 16), "float32")])
    >>> g.outputs = [z]
    >>> [n.op for n in split_linear_bias(g).nodes]
    ['linear', 'add', 'relu']
"""

from __future__ import annotations

from collections.abc import Callable

from ...ir.graph import Graph, Node
from ._rewrite import copy_graph
from .fusion import ELEMENTWISE

__all__ = ["split_linear_bias"]


def split_linear_bias(graph: Graph, can_fuse: Callable[[Graph, Node], bool] | None = None) -> Graph:
    """A copy of ``graph`` where ``linear`` nodes feeding elementwise ops add their bias apart."""
    g = copy_graph(graph)
    readers: dict[int, list[Node]] = {}
    for n in g.nodes:
        for i in n.inputs:
            readers.setdefault(i, []).append(n)
    out_nodes = []
    for n in g.nodes:
        if (
            n.op != "linear"
            or len(n.inputs) != 3
            or not _feeds_elementwise(g, n, readers, can_fuse)
        ):
            out_nodes.append(n)
            continue
        x, w, b = n.inputs
        (y,) = n.outputs
        val = g.values[y]
        tmp = g.new_value(val.shape, val.dtype, "node")
        out_nodes.append(Node("linear", [x, w], [tmp], {}))
        out_nodes.append(Node("add", [tmp, b], [y], {}))
    g.nodes = out_nodes
    return g


def _feeds_elementwise(g: Graph, n: Node, readers: dict, can_fuse) -> bool:
    (y,) = n.outputs
    shape = tuple(g.values[y].shape)
    for r in readers.get(y, ()):
        if r.op in ELEMENTWISE and tuple(g.values[r.outputs[0]].shape) == shape:
            if can_fuse is None or can_fuse(g, r):
                return True
    return False
