"""Run a graph on NumPy arrays with the registry's NumPy forwards — no autograd, no Tensor.

:class:`Interpreter` turns a graph into a flat list of steps over a list of slots once, then
``run`` only calls forwards; each intermediate array is dropped right after its last use.
Model bundles load into it (so they need only NumPy), and ``ember.compile`` uses it as the
fallback executor where no C compiler is present.

Example:
    >>> import numpy as np
    >>> from ember.ir import Graph, run_graph
    >>> g = Graph()
    >>> x = g.add_input((None,), "float32")
    >>> (y,) = g.add_node("exp", [x], {}, [((None,), "float32")])
    >>> g.outputs = [y]
    >>> run_graph(g, [np.zeros(3, np.float32)])
    [array([1., 1., 1.], dtype=float32)]
"""

from __future__ import annotations

import numpy as np

from .graph import Graph, IRError
from .symbolic import SymInt, has_sym, resolve

__all__ = ["Interpreter", "run_graph"]


class Interpreter:
    """A graph prepared for repeated runs."""

    def __init__(self, graph: Graph):
        from ..registry import REGISTRY

        self.graph = graph
        slot = {vid: k for k, vid in enumerate(graph.values)}
        self.n_slots = len(slot)
        self.input_slots = [slot[v] for v in graph.inputs]
        self.param_slots = [(slot[v], name) for v, name in graph.params.items()]
        self.const_slots = [(slot[v], arr) for v, arr in graph.consts.items()]
        self.output_slots = [slot[v] for v in graph.outputs]
        self.mutation_slots = [(graph.values[t], slot[s]) for t, s in graph.mutations]
        keep = set(self.output_slots) | {s for _, s in self.mutation_slots}
        last_use: dict[int, int] = {}
        for k, n in enumerate(graph.nodes):
            for i in n.inputs:
                last_use[slot[i]] = k
        steps = []
        for k, n in enumerate(graph.nodes):
            prim = REGISTRY.get(n.op)
            if prim is None:
                raise IRError(f"node {k}: unknown op {n.op!r}")
            ins = tuple(slot[i] for i in n.inputs)
            outs = tuple(slot[o] for o in n.outputs)
            free = tuple(s for s in set(ins) if last_use.get(s) == k and s not in keep and s >= 0)
            steps.append(
                (prim.forward, ins, outs, n.attrs, has_sym(n.attrs), prim.num_outputs, free)
            )
        self.steps = steps
        self.needs_batch = any(step[4] for step in steps)
        self.batch_probe = batch_probe(graph)
        self.input_specs = [graph.values[v] for v in graph.inputs]

    def batch_size(self, inputs) -> int | None:
        return batch_size_of(self.batch_probe, inputs)

    def check_inputs(self, inputs) -> int | None:
        """Raise a clear error unless ``inputs`` match the graph's input shapes and dtypes."""
        return check_graph_inputs(self.input_specs, self.batch_probe, inputs)

    def run(
        self,
        inputs,
        params: dict | None = None,
        *,
        check: bool = True,
        env_out=None,
        batch: int | None = None,
    ):
        """Outputs for ``inputs`` (arrays in graph-input order) and ``params`` (name -> array).

        Mutations (in-place updates of inputs/params) are written into the given arrays.
        ``batch`` gives the batch size N of a symbolic graph none of whose inputs shows it.
        """
        n = self.check_inputs(inputs) if check else self.batch_size(inputs)
        if n is None:
            n = batch
        if n is None and self.needs_batch:
            raise ValueError(
                "this graph has batch-dependent sizes but no input shows the batch size; "
                "pass batch=N"
            )
        env = [None] * self.n_slots
        for s, arr in zip(self.input_slots, inputs):
            env[s] = arr
        for s, name in self.param_slots:
            try:
                env[s] = params[name]
            except (KeyError, TypeError):
                raise KeyError(f"the graph needs parameter {name!r}, which was not given") from None
        for s, arr in self.const_slots:
            env[s] = arr
        for fwd, ins, outs, attrs, sym, nout, free in self.steps:
            if sym:
                attrs = resolve(attrs, n)
            res = fwd(*[env[i] for i in ins], **attrs)
            if nout == 1:
                env[outs[0]] = res if type(res) is np.ndarray else np.asarray(res)
            else:
                for o, r in zip(outs, res):
                    env[o] = r if type(r) is np.ndarray else np.asarray(r)
            for s in free:
                env[s] = None
        for value, s in self.mutation_slots:
            target = (
                inputs[self.graph.inputs.index(value.id)]
                if value.kind == "input"
                else (params[value.name])
            )
            np.copyto(target, env[s], casting="unsafe")
        if env_out is not None:
            env_out.extend(env)
        return [env[s] for s in self.output_slots]


def run_graph(graph: Graph, inputs, params: dict | None = None) -> list:
    """Run ``graph`` once (see :class:`Interpreter` for repeated runs)."""
    return Interpreter(graph).run(list(inputs), params)


def batch_probe(graph: Graph):
    """``(input index, axis, SymInt)`` of the first symbolic input size, or None."""
    for k, vid in enumerate(graph.inputs):
        for axis, d in enumerate(graph.values[vid].shape):
            if isinstance(d, SymInt):
                return k, axis, d
    return None


def batch_size_of(probe, inputs) -> int | None:
    """The batch size N that ``inputs`` show at ``probe`` (from :func:`batch_probe`)."""
    if probe is None:
        return None
    k, axis, sym = probe
    size = inputs[k].shape[axis]
    n, rem = divmod(size - sym.offset, sym.coef)
    if rem or n < 1:
        raise ValueError(
            f"input {k}: dimension {axis} has size {size}, which is not {sym} for any batch "
            "size N >= 1"
        )
    return n


def check_graph_inputs(input_specs, probe, inputs) -> int | None:
    """Raise a clear error unless ``inputs`` match the specs' shapes and dtypes; return N."""
    if len(inputs) != len(input_specs):
        raise TypeError(f"the graph takes {len(input_specs)} inputs, got {len(inputs)}")
    n = batch_size_of(probe, inputs)
    for k, (arr, spec) in enumerate(zip(inputs, input_specs)):
        want = tuple(d.at(n) if isinstance(d, SymInt) else d for d in spec.shape)
        if arr.ndim != len(want) or any(w is not None and w != s for w, s in zip(want, arr.shape)):
            raise ValueError(
                f"input {k} ({spec.name}): expected shape {_shape_str(spec.shape)}, "
                f"got {tuple(arr.shape)}"
            )
        if arr.dtype.name != spec.dtype:
            raise TypeError(
                f"input {k} ({spec.name}): expected dtype {spec.dtype}, got {arr.dtype.name}"
            )
    return n


def _shape_str(shape) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"
