"""ember's graph IR: typed graphs of op-registry calls (see :mod:`ember.ir.graph`).

Example:
    >>> from ember.ir import Graph
    >>> Graph()
    <ember.ir.Graph: 0 inputs, 0 params, 0 nodes, 0 outputs>
"""

from . import prims  # noqa: F401 - registers the graph-only primitives
from .graph import Graph, IRError, Node, Value
from .interpret import Interpreter, run_graph
from .serialize import from_json, to_json
from .symbolic import SymInt

__all__ = [
    "Graph",
    "Node",
    "Value",
    "IRError",
    "SymInt",
    "to_json",
    "from_json",
    "run_graph",
    "Interpreter",
]
