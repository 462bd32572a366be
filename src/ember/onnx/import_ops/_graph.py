"""Compiled ONNX graphs: every node resolved to a handler at load time, then run eagerly.

A :class:`Graph` is the list of a graph's nodes, each bound to its handler from the op table,
to a model-local function or to the op's function body in the ONNX spec (run on the same
handlers). ``Graph.run`` executes the nodes in order over an environment of named values,
drops each intermediate after its last reader, and names the failing node in errors. While
``ember.compile`` traces, values computable from constants and input shapes alone (the
Shape -> Gather -> Concat -> Reshape chains exporters emit) are computed eagerly so they become
constants of the traced graph.

Example:
    >>> from onnx import helper
    >>> import ember
    >>> from ember.onnx.import_ops._graph import Graph, Scope
    >>> nodes = [helper.make_node("Neg", ["x"], ["t"]), helper.make_node("Exp", ["t"], ["y"])]
    >>> graph = Graph(nodes, ["x"], ["y"], Scope({"": 17}, {}))
    >>> graph.run(None, [ember.tensor([0.0, 1.0])])
    [tensor([1.0000, 0.3679])]
"""

from __future__ import annotations

import contextlib
import functools
from collections import ChainMap
from functools import partial
from typing import Any

import numpy as np

from ... import _dispatch
from ...tensor import Tensor
from ._functions import ContextFunction, FunctionCall, schema_function
from ._registry import OpContext, find_handler
from ._values import tensor_from_proto, to_tensor

__all__ = ["Graph", "Scope", "dense_from_sparse", "normalize_domain"]

_AI_ONNX = ("", "ai.onnx")


class Scope:
    """Opset versions per domain and the model-local functions visible to a graph."""

    def __init__(self, opsets: dict[str, int], functions: dict):
        self.opsets = opsets
        self.functions = functions

    def with_opsets(self, imports) -> Scope:
        opsets = dict(self.opsets)
        for imp in imports:
            opsets[normalize_domain(imp.domain)] = imp.version
        return Scope(opsets, self.functions)


def normalize_domain(domain: str) -> str:
    """``""`` for the default domain however it is spelled, else ``domain``."""
    return "" if domain in _AI_ONNX else domain


def _latest_opset() -> int:
    import onnx.defs

    return onnx.defs.onnx_opset_version()


# Ops whose result is not a function of their inputs' values (or that run subgraphs): never
# folded into constants while ember.compile traces a graph.
_NEVER_FOLD = {
    "RandomNormal",
    "RandomUniform",
    "RandomNormalLike",
    "RandomUniformLike",
    "Bernoulli",
    "Multinomial",
    "Dropout",
}
_SHAPE_ONLY = {"Shape", "Size"}  # read only their input's shape


class _Step:
    __slots__ = ("fn", "inputs", "outputs", "ctx", "has_subgraphs", "extra_reads", "frees", "fold")

    def __init__(self, fn, inputs, outputs, ctx, extra_reads):
        self.fn = fn
        self.inputs = inputs
        self.outputs = outputs
        self.ctx = ctx
        self.has_subgraphs = extra_reads is not None
        self.extra_reads = tuple(extra_reads or ())  # outer names its subgraphs read
        self.frees: tuple[str, ...] = ()
        # "shape": always static; "values": static when every input is; "": never
        plain = not self.has_subgraphs and not isinstance(fn, (FunctionCall, ContextFunction))
        if ctx.op_type in _SHAPE_ONLY and plain:
            self.fold = "shape"
        elif plain and ctx.op_type not in _NEVER_FOLD:
            self.fold = "values"
        else:
            self.fold = ""


