"""Tensor-creating ONNX ops: Constant, ConstantOfShape, Range, EyeLike and the random ops.

Random ops draw from an ``ember.Generator`` seeded with the node's ``seed`` attribute when it
has one (ember's generator is not NumPy's, so the numbers differ from other runtimes), else
from ember's default generator.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("Range", "", 11, "", {}, 1)
    >>> find_handler("Range", 11)(ctx, ember.tensor(1), ember.tensor(8), ember.tensor(3))
    tensor([1, 4, 7])
"""

from __future__ import annotations

import math

import ember

from ._registry import OpContext, onnx_op
from ._util import int_list, scalar
from ._values import elem_type_dtype


@onnx_op("Constant")
def constant(ctx: OpContext):
    attrs = ctx.attrs
    if "value" in attrs or "sparse_value" in attrs:
        return attrs.get("value", attrs.get("sparse_value"))
    if "value_float" in attrs:
        return ember.tensor(attrs["value_float"], dtype=ember.float32)
    if "value_floats" in attrs:
        return ember.tensor(attrs["value_floats"], dtype=ember.float32)
    if "value_int" in attrs:
        return ember.tensor(attrs["value_int"], dtype=ember.int64)
    if "value_ints" in attrs:
        return ember.tensor(attrs["value_ints"], dtype=ember.int64)
    if "value_string" in attrs or "value_strings" in attrs:
        raise ctx.unsupported("a string constant")
    raise ctx.error("has no value attribute")


@onnx_op("ConstantOfShape")
def constant_of_shape(ctx: OpContext, shape):
    value = ctx.attr("value")
    dims = tuple(int_list(shape))
    if any(d < 0 for d in dims):
        raise ctx.error(f"shape {list(dims)} has a negative dimension")
    if value is None:
        return ember.zeros(dims, dtype=ember.float32)
    return ember.full(dims, value.reshape(-1)[0].item(), dtype=value.dtype)


@onnx_op("Range")
def range_(ctx: OpContext, start, limit, delta):
    """``start + i * delta`` for ``i < max(ceil((limit - start) / delta), 0)``, in ``start``'s type."""
    s, lim, d = scalar(start), scalar(limit), scalar(delta)
    if d == 0:
        raise ctx.error("delta cannot be 0")
    n = max(math.ceil((lim - s) / d), 0)
    steps = ember.arange(n, dtype=start.dtype)
    return steps * delta.reshape(()) + start.reshape(())


@onnx_op("EyeLike")
def eye_like(ctx: OpContext, x):
    if x.dim() != 2:
        raise ctx.error(f"expected a 2-D input, got shape {tuple(x.shape)}")
    dtype = ctx.attr("dtype")
    dtype = x.dtype if dtype is None else elem_type_dtype(dtype, f"{ctx.describe()} dtype")
    rows = ember.arange(x.shape[0]).reshape(-1, 1)
    cols = ember.arange(x.shape[1]).reshape(1, -1)
    return (cols - rows == ctx.attr("k", 0)).to(dtype)


# ---------------------------------------------------------------------------------------------
# random ops
# ---------------------------------------------------------------------------------------------
def _generator(ctx: OpContext):
    seed = ctx.attr("seed")
    if seed is None:
        return None
    return ember.Generator().manual_seed(int(seed * 1000) if isinstance(seed, float) else seed)


def _random_dtype(ctx: OpContext, like=None):
    dtype = ctx.attr("dtype")
    if dtype is None:
        return like.dtype if like is not None else ember.float32
    return elem_type_dtype(dtype, f"{ctx.describe()} dtype")


def _uniform(ctx: OpContext, shape, dtype):
    low, high = ctx.attr("low", 0.0), ctx.attr("high", 1.0)
    u = ember.rand(*shape, dtype=ember.float64, generator=_generator(ctx))
    return (u * (high - low) + low).to(dtype)


def _normal(ctx: OpContext, shape, dtype):
    mean, scale = ctx.attr("mean", 0.0), ctx.attr("scale", 1.0)
    z = ember.randn(*shape, dtype=ember.float64, generator=_generator(ctx))
    return (z * scale + mean).to(dtype)


@onnx_op("RandomUniform")
def random_uniform(ctx: OpContext):
    return _uniform(ctx, tuple(ctx.attr("shape")), _random_dtype(ctx))


@onnx_op("RandomNormal")
def random_normal(ctx: OpContext):
    return _normal(ctx, tuple(ctx.attr("shape")), _random_dtype(ctx))


@onnx_op("RandomUniformLike")
def random_uniform_like(ctx: OpContext, x):
    return _uniform(ctx, tuple(x.shape), _random_dtype(ctx, x))


@onnx_op("RandomNormalLike")
def random_normal_like(ctx: OpContext, x):
    return _normal(ctx, tuple(x.shape), _random_dtype(ctx, x))


@onnx_op("Bernoulli")
def bernoulli(ctx: OpContext, p):
    u = ember.rand(*p.shape, dtype=ember.float64, generator=_generator(ctx))
    return (u < p.to(ember.float64)).to(_random_dtype(ctx, p))


@onnx_op("Multinomial")
def multinomial(ctx: OpContext, logits):
    """``sample_size`` draws per row from ``softmax(logits)`` (unnormalised log-probabilities)."""
    probs = ember.softmax(logits.to(ember.float64), -1)
    draws = ember.multinomial(
        probs, ctx.attr("sample_size", 1), replacement=True, generator=_generator(ctx)
    )
    return draws.to(elem_type_dtype(ctx.attr("dtype", 6), f"{ctx.describe()} dtype"))  # 6: INT32


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------
@onnx_op("Dropout")
def dropout_v1(ctx: OpContext, x):
    """Opsets 1-11: inference only (the identity); the mask is all True."""
    return x, ember.ones(x.shape, dtype=ember.bool)


@onnx_op("Dropout", since=12)
def dropout(ctx: OpContext, x, ratio=None, training_mode=None):
    """Identity unless ``training_mode`` is true; then zero with probability ``ratio`` and scale."""
    p = float(scalar(ratio)) if ratio is not None else 0.5
    training = bool(scalar(training_mode)) if training_mode is not None else False
    if not training or p == 0.0:
        return x, ember.ones(x.shape, dtype=ember.bool)
    if not 0.0 <= p < 1.0:
        raise ctx.error(f"ratio must be in [0, 1), got {p}")
    keep = ember.rand(*x.shape, dtype=ember.float64, generator=_generator(ctx)) >= p
    return x * keep.to(x.dtype) / (1.0 - p), keep
