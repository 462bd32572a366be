"""The ONNX import op table, one module per op family; importing registers every handler.

Example:
    >>> from ember.onnx.import_ops import registered_ops
    >>> registered_ops()["Softmax"]
    (1, 13)
"""

from . import (  # noqa: F401 - importing registers the handlers
    activations,
    control_flow,
    conv_pool,
    creation,
    elementwise,
    indexing,
    linalg,
    normalization,
    quantize,
    reductions,
    resize,
    rnn,
    shape_ops,
    signal,
    text,
    vision,
)
from ._registry import OpContext, find_handler, onnx_op, registered_ops

__all__ = ["OpContext", "find_handler", "onnx_op", "registered_ops"]
