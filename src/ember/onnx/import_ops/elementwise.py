"""Elementwise ONNX ops: math, comparisons, logic, bitwise, casts, Clip, Where, variadic Sum/Max.

ONNX binary ops broadcast like NumPy and take operands of one type, so they map straight onto
ember's functions; integer Div truncates toward zero and Mod follows the ``fmod`` attribute.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("Mod", "", 13, "", {"fmod": 0}, 1)
    >>> find_handler("Mod", 13)(ctx, ember.tensor([-7, 7]), ember.tensor([3, 3]))
    tensor([2, 1])
"""

from __future__ import annotations

import math

import ember

from ._registry import OpContext, onnx_op
from ._util import const, float_work
from ._values import elem_type_dtype

# ---------------------------------------------------------------------------------------------
# unary math
# ---------------------------------------------------------------------------------------------
_UNARY = {
    "Abs": ember.abs,
    "Neg": ember.neg,
    "Exp": ember.exp,
    "Log": ember.log,
    "Sqrt": ember.sqrt,
    "Reciprocal": ember.reciprocal,
    "Floor": ember.floor,
    "Ceil": ember.ceil,
    "Round": ember.round,
    "Sign": ember.sign,
    "Sin": ember.sin,
    "Cos": ember.cos,
    "Tan": ember.tan,
    "Asin": ember.asin,
    "Acos": ember.acos,
    "Atan": ember.atan,
    "Sinh": ember.sinh,
    "Cosh": ember.cosh,
    "Tanh": ember.tanh,
    "Erf": ember.erf,
    "Sigmoid": ember.sigmoid,
    "Relu": ember.relu,
    "IsNaN": ember.isnan,
    "Not": ember.logical_not,
    "BitwiseNot": ember.bitwise_not,
}


def _unary_handler(op_type: str, fn):
    def handler(ctx: OpContext, x):
        return fn(x)

    handler.__name__ = op_type.lower()
    handler.__doc__ = f"ONNX {op_type}: ``{fn.__name__}`` elementwise."
    return handler


for _op, _fn in _UNARY.items():
    onnx_op(_op)(_unary_handler(_op, _fn))


@onnx_op("Asinh")
def asinh(ctx: OpContext, x):
    """``log(x + sqrt(x^2 + 1))``, written for negative ``x`` by symmetry (no cancellation)."""
    a = x.abs()
    return ember.sign(x) * ember.log(a + ember.sqrt(a * a + 1.0))


@onnx_op("Acosh")
def acosh(ctx: OpContext, x):
    return ember.log(x + ember.sqrt(x * x - 1.0))


@onnx_op("Atanh")
def atanh(ctx: OpContext, x):
    return 0.5 * (ember.log1p(x) - ember.log1p(-x))


@onnx_op("IsInf")
def isinf(ctx: OpContext, x):
    pos, neg = ctx.attr("detect_positive", 1), ctx.attr("detect_negative", 1)
    if pos and neg:
        return ember.isinf(x)
    if pos:
        return ember.isposinf(x)
    if neg:
        return ember.isneginf(x)
    return ember.zeros_like(x, dtype=ember.bool)


@onnx_op("Identity")
def identity(ctx: OpContext, x):
    return x


# ---------------------------------------------------------------------------------------------
# binary arithmetic, comparisons, logic
# ---------------------------------------------------------------------------------------------
_BINARY = {
    "Add": ember.add,
    "Sub": ember.sub,
    "Mul": ember.mul,
    "Equal": ember.eq,
    "Less": ember.lt,
    "LessOrEqual": ember.le,
    "Greater": ember.gt,
    "GreaterOrEqual": ember.ge,
    "And": ember.logical_and,
    "Or": ember.logical_or,
    "Xor": ember.logical_xor,
    "BitwiseAnd": ember.bitwise_and,
    "BitwiseOr": ember.bitwise_or,
    "BitwiseXor": ember.bitwise_xor,
}


def _binary_handler(op_type: str, fn):
    def handler(ctx: OpContext, a, b):
        _check_legacy_broadcast(ctx, a, b)
        return fn(a, b)

    handler.__name__ = op_type.lower()
    handler.__doc__ = f"ONNX {op_type}: ``{fn.__name__}`` with NumPy broadcasting."
    return handler


