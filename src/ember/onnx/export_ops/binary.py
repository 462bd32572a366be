"""ONNX lowerings of the binary, comparison, logical and selection primitives.

Inputs of a primitive already share one dtype (ember inserts ``cast`` nodes when it promotes),
so most lowerings are one ONNX operator. NumPy's semantics are kept where ONNX differs:
``remainder`` and ``floor_divide`` round towards minus infinity (ONNX ``Mod``/``Div`` truncate),
``atan2`` is ``atan(a / b)`` moved to the right quadrant, bool ``add``/``mul`` are ``Or``/``And``
and bool comparisons compare as integers. ``atan2`` at ``(0, 0)`` gives 0 (the sign of a zero is
not looked at) and at two infinities NaN.

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops.binary
    >>> REGISTRY["bitwise_and"].lowerings["onnx"].min_opset
    13
"""

from __future__ import annotations

import math

from ._context import onnx_type
from ._registry import lowers


def _is_float(dtype: str) -> bool:
    return dtype.startswith(("float", "bfloat"))


def _operands(ctx, node, a, b):
    """Inputs cast to the output dtype when NumPy computes in it (integer true division)."""
    out = ctx.dtype(node.outputs[0])
    src = ctx.dtype(node.inputs[0])
    if out != "bool" and out != src:
        return ctx.cast(a, src, out), ctx.cast(b, ctx.dtype(node.inputs[1]), out)
    return a, b


_ARITH = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow"}
_BOOL_ARITH = {"add": "Or", "mul": "And"}


@lowers(*_ARITH)
def _arith(ctx, node, a, b):
    if ctx.dtype(node.inputs[0]) == "bool" and node.op in _BOOL_ARITH:
        return ctx.op(_BOOL_ARITH[node.op], a, b)
    a, b = _operands(ctx, node, a, b)
    return ctx.op(_ARITH[node.op], a, b)


@lowers("maximum", "minimum")
def _max_min(ctx, node, a, b):
    if ctx.dtype(node.inputs[0]) == "bool":
        return ctx.op("Or" if node.op == "maximum" else "And", a, b)
    return ctx.op("Max" if node.op == "maximum" else "Min", a, b)  # NaN propagates, as NumPy


@lowers("fmod")
def _fmod(ctx, node, a, b):
    return ctx.op("Mod", a, b, fmod=1)


def _differs_in_sign(ctx, r, b, dt):
    """``r != 0 and (r < 0) != (b < 0)``: where a truncated result needs a floor correction."""
    zero = ctx.scalar(0, dt)
    nonzero = ctx.op("Not", ctx.op("Equal", r, zero))
    return ctx.op("And", nonzero, ctx.op("Xor", ctx.op("Less", r, zero), ctx.op("Less", b, zero)))


@lowers("remainder", note="floored, as NumPy (Mod truncates)")
def _remainder(ctx, node, a, b):
    dt = ctx.dtype(node.inputs[0])
    if not _is_float(dt):
        return ctx.op("Mod", a, b, fmod=0)  # integer Mod takes the sign of the divisor
    r = ctx.op("Mod", a, b, fmod=1)
    return ctx.op("Where", _differs_in_sign(ctx, r, b, dt), ctx.op("Add", r, b), r)


@lowers("floor_divide", note="NumPy's floored division")
def _floor_divide(ctx, node, a, b):
    dt = ctx.dtype(node.inputs[0])
    one = ctx.scalar(1, dt)
    if not _is_float(dt):
        q = ctx.op("Div", a, b)  # truncates
        r = ctx.op("Sub", a, ctx.op("Mul", q, b))
        return ctx.op("Where", _differs_in_sign(ctx, r, b, dt), ctx.op("Sub", q, one), q)
    # NumPy's npy_divmod: div = (a - fmod(a, b)) / b, corrected, then floored and rounded
    mod = ctx.op("Mod", a, b, fmod=1)
    div = ctx.op("Div", ctx.op("Sub", a, mod), b)
    div = ctx.op("Where", _differs_in_sign(ctx, mod, b, dt), ctx.op("Sub", div, one), div)
    floor = ctx.op("Floor", div)
    up = ctx.op("Greater", ctx.op("Sub", div, floor), ctx.scalar(0.5, dt))
    floor = ctx.op("Where", up, ctx.op("Add", floor, one), floor)
    by_zero = ctx.op("Equal", b, ctx.scalar(0, dt))
    return ctx.op("Where", by_zero, ctx.op("Div", a, b), floor)


