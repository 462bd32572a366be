"""ONNX interoperability: export ember models to ONNX and import ONNX models as Modules.

``ember.onnx.load(path_or_model)`` returns an :class:`~ember.onnx.importer.OnnxModule` that runs
the graph eagerly with ember ops (autograd included, initializers become Parameters), and
``ember.onnx.backend`` is an ``onnx.backend.base.Backend`` running models through it.
``ember.onnx.export(module, args, f, ...)`` (PyTorch's call shape) writes a model from ember's
graph IR. Names
load on first use (PEP 562) and the ``onnx`` package only when a model is read, so
``import ember.onnx`` costs almost nothing and never needs ``onnx``.

Example:
    >>> import numpy as np, onnx
    >>> from onnx import TensorProto, helper
    >>> import ember.onnx
    >>> graph = helper.make_graph(
    ...     [helper.make_node("Relu", ["x"], ["y"])], "relu",
    ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])])
    >>> module = ember.onnx.load(helper.make_model(graph))
    >>> module(np.array([-1.0, 0.5, 2.0], np.float32))
    tensor([0.0000, 0.5000, 2.0000])
"""

from __future__ import annotations

import importlib

# public name -> the submodule defining it (None: the name is the submodule itself).
# A new entry point (``export``) is one more line here.
_LAZY = {
    "load": "importer",
    "OnnxModule": "importer",
    "backend": None,
    "export": "exporter",
    "TrainingMode": "exporter",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name] or name}", __name__)
        value = module if _LAZY[name] is None else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ember.onnx' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
