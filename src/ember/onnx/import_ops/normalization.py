"""Normalisation ONNX ops: BatchNormalization, InstanceNormalization, LayerNormalization,
GroupNormalization, RMSNormalization, LpNormalization, LRN.

Statistics use ember's fused ``standardize`` (biased variance, one pass) where the op
normalises over whole axes; ``stash_type`` 1 computes half-precision inputs in float32.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("LayerNormalization", "", 17, "", {"epsilon": 0.0}, 1)
    >>> y, mean, inv_std = find_handler("LayerNormalization", 17)(
    ...     ctx, ember.tensor([[1.0, 3.0]]), ember.ones(2))
    >>> y, mean
    (tensor([[-1.,  1.]]), tensor([[2.]]))
"""

from __future__ import annotations

import ember
from ember.ops.nn_kernels import standardize

from ._registry import OpContext, onnx_op
from ._util import const, norm_axis


def _channels(p, ndim: int):
    """A per-channel ``(C,)`` tensor shaped to broadcast against ``(N, C, *spatial)``."""
    return p.reshape((-1,) + (1,) * max(ndim - 2, 0))


def _stash(ctx: OpContext, x):
    """``x`` in the compute type: float32 for half types when ``stash_type`` is 1."""
    if ctx.attr("stash_type", 1) == 1 and x.dtype in (ember.float16, ember.bfloat16):
        return x.to(ember.float32)
    return x


@onnx_op("BatchNormalization")
def batch_norm(ctx: OpContext, x, scale, bias, mean, var):
    eps, momentum = ctx.attr("epsilon", 1e-5), ctx.attr("momentum", 0.9)
    if ctx.attr("training_mode", 0):  # opset 14+: batch statistics, updated running stats
        axes = (0,) + tuple(range(2, x.dim()))
        y, batch_mean, rstd = standardize(x, axes, eps)
        batch_mean = batch_mean.reshape(-1)
        batch_var = ember.mean((x - _channels(batch_mean, x.dim())) ** 2, axes)
        y = y * _channels(scale, x.dim()) + _channels(bias, x.dim())
        keep = const(momentum, mean)
        new_mean = mean * keep + batch_mean.detach() * (1 - keep)
        new_var = var * keep + batch_var.detach() * (1 - keep)
        return y, new_mean, new_var
    factor = scale / ember.sqrt(var + const(eps, var))
    shift = bias - mean * factor
    y = x * _channels(factor, x.dim()) + _channels(shift, x.dim())
    return y if ctx.num_outputs == 1 else (y, mean, var, mean, var)


@onnx_op("InstanceNormalization")
def instance_norm(ctx: OpContext, x, scale, bias):
    y = standardize(x, tuple(range(2, x.dim())), ctx.attr("epsilon", 1e-5))[0]
    return y * _channels(scale, x.dim()) + _channels(bias, x.dim())


@onnx_op("LayerNormalization")
def layer_norm(ctx: OpContext, x, scale, bias=None):
    axis = norm_axis(ctx, ctx.attr("axis", -1), x.dim())
    xs = _stash(ctx, x)
    y, mean, rstd = standardize(xs, tuple(range(axis, x.dim())), ctx.attr("epsilon", 1e-5))
    y = y.to(x.dtype) * scale
    if bias is not None:
        y = y + bias
    return y, mean, rstd


@onnx_op("GroupNormalization")
def group_norm(ctx: OpContext, x, scale, bias):
    """Opset 18: ``scale``/``bias`` per group; opset 21: per channel."""
    groups = ctx.attr("num_groups")
    n, c = x.shape[0], x.shape[1]
    if c % groups:
        raise ctx.error(f"channels ({c}) must be divisible by num_groups ({groups})")
    xs = _stash(ctx, x)
    grouped = xs.reshape(n, groups, -1)
    y = standardize(grouped, (2,), ctx.attr("epsilon", 1e-5))[0].reshape(x.shape).to(x.dtype)
    if ctx.opset < 21 and scale.numel() == groups and groups != c:
        scale = ember.repeat_interleave(scale, c // groups)
        bias = ember.repeat_interleave(bias, c // groups)
    return y * _channels(scale, x.dim()) + _channels(bias, x.dim())


@onnx_op("RMSNormalization")
def rms_norm(ctx: OpContext, x, scale):
    axis = norm_axis(ctx, ctx.attr("axis", -1), x.dim())
    xs = _stash(ctx, x)
    dims = tuple(range(axis, x.dim()))
    ms = ember.mean(xs * xs, dims, keepdim=True)
    y = xs * ember.rsqrt(ms + const(ctx.attr("epsilon", 1e-5), ms))
    return y.to(x.dtype) * scale


@onnx_op("LpNormalization")
def lp_norm(ctx: OpContext, x):
    axis = norm_axis(ctx, ctx.attr("axis", -1), x.dim())
    p = ctx.attr("p", 2)
    if p == 1:
        norm = ember.sum(x.abs(), axis, keepdim=True)
    elif p == 2:
        norm = ember.sqrt(ember.sum(x * x, axis, keepdim=True))
    else:
        raise ctx.error(f"p must be 1 or 2, got {p}")
    return x / ember.where(norm == 0, const(1, norm), norm)  # an all-zero slice stays zero


@onnx_op("LRN")
def lrn(ctx: OpContext, x):
    """``x / (bias + alpha / size * sum of x^2 over a window of channels) ** beta``."""
    size = ctx.attr("size")
    alpha, beta, bias = ctx.attr("alpha", 1e-4), ctx.attr("beta", 0.75), ctx.attr("bias", 1.0)
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = x * x
    widths = [0, 0] * (x.dim() - 2) + [lo, hi]
    padded = ember.pad(sq, tuple(widths))
    c = x.shape[1]
    total = padded.narrow(1, 0, c)
    for i in range(1, size):
        total = total + padded.narrow(1, i, c)
    return x / (total * const(alpha / size, x) + const(bias, x)) ** beta