def _check_legacy_broadcast(ctx: OpContext, a, b) -> None:
    """Opsets before 7 broadcast only with ``broadcast=1`` and an ``axis`` to align at."""
    if ctx.attr("broadcast", 0) and ctx.attr("axis") is not None and b.dim() < a.dim():
        axis = ctx.attr("axis") % a.dim()
        if axis + b.dim() != a.dim():
            raise ctx.unsupported(f"legacy broadcast with axis={ctx.attr('axis')}")


for _op, _fn in _BINARY.items():
    onnx_op(_op)(_binary_handler(_op, _fn))


@onnx_op("Div")
def div(ctx: OpContext, a, b):
    """True division for floats; integers divide with truncation toward zero (C semantics)."""
    if a.dtype.is_floating_point:
        return ember.div(a, b)
    return ember.div(a, b, rounding_mode="trunc")


@onnx_op("Mod")
def mod(ctx: OpContext, a, b):
    """``fmod=1``: the sign of the dividend (C's fmod); else the sign of the divisor."""
    if ctx.attr("fmod", 0):
        return ember.fmod(a, b)
    if a.dtype.is_floating_point:
        raise ctx.error("fmod must be 1 for floating-point inputs")
    return ember.remainder(a, b)


@onnx_op("Pow")
def pow_(ctx: OpContext, base, exponent):
    """``base ** exponent`` in ``base``'s type (the exponent may have another type)."""
    if base.dtype is exponent.dtype:
        return ember.pow(base, exponent)
    if base.dtype.is_floating_point:
        return ember.pow(base, exponent.to(base.dtype))
    return ember.pow(float_work(base), exponent.to(ember.float64)).to(base.dtype)


@onnx_op("BitShift")
def bitshift(ctx: OpContext, x, y):
    """Unsigned shifts as multiplication / floor division by powers of two."""
    direction = ctx.attr("direction")
    factor = ember.pow(const(2, y), y)
    if direction == "LEFT":
        return x * factor
    if direction == "RIGHT":
        return ember.floor_divide(x, factor)
    raise ctx.error(f"direction must be 'LEFT' or 'RIGHT', got {direction!r}")


# ---------------------------------------------------------------------------------------------
# variadic ops
# ---------------------------------------------------------------------------------------------
def _fold(fn, values):
    out = values[0]
    for v in values[1:]:
        out = fn(out, v)
    return out


@onnx_op("Sum")
def sum_(ctx: OpContext, *xs):
    return _fold(ember.add, xs)


@onnx_op("Mean")
def mean(ctx: OpContext, *xs):
    return _fold(ember.add, xs) / const(len(xs), xs[0])


@onnx_op("Max")
def max_(ctx: OpContext, *xs):
    return _fold(ember.maximum, xs)


@onnx_op("Min")
def min_(ctx: OpContext, *xs):
    return _fold(ember.minimum, xs)


# ---------------------------------------------------------------------------------------------
# Clip, Where, casts
# ---------------------------------------------------------------------------------------------
@onnx_op("Clip")
def clip_v1(ctx: OpContext, x):
    """Opsets 1-10: bounds are attributes (defaulting to the float range)."""
    lo, hi = ctx.attr("min", -math.inf), ctx.attr("max", math.inf)
    return ember.clamp(x, const(lo, x), const(hi, x))


@onnx_op("Clip", since=11)
def clip(ctx: OpContext, x, lo=None, hi=None):
    """Opset 11+: optional ``min``/``max`` inputs (zero-dim tensors)."""
    if lo is None and hi is None:
        return x
    return ember.clamp(x, lo, hi)


@onnx_op("Where")
def where(ctx: OpContext, condition, a, b):
    return ember.where(condition, a, b)


@onnx_op("Cast")
def cast(ctx: OpContext, x):
    to = ctx.attr("to")
    if isinstance(to, str):  # opset 1 spelled the type as a string
        from onnx import TensorProto

        to = TensorProto.DataType.Value(to.upper())
    return x.to(elem_type_dtype(to, f"{ctx.describe()} target type"))


@onnx_op("CastLike")
def cast_like(ctx: OpContext, x, like):
    return x.to(like.dtype)
