"""ONNX lowerings of the elementwise unary primitives (``ember/ops/elementwise.py``).

Most map to one ONNX operator. Where ONNX has none, or a naive formula would lose accuracy,
the lowering is a short exact composite: ``log1p``/``expm1`` use the compensated forms
``log(u) * x / (u - 1)`` and ``(u - 1) * x / log(u)`` (as accurate as the C library's),
``trunc`` is ``ceil`` or ``floor`` by sign, ``round(x, decimals)`` scales by ``10**decimals``
around ONNX ``Round`` (half to even, as NumPy). ``signbit`` of a negative NaN reads False.

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops.unary
    >>> REGISTRY["log1p"].lowerings["onnx"].min_opset
    13
"""

from __future__ import annotations

import math

import numpy as np

from ._registry import lowers

_SIMPLE = {
    "neg": "Neg",
    "abs": "Abs",
    "exp": "Exp",
    "log": "Log",
    "sqrt": "Sqrt",
    "sin": "Sin",
    "cos": "Cos",
    "tan": "Tan",
    "asin": "Asin",
    "acos": "Acos",
    "atan": "Atan",
    "sinh": "Sinh",
    "cosh": "Cosh",
    "tanh": "Tanh",
    "erf": "Erf",
    "reciprocal": "Reciprocal",
    "sigmoid": "Sigmoid",
    "sign": "Sign",
}


def _is_float(dtype: str) -> bool:
    return dtype.startswith(("float", "bfloat"))


def _simple(op_type: str):
    def lower(ctx, node, x):
        return ctx.op(op_type, x)

    lower.__name__ = f"lower_{op_type.lower()}"
    return lower


for _name, _op in _SIMPLE.items():
    lowers(_name)(_simple(_op))


@lowers("floor", "ceil")
def _floor_ceil(ctx, node, x):
    if not _is_float(ctx.dtype(node.inputs[0])):
        return ctx.op("Identity", x)
    return ctx.op("Floor" if node.op == "floor" else "Ceil", x)


