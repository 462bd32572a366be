"""Build a TensorBoard ``GraphDef`` of an ``ember.nn.Module`` (used by ``SummaryWriter.add_graph``).

Example:
    >>> from ember import nn
    >>> from ember.utils.tensorboard.graph import module_graph
    >>> g = module_graph(nn.Sequential(nn.Linear(2, 3)), None)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from .summary import require_tensorboard

__all__ = ["module_graph"]


def _flat_tensors(obj: Any) -> list:
    from ...tensor import Tensor

    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _flat_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _flat_tensors(o)]
    return []


def module_graph(model: Any, input_to_model: Any = None) -> Any:
    """A ``GraphDef`` with one node per leaf module of ``model``.

    With ``input_to_model`` the model runs once (eval mode, ``no_grad``; training flags are
    restored) and nodes are linked by the tensors passed between modules; a module input made by
    a functional operation is linked to the module that ran just before. Without inputs the
    graph shows the module hierarchy only.
    """
    require_tensorboard()
    from tensorboard.compat.proto.attr_value_pb2 import AttrValue
    from tensorboard.compat.proto.graph_pb2 import GraphDef
    from tensorboard.compat.proto.node_def_pb2 import NodeDef
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.compat.proto.versions_pb2 import VersionDef

    from ...autograd.grad_mode import no_grad

    root = type(model).__name__

    def node_name(path: str) -> str:
        return root + ("/" + path.replace(".", "/") if path else "")

    def shapes_attr(tensors: list) -> dict:
        shapes = [TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in t.shape])
                  for t in tensors]  # fmt: skip
        return {"_output_shapes": AttrValue(list=AttrValue.ListValue(shape=shapes))}

    leaves = [(n, m) for n, m in model.named_modules() if not any(True for _ in m.children())]
    nodes: list = []
    if input_to_model is None:
        for name, mod in leaves:
            nodes.append(NodeDef(name=node_name(name), op=type(mod).__name__))
        return GraphDef(node=nodes, versions=VersionDef(producer=22))

    inputs = input_to_model if isinstance(input_to_model, (tuple, list)) else (input_to_model,)
    producer: dict[int, str] = {}
    keep: list = []  # hold tensors so their ids stay unique during the run
    for i, t in enumerate(_flat_tensors(inputs)):
        nm = f"input/input.{i}"
        producer[id(t)] = nm
        keep.append(t)
        nodes.append(NodeDef(name=nm, op="IO Node", attr=shapes_attr([t])))
    last = [nodes[-1].name if nodes else None]
    calls: dict[str, int] = {}

    def make_hook(name: str):
        def hook(mod, args, out):
            srcs = []
            for t in _flat_tensors(args):
                src = producer.get(id(t), last[0])
                if src is not None and src not in srcs:
                    srcs.append(src)
            outs = _flat_tensors(out)
            nm = node_name(name)
            calls[nm] = calls.get(nm, 0) + 1
            if calls[nm] > 1:  # a module called several times: one node per call
                nm = f"{nm}_{calls[nm] - 1}"
            nodes.append(NodeDef(name=nm, op=type(mod).__name__, input=srcs,
                                 attr=shapes_attr(outs)))  # fmt: skip
            for t in outs:
                producer[id(t)] = nm
                keep.append(t)
            last[0] = nm

        return hook

    modes = {m: m.training for m in model.modules()}
    handles = [m.register_forward_hook(make_hook(n)) for n, m in leaves]
    try:
        model.eval()
        with no_grad():
            out = model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    for i, t in enumerate(_flat_tensors(out)):
        src = producer.get(id(t), last[0])
        nodes.append(NodeDef(name=f"output/output.{i}", op="IO Node",
                             input=[src] if src else [], attr=shapes_attr([t])))  # fmt: skip
    return GraphDef(node=nodes, versions=VersionDef(producer=22))
