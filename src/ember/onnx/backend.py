"""``onnx.backend.base.Backend`` adapter: run ONNX models and single nodes through ember.

``prepare(model)`` imports the model with :func:`ember.onnx.load` (under ``ember.no_grad``
when run) and returns a :class:`EmberRep` whose ``run(inputs)`` returns NumPy arrays of the
graph's declared output types; ``run_node`` wraps one node in a graph. This is what runs the
ONNX backend node test suite (``tests/onnx/test_onnx_node_suite.py``).

Example:
    >>> import numpy as np
    >>> from onnx import helper
    >>> from ember.onnx import backend
    >>> node = helper.make_node("Add", ["a", "b"], ["c"])
    >>> backend.run_node(node, [np.ones(2, np.float32), np.ones(2, np.float32)])
    [array([2., 2.], dtype=float32)]
    >>> backend.supports_device("CPU"), backend.supports_device("CUDA")
    (True, False)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper
from onnx.backend.base import Backend, BackendRep, Device, DeviceType

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .import_ops._values import to_numpy
from .importer import OnnxModule, load

__all__ = ["EmberBackend", "EmberRep", "prepare", "run_model", "run_node", "supports_device"]


def _to_output(value, elem_type):
    if isinstance(value, Tensor):
        return to_numpy(value, elem_type)
    if isinstance(value, list):
        return [_to_output(v, None) for v in value]
    return value  # None: an empty optional


class EmberRep(BackendRep):
    """A prepared model: ``run(inputs)`` feeds NumPy arrays in graph-input order."""

    def __init__(self, module: OnnxModule):
        self.module = module

    def run(self, inputs: Any, **kwargs: Any) -> tuple:
        if isinstance(inputs, dict):
            inputs = [inputs[name] for name in self.module.input_names]
        elif isinstance(inputs, (np.ndarray, Tensor)):
            inputs = [inputs]
        with no_grad():
            outs = self.module(*inputs)
        if not isinstance(outs, tuple) or len(self.module.output_names) == 1:
            outs = (outs,)
        return tuple(_to_output(v, t) for v, t in zip(outs, self.module.output_types))


class EmberBackend(Backend):
    """Runs ONNX models on the CPU with ember (eager NumPy reference ops)."""

    @classmethod
    def is_compatible(cls, model, device: str = "CPU", **kwargs: Any) -> bool:
        return cls.supports_device(device)

    @classmethod
    def prepare(cls, model, device: str = "CPU", **kwargs: Any) -> EmberRep:
        if not cls.supports_device(device):
            raise ValueError(f"ember.onnx.backend: device {device!r} is not supported (CPU only)")
        return EmberRep(load(model))

    @classmethod
    def run_model(cls, model, inputs: Any, device: str = "CPU", **kwargs: Any) -> tuple:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(
        cls,
        node,
        inputs: Any,
        device: str = "CPU",
        outputs_info=None,
        **kwargs: Any,
    ) -> list:
        """Run one node on NumPy ``inputs`` (``opset_version`` picks the opset)."""
        names = [n for n in node.input if n]
        if isinstance(inputs, dict):
            inputs = [inputs[n] for n in names]
        arrays = [np.asarray(a) for a in inputs]
        if len(arrays) != len(names):
            raise ValueError(
                f"ember.onnx.backend.run_node: {node.op_type} has {len(names)} inputs, "
                f"got {len(arrays)} arrays"
            )
        graph_inputs = [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in zip(names, arrays)
        ]
        graph_outputs = [helper.make_empty_tensor_value_info(n) for n in node.output if n]
        graph = helper.make_graph([node], f"{node.op_type}_node", graph_inputs, graph_outputs)
        opset = kwargs.get("opset_version", onnx.defs.onnx_opset_version())
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        try:  # declared output types let unsigned results come back unsigned
            model = onnx.shape_inference.infer_shapes(model)
        except Exception:  # noqa: BLE001 - inference is a nicety; ember reports real errors
            pass
        return list(cls.prepare(model, device).run(arrays))

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return Device(device).type == DeviceType.CPU


prepare = EmberBackend.prepare
run_model = EmberBackend.run_model
run_node = EmberBackend.run_node
supports_device = EmberBackend.supports_device
