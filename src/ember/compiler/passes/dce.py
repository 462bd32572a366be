"""Dead-code elimination: drop nodes whose results nobody reads.

A node stays when one of its outputs is a graph output, the source of a mutation (an in-place
update of an input or parameter), or read by a node that stays. Sampling ops
(``is_random``) always stay, even when their result is unused: each draw advances the random
generator, and dropping one would shift every later sample away from what eager mode draws.
Constants and parameters that no remaining node reads are dropped too; graph inputs never are
(they are the graph's signature).

Example:
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes import eliminate_dead_code
    >>> g = Graph()
    >>> x = g.add_input((3,), "float32", name="x")
    >>> (unused,) = g.add_node("exp", [x], {}, [((3,), "float32")])
    >>> (y,) = g.add_node("neg", [x], {}, [((3,), "float32")])
    >>> g.outputs = [y]
    >>> [n.op for n in eliminate_dead_code(g).nodes]
    ['neg']
"""

from __future__ import annotations

from ...ir.graph import Graph
from ._rewrite import copy_graph, prune_values

__all__ = ["eliminate_dead_code"]


def eliminate_dead_code(graph: Graph) -> Graph:
    """A copy of ``graph`` without the nodes that do not contribute to outputs or mutations."""
    from ...registry import REGISTRY

    g = copy_graph(graph)
    needed = set(g.outputs) | {s for _, s in g.mutations}
    keep = []
    for n in reversed(g.nodes):
        prim = REGISTRY.get(n.op)
        random = prim is not None and prim.is_random
        if random or any(o in needed for o in n.outputs):
            keep.append(n)
            needed.update(n.inputs)
    keep.reverse()
    g.nodes = keep
    prune_values(g)
    return g
