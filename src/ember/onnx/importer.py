"""ONNX import: :func:`load` turns an ONNX model into an ember ``nn.Module`` that runs eagerly.

Every node runs through a handler of the op table (:mod:`ember.onnx.import_ops`) written with
ember ops, so autograd flows through the whole graph. Floating-point initializers become
``nn.Parameter`` s (so the model can be fine-tuned with ``ember.optim``), the other initializers
buffers; ``module.onnx_names`` maps each attribute name back to its ONNX name. Ops without a
handler but with a function body in the ONNX spec (and model-local functions) run that body;
anything else raises ``NotImplementedError`` naming the op, its domain and opset when the model
is loaded.

Example:
    >>> import numpy as np, onnx
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> import ember, ember.onnx
    >>> w = numpy_helper.from_array(np.array([[1.0], [2.0]], np.float32), "w")
    >>> graph = helper.make_graph(
    ...     [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
    ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])], [w])
    >>> m = ember.onnx.load(helper.make_model(graph))
    >>> m(ember.tensor([[3.0, 4.0]]))
    tensor([[11.]], grad_fn=<MatmulBackward0>)
    >>> [name for name, _ in m.named_parameters()], m.onnx_names
    (['w'], {'w': 'w'})
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..nn.modules.module import Module
from ..nn.parameter import Parameter
from ..tensor import Tensor
from .import_ops._graph import Graph, Scope, dense_from_sparse, normalize_domain
from .import_ops._values import (
    _elem_name,
    elem_type_dtype,
    elem_type_numpy,
    tensor_from_proto,
    to_tensor,
)

__all__ = ["load", "OnnxModule"]


def load(model) -> OnnxModule:
    """Import an ONNX model (a file path, serialized bytes or a ``ModelProto``) as a Module.

    External data stored next to a model file is loaded with it. Raises ``FileNotFoundError``
    for a missing file, ``ValueError`` for a file that is not an ONNX model and
    ``NotImplementedError`` naming the first op (type, domain, opset) ember cannot run.
    """
    import onnx

    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"ember.onnx.load: no ONNX model file at {path!r}")
        try:
            proto = onnx.load(path, load_external_data=False)
        except Exception as e:  # protobuf's DecodeError and friends
            raise ValueError(f"ember.onnx.load: {path!r} is not a readable ONNX model: {e}") from e
        try:
            onnx.load_external_data_for_model(proto, os.path.dirname(os.path.abspath(path)))
        except Exception as e:
            raise FileNotFoundError(
                f"ember.onnx.load: cannot read the external data of {path!r}: {e}"
            ) from e
    elif isinstance(model, (bytes, bytearray)):
        try:
            proto = onnx.load_model_from_string(bytes(model))
        except Exception as e:
            raise ValueError(f"ember.onnx.load: the bytes are not an ONNX model: {e}") from e
    elif isinstance(model, onnx.ModelProto):
        proto = model
    else:
        raise TypeError(
            "ember.onnx.load: expected a file path, bytes or onnx.ModelProto, got "
            f"{type(model).__name__}"
        )
    if not proto.HasField("graph"):
        raise ValueError("ember.onnx.load: the model has no graph")
    return OnnxModule(proto)


# ---------------------------------------------------------------------------------------------
# the module
# ---------------------------------------------------------------------------------------------
def _attr_name(onnx_name: str, taken) -> str:
    base = re.sub(r"\W", "_", onnx_name).strip("_") or "initializer"
    if base[0].isdigit():
        base = "_" + base
    name, n = base, 1
    while name in taken or hasattr(Module, name):
        n += 1
        name = f"{base}_{n}"
    return name


def _value_kind(t) -> str:
    """``tensor``, ``sequence`` or ``optional`` (what a graph input or output holds)."""
    kind = t.WhichOneof("value")
    return {"sequence_type": "sequence", "optional_type": "optional"}.get(kind, "tensor")


def _value_info(vi) -> tuple[str, int | None, tuple | None]:
    """(name, element type or None, shape with None for symbolic dims, or None if unknown)."""
    t = vi.type
    if t.WhichOneof("value") != "tensor_type":
        return vi.name, None, None
    tt = t.tensor_type
    shape = None
    if tt.HasField("shape"):
        shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
    return vi.name, (tt.elem_type or None), shape


class OnnxModule(Module):
    """An ONNX graph as an ember Module; see :func:`load`.

    ``forward(*inputs)`` takes one tensor (or NumPy array) per graph input, in the graph's
    order, and returns a tensor, or a tuple when the graph has several outputs.
    """

    def __init__(self, model):
        super().__init__()
        graph = model.graph
        opsets = {normalize_domain(o.domain): o.version for o in model.opset_import}
        functions = {(normalize_domain(f.domain), f.name): f for f in model.functions}
        self.opset_imports = dict(opsets)
        self.onnx_names: dict[str, str] = {}
        self._attr_of: dict[str, str] = {}
        for init in graph.initializer:
            self._add_initializer(init.name, tensor_from_proto(init, "initializer"))
        for sparse in graph.sparse_initializer:
            what = f"sparse initializer {sparse.values.name!r}"
            self._add_initializer(sparse.values.name, dense_from_sparse(sparse, what))
        initialized = set(self._attr_of)
        inputs = [_value_info(vi) for vi in graph.input if vi.name not in initialized]
        self.input_names = [name for name, _, _ in inputs]
        self.input_types = [t for _, t, _ in inputs]
        self.input_shapes = [s for _, _, s in inputs]
        self.input_kinds = [
            _value_kind(vi.type) for vi in graph.input if vi.name not in initialized
        ]
        outputs = [_value_info(vi) for vi in graph.output]
        self.output_names = [name for name, _, _ in outputs]
        self.output_types = [t for _, t, _ in outputs]
        self._graph = Graph(
            graph.node,
            self.input_names,
            self.output_names,
            Scope(opsets, functions),
            outer_names=frozenset(initialized),
            what=f"graph {graph.name!r}",
        )

    def _add_initializer(self, onnx_name: str, value: Tensor) -> None:
        attr = _attr_name(onnx_name, self.onnx_names)
        if value.dtype.is_floating_point:
            self.register_parameter(attr, Parameter(value))
        else:
            self.register_buffer(attr, value)
        self.onnx_names[attr] = onnx_name
        self._attr_of[onnx_name] = attr

    def _bind(self, i: int, value):
        name, elem_type, shape = self.input_names[i], self.input_types[i], self.input_shapes[i]
        what = f"input {i} ({name!r})"
        kind = self.input_kinds[i]
        if kind == "optional" and value is None:
            return None
        if kind == "sequence" or (kind == "optional" and isinstance(value, (list, tuple))):
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"ember.onnx: {what} is a sequence: pass a list of tensors")
            return [to_tensor(v, f"{what} item {j}") for j, v in enumerate(value)]
        if elem_type is not None and not isinstance(value, (Tensor, np.ndarray, np.generic)):
            value = np.asarray(value, dtype=elem_type_numpy(elem_type, what))
        value = to_tensor(value, what)
        if elem_type is not None:
            want = elem_type_dtype(elem_type, what)
            if value.dtype is not want:
                raise TypeError(
                    f"ember.onnx: {what} must have dtype {want.name} (ONNX "
                    f"{_elem_name(elem_type)}), got {value.dtype.name}"
                )
        if shape is not None:
            got = tuple(value.shape)
            if len(got) != len(shape) or any(w is not None and w != g for w, g in zip(shape, got)):
                want_s = "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
                raise ValueError(
                    f"ember.onnx: {what} must have shape {want_s} (? = any size), got {got}"
                )
        return value

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(
                f"ember.onnx: the model takes {len(self.input_names)} inputs "
                f"({', '.join(self.input_names) or 'none'}), got {len(inputs)}"
            )
        preset = {}
        for onnx_name, attr in self._attr_of.items():
            preset[onnx_name] = self._parameters.get(attr, self._buffers.get(attr))
        args = [self._bind(i, x) for i, x in enumerate(inputs)]
        outs = self._graph.run(None, args, preset)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def extra_repr(self) -> str:
        return (
            f"inputs={self.input_names}, outputs={self.output_names}, "
            f"opset={self.opset_imports.get('', '?')}, nodes={len(self._graph.steps)}"
        )