@lowers("trunc")
def _trunc(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    if not _is_float(dt):
        return ctx.op("Identity", x)
    negative = ctx.op("Less", x, ctx.scalar(0, dt))
    return ctx.op("Where", negative, ctx.op("Ceil", x), ctx.op("Floor", x))


@lowers("round")
def _round(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    if not _is_float(dt):
        return ctx.op("Identity", x)
    decimals = int(node.attrs.get("decimals", 0))
    if decimals == 0:
        return ctx.op("Round", x)
    scale = ctx.scalar(10.0 ** abs(decimals), dt)
    if decimals > 0:  # NumPy: rint(x * 10**d) / 10**d, and rint(x / 10**-d) * 10**-d
        return ctx.op("Div", ctx.op("Round", ctx.op("Mul", x, scale)), scale)
    return ctx.op("Mul", ctx.op("Round", ctx.op("Div", x, scale)), scale)


@lowers("relu")
def _relu(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    if _is_float(dt):
        return ctx.op("Relu", x)
    return ctx.op("Max", x, ctx.scalar(0, dt))


@lowers("rsqrt")
def _rsqrt(ctx, node, x):
    return ctx.op("Reciprocal", ctx.op("Sqrt", x))


@lowers("exp2")
def _exp2(ctx, node, x):
    return ctx.op("Pow", ctx.scalar(2.0, ctx.dtype(node.inputs[0])), x)


@lowers("log2", "log10")
def _log_base(ctx, node, x):
    base = 2.0 if node.op == "log2" else 10.0
    return ctx.op("Div", ctx.op("Log", x), ctx.scalar(math.log(base), ctx.dtype(node.inputs[0])))


@lowers("log1p", note="compensated log(u) * x / (u - 1)")
def _log1p(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    one = ctx.scalar(1.0, dt)
    u = ctx.op("Add", x, one)
    # log(u) * x / (u - 1) cancels the rounding of u = 1 + x (Goldberg); u == 1 means x tiny
    approx = ctx.op("Mul", ctx.op("Log", u), ctx.op("Div", x, ctx.op("Sub", u, one)))
    out = ctx.op("Where", ctx.op("Equal", u, one), x, approx)
    return ctx.op("Where", ctx.op("IsInf", x, detect_negative=0), x, out)


@lowers("expm1", note="compensated (u - 1) * x / log(u)")
def _expm1(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    one = ctx.scalar(1.0, dt)
    u = ctx.op("Exp", x)
    um1 = ctx.op("Sub", u, one)
    # (u - 1) * x / log(u) (Kahan); u == 1: x; u - 1 == -1: -1; u == inf: inf
    approx = ctx.op("Mul", um1, ctx.op("Div", x, ctx.op("Log", u)))
    out = ctx.op("Where", ctx.op("Equal", u, one), x, approx)
    out = ctx.op("Where", ctx.op("Equal", um1, ctx.scalar(-1.0, dt)), um1, out)
    return ctx.op("Where", ctx.op("IsInf", u), u, out)


@lowers("gelu", note="Gelu from opset 20, erf formula before")
def _gelu(ctx, node, x):
    """``x * Phi(x)``; a second output, where the primitive has one, is ``Phi(x)``."""
    want_cdf = len(node.outputs) > 1 and node.outputs[1] in ctx.live_values
    if ctx.opset >= 20 and not want_cdf:
        out = ctx.op("Gelu", x, approximate="none")
        return out if len(node.outputs) == 1 else (out, None)
    cdf = normal_cdf(ctx, x, ctx.dtype(node.inputs[0]))
    out = ctx.op("Mul", x, cdf)
    return out if len(node.outputs) == 1 else (out, cdf)


def normal_cdf(ctx, x: str, dt: str) -> str:
    """``Phi(x) = (1 + erf(x / sqrt 2)) / 2``."""
    phi = ctx.op("Erf", ctx.op("Mul", x, ctx.scalar(1.0 / math.sqrt(2.0), dt)))
    return ctx.op("Mul", ctx.op("Add", phi, ctx.scalar(1.0, dt)), ctx.scalar(0.5, dt))


@lowers("isnan")
def _isnan(ctx, node, x):
    if _is_float(ctx.dtype(node.inputs[0])):
        return ctx.op("IsNaN", x)
    return ctx.op("Not", ctx.op("Equal", x, x))


@lowers("isinf")
def _isinf(ctx, node, x):
    if _is_float(ctx.dtype(node.inputs[0])):
        return ctx.op("IsInf", x)
    return ctx.op("Not", ctx.op("Equal", x, x))


@lowers("isfinite")
def _isfinite(ctx, node, x):
    if _is_float(ctx.dtype(node.inputs[0])):
        return ctx.op("Not", ctx.op("Or", ctx.op("IsNaN", x), ctx.op("IsInf", x)))
    return ctx.op("Equal", x, x)


@lowers("signbit", note="-NaN reads False")
def _signbit(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    if dt == "bool" or dt.startswith("uint"):
        return ctx.op("Not", ctx.op("Equal", x, x))
    zero = ctx.scalar(0, dt)
    negative = ctx.op("Less", x, zero)
    if not _is_float(dt):
        return negative
    # -0.0: 1 / x is -inf
    neg_zero = ctx.op(
        "And", ctx.op("Equal", x, zero), ctx.op("Less", ctx.op("Div", ctx.scalar(1, dt), x), zero)
    )
    return ctx.op("Or", negative, neg_zero)


@lowers("logical_not")
def _logical_not(ctx, node, x):
    return ctx.op("Not", ctx.cast(x, ctx.dtype(node.inputs[0]), "bool"))


@lowers("bitwise_not")
def _bitwise_not(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    if dt == "bool":
        return ctx.op("Not", x)
    if ctx.opset >= 18:
        return ctx.op("BitwiseNot", x)
    # ~x is -1 - x in two's complement (max - x unsigned), computed in int64 (Sub at opset 13
    # takes no 8- or 16-bit integers)
    top = np.iinfo(np.dtype(dt)).max if dt.startswith("uint") else -1
    wide = ctx.op("Sub", ctx.scalar(top, "int64"), ctx.cast(x, dt, "int64"))
    return ctx.cast(wide, "int64", dt)
