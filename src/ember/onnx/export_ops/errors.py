"""Errors raised while exporting to ONNX.

Example:
    >>> from ember.onnx.export_ops.errors import UnsupportedOperatorError
    >>> err = UnsupportedOperatorError("ctc_loss", 17, "no such ONNX op")
    >>> print(err)
    ember.onnx.export: primitive 'ctc_loss' has no ONNX lowering at opset 17: no such ONNX op
    >>> err.primitive, err.opset
    ('ctc_loss', 17)
"""

from __future__ import annotations

__all__ = ["OnnxExportError", "UnsupportedOperatorError"]


class OnnxExportError(RuntimeError):
    """The model cannot be exported (bad arguments are ``ValueError``/``TypeError`` instead)."""


class UnsupportedOperatorError(OnnxExportError):
    """A primitive (or one of its attribute values) has no ONNX lowering at the chosen opset."""

    def __init__(self, primitive: str, opset: int, reason: str = ""):
        self.primitive = primitive
        self.opset = opset
        self.reason = reason
        text = f"ember.onnx.export: primitive {primitive!r} has no ONNX lowering at opset {opset}"
        super().__init__(text + (f": {reason}" if reason else ""))
