"""Turn an ember graph (``ember.ir.Graph``) into an ONNX ``ModelProto``.

Nodes that no output depends on are dropped first; every remaining node is lowered by its
primitive's ``lowerings["onnx"]`` entry. Parameters become initializers under their own names
(a module's ``state_dict`` names), graph inputs and outputs get the given names, and sizes that
depend on the batch size become symbolic dimensions (``dim_param``).

Example:
    >>> import numpy as np
    >>> from ember.ir import Graph, SymInt
    >>> from ember.onnx.export_ops.convert import graph_to_onnx
    >>> g = Graph()
    >>> x = g.add_input((SymInt(1, 0), 3), "float32")
    >>> w = g.add_param((2, 3), "float32", "fc.weight")
    >>> (y,) = g.add_node("linear", [x, w], {}, [((SymInt(1, 0), 2), "float32")])
    >>> g.outputs = [y]
    >>> model = graph_to_onnx(g, {"fc.weight": np.ones((2, 3), np.float32)}, opset=17)
    >>> [n.op_type for n in model.graph.node], [i.name for i in model.graph.initializer]
    (['Gemm'], ['fc.weight'])
    >>> model.graph.output[0].type.tensor_type.shape.dim[0].dim_param
    'batch'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from onnx import ModelProto, helper

from ... import _version
from ...ir.graph import Graph
from ...ir.symbolic import SymInt
from ...registry import REGISTRY
from ._context import LoweringContext, onnx_type
from .errors import OnnxExportError, UnsupportedOperatorError

__all__ = ["graph_to_onnx", "live_nodes"]


def live_nodes(graph: Graph) -> list:
    """The nodes some graph output depends on, in order."""
    needed = set(graph.outputs)
    keep = []
    for node in reversed(graph.nodes):
        if any(o in needed for o in node.outputs):
            keep.append(node)
            needed.update(node.inputs)
    keep.reverse()
    return keep


def graph_to_onnx(
    graph: Graph,
    params: Mapping[str, np.ndarray],
    *,
    opset: int,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dim_names: Mapping[tuple[str, int], str] | None = None,
    batch_name: str = "batch",
    model_name: str = "ember",
) -> ModelProto:
    """The ONNX model computing ``graph``; ``params`` maps parameter names to arrays.

    ``dim_names`` names symbolic dimensions of inputs/outputs: ``(tensor name, axis) -> name``;
    other ``N`` sizes are called ``batch_name``.
    """
    graph.validate()
    input_names = list(input_names or [f"input_{k}" for k in range(len(graph.inputs))])
    output_names = list(output_names or [f"output_{k}" for k in range(len(graph.outputs))])
    dim_names = dict(dim_names or {})
    ctx = LoweringContext(graph, opset)
    for name in [*input_names, *output_names]:
        ctx.reserve(name)
    nodes = live_nodes(graph)
    ctx.set_live(nodes)
    used = ctx.live_values

    inputs = []
    for vid, name in zip(graph.inputs, input_names):
        ctx.bind(vid, name)
        inputs.append(_value_info(ctx, vid, name, dim_names, batch_name))
    for vid, pname in graph.params.items():
        if vid not in used:
            continue
        if pname not in params:
            raise OnnxExportError(f"ember.onnx.export: no value for parameter {pname!r}")
        array = np.asarray(params[pname])
        ctx.bind(vid, ctx.add_initializer(array, pname))
    for vid, array in graph.consts.items():
        if vid in used:
            ctx.bind(vid, ctx.const(np.asarray(array), name="const"))

    for node in nodes:
        _lower(ctx, node)

    outputs = []
    finals = _name_outputs(ctx, graph.outputs, output_names)
    for vid, name in zip(graph.outputs, finals):
        outputs.append(_value_info(ctx, vid, name, dim_names, batch_name))
    nodes, initializers = _prune(ctx.nodes, ctx.initializers, finals)
    onnx_graph = helper.make_graph(nodes, model_name, inputs, outputs, initializers)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        onnx_graph,
        opset_imports=opsets,
        producer_name="ember",
        producer_version=_version.__version__,
    )
    try:  # the oldest IR version that knows the opset, so older runtimes load the file
        model.ir_version = helper.find_min_ir_version_for(opsets)
    except ValueError:  # an opset newer than onnx's version table: keep onnx's own IR version
        pass
    return model


def _lower(ctx: LoweringContext, node) -> None:
    prim = REGISTRY.get(node.op)
    lowering = prim.lowerings.get("onnx") if prim is not None else None
    if lowering is None:
        from ._registry import NOT_LOWERED

        raise UnsupportedOperatorError(node.op, ctx.opset, NOT_LOWERED.get(node.op, ""))
    if ctx.opset < lowering.min_opset:
        raise UnsupportedOperatorError(
            node.op, ctx.opset, f"its lowering needs opset >= {lowering.min_opset}"
        )
    ctx.node = node
    result = lowering(ctx, node, *[ctx.name(i) for i in node.inputs])
    ctx.node = None
    names = [result] if isinstance(result, str) else list(result)
    if len(names) != len(node.outputs):
        raise OnnxExportError(
            f"ember.onnx.export: the lowering of {node.op!r} gave {len(names)} outputs, "
            f"expected {len(node.outputs)}"
        )
    for k, (vid, name) in enumerate(zip(node.outputs, names)):
        if name is not None:
            ctx.bind(vid, name)
        elif vid in ctx.live_values:
            raise UnsupportedOperatorError(
                node.op, ctx.opset, f"output {k} (used by the model) cannot be exported"
            )


def _prune(nodes, initializers, outputs):
    """Drop ONNX nodes and initializers no output needs (e.g. a projection an LSTM folded)."""
    needed = set(outputs)
    keep = []
    for proto in reversed(nodes):
        if any(o in needed for o in proto.output):
            keep.append(proto)
            needed.update(i for i in proto.input if i)
    keep.reverse()
    return keep, [t for t in initializers if t.name in needed]


def _name_outputs(ctx: LoweringContext, vids, names) -> list[str]:
    """Rename the tensors of graph outputs to ``names`` (Identity where renaming can't)."""
    produced = {}
    for k, proto in enumerate(ctx.nodes):
        for j, out in enumerate(proto.output):
            produced[out] = (k, j)
    renamed: dict[str, str] = {}
    for vid, want in zip(vids, names):
        have = ctx.name(vid)
        if have in produced and have not in renamed:
            renamed[have] = want
        else:
            src = renamed.get(have, have)
            ctx.nodes.append(
                helper.make_node("Identity", [src], [want], name=ctx.fresh("Identity"))
            )
    if renamed:
        for proto in ctx.nodes:
            for j, out in enumerate(proto.output):
                if out in renamed:
                    proto.output[j] = renamed[out]
            for j, inp in enumerate(proto.input):
                if inp in renamed:
                    proto.input[j] = renamed[inp]
    return list(names)


def _value_info(ctx, vid: int, name: str, dim_names, batch_name: str):
    dims = []
    for axis, d in enumerate(ctx.shape(vid)):
        if isinstance(d, SymInt):
            dims.append(dim_names.get((name, axis)) or _sym_name(d, batch_name))
        elif d is None:
            dims.append(None)
        else:
            dims.append(int(d))
    return helper.make_tensor_value_info(name, onnx_type(ctx.dtype(vid)), dims)


def _sym_name(d: SymInt, batch: str) -> str:
    text = batch if d.coef == 1 else f"{d.coef}*{batch}"
    if d.offset:
        text += f"{'+' if d.offset > 0 else '-'}{abs(d.offset)}"
    return text