class Graph:
    """A list of resolved steps plus the graph's inputs, outputs and constants."""

    def __init__(
        self,
        nodes,
        inputs: list[str],
        outputs: list[str],
        scope: Scope,
        *,
        constants: dict[str, Tensor] | None = None,
        attr_scope: dict | None = None,
        outer_names=frozenset(),
        lenient: bool = False,
        what: str = "graph",
    ):
        self.inputs = inputs
        self.outputs = outputs
        self.constants = constants or {}
        self.lenient = lenient  # function bodies: an omitted optional input reads as None
        known = set(outer_names) | set(inputs) | set(self.constants)
        self.steps: list[_Step] = []
        reads: set[str] = set()
        defined = set(inputs) | set(self.constants)
        for node in nodes:
            node = _resolve_attr_refs(node, attr_scope)
            for name in node.input:
                if name and name not in known and not lenient:
                    raise ValueError(
                        f"ember.onnx: {node.op_type} node {node.name!r} in the {what} reads "
                        f"{name!r}, which no graph input, initializer or earlier node produces"
                    )
            step, sub_reads = _compile_node(node, scope, known)
            self.steps.append(step)
            reads.update(n for n in step.inputs if n)
            reads.update(sub_reads)
            known.update(o for o in node.output if o)
            defined.update(o for o in node.output if o)
        for name in outputs:
            if name not in known and not lenient:  # functions may leave optional outputs out
                raise ValueError(f"ember.onnx: the {what} output {name!r} is never produced")
        self.free_names = (reads | set(outputs)) - defined
        self._plan_frees(set(outputs))

    def _plan_frees(self, keep: set[str]) -> None:
        """Drop each intermediate value from the environment after its last reader."""
        last: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            for name in step.inputs:
                if name:
                    last[name] = i
            for name in step.extra_reads:
                last[name] = i
        local = set(self.inputs) | {o for s in self.steps for o in s.outputs if o}
        per_step: dict[int, list[str]] = {}
        for name, i in last.items():
            if name in local and name not in keep:
                per_step.setdefault(i, []).append(name)
        for i, step in enumerate(self.steps):
            step.frees = tuple(per_step.get(i, ()))

    def run(self, outer, args, preset: dict | None = None) -> list:
        """Run with ``args`` bound to the inputs; ``outer`` is the enclosing scope (or None).

        ``preset`` holds extra values for a top-level graph (its initializers)."""
        env: Any = dict(preset or ()) if outer is None else ChainMap({}, outer)
        env.update(self.constants)
        for name, value in zip(self.inputs, args):
            env[name] = value
        local = env if outer is None else env.maps[0]
        get = env.get if self.lenient else env.__getitem__
        static = self._static_names(preset) if _dispatch.is_traced() else None
        for step in self.steps:
            values = [get(n) if n else None for n in step.inputs]
            ctx = step.ctx
            if step.has_subgraphs:  # a per-call context: concurrent runs must not share env
                ctx = ctx.with_runner(partial(_run_subgraph, env))
            fold = static is not None and (
                step.fold == "shape"
                or (step.fold == "values" and all(n in static for n in step.inputs if n))
            )
            try:
                if fold:
                    with _untraced():
                        out = step.fn(ctx, *values)
                    static.update(n for n in step.outputs if n)
                else:
                    out = step.fn(ctx, *values)
            except Exception as e:
                raise _described(e, ctx) from e
            if not isinstance(out, tuple):
                out = (out,)
            for i, name in enumerate(step.outputs):
                if name:
                    if i >= len(out):
                        raise RuntimeError(
                            f"ember.onnx: {ctx.describe()} produced {len(out)} outputs but the "
                            f"graph reads output {i} ({name!r})"
                        )
                    local[name] = out[i]
            for name in step.frees:
                local.pop(name, None)
        return [get(n) for n in self.outputs]

    def _static_names(self, preset) -> set[str]:
        """Values known without the graph's inputs: constants and integer initializers."""
        names = set(self.constants)
        for name, value in (preset or {}).items():
            if isinstance(value, Tensor) and not value.dtype.is_floating_point:
                names.add(name)
        return names


def _run_subgraph(env, graph: Graph, *args) -> list:
    return graph.run(env, args)


@contextlib.contextmanager
def _untraced():
    """Run ember ops eagerly even while ``ember.compile`` traces.

    Shape arithmetic (Shape -> Gather -> Concat -> Reshape, as exporters emit it) depends only
    on input shapes, which a compiled graph is specialised on; computing it eagerly makes its
    results constants of the traced graph instead of values the graph would have to read back
    as Python ints."""
    hook = _dispatch.set_dispatch_hook(None)
    inplace = _dispatch.set_inplace_hook(None)
    try:
        yield
    finally:
        _dispatch.set_dispatch_hook(hook)
        _dispatch.set_inplace_hook(inplace)


_ERROR_KINDS = (NotImplementedError, TypeError, IndexError, KeyError, ValueError, ZeroDivisionError)


def _described(e: Exception, ctx: OpContext) -> Exception:
    """``e`` with the failing node named (errors already naming a node pass through)."""
    if str(e).startswith("ember.onnx:"):
        return e
    kind = next((k for k in _ERROR_KINDS if isinstance(e, k)), RuntimeError)
    if kind is KeyError:
        kind = ValueError
    return kind(f"ember.onnx: {ctx.describe()} failed: {e}")


def _resolve_attr_refs(node, attr_scope):
    """``node`` with function-attribute references (``ref_attr_name``) replaced by values."""
    if not any(a.ref_attr_name for a in node.attribute):
        return node
    import onnx

    resolved = onnx.NodeProto()
    resolved.CopyFrom(node)
    del resolved.attribute[:]
    for a in node.attribute:
        if a.ref_attr_name:
            source = (attr_scope or {}).get(a.ref_attr_name)
            if source is None:
                continue  # the caller did not set it: the op's default applies
            b = resolved.attribute.add()
            b.CopyFrom(source)
            b.name = a.name
        else:
            resolved.attribute.add().CopyFrom(a)
    return resolved


