"""From a traced graph to something that runs: optimization passes, then an executor.

``make_executor(graph, options)`` is the one place that decides how a graph runs. Today it
applies the graph passes and returns an :class:`~ember.ir.interpret.Interpreter` (NumPy
forwards over preallocated slot lists, intermediates freed after their last use).
"""

from __future__ import annotations

from ..ir.graph import Graph
from ..ir.interpret import Interpreter

__all__ = ["make_executor"]


class _Executor:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.interp = Interpreter(graph)

    def run(self, arrays, params):
        return self.interp.run(arrays, params, check=False)


def make_executor(graph: Graph, options: dict):
    """An object with ``run(input_arrays, params) -> output arrays`` for ``graph``."""
    return _Executor(graph)
