"""The IR: a typed graph of op-registry calls.

A :class:`Graph` is a list of :class:`Node` (one registry primitive each, in execution order)
over :class:`Value` ids. A value is a graph input, a parameter (a named tensor read when the
graph runs, so optimizer updates are seen), a constant (an array stored in the graph) or the
output of a node. ``mutations`` lists in-place writes the graph performs on inputs or
parameters (BatchNorm's running statistics, ``x.add_(1)`` on an argument): after a run, each
target receives its source value.

``ember.compile`` builds graphs by tracing; the model bundle, the ONNX exporter and the C
renderer read them. Shapes may hold a :class:`~ember.ir.symbolic.SymInt` (``a * N + c``, N the
batch size) when the graph was traced for every batch size.

Example:
    >>> import numpy as np
    >>> from ember.ir import Graph
    >>> g = Graph()
    >>> x = g.add_input((2, 3), "float32", name="x")
    >>> (y,) = g.add_node("exp", [x], {}, [((2, 3), "float32")])
    >>> g.outputs = [y]
    >>> print(g.table())
    %0 = input x                 float32[2, 3]
    %1 = exp(%0)                 float32[2, 3]
    return %1
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Graph", "Node", "Value", "IRError"]


class IRError(ValueError):
    """A malformed graph, or a value the IR cannot represent."""


@dataclass
class Value:
    """One tensor in the graph: ``kind`` is ``input``, ``param``, ``const`` or ``node``."""

    id: int
    shape: tuple
    dtype: str
    kind: str
    name: str | None = None

    def type_str(self) -> str:
        return f"{self.dtype}[{', '.join(str(d) for d in self.shape)}]"


@dataclass
class Node:
    """A call of the registry primitive ``op`` on value ids, producing value ids."""

    op: str
    inputs: list[int]
    outputs: list[int]
    attrs: dict[str, Any] = field(default_factory=dict)


class Graph:
    """Values, nodes in execution order, inputs, outputs, parameters, constants, mutations."""

    def __init__(self) -> None:
        self.values: dict[int, Value] = {}
        self.nodes: list[Node] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.params: dict[int, str] = {}
        self.consts: dict[int, np.ndarray] = {}
        self.mutations: list[tuple[int, int]] = []
        self._next = 0

    # -- building ---------------------------------------------------------------------------
    def new_value(self, shape, dtype: str, kind: str, name: str | None = None) -> int:
        vid = self._next
        self._next += 1
        self.values[vid] = Value(vid, tuple(shape), str(dtype), kind, name)
        return vid

    def add_input(self, shape, dtype: str, name: str | None = None) -> int:
        vid = self.new_value(shape, dtype, "input", name or f"input_{len(self.inputs)}")
        self.inputs.append(vid)
        return vid

    def add_param(self, shape, dtype: str, name: str) -> int:
        vid = self.new_value(shape, dtype, "param", name)
        self.params[vid] = name
        return vid

    def add_const(self, array: np.ndarray, name: str | None = None) -> int:
        vid = self.new_value(array.shape, _dtype_name(array.dtype), "const", name)
        self.consts[vid] = array
        return vid

    def add_node(self, op: str, inputs: Iterable[int], attrs: dict, out_types) -> list[int]:
        """Append a node; ``out_types`` is a list of ``(shape, dtype)``; returns output ids."""
        ins = list(inputs)
        for i in ins:
            if i not in self.values:
                raise IRError(f"{op}: input %{i} is not a value of this graph")
        outs = [self.new_value(s, d, "node") for s, d in out_types]
        self.nodes.append(Node(op, ins, outs, dict(attrs)))
        return outs

    # -- queries ------------------------------------------------------------------------------
    def producers(self) -> dict[int, Node]:
        return {o: n for n in self.nodes for o in n.outputs}

    def users(self) -> dict[int, list[Node]]:
        out: dict[int, list[Node]] = {}
        for n in self.nodes:
            for i in n.inputs:
                out.setdefault(i, []).append(n)
        return out

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        return counts

    def validate(self) -> None:
        """Raise :class:`IRError` unless every node reads values defined before it."""
        defined = set(self.inputs) | set(self.params) | set(self.consts)
        for k, n in enumerate(self.nodes):
            for i in n.inputs:
                if i not in defined:
                    raise IRError(f"node {k} ({n.op}) reads %{i} before it is defined")
            defined.update(n.outputs)
        for o in self.outputs:
            if o not in defined:
                raise IRError(f"graph output %{o} is never defined")
        for target, source in self.mutations:
            if self.values[target].kind not in ("input", "param") or source not in defined:
                raise IRError(f"mutation %{target} <- %{source} is not an input/param update")

    # -- printing -----------------------------------------------------------------------------
    def table(self) -> str:
        """One line per value and node, as in ``print(graph.table())``."""
        lines = []
        for vid in self.inputs:
            lines.append(_line(f"%{vid} = input {self.values[vid].name}", self.values[vid]))
        for vid, name in self.params.items():
            lines.append(_line(f"%{vid} = param {name}", self.values[vid]))
        for vid in self.consts:
            lines.append(_line(f"%{vid} = const", self.values[vid]))
        for n in self.nodes:
            lhs = ", ".join(f"%{o}" for o in n.outputs)
            args = ", ".join(f"%{i}" for i in n.inputs)
            attrs = ", ".join(f"{k}={_short(v)}" for k, v in n.attrs.items())
            call = f"{lhs} = {n.op}({args}{', ' if args and attrs else ''}{attrs})"
            lines.append(_line(call, self.values[n.outputs[0]]))
        for target, source in self.mutations:
            lines.append(f"{self.values[target].name} <- %{source}")
        lines.append("return " + ", ".join(f"%{o}" for o in self.outputs))
        return "\n".join(lines)

    def to_dot(self) -> str:
        """The graph as Graphviz DOT text (``dot -Tsvg``)."""
        out = ["digraph ember {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
        for vid in [*self.inputs, *self.params, *self.consts]:
            v = self.values[vid]
            label = f"{v.name or v.kind}\\n{v.type_str()}"
            out.append(f'  v{vid} [shape=ellipse, label="{label}"];')
        for k, n in enumerate(self.nodes):
            label = f"{n.op}\\n{self.values[n.outputs[0]].type_str()}"
            out.append(f'  n{k} [shape=box, label="{label}"];')
            for o in n.outputs:
                out.append(f'  v{o} [shape=point, label=""];')
                out.append(f"  n{k} -> v{o} [arrowhead=none];")
            for i in n.inputs:
                out.append(f"  v{i} -> n{k};")
        for j, o in enumerate(self.outputs):
            out.append(f'  out{j} [shape=doublecircle, label="out {j}"];')
            out.append(f"  v{o} -> out{j};")
        out.append("}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return (
            f"<ember.ir.Graph: {len(self.inputs)} inputs, {len(self.params)} params, "
            f"{len(self.nodes)} nodes, {len(self.outputs)} outputs>"
        )


def _line(text: str, v: Value) -> str:
    return f"{text:<28} {v.type_str()}"


def _short(v) -> str:
    if isinstance(v, np.ndarray):
        return f"array{list(v.shape)}"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _dtype_name(dt) -> str:
    return np.dtype(dt).name
