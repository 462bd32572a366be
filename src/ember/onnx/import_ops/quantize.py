"""Linear quantization ONNX ops for 8/16-bit integer types: QuantizeLinear, DequantizeLinear,
QLinearMatMul, QLinearConv (scales per tensor, per axis or per block).

``QuantizeLinear`` rounds half to even and saturates to the output type's range; 4-bit and
8-bit float types are not supported (ember cannot hold them).

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("QuantizeLinear", "", 19, "", {}, 1)
    >>> q = find_handler("QuantizeLinear", 19)(ctx, ember.tensor([0.0, 2.5, 1000.0]),
    ...     ember.tensor(0.5), ember.tensor(10, dtype=ember.uint8))
    >>> q
    tensor([ 10,  15, 255], dtype=ember.uint8)
"""

from __future__ import annotations

import ember

from ._registry import OpContext, onnx_op
from ._values import declared_elem_type, elem_type_dtype

# ONNX element type -> (lowest, highest) value of the quantized type
_RANGES = {
    2: (0, 255),  # UINT8
    3: (-128, 127),  # INT8
    4: (0, 65535),  # UINT16
    5: (-32768, 32767),  # INT16
    6: (-(2**31), 2**31 - 1),  # INT32
}


def _broadcast_param(ctx: OpContext, p, x):
    """A scale or zero point shaped to broadcast against ``x`` (per tensor/axis/block)."""
    if p.numel() == 1:
        return p.reshape(())
    axis = ctx.attr("axis", 1) % x.dim()
    block = ctx.attr("block_size", 0)
    if block:
        if p.dim() != x.dim():
            raise ctx.error(
                f"blocked scale {tuple(p.shape)} must have the rank of x {tuple(x.shape)}"
            )
        return ember.repeat_interleave(p, block, axis).narrow(axis, 0, x.shape[axis])
    if p.dim() != 1 or p.shape[0] != x.shape[axis]:
        raise ctx.error(
            f"per-axis parameter of shape {tuple(p.shape)} does not match axis {axis} of x "
            f"{tuple(x.shape)}"
        )
    return p.reshape((-1,) + (1,) * (x.dim() - 1 - axis))


def _quantize(ctx: OpContext, x, scale, zero_point, elem_type: int):
    """``saturate(round_half_even(x / scale) + zero_point)``, divided in ``x``'s precision."""
    if elem_type not in _RANGES:
        raise ctx.unsupported(f"quantizing to ONNX element type {elem_type}")
    lo, hi = _RANGES[elem_type]
    work = x if x.dtype.is_floating_point else x.to(ember.float32)
    q = ember.round(work / _broadcast_param(ctx, scale, x).to(work.dtype)).to(ember.float64)
    if zero_point is not None:
        q = q + _broadcast_param(ctx, zero_point, x).to(ember.float64)
    out_dtype = elem_type_dtype(elem_type, f"{ctx.describe()} output")
    return ember.clamp(q, lo, hi).to(out_dtype)


def _output_type(ctx: OpContext, zero_point) -> int:
    code = ctx.attr("output_dtype", 0)
    if code:
        return code
    return declared_elem_type(zero_point) if zero_point is not None else 2  # UINT8


@onnx_op("QuantizeLinear")
def quantize_linear(ctx: OpContext, x, scale, zero_point=None):
    return _quantize(ctx, x, scale, zero_point, _output_type(ctx, zero_point))


def _dequantize(ctx: OpContext, x, scale, zero_point, like=None):
    work = x.to(ember.float64)
    if zero_point is not None:
        work = work - _broadcast_param(ctx, zero_point, x).to(ember.float64)
    s = _broadcast_param(ctx, scale, x)
    return (work * s.to(ember.float64)).to(like if like is not None else s.dtype)


@onnx_op("DequantizeLinear")
def dequantize_linear(ctx: OpContext, x, scale, zero_point=None):
    code = ctx.attr("output_dtype", 0)
    target = elem_type_dtype(code, f"{ctx.describe()} output_dtype") if code else scale.dtype
    if x.dtype is ember.int32 and zero_point is None:
        return (x.to(ember.float64) * _broadcast_param(ctx, scale, x).to(ember.float64)).to(target)
    return _dequantize(ctx, x, scale, zero_point, target)


class _PerTensor(OpContext):
    """The context for a per-tensor/per-row parameter of a QLinear op (axis chosen)."""

    def __init__(self, ctx: OpContext, axis: int):
        super().__init__(ctx.op_type, ctx.domain, ctx.opset, ctx.name, {"axis": axis}, 1)


@onnx_op("QLinearMatMul")
def qlinear_matmul(ctx: OpContext, a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp):
    fa = _dequantize(_PerTensor(ctx, -2), a, a_scale, a_zp, ember.float64)
    fb = _dequantize(_PerTensor(ctx, -1), b, b_scale, b_zp, ember.float64)
    y = ember.matmul(fa, fb)
    return _quantize(_PerTensor(ctx, -1), y, y_scale, y_zp, declared_elem_type(y_zp))


@onnx_op("QLinearConv")
def qlinear_conv(ctx: OpContext, x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias=None):
    from .conv_pool import _conv

    fx = _dequantize(_PerTensor(ctx, 1), x, x_scale, x_zp, ember.float64)
    fw = _dequantize(_PerTensor(ctx, 0), w, w_scale, w_zp, ember.float64)
    fb = None
    if bias is not None:
        scale = (x_scale.to(ember.float64) * w_scale.to(ember.float64)).reshape(-1)
        fb = bias.to(ember.float64) * scale
    y = _conv(ctx, fx, fw, fb)
    return _quantize(_PerTensor(ctx, 1), y, y_scale, y_zp, declared_elem_type(y_zp))
