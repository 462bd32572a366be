"""Activation ONNX ops (Relu's relatives, Gelu, Softplus, ...) and Softmax/LogSoftmax/Hardmax.

Before opset 13 the softmax family flattens the input to 2-D at ``axis`` (default 1) and
normalises each row; from 13 on it works along the single ``axis`` (default -1).

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("HardSigmoid", "", 6, "", {"alpha": 0.5}, 1)
    >>> find_handler("HardSigmoid", 6)(ctx, ember.tensor([-2.0, 0.0, 2.0]))
    tensor([0.0000, 0.5000, 1.0000])
"""

from __future__ import annotations

import math

import ember
import ember.nn.functional as F

from ._registry import OpContext, onnx_op
from ._util import const, norm_axis


@onnx_op("LeakyRelu")
def leaky_relu(ctx: OpContext, x):
    alpha = ctx.attr("alpha", 0.01)
    return ember.where(x >= 0, x, x * const(alpha, x))


@onnx_op("PRelu")
def prelu(ctx: OpContext, x, slope):
    return ember.where(x >= 0, x, x * slope)


@onnx_op("Elu")
def elu(ctx: OpContext, x):
    alpha = ctx.attr("alpha", 1.0)
    return ember.where(x > 0, x, (ember.exp(x) - 1.0) * const(alpha, x))


@onnx_op("Selu")
def selu(ctx: OpContext, x):
    alpha = ctx.attr("alpha", 1.67326319217681884765625)
    gamma = ctx.attr("gamma", 1.05070102214813232421875)
    neg = (ember.exp(x) - 1.0) * const(alpha, x)
    return ember.where(x > 0, x, neg) * const(gamma, x)


@onnx_op("Celu")
def celu(ctx: OpContext, x):
    alpha = const(ctx.attr("alpha", 1.0), x)
    return ember.relu(x) + ember.minimum(const(0, x), alpha * (ember.exp(x / alpha) - 1.0))


@onnx_op("Gelu")
def gelu(ctx: OpContext, x):
    approximate = ctx.attr("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise ctx.error(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return ember.gelu(x, approximate=approximate)


@onnx_op("HardSigmoid")
def hard_sigmoid(ctx: OpContext, x):
    alpha, beta = ctx.attr("alpha", 0.2), ctx.attr("beta", 0.5)
    return ember.clamp(x * const(alpha, x) + const(beta, x), 0.0, 1.0)


@onnx_op("HardSwish")
def hard_swish(ctx: OpContext, x):
    return x * ember.clamp(x * const(1.0 / 6.0, x) + 0.5, 0.0, 1.0)


@onnx_op("Softplus")
def softplus(ctx: OpContext, x):
    return ember.softplus(x)


@onnx_op("Softsign")
def softsign(ctx: OpContext, x):
    return x / (x.abs() + 1.0)


@onnx_op("Mish")
def mish(ctx: OpContext, x):
    return x * ember.tanh(ember.softplus(x))


@onnx_op("Swish")
def swish(ctx: OpContext, x):
    return x * ember.sigmoid(x * const(ctx.attr("alpha", 1.0), x))


@onnx_op("ThresholdedRelu")
def thresholded_relu(ctx: OpContext, x):
    alpha = ctx.attr("alpha", 1.0)
    return ember.where(x > const(alpha, x), x, const(0, x))


@onnx_op("Shrink")
def shrink(ctx: OpContext, x):
    bias, lambd = ctx.attr("bias", 0.0), ctx.attr("lambd", 0.5)
    lo = ember.where(x < -lambd, x + const(bias, x), const(0, x))
    return ember.where(x > lambd, x - const(bias, x), lo)


# ---------------------------------------------------------------------------------------------
# softmax family
# ---------------------------------------------------------------------------------------------
def _as_2d(ctx: OpContext, x):
    """Opsets < 13: view ``x`` as ``(prod(shape[:axis]), prod(shape[axis:]))``."""
    axis = norm_axis(ctx, ctx.attr("axis", 1), x.dim())
    rows = math.prod(x.shape[:axis])
    return x.reshape(rows, math.prod(x.shape[axis:])), 1


def _softmax_like(fn):
    def old(ctx: OpContext, x):
        if x.dim() == 0:
            return fn(x.reshape(1), 0).reshape(())
        flat, dim = _as_2d(ctx, x)
        return fn(flat, dim).reshape(x.shape)

    def new(ctx: OpContext, x):
        return fn(x, norm_axis(ctx, ctx.attr("axis", -1), x.dim()))

    return old, new


def _hardmax(x, dim):
    index = ember.argmax(x, dim, keepdim=True)
    positions = ember.arange(x.shape[dim]).reshape([-1] + [1] * (x.dim() - 1 - dim))
    return (positions == index).to(x.dtype)


for _name, _fn in (("Softmax", F.softmax), ("LogSoftmax", F.log_softmax), ("Hardmax", _hardmax)):
    _old, _new = _softmax_like(_fn)
    _old.__name__ = _new.__name__ = _name.lower()
    onnx_op(_name)(_old)
    onnx_op(_name, since=13)(_new)