def _compile_node(node, scope: Scope, known: set) -> tuple[_Step, set]:
    domain = normalize_domain(node.domain)
    opset = scope.opsets.get(domain)
    if opset is None:
        opset = _latest_opset() if domain == "" else 1
    attrs, subgraphs = _attributes(node, scope, known)
    sub_reads = set().union(*(g.free_names for g in subgraphs)) if subgraphs else set()
    ctx = OpContext(node.op_type, domain, opset, node.name, attrs, len(node.output))
    fn = _resolve(node, domain, opset, scope)
    step = _Step(fn, list(node.input), list(node.output), ctx, sub_reads if subgraphs else None)
    return step, sub_reads


def _resolve(node, domain: str, opset: int, scope: Scope):
    key = (domain, node.op_type)
    if key in scope.functions:
        return FunctionCall(scope.functions[key], node, scope)
    if domain != "":
        raise NotImplementedError(
            f"ember.onnx: op {node.op_type} of domain {domain!r} (opset {opset}) is not "
            "supported: ember runs the ai.onnx domain and model-local functions only"
        )
    if not _in_spec(node.op_type, opset):
        named = f" (node {node.name!r})" if node.name else ""
        raise NotImplementedError(
            f"ember.onnx: op {node.op_type} (domain ai.onnx, opset {opset}){named} is not "
            "defined at that opset"
        )
    handler = find_handler(node.op_type, opset)
    if handler is not None:
        return handler
    fn = schema_function(node, opset, scope)
    if fn is not None:
        return fn
    named = f" (node {node.name!r})" if node.name else ""
    raise NotImplementedError(
        f"ember.onnx: op {node.op_type} (domain ai.onnx, opset {opset}){named} is not supported"
    )


@functools.cache
def _in_spec(op_type: str, opset: int) -> bool:
    """Whether the ai.onnx spec defines ``op_type`` at ``opset`` (unknown ops count as defined:
    the caller reports them as unsupported)."""
    import onnx.defs

    if not onnx.defs.has(op_type, ""):
        return True
    try:
        onnx.defs.get_schema(op_type, opset, "")
    except onnx.defs.SchemaError:
        return False
    return True


def _attributes(node, scope: Scope, known: set) -> tuple[dict, list]:
    from onnx import AttributeProto as A

    out: dict[str, Any] = {}
    subgraphs: list[Graph] = []
    for a in node.attribute:
        what = f"attribute {a.name!r} of {node.op_type} node {node.name!r}"
        t = a.type
        if t == A.FLOAT:
            value: Any = a.f
        elif t == A.INT:
            value = a.i
        elif t == A.STRING:
            value = a.s.decode("utf-8", "replace")
        elif t == A.FLOATS:
            value = list(a.floats)
        elif t == A.INTS:
            value = list(a.ints)
        elif t == A.STRINGS:
            value = [s.decode("utf-8", "replace") for s in a.strings]
        elif t == A.TENSOR:
            value = tensor_from_proto(a.t, what)
        elif t == A.TENSORS:
            value = [tensor_from_proto(x, what) for x in a.tensors]
        elif t == A.SPARSE_TENSOR:
            value = dense_from_sparse(a.sparse_tensor, what)
        elif t == A.GRAPH:
            value = _subgraph(a.g, scope, known, what)
            subgraphs.append(value)
        elif t == A.GRAPHS:
            value = [_subgraph(g, scope, known, what) for g in a.graphs]
            subgraphs.extend(value)
        else:  # TYPE_PROTO(S): handlers read the proto itself
            value = a.tp if t == A.TYPE_PROTO else list(a.type_protos)
        out[a.name] = value
    return out, subgraphs


def _subgraph(g, scope: Scope, known: set, what: str) -> Graph:
    constants = {i.name: tensor_from_proto(i, "subgraph initializer") for i in g.initializer}
    return Graph(
        g.node,
        [i.name for i in g.input],
        [o.name for o in g.output],
        scope,
        constants=constants,
        outer_names=frozenset(known),
        what=f"subgraph {g.name!r} ({what})",
    )


def dense_from_sparse(sparse, what: str) -> Tensor:
    from onnx import numpy_helper

    values = numpy_helper.to_array(sparse.values)
    indices = numpy_helper.to_array(sparse.indices).astype(np.int64)
    dense = np.zeros(tuple(sparse.dims), values.dtype)
    if indices.ndim == 1:
        dense.reshape(-1)[indices] = values
    else:
        dense[tuple(indices.T)] = values
    return to_tensor(dense, what)
