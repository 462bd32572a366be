"""Elementwise primitives (unary, binary, where, cast) and the composites built on them.

Every primitive here is registered once with its NumPy forward, its vjp in ember ops and
its shape/dtype rule. Functions follow PyTorch's names, argument order and type promotion
(integer inputs of float-valued ops compute in the default float dtype).

Example:
    >>> import ember
    >>> ember.exp(ember.tensor([0.0, 1.0]))
    tensor([1.0000, 2.7183])
    >>> ember.tensor([1, 2]) / 2
    tensor([0.5000, 1.0000])
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from .._dispatch import apply, apply_inplace
from ..registry import ShapeError, Spec, primitive
from ..tensor import Tensor, tensor_method
from . import _parallel as _par
from ._erf import erf_np, gelu_backward_np, gelu_np
from ._helpers import (
    bool_spec,
    broadcast_shapes,
    float_dtype,
    grad_is_live,
    is_scalar,
    promote,
    result_type,
    same_spec,
    sum_to_shape,
    to_tensor,
)

__all__ = [
    "cast",
    "neg",
    "negative",
    "abs",
    "absolute",
    "exp",
    "exp2",
    "log",
    "log2",
    "log10",
    "log1p",
    "expm1",
    "sqrt",
    "rsqrt",
    "square",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "sigmoid",
    "relu",
    "erf",
    "erfc",
    "sign",
    "sgn",
    "floor",
    "ceil",
    "round",
    "trunc",
    "frac",
    "reciprocal",
    "isnan",
    "isinf",
    "isfinite",
    "isposinf",
    "isneginf",
    "signbit",
    "logical_not",
    "bitwise_not",
    "add",
    "sub",
    "subtract",
    "mul",
    "multiply",
    "div",
    "divide",
    "true_divide",
    "floor_divide",
    "remainder",
    "fmod",
    "pow",
    "float_power",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "atan2",
    "arctan2",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "equal",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "not_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "where",
    "clamp",
    "clip",
    "lerp",
    "gelu",
    "silu",
    "softplus",
    "hypot",
    "xlogy",
    "nan_to_num",
    "allclose",
    "isclose",
    "logaddexp",
    "addcmul",
    "addcdiv",
    "rad2deg",
    "deg2rad",
]


# ---------------------------------------------------------------------------------------------
# cast
# ---------------------------------------------------------------------------------------------
def _cast_rule(x: Spec, *, dtype) -> Spec:
    return Spec(x.shape, dtype)


@primitive("cast", _cast_rule)
def _cast(x, *, dtype):
    """Convert to another dtype (C-style truncation for float to int)."""
    return x.astype(dtype.np)


@_cast.defvjp
def _cast_vjp(ctx, g):
    src = _dt.from_numpy_dtype(ctx.in_meta[0][1])
    return (cast(g, src) if src.is_floating_point else None,)


def cast(x: Tensor, dtype) -> Tensor:
    """Return ``x`` converted to ``dtype`` (``x`` itself when it already has it)."""
    dtype = _dt.as_dtype(dtype)
    if x._data.dtype == dtype.np:
        return x
    return apply(_cast, x, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# unary
# ---------------------------------------------------------------------------------------------
# ufuncs whose result has the input's dtype, with their cost in NumPy passes per element:
# large inputs are split over ember's threads (_parallel.ufunc)
_SPLIT_UNARY = {"neg": 1, "abs": 1, "reciprocal": 1, "sqrt": 2}
_SPLIT_UNARY.update(
    dict.fromkeys(
        "exp exp2 log log2 log10 log1p expm1 sin cos tan asin acos atan sinh cosh tanh".split(), 10
    )
)
_SPLIT_BINARY = {"add": 1, "sub": 1, "mul": 1, "div": 1, "maximum": 1, "minimum": 1}


def _unary(name, forward, *, rule=same_spec, saves_inputs=False, saves_outputs=False):
    passes = _SPLIT_UNARY.get(name) if isinstance(forward, np.ufunc) else None

    def fwd(x):
        if passes is not None and x.dtype.kind == "f":
            return _par.ufunc(forward, x, passes=passes)
        return forward(x)

    fwd.__doc__ = f"Elementwise {name}."
    return primitive(name, rule, saves_inputs=saves_inputs, saves_outputs=saves_outputs)(fwd)


_neg = _unary("neg", np.negative)
_abs = _unary("abs", np.abs, saves_inputs=True)
_exp = _unary("exp", np.exp, saves_outputs=True)
_exp2 = _unary("exp2", np.exp2, saves_outputs=True)
_log = _unary("log", np.log, saves_inputs=True)
_log2 = _unary("log2", np.log2, saves_inputs=True)
_log10 = _unary("log10", np.log10, saves_inputs=True)
_log1p = _unary("log1p", np.log1p, saves_inputs=True)
_expm1 = _unary("expm1", np.expm1, saves_outputs=True)
_sqrt = _unary("sqrt", np.sqrt, saves_outputs=True)
_rsqrt = _unary("rsqrt", lambda x: np.reciprocal(np.sqrt(x)), saves_outputs=True)
_sin = _unary("sin", np.sin, saves_inputs=True)
_cos = _unary("cos", np.cos, saves_inputs=True)
_tan = _unary("tan", np.tan, saves_outputs=True)
_asin = _unary("asin", np.arcsin, saves_inputs=True)
_acos = _unary("acos", np.arccos, saves_inputs=True)
_atan = _unary("atan", np.arctan, saves_inputs=True)
_sinh = _unary("sinh", np.sinh, saves_inputs=True)
_cosh = _unary("cosh", np.cosh, saves_inputs=True)
_tanh = _unary("tanh", np.tanh, saves_outputs=True)
_erf = _unary("erf", erf_np, saves_inputs=True)
_reciprocal = _unary("reciprocal", np.reciprocal, saves_outputs=True)


def _sigmoid_np(x):
    # exp(-|x|) never overflows: sigmoid(x) = 1/(1+e^-x) for x>=0, e^x/(1+e^x) for x<0
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


_sigmoid = _unary("sigmoid", _sigmoid_np, saves_outputs=True)


def _relu_np(x):
    if x.dtype.kind == "f":
        return _par.ufunc(np.maximum, x, np.zeros((), x.dtype))
    return np.maximum(x, 0, dtype=x.dtype)


_relu = _unary("relu", _relu_np, saves_outputs=True)
_sign = _unary("sign", np.sign)
_floor = _unary("floor", np.floor)
_ceil = _unary("ceil", np.ceil)
_trunc = _unary("trunc", np.trunc)
_round = primitive("round", same_spec)(
    lambda x, *, decimals=0: np.round(x, decimals) if x.dtype.kind == "f" else x.copy()
)
_isnan = _unary("isnan", np.isnan, rule=bool_spec)
_isinf = _unary("isinf", np.isinf, rule=bool_spec)
_isfinite = _unary("isfinite", np.isfinite, rule=bool_spec)
_signbit = _unary("signbit", np.signbit, rule=bool_spec)
_logical_not = _unary("logical_not", np.logical_not, rule=bool_spec)


def _bitwise_not_rule(x: Spec) -> Spec:
    if x.dtype.is_floating_point:
        raise TypeError(f"bitwise_not: only integer and bool tensors are supported, got {x.dtype}")
    return x


_bitwise_not = _unary("bitwise_not", np.invert, rule=_bitwise_not_rule)


def _zero_grad(ctx, g):
    return (g * 0.0,)


for _p in (_sign, _floor, _ceil, _trunc, _round):
    _p.defvjp(_zero_grad)


@_neg.defvjp
def _(ctx, g):
    return (neg(g),)


@_abs.defvjp
def _(ctx, g):
    (x,) = ctx.inputs
    return (g * sign(x),)


@_exp.defvjp
def _(ctx, g):
    return (g * ctx.outputs[0],)


@_exp2.defvjp
def _(ctx, g):
    return (g * ctx.outputs[0] * math.log(2.0),)


@_log.defvjp
def _(ctx, g):
    return (g / ctx.inputs[0],)


@_log2.defvjp
def _(ctx, g):
    return (g / (ctx.inputs[0] * math.log(2.0)),)


@_log10.defvjp
def _(ctx, g):
    return (g / (ctx.inputs[0] * math.log(10.0)),)


@_log1p.defvjp
def _(ctx, g):
    return (g / (ctx.inputs[0] + 1),)


@_expm1.defvjp
def _(ctx, g):
    return (g * (ctx.outputs[0] + 1),)


@_sqrt.defvjp
def _(ctx, g):
    return (g / (ctx.outputs[0] * 2),)


@_rsqrt.defvjp
def _(ctx, g):
    out = ctx.outputs[0]
    return (g * out * out * out * -0.5,)


@_sin.defvjp
def _(ctx, g):
    return (g * cos(ctx.inputs[0]),)


@_cos.defvjp
def _(ctx, g):
    return (-(g * sin(ctx.inputs[0])),)


@_tan.defvjp
def _(ctx, g):
    out = ctx.outputs[0]
    return (g * (out * out + 1),)


@_asin.defvjp
def _(ctx, g):
    (x,) = ctx.inputs
    return (g * rsqrt(1 - x * x),)


@_acos.defvjp
def _(ctx, g):
    (x,) = ctx.inputs
    return (-(g * rsqrt(1 - x * x)),)


@_atan.defvjp
def _(ctx, g):
    (x,) = ctx.inputs
    return (g / (x * x + 1),)


@_sinh.defvjp
def _(ctx, g):
    return (g * cosh(ctx.inputs[0]),)


@_cosh.defvjp
def _(ctx, g):
    return (g * sinh(ctx.inputs[0]),)


@_tanh.defvjp
def _(ctx, g):
    out = ctx.outputs[0]
    return (g * (1 - out * out),)


@_sigmoid.defvjp
def _(ctx, g):
    out = ctx.outputs[0]
    return (g * out * (1 - out),)


@_relu.defvjp
def _(ctx, g):
    # the subgradient at 0 is 0, as in PyTorch
    return (apply(_relu_grad, g, ctx.outputs[0]),)


def _relu_grad_rule(g: Spec, out: Spec) -> Spec:
    return g


@primitive("relu_grad", _relu_grad_rule, saves_inputs=(1,))
def _relu_grad(g, out):
    """``g`` where ``out > 0``, else 0: relu's backward in one pass (measured: 2x the where form)."""
    if g.shape != out.shape or not (g.flags.c_contiguous and out.flags.c_contiguous):
        return np.multiply(g, out > 0, dtype=g.dtype)
    res = np.empty_like(g)
    gf, of, rf = g.reshape(-1), out.reshape(-1), res.reshape(-1)

    def part(lo, hi):  # split over ember's threads when large
        np.multiply(gf[lo:hi], of[lo:hi] > 0, out=rf[lo:hi], dtype=g.dtype)

    _par.for_rows(part, gf.size, 2)
    return res