@lowers("atan2", note="atan(a / b) in its quadrant; 0 at (0, 0)")
def _atan2(ctx, node, a, b):
    dt = ctx.dtype(node.inputs[0])
    zero = ctx.scalar(0, dt)
    base = ctx.op("Atan", ctx.op("Div", a, b))  # b == 0 gives atan(+-inf) = +-pi/2
    turn = ctx.op(
        "Where", ctx.op("Less", a, zero), ctx.scalar(-math.pi, dt), ctx.scalar(math.pi, dt)
    )
    out = ctx.op("Where", ctx.op("Less", b, zero), ctx.op("Add", base, turn), base)
    both_zero = ctx.op("And", ctx.op("Equal", a, zero), ctx.op("Equal", b, zero))
    return ctx.op("Where", both_zero, zero, out)


_COMPARE = {
    "eq": "Equal",
    "ne": "Equal",
    "lt": "Less",
    "le": "LessOrEqual",
    "gt": "Greater",
    "ge": "GreaterOrEqual",
}


@lowers(*_COMPARE)
def _compare(ctx, node, a, b):
    dt = ctx.dtype(node.inputs[0])
    if dt == "bool" and node.op not in ("eq", "ne"):
        a, b = ctx.cast(a, dt, "int32"), ctx.cast(b, dt, "int32")
    out = ctx.op(_COMPARE[node.op], a, b)
    return ctx.op("Not", out) if node.op == "ne" else out


@lowers("logical_and", "logical_or", "logical_xor")
def _logical(ctx, node, a, b):
    a = ctx.cast(a, ctx.dtype(node.inputs[0]), "bool")
    b = ctx.cast(b, ctx.dtype(node.inputs[1]), "bool")
    return ctx.op({"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}[node.op], a, b)


@lowers(
    "bitwise_and", "bitwise_or", "bitwise_xor", note="bool at any opset; integers need opset 18"
)
def _bitwise(ctx, node, a, b):
    kind = node.op.split("_")[1]
    if ctx.dtype(node.inputs[0]) == "bool":
        return ctx.op(kind.capitalize(), a, b)
    if ctx.opset < 18:
        raise ctx.unsupported("bitwise operations on integers need opset >= 18 (BitwiseAnd...)")
    return ctx.op("Bitwise" + kind.capitalize(), a, b)


@lowers("where")
def _where(ctx, node, c, a, b):
    return ctx.op("Where", ctx.cast(c, ctx.dtype(node.inputs[0]), "bool"), a, b)


@lowers("cast")
def _cast(ctx, node, x):
    return ctx.op("Cast", x, to=onnx_type(ctx.dtype(node.outputs[0])))


@lowers("clamp")
def _clamp(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    lo, hi = node.attrs.get("min"), node.attrs.get("max")
    lo = None if lo is None else ctx.scalar(lo, dt)
    hi = None if hi is None else ctx.scalar(hi, dt)
    if dt == "bool":
        x_int = ctx.cast(x, dt, "int32")
        lo = None if lo is None else ctx.cast(lo, dt, "int32")
        hi = None if hi is None else ctx.cast(hi, dt, "int32")
        return ctx.cast(ctx.op("Clip", x_int, lo, hi), "int32", "bool")
    return ctx.op("Clip", x, lo, hi)  # min(max(x, lo), hi) with NaN kept, as np.clip
