"""Graph passes of ``ember.compile``: each takes an :class:`~ember.ir.Graph` and returns a new one.

================================  ===============================================================
:func:`eliminate_dead_code`       drop nodes that feed no output or mutation (``dce.py``)
:func:`eliminate_common_subexpressions`  compute repeated expressions once (``cse.py``)
:func:`fold_constants`            evaluate all-constant nodes at compile time (``fold.py``)
:func:`simplify`                  algebraic identities: ``x*1``, ``reshape`` to itself... (``simplify.py``)
:func:`split_linear_bias`         ``linear`` + bias -> GEMM + ``add`` that can fuse (``bias.py``)
:func:`fuse_elementwise`          elementwise trees + trailing reductions -> ``fused`` nodes (``fusion.py``)
:func:`plan_memory`               liveness, buffer reuse, in place, peak bytes (``memory.py``)
================================  ===============================================================

:func:`optimize` runs the graph-to-graph passes in the order ``ember.compile`` uses.

Example:
    >>> import numpy as np
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes import optimize
    >>> g = Graph()
    >>> x = g.add_input((3,), "float32", name="x")
    >>> one = g.add_const(np.ones((), np.float32))
    >>> (a,) = g.add_node("mul", [x, one], {}, [((3,), "float32")])
    >>> (b,) = g.add_node("exp", [a], {}, [((3,), "float32")])
    >>> (c,) = g.add_node("exp", [a], {}, [((3,), "float32")])
    >>> (d,) = g.add_node("add", [b, c], {}, [((3,), "float32")])
    >>> g.outputs = [d]
    >>> print(optimize(g, fuse=False).table())
    %0 = input x                 float32[3]
    %3 = exp(%0)                 float32[3]
    %5 = add(%3, %3)             float32[3]
    return %5
"""

from __future__ import annotations

from ...ir.graph import Graph
from .bias import split_linear_bias
from .cse import eliminate_common_subexpressions
from .dce import eliminate_dead_code
from .fold import fold_constants
from .fusion import FusedGroup, fuse_elementwise
from .memory import MemoryPlan, plan_memory
from .simplify import simplify

__all__ = [
    "optimize",
    "eliminate_dead_code",
    "eliminate_common_subexpressions",
    "fold_constants",
    "simplify",
    "split_linear_bias",
    "fuse_elementwise",
    "FusedGroup",
    "plan_memory",
    "MemoryPlan",
]


def optimize(graph: Graph, *, fuse: bool = True, can_fuse=None) -> Graph:
    """DCE, constant folding, simplification, CSE, DCE again, then (``fuse``) bias splitting
    and fusion."""
    g = eliminate_dead_code(graph)
    g = fold_constants(g)
    g = simplify(g)
    g = eliminate_common_subexpressions(g)
    g = simplify(g)
    g = eliminate_dead_code(g)
    if fuse:
        g = split_linear_bias(g, can_fuse=can_fuse)
        g = fuse_elementwise(g, can_fuse=can_fuse)
    g.validate()
    return g