@_relu_grad.defvjp
def _(ctx, gg):
    return (apply(_relu_grad, gg, ctx.inputs[1]), None)


@_erf.defvjp
def _(ctx, g):
    (x,) = ctx.inputs
    return (g * exp(-(x * x)) * (2.0 / math.sqrt(math.pi)),)


def _gelu_rule(x: Spec) -> tuple:
    if not x.dtype.is_floating_point:
        raise TypeError(f"gelu: expected a floating point input, got {x.dtype}")
    return (x, x)


def _gelu_backward_rule(g: Spec, x: Spec, cdf: Spec) -> Spec:
    for s in (g, cdf):
        if s.dtype is not x.dtype or not x.dtype.is_floating_point:
            raise TypeError(
                f"gelu_backward: expected floating point inputs of one dtype, got {g.dtype}, "
                f"{x.dtype} and {cdf.dtype}"
            )
        if tuple(s.shape) != tuple(x.shape):
            raise ShapeError(
                f"gelu_backward: shapes {tuple(g.shape)}, {tuple(x.shape)} and "
                f"{tuple(cdf.shape)} differ"
            )
    return x


# GELU as one primitive: the composite x * 0.5 * (erf(x / sqrt 2) + 1) took 11 NumPy passes
# forward and more than 20 backward, with SciPy's erf (W3 of benchmarks/: ~45 ms of a 155 ms
# step). The forward also returns Phi(x), which it computes anyway, so the backward does not
# evaluate it again; ``gelu()`` hands out only the first output.
@primitive("gelu", _gelu_rule, num_outputs=2, saves_inputs=True, saves_outputs=(1,))
def _gelu(x):
    """Exact GELU: ``(x * Phi(x), Phi(x))``, Phi the standard normal CDF."""
    return gelu_np(x)


@primitive("gelu_backward", _gelu_backward_rule, saves_inputs=True)
def _gelu_backward(g, x, cdf):
    """``g * GELU'(x)`` with ``GELU'(x) = Phi(x) + x * phi(x)`` and ``cdf`` = Phi(x)."""
    if g.shape != x.shape or cdf.shape != x.shape:
        raise ValueError("shape mismatch")  # the rule's message names all three
    return gelu_backward_np(g, x, cdf)


def _normal_pdf(x: Tensor) -> Tensor:
    return exp(x * x * -0.5) * (1.0 / math.sqrt(2.0 * math.pi))


@_gelu.defvjp
def _(ctx, gy, gcdf):
    (x,) = ctx.inputs
    gx = apply(_gelu_backward, gy, x, ctx.outputs[1])
    if grad_is_live(gcdf):  # only when Phi(x) itself was used (double backward)
        gx = gx + gcdf * _normal_pdf(x)
    return (gx,)


@_gelu_backward.defvjp
def _(ctx, h):
    g, x, cdf = ctx.inputs
    need = ctx.needs_input_grad
    gg = apply(_gelu_backward, h, x, cdf) if need[0] else None
    hg = h * g if need[1] or need[2] else None
    # d/dx of x * phi(x) is phi(x) * (1 - x^2); Phi's own derivative reaches x through cdf
    gx = hg * _normal_pdf(x) * (1.0 - x * x) if need[1] else None
    return (gg, gx, hg if need[2] else None)


@_reciprocal.defvjp
def _(ctx, g):
    out = ctx.outputs[0]
    return (-(g * out * out),)


# docstring examples of the generated unary functions: input literal and printed result
_EXAMPLES = {
    "exp": ("[-1.5, 0.5]", "tensor([0.2231, 1.6487])"),
    "exp2": ("[-1.5, 0.5]", "tensor([0.3536, 1.4142])"),
    "log": ("[0.25, 0.5]", "tensor([-1.3863, -0.6931])"),
    "log2": ("[0.25, 0.5]", "tensor([-2., -1.])"),
    "log10": ("[0.25, 0.5]", "tensor([-0.6021, -0.3010])"),
    "log1p": ("[0.25, 0.5]", "tensor([0.2231, 0.4055])"),
    "expm1": ("[-1.5, 0.5]", "tensor([-0.7769,  0.6487])"),
    "sqrt": ("[0.25, 0.5]", "tensor([0.5000, 0.7071])"),
    "rsqrt": ("[0.25, 0.5]", "tensor([2.0000, 1.4142])"),
    "sin": ("[-1.5, 0.5]", "tensor([-0.9975,  0.4794])"),
    "cos": ("[-1.5, 0.5]", "tensor([0.0707, 0.8776])"),
    "tan": ("[-1.5, 0.5]", "tensor([-14.1014,   0.5463])"),
    "asin": ("[0.25, 0.5]", "tensor([0.2527, 0.5236])"),
    "acos": ("[0.25, 0.5]", "tensor([1.3181, 1.0472])"),
    "atan": ("[-1.5, 0.5]", "tensor([-0.9828,  0.4636])"),
    "sinh": ("[-1.5, 0.5]", "tensor([-2.1293,  0.5211])"),
    "cosh": ("[-1.5, 0.5]", "tensor([2.3524, 1.1276])"),
    "tanh": ("[-1.5, 0.5]", "tensor([-0.9051,  0.4621])"),
    "sigmoid": ("[-1.5, 0.5]", "tensor([0.1824, 0.6225])"),
    "erf": ("[-1.5, 0.5]", "tensor([-0.9661,  0.5205])"),
    "reciprocal": ("[0.25, 0.5]", "tensor([4., 2.])"),
    "neg": ("[-1.5, 0.5]", "tensor([ 1.5000, -0.5000])"),
    "abs": ("[-1.5, 0.5]", "tensor([1.5000, 0.5000])"),
    "relu": ("[-1.5, 0.5]", "tensor([0.0000, 0.5000])"),
    "sign": ("[-1.5, 0.5]", "tensor([-1.,  1.])"),
    "floor": ("[-1.5, 0.5]", "tensor([-2.,  0.])"),
    "ceil": ("[-1.5, 0.5]", "tensor([-1.,  1.])"),
    "trunc": ("[-1.5, 0.5]", "tensor([-1.,  0.])"),
    "isnan": ("[-1.5, 0.5]", "tensor([False, False])"),
    "isinf": ("[-1.5, 0.5]", "tensor([False, False])"),
    "isfinite": ("[-1.5, 0.5]", "tensor([True, True])"),
    "signbit": ("[-1.5, 0.5]", "tensor([ True, False])"),
    "logical_not": ("[-1.5, 0.5]", "tensor([False, False])"),
    "bitwise_not": ("[-2, 0, 3]", "tensor([ 1, -1, -4])"),
}


def _example(name: str) -> str:
    inp, out = _EXAMPLES[name]
    return f"Example:\n    >>> import ember\n    >>> ember.{name}(ember.tensor({inp}))\n    {out}\n"


def _float_unary(prim, name):
    def op(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        x = to_tensor(input)
        fd = float_dtype(_dt.from_numpy_dtype(x._data.dtype))
        if x._data.dtype != fd.np:
            x = cast(x, fd)
        return _maybe_out(apply(prim, x), out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (
        f"Elementwise ``{name}``; integer inputs compute in the default float dtype.\n\n"
        + _example(name)
    )
    return op


def _same_unary(prim, name, *, no_bool=False):
    def op(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        x = to_tensor(input)
        if no_bool and x._data.dtype == np.bool_:
            raise TypeError(f"{name}: bool tensors are not supported; use logical_not for bools")
        return _maybe_out(apply(prim, x), out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}``.\n\n" + _example(name)
    return op


def _maybe_out(result: Tensor, out: Tensor | None) -> Tensor:
    if out is None:
        return result
    from .movement import copy_

    if tuple(out.shape) != tuple(result.shape):
        out.resize_(result.shape)
    return copy_(out, result)


exp = _float_unary(_exp, "exp")
exp2 = _float_unary(_exp2, "exp2")
log = _float_unary(_log, "log")
log2 = _float_unary(_log2, "log2")
log10 = _float_unary(_log10, "log10")
log1p = _float_unary(_log1p, "log1p")
expm1 = _float_unary(_expm1, "expm1")
sqrt = _float_unary(_sqrt, "sqrt")
rsqrt = _float_unary(_rsqrt, "rsqrt")
sin = _float_unary(_sin, "sin")
cos = _float_unary(_cos, "cos")
tan = _float_unary(_tan, "tan")
asin = arcsin = _float_unary(_asin, "asin")
acos = arccos = _float_unary(_acos, "acos")
atan = arctan = _float_unary(_atan, "atan")
sinh = _float_unary(_sinh, "sinh")
cosh = _float_unary(_cosh, "cosh")
tanh = _float_unary(_tanh, "tanh")
sigmoid = _float_unary(_sigmoid, "sigmoid")
erf = _float_unary(_erf, "erf")
reciprocal = _float_unary(_reciprocal, "reciprocal")
neg = negative = _same_unary(_neg, "neg", no_bool=True)
abs = absolute = _same_unary(_abs, "abs")  # noqa: A001
relu = _same_unary(_relu, "relu")
sign = _same_unary(_sign, "sign")
floor = _same_unary(_floor, "floor")
ceil = _same_unary(_ceil, "ceil")
trunc = _same_unary(_trunc, "trunc")
isnan = _same_unary(_isnan, "isnan")
isinf = _same_unary(_isinf, "isinf")
isfinite = _same_unary(_isfinite, "isfinite")
signbit = _same_unary(_signbit, "signbit")
logical_not = _same_unary(_logical_not, "logical_not")
bitwise_not = _same_unary(_bitwise_not, "bitwise_not")
sgn = sign


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even, like PyTorch; ``decimals`` rounds to that many places.

    Example:
        >>> import ember
        >>> ember.round(ember.tensor([0.5, 1.5, 2.567]), decimals=0)
        tensor([0., 2., 3.])
    """
    return apply(_round, to_tensor(input), decimals=int(decimals))


def erfc(input: Tensor) -> Tensor:
    """``1 - erf(x)``."""
    return 1 - erf(input)


def square(input: Tensor) -> Tensor:
    """``x * x``."""
    x = to_tensor(input)
    return x * x


def frac(input: Tensor) -> Tensor:
    """Fractional part, ``x - trunc(x)``."""
    x = to_tensor(input)
    return x - trunc(x)


def isposinf(input: Tensor) -> Tensor:
    return logical_and(isinf(input), input > 0)


def isneginf(input: Tensor) -> Tensor:
    return logical_and(isinf(input), input < 0)


def rad2deg(input: Tensor) -> Tensor:
    return to_tensor(input) * (180.0 / math.pi)


def deg2rad(input: Tensor) -> Tensor:
    return to_tensor(input) * (math.pi / 180.0)


# ---------------------------------------------------------------------------------------------
# binary
# ---------------------------------------------------------------------------------------------
def _binary_rule(name, out_dtype=None):
    def rule(a: Spec, b: Spec, **_attrs) -> Spec:
        if a.dtype is not b.dtype:
            raise TypeError(f"{name}: expected inputs of one dtype, got {a.dtype} and {b.dtype}")
        shape = broadcast_shapes(name, a.shape, b.shape)
        return Spec(shape, out_dtype or a.dtype)

    return rule


def _binary(name, forward, *, out_dtype=None, saves_inputs=False, saves_outputs=False):
    split = name in _SPLIT_BINARY and isinstance(forward, np.ufunc)

    def fwd(a, b):
        if split and a.dtype == b.dtype and a.dtype.kind == "f":
            return _par.ufunc(forward, a, b)
        return forward(a, b)

    fwd.__doc__ = f"Elementwise {name} with broadcasting."
    return primitive(
        name,
        _binary_rule(name, out_dtype),
        saves_inputs=saves_inputs,
        saves_outputs=saves_outputs,
    )(fwd)


def _int_pow(a, b):
    if a.dtype.kind in "iu" and np.any(b < 0):
        raise ValueError("pow: integers to negative integer powers are not allowed")
    return np.power(a, b)


def _int_floor_div(a, b):
    if a.dtype.kind in "iu" and np.any(b == 0):
        raise ZeroDivisionError("floor_divide: integer division by zero")
    return np.floor_divide(a, b)


def _int_remainder(a, b):
    if a.dtype.kind in "iu" and np.any(b == 0):
        raise ZeroDivisionError("remainder: integer division by zero")
    return np.remainder(a, b)


def _int_fmod(a, b):
    if a.dtype.kind in "iu" and np.any(b == 0):
        raise ZeroDivisionError("fmod: integer division by zero")
    return np.fmod(a, b)


_add = _binary("add", np.add)
_sub = _binary("sub", np.subtract)
_mul = _binary("mul", np.multiply, saves_inputs=True)
_div = _binary("div", np.true_divide, saves_inputs=True)
_pow = _binary("pow", _int_pow, saves_inputs=True, saves_outputs=True)
_maximum = _binary("maximum", np.maximum, saves_inputs=True)
_minimum = _binary("minimum", np.minimum, saves_inputs=True)
_atan2 = _binary("atan2", np.arctan2, saves_inputs=True)
_fmod = _binary("fmod", _int_fmod, saves_inputs=True)
_remainder = _binary("remainder", _int_remainder, saves_inputs=True)
_floor_divide = _binary("floor_divide", _int_floor_div)
_eq = _binary("eq", np.equal, out_dtype=_dt.bool)
_ne = _binary("ne", np.not_equal, out_dtype=_dt.bool)
_lt = _binary("lt", np.less, out_dtype=_dt.bool)
_le = _binary("le", np.less_equal, out_dtype=_dt.bool)
_gt = _binary("gt", np.greater, out_dtype=_dt.bool)
_ge = _binary("ge", np.greater_equal, out_dtype=_dt.bool)
_logical_and = _binary("logical_and", np.logical_and, out_dtype=_dt.bool)
_logical_or = _binary("logical_or", np.logical_or, out_dtype=_dt.bool)
_logical_xor = _binary("logical_xor", np.logical_xor, out_dtype=_dt.bool)
_bitwise_and = _binary("bitwise_and", np.bitwise_and)
_bitwise_or = _binary("bitwise_or", np.bitwise_or)
_bitwise_xor = _binary("bitwise_xor", np.bitwise_xor)


def _reduce_pair(ctx, ga, gb):
    """Sum broadcast gradients back to the input shapes."""
    (sa, _), (sb, _) = ctx.in_meta
    return (
        sum_to_shape(ga, sa) if ga is not None and ctx.needs_input_grad[0] else None,
        sum_to_shape(gb, sb) if gb is not None and ctx.needs_input_grad[1] else None,
    )


@_add.defvjp
def _(ctx, g):
    return _reduce_pair(ctx, g, g)


@_sub.defvjp
def _(ctx, g):
    return _reduce_pair(ctx, g, neg(g) if ctx.needs_input_grad[1] else None)


@_mul.defvjp
def _(ctx, g):
    a, b = ctx.inputs
    return _reduce_pair(
        ctx,
        g * b if ctx.needs_input_grad[0] else None,
        g * a if ctx.needs_input_grad[1] else None,
    )


@_div.defvjp
def _(ctx, g):
    a, b = ctx.inputs
    ga = g / b if ctx.needs_input_grad[0] else None
    gb = -(g * a) / (b * b) if ctx.needs_input_grad[1] else None
    return _reduce_pair(ctx, ga, gb)


@_pow.defvjp
def _(ctx, g):
    a, b = ctx.inputs
    ga = gb = None
    if ctx.needs_input_grad[0]:
        ga = where(b == 0, 0.0, g * b * pow(a, b - 1))
    if ctx.needs_input_grad[1]:
        out = ctx.outputs[0]
        gb = where((a == 0) & (b >= 0), 0.0, g * out * log(a))
    return _reduce_pair(ctx, ga, gb)


def _minmax_vjp(ctx, g, pick_a):
    a, b = ctx.inputs
    tie = a == b
    half = g * 0.5
    ga = where(tie, half, where(pick_a, g, 0.0)) if ctx.needs_input_grad[0] else None
    gb = where(tie, half, where(pick_a, 0.0, g)) if ctx.needs_input_grad[1] else None
    return _reduce_pair(ctx, ga, gb)


@_maximum.defvjp
def _(ctx, g):
    a, b = ctx.inputs
    return _minmax_vjp(ctx, g, a > b)


@_minimum.defvjp
def _(ctx, g):
    a, b = ctx.inputs
    return _minmax_vjp(ctx, g, a < b)


@_atan2.defvjp
def _(ctx, g):
    a, b = ctx.inputs
    denom = a * a + b * b
    return _reduce_pair(ctx, g * b / denom, -(g * a) / denom)


@_fmod.defvjp
def _(ctx, g):
    a, b = ctx.inputs
    return _reduce_pair(ctx, g, -(g * trunc(a / b)) if ctx.needs_input_grad[1] else None)


@_remainder.defvjp
def _(ctx, g):
    a, b = ctx.inputs
    return _reduce_pair(ctx, g, -(g * floor(a / b)) if ctx.needs_input_grad[1] else None)


@_floor_divide.defvjp
def _(ctx, g):
    return _reduce_pair(ctx, g * 0.0, g * 0.0)


def _binary_apply(prim, a, b, dtype=None):
    (ta, tb), _ = promote(a, b, dtype=dtype)
    return apply(prim, ta, tb)


def add(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """``input + alpha * other`` with broadcasting and type promotion.

    Example:
        >>> import ember
        >>> ember.add(ember.tensor([1, 2]), ember.tensor([10, 20]), alpha=2)
        tensor([21, 42])
    """
    if alpha != 1:
        other = mul(other, alpha)
    return _maybe_out(_binary_apply(_add, input, other), out)


def sub(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """``input - alpha * other``."""
    if alpha != 1:
        other = mul(other, alpha)
    return _maybe_out(_binary_apply(_sub, input, other), out)


def mul(input, other, *, out: Tensor | None = None) -> Tensor:
    """Elementwise product with broadcasting."""
    return _maybe_out(_binary_apply(_mul, input, other), out)


def div(input, other, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    """True division (integers give floats); ``rounding_mode`` is ``"trunc"`` or ``"floor"``.

    Example:
        >>> import ember
        >>> ember.div(ember.tensor([7, -7]), 2, rounding_mode="floor")
        tensor([ 3, -4])
    """
    if rounding_mode is None:
        dtype = float_dtype(result_type(input, other))
        return _maybe_out(_binary_apply(_div, input, other, dtype), out)
    if rounding_mode == "floor":
        return _maybe_out(floor_divide(input, other), out)
    if rounding_mode == "trunc":
        dtype = result_type(input, other)
        if dtype.is_floating_point:
            return _maybe_out(trunc(_binary_apply(_div, input, other)), out)
        q = _binary_apply(_div, input, other, _dt.float64)
        return _maybe_out(cast(trunc(q), dtype), out)
    raise ValueError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}"
    )


def floor_divide(input, other) -> Tensor:
    """Division rounded toward negative infinity (Python's ``//``)."""
    return _binary_apply(_floor_divide, input, other)


def remainder(input, other) -> Tensor:
    """Python-style modulus: the result has the sign of the divisor."""
    return _binary_apply(_remainder, input, other)


def fmod(input, other) -> Tensor:
    """C-style modulus: the result has the sign of the dividend."""
    return _binary_apply(_fmod, input, other)


def pow(input, exponent) -> Tensor:  # noqa: A001
    """``input ** exponent`` elementwise (either may be a scalar)."""
    return _binary_apply(_pow, input, exponent)


def float_power(input, exponent) -> Tensor:
    """``pow`` computed in float64."""
    return _binary_apply(_pow, input, exponent, _dt.float64)


def maximum(input, other) -> Tensor:
    """Elementwise maximum; at ties the gradient is split evenly, as in PyTorch."""
    return _binary_apply(_maximum, input, other)


def minimum(input, other) -> Tensor:
    """Elementwise minimum; at ties the gradient is split evenly, as in PyTorch."""
    return _binary_apply(_minimum, input, other)


def fmax(input, other) -> Tensor:
    """Maximum that ignores NaN."""
    a, b = to_tensor(input), to_tensor(other)
    return where(isnan(a), b, where(isnan(b), a, maximum(a, b)))


def fmin(input, other) -> Tensor:
    """Minimum that ignores NaN."""
    a, b = to_tensor(input), to_tensor(other)
    return where(isnan(a), b, where(isnan(b), a, minimum(a, b)))


def atan2(input, other) -> Tensor:
    """Elementwise arctangent of ``input / other`` using the signs of both."""
    dtype = float_dtype(result_type(input, other))
    return _binary_apply(_atan2, input, other, dtype)


arctan2 = atan2


def _compare(prim, name):
    def op(input, other) -> Tensor:
        return _binary_apply(prim, input, other)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (
        f"Elementwise ``{name}`` comparison, giving a bool tensor.\n\n"
        f"Example:\n    >>> import ember\n    >>> ember.{name}(ember.tensor([1, 2]), 2).dtype\n"
        "    ember.bool\n"
    )
    return op


eq = _compare(_eq, "eq")
ne = not_equal = _compare(_ne, "ne")
lt = less = _compare(_lt, "lt")
le = less_equal = _compare(_le, "le")
gt = greater = _compare(_gt, "gt")
ge = greater_equal = _compare(_ge, "ge")


def _logical(prim, name):
    def op(input, other) -> Tensor:
        a, b = to_tensor(input), to_tensor(other)
        return apply(prim, cast(a, _dt.bool), cast(b, _dt.bool))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}``; nonzero counts as True.\n"
    return op


logical_and = _logical(_logical_and, "logical_and")
logical_or = _logical(_logical_or, "logical_or")
logical_xor = _logical(_logical_xor, "logical_xor")


def _bitwise(prim, name):
    def op(input, other) -> Tensor:
        (a, b), d = promote(input, other)
        if d.is_floating_point:
            raise TypeError(f"{name}: only integer and bool tensors are supported, got {d}")
        return apply(prim, a, b)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of integer or bool tensors.\n"
    return op


bitwise_and = _bitwise(_bitwise_and, "bitwise_and")
bitwise_or = _bitwise(_bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(_bitwise_xor, "bitwise_xor")


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements."""
    return tuple(input.shape) == tuple(other.shape) and bool(
        np.array_equal(input._data, other._data)
    )


def isclose(
    input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> Tensor:
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (NumPy's ``isclose``: infinities are close
    only to themselves, NaNs to NaNs with ``equal_nan``), in ember ops so it can be traced.

    Example:
        >>> import ember
        >>> ember.isclose(ember.tensor([1.0, 1.1, float("nan")]), ember.tensor([1.0, 1.0, 0.0]))
        tensor([ True, False, False])
    """
    (a, b), dt = promote(to_tensor(input), to_tensor(other))
    if not dt.is_floating_point:
        (a, b), _ = promote(a, b, dtype=_dt.float64)
    finite = logical_and(isfinite(a), isfinite(b))
    fa, fb = where(finite, a, 0.0), where(finite, b, 0.0)  # no inf - inf warnings
    out = where(finite, le(abs(fa - fb), abs(fb) * rtol + atol), eq(a, b))
    return logical_or(out, logical_and(isnan(a), isnan(b))) if equal_nan else out


def allclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """True when every element is close (see ``isclose``)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


# ---------------------------------------------------------------------------------------------
# where, clamp and composites
# ---------------------------------------------------------------------------------------------
def _where_rule(c: Spec, a: Spec, b: Spec) -> Spec:
    if c.dtype is not _dt.bool:
        raise TypeError(f"where: condition must be a bool tensor, got {c.dtype}")
    if a.dtype is not b.dtype:
        raise TypeError(f"where: expected x and y of one dtype, got {a.dtype} and {b.dtype}")
    return Spec(broadcast_shapes("where", c.shape, a.shape, b.shape), a.dtype)


@primitive("where", _where_rule, saves_inputs=True)
def _where(c, a, b):
    """Pick ``a`` where the condition holds, else ``b``."""
    return np.where(c, a, b)


@_where.defvjp
def _(ctx, g):
    c, a, b = ctx.inputs
    zero = Tensor._wrap(np.zeros((), g._data.dtype))
    ga = sum_to_shape(where(c, g, zero), a.shape) if ctx.needs_input_grad[1] else None
    gb = sum_to_shape(where(c, zero, g), b.shape) if ctx.needs_input_grad[2] else None
    return (None, ga, gb)


def where(condition, input=None, other=None) -> Tensor:
    """Elementwise select: ``input`` where ``condition`` is True, else ``other``.

    With only a condition it returns the indices of True elements (``nonzero(as_tuple=True)``).

    Example:
        >>> import ember
        >>> ember.where(ember.tensor([True, False]), ember.tensor([1.0, 2.0]), 0.0)
        tensor([1., 0.])
    """
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    c = to_tensor(condition)
    if c._data.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {c.dtype}")
    (a, b), _ = promote(input, other)
    return apply(_where, c, a, b)


def _clamp_rule(x: Spec, *, min=None, max=None) -> Spec:  # noqa: A002
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    return x


@primitive("clamp", _clamp_rule, saves_inputs=True)
def _clamp(x, *, min=None, max=None):  # noqa: A002
    """Clip values into [min, max] (scalar bounds)."""
    return np.clip(x, min, max).astype(x.dtype, copy=False)


@_clamp.defvjp
def _(ctx, g):
    (x,) = ctx.inputs
    lo, hi = ctx.attrs.get("min"), ctx.attrs.get("max")
    mask = None
    if lo is not None:
        mask = x >= lo
    if hi is not None:
        mask = (x <= hi) if mask is None else logical_and(mask, x <= hi)
    return (where(mask, g, 0.0),)


def clamp(input, min=None, max=None, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """Clamp into ``[min, max]``; bounds may be scalars or tensors.

    The gradient passes where ``min <= x <= max`` (boundaries included), as in PyTorch.

    Example:
        >>> import ember
        >>> ember.clamp(ember.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)
        tensor([0.0000, 0.5000, 1.0000])
    """
    x = to_tensor(input)
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        result = x
        if min is not None:
            result = where(result < min, min, result)
        if max is not None:
            result = where(result > max, max, result)
        return _maybe_out(result, out)
    dtype = result_type(x, min if min is not None else max)
    if min is not None and max is not None:
        dtype = _dt.promote_types(dtype, result_type(x, max))
    if x._data.dtype != dtype.np:
        x = cast(x, dtype)
    lo = None if min is None else dtype.np.type(min)
    hi = None if max is None else dtype.np.type(max)
    return _maybe_out(apply(_clamp, x, min=lo, max=hi), out)


clip = clamp


def lerp(input, end, weight) -> Tensor:
    """Linear interpolation ``input + weight * (end - input)``."""
    start = to_tensor(input)
    return start + weight * (end - start)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit: exact (erf) or ``approximate="tanh"``.

    Example:
        >>> import ember
        >>> ember.gelu(ember.tensor([1.0]))
        tensor([0.8413])
    """
    x = to_tensor(input)
    if approximate == "none":
        fd = float_dtype(_dt.from_numpy_dtype(x._data.dtype))
        return apply(_gelu, x if x._data.dtype == fd.np else cast(x, fd))[0]
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (tanh(inner) + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu_backward(grad: Tensor, input: Tensor) -> Tensor:
    """``grad * d gelu(input) / d input`` for the exact GELU (the ``gelu_backward`` primitive).

    Example:
        >>> import ember
        >>> from ember.ops.elementwise import gelu_backward
        >>> gelu_backward(ember.ones(2), ember.tensor([0.0, 1.0]))
        tensor([0.5000, 1.0833])
    """
    g, x = to_tensor(grad), to_tensor(input)
    if g._data.dtype != x._data.dtype:
        (g, x), _ = promote(g, x)
    return apply(_gelu_backward, g, x, apply(_gelu, x)[1])


def silu(input: Tensor) -> Tensor:
    """``x * sigmoid(x)`` (swish)."""
    x = to_tensor(input)
    return x * sigmoid(x)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold`` (numerically stable)."""
    x = to_tensor(input)
    bx = x * beta
    stable = (log1p(exp(-abs(bx))) + relu(bx)) / beta
    return where(bx > threshold, x, stable)


def hypot(input, other) -> Tensor:
    """``sqrt(a**2 + b**2)``."""
    a, b = to_tensor(input), to_tensor(other)
    return sqrt(a * a + b * b)


def xlogy(input, other) -> Tensor:
    """``x * log(y)``, zero where ``x == 0``."""
    x, y = to_tensor(input), to_tensor(other)
    return where(x == 0, 0.0, x * log(y))


def logaddexp(input, other) -> Tensor:
    """``log(exp(a) + exp(b))`` without overflow."""
    a, b = to_tensor(input), to_tensor(other)
    m = maximum(a, b).detach()
    return m + log(exp(a - m) + exp(b - m))


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    return input + tensor1 * tensor2 * value


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2``."""
    return input + tensor1 / tensor2 * value


def nan_to_num(input, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
    """Replace NaN and infinities with finite numbers."""
    x = to_tensor(input)
    info = np.finfo(x._data.dtype) if x._data.dtype.kind == "f" else None
    if info is None:
        return x.clone()
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    return where(isnan(x), nan, where(isposinf(x), posinf, where(isneginf(x), neginf, x)))


# ---------------------------------------------------------------------------------------------
# Tensor methods and operators
# ---------------------------------------------------------------------------------------------
subtract = sub
multiply = mul
divide = true_divide = div


def _rsub(self, other):
    return sub(other, self)


def _rdiv(self, other):
    return div(other, self)


def _rpow(self, other):
    return pow(other, self)


def _rfloordiv(self, other):
    return floor_divide(other, self)


def _rmod(self, other):
    return remainder(other, self)


def _eq_op(self, other):
    if other is None or not (
        isinstance(other, Tensor)
        or is_scalar(other)
        or isinstance(other, (list, tuple, np.ndarray))
    ):
        return NotImplemented
    return eq(self, other)


def _ne_op(self, other):
    if other is None or not (
        isinstance(other, Tensor)
        or is_scalar(other)
        or isinstance(other, (list, tuple, np.ndarray))
    ):
        return NotImplemented
    return ne(self, other)


def _and_op(self, other):
    return bitwise_and(self, other)


def _or_op(self, other):
    return bitwise_or(self, other)


def _xor_op(self, other):
    return bitwise_xor(self, other)


def _invert(self):
    return bitwise_not(self)


def _pos(self):
    return self


_OPERATORS = {
    "__add__": add,
    "__radd__": add,
    "__sub__": sub,
    "__rsub__": _rsub,
    "__mul__": mul,
    "__rmul__": mul,
    "__truediv__": div,
    "__rtruediv__": _rdiv,
    "__pow__": pow,
    "__rpow__": _rpow,
    "__floordiv__": floor_divide,
    "__rfloordiv__": _rfloordiv,
    "__mod__": remainder,
    "__rmod__": _rmod,
    "__neg__": neg,
    "__abs__": abs,
    "__pos__": _pos,
    "__eq__": _eq_op,
    "__ne__": _ne_op,
    "__lt__": lt,
    "__le__": le,
    "__gt__": gt,
    "__ge__": ge,
    "__and__": _and_op,
    "__rand__": _and_op,
    "__or__": _or_op,
    "__ror__": _or_op,
    "__xor__": _xor_op,
    "__rxor__": _xor_op,
    "__invert__": _invert,
}
for _name, _fn in _OPERATORS.items():
    setattr(Tensor, _name, _fn)

_METHODS = (
    "neg negative abs absolute exp exp2 log log2 log10 log1p expm1 sqrt rsqrt square sin cos tan "
    "asin acos atan arcsin arccos arctan sinh cosh tanh sigmoid relu erf erfc sign sgn floor ceil "
    "round trunc frac reciprocal isnan isinf isfinite isposinf isneginf signbit logical_not "
    "bitwise_not add sub subtract mul multiply div divide true_divide floor_divide remainder fmod "
    "pow float_power maximum minimum fmax fmin atan2 arctan2 eq ne lt le gt ge equal greater "
    "greater_equal less less_equal not_equal logical_and logical_or logical_xor bitwise_and "
    "bitwise_or bitwise_xor clamp clip lerp hypot xlogy nan_to_num allclose isclose logaddexp "
    "addcmul addcdiv rad2deg deg2rad"
).split()
for _name in _METHODS:
    tensor_method(_name)(globals()[_name])


def _make_inplace(name, fn):
    def method(self, *args, **kwargs):
        return apply_inplace(self, fn, *args, **kwargs)

    method.__name__ = name + "_"
    method.__doc__ = f"In-place ``{name}``; returns ``self``."
    return method


_INPLACE = (
    "neg abs exp exp2 log log2 log10 log1p expm1 sqrt rsqrt sin cos tan asin acos atan sinh cosh "
    "tanh sigmoid relu erf sign floor ceil round trunc frac reciprocal add sub mul div pow "
    "floor_divide remainder fmod maximum minimum atan2 clamp clip lerp logical_not bitwise_not "
    "bitwise_and bitwise_or bitwise_xor logical_and logical_or logical_xor eq ne lt le gt ge "
    "nan_to_num addcmul addcdiv square hypot xlogy"
).split()
for _name in _INPLACE:
    setattr(Tensor, _name + "_", _make_inplace(_name, globals()[_name]))

_AUGMENTED = {
    "__iadd__": add,
    "__isub__": sub,
    "__imul__": mul,
    "__itruediv__": div,
    "__ipow__": pow,
    "__ifloordiv__": floor_divide,
    "__imod__": remainder,
    "__iand__": bitwise_and,
    "__ior__": bitwise_or,
    "__ixor__": bitwise_xor,
}
for _name, _fn in _AUGMENTED.items():
    setattr(Tensor, _name, _make_inplace(_name.strip("_")[1:], _fn))
