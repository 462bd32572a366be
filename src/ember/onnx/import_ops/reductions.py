"""Reductions: Reduce* (axes as attribute before opset 13/18, as input after), ArgMax/ArgMin,
CumSum/CumProd and TopK.

``ReduceSum`` takes ``axes`` as an input from opset 13, the other Reduce ops from opset 18;
an empty ``axes`` reduces everything unless ``noop_with_empty_axes`` is set. Reducing an
empty set gives the reduction's identity (0 for sums, 1 for products, -inf for max/log-sum).

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("ReduceSum", "", 13, "", {"keepdims": 0}, 1)
    >>> find_handler("ReduceSum", 13)(ctx, ember.tensor([[1, 2], [3, 4]]), ember.tensor([1]))
    tensor([3, 7])
"""

from __future__ import annotations

import math

import ember

from ._registry import OpContext, onnx_op
from ._util import const, float_work, int_list, norm_axes, norm_axis, scalar


def _reduce_axes(ctx: OpContext, x, axes_input, axes_as_input: bool):
    """The axes to reduce (a tuple), or None when the op is the identity."""
    axes = int_list(axes_input) if axes_as_input else ctx.attr("axes")
    if not axes:
        if ctx.attr("noop_with_empty_axes", 0):
            return None
        return tuple(range(x.dim()))
    return norm_axes(ctx, axes, x.dim())


def _reduced_shape(x, axes, keepdims: bool) -> tuple:
    return tuple((1 if keepdims else None) if i in axes else s for i, s in enumerate(x.shape))


def _empty_result(x, axes, keepdims: bool, value):
    shape = tuple(s for s in _reduced_shape(x, axes, keepdims) if s is not None)
    if x.dtype is ember.bool:
        value = value > 0
    elif not x.dtype.is_floating_point and math.isinf(value):  # the integer type's extreme
        bits = x.dtype.itemsize * 8
        lo = -(2 ** (bits - 1)) if x.dtype.is_signed else 0
        hi = 2 ** (bits - 1) - 1 if x.dtype.is_signed else 2**bits - 1
        value = lo if value < 0 else hi
    return ember.full(shape, value, dtype=x.dtype)


def _each_axis(fn, x, axes, keepdims: bool):
    """Apply a one-dim reduction ``fn(x, dim, keepdim)`` over several axes."""
    for axis in sorted(axes, reverse=True):
        x = fn(x, axis, keepdims)
    return x


def _sum(x, axes, keepdims):
    return ember.sum(x, axes, keepdims).to(x.dtype)


def _mean(x, axes, keepdims):
    return ember.mean(float_work(x), axes, keepdims).to(x.dtype)


def _max(x, axes, keepdims):
    if x.dtype is ember.bool:
        return ember.amax(x.to(ember.uint8), axes, keepdims).to(ember.bool)
    return ember.amax(x, axes, keepdims)


def _min(x, axes, keepdims):
    if x.dtype is ember.bool:
        return ember.amin(x.to(ember.uint8), axes, keepdims).to(ember.bool)
    return ember.amin(x, axes, keepdims)


def _prod(x, axes, keepdims):
    return _each_axis(lambda t, d, k: ember.prod(t, d, k), x, axes, keepdims).to(x.dtype)


def _l1(x, axes, keepdims):
    return ember.sum(x.abs(), axes, keepdims).to(x.dtype)


def _l2(x, axes, keepdims):
    xf = float_work(x)
    return ember.sqrt(ember.sum(xf * xf, axes, keepdims)).to(x.dtype)


def _log_sum(x, axes, keepdims):
    return ember.log(ember.sum(x, axes, keepdims))


def _log_sum_exp(x, axes, keepdims):
    return ember.logsumexp(float_work(x), axes, keepdims).to(x.dtype)


def _sum_square(x, axes, keepdims):
    return ember.sum(x * x, axes, keepdims).to(x.dtype)


# op type -> (reducer, value on an empty set, first opset taking axes as an input)
_REDUCTIONS = {
    "ReduceSum": (_sum, 0.0, 13),
    "ReduceMean": (_mean, math.nan, 18),
    "ReduceMax": (_max, -math.inf, 18),
    "ReduceMin": (_min, math.inf, 18),
    "ReduceProd": (_prod, 1.0, 18),
    "ReduceL1": (_l1, 0.0, 18),
    "ReduceL2": (_l2, 0.0, 18),
    "ReduceLogSum": (_log_sum, -math.inf, 18),
    "ReduceLogSumExp": (_log_sum_exp, -math.inf, 18),
    "ReduceSumSquare": (_sum_square, 0.0, 18),
}


def _reduce_handler(op_type: str, axes_as_input: bool):
    reducer, empty_value, _ = _REDUCTIONS[op_type]

    def handler(ctx: OpContext, x, axes=None):
        dims = _reduce_axes(ctx, x, axes, axes_as_input)
        if dims is None:
            return x
        keepdims = bool(ctx.attr("keepdims", 1))
        if any(x.shape[d] == 0 for d in dims):
            return _empty_result(x, dims, keepdims, empty_value)
        if not dims:
            return x
        return reducer(x, dims, keepdims)

    handler.__name__ = op_type.lower()
    return handler


for _op, (_fn, _empty, _since) in _REDUCTIONS.items():
    onnx_op(_op)(_reduce_handler(_op, False))
    onnx_op(_op, since=_since)(_reduce_handler(_op, True))


# ---------------------------------------------------------------------------------------------
# arg reductions
# ---------------------------------------------------------------------------------------------
def _arg_handler(fn):
    def handler(ctx: OpContext, x):
        axis = norm_axis(ctx, ctx.attr("axis", 0), x.dim())
        keepdims = bool(ctx.attr("keepdims", 1))
        if x.dtype is ember.bool:
            x = x.to(ember.uint8)
        if ctx.attr("select_last_index", 0):
            flipped = fn(ember.flip(x, [axis]), axis, keepdims)
            return const(x.shape[axis] - 1, flipped) - flipped
        return fn(x, axis, keepdims)

    return handler


onnx_op("ArgMax")(_arg_handler(ember.argmax))
onnx_op("ArgMin")(_arg_handler(ember.argmin))


# ---------------------------------------------------------------------------------------------
# scans
# ---------------------------------------------------------------------------------------------
def _scan_handler(fn, identity: int):
    def handler(ctx: OpContext, x, axis):
        dim = norm_axis(ctx, int(scalar(axis)), x.dim())
        reverse = bool(ctx.attr("reverse", 0))
        if reverse:
            x = ember.flip(x, [dim])
        out = fn(x, dim).to(x.dtype)
        if ctx.attr("exclusive", 0):
            n = x.shape[dim]
            first = ember.full_like(x.narrow(dim, 0, min(n, 1)), identity)
            out = ember.cat([first, out.narrow(dim, 0, max(n - 1, 0))], dim)
        return ember.flip(out, [dim]) if reverse else out

    return handler


onnx_op("CumSum")(_scan_handler(ember.cumsum, 0))
onnx_op("CumProd")(_scan_handler(ember.cumprod, 1))


# ---------------------------------------------------------------------------------------------
# TopK
# ---------------------------------------------------------------------------------------------
@onnx_op("TopK")
def topk_v1(ctx: OpContext, x):
    return _topk(ctx, x, ctx.attr("k"))


@onnx_op("TopK", since=10)
def topk(ctx: OpContext, x, k):
    return _topk(ctx, x, int(scalar(k)))


def _topk(ctx: OpContext, x, k: int):
    axis = norm_axis(ctx, ctx.attr("axis", -1), x.dim())
    if not 0 <= k <= x.shape[axis]:
        raise ctx.error(f"k={k} is out of range for axis {axis} of size {x.shape[axis]}")
    largest = bool(ctx.attr("largest", 1))
    # A stable sort keeps equal values in index order, which is the order ONNX asks for.
    key = -x if largest and x.dtype.is_floating_point else x
    if largest and not x.dtype.is_floating_point:
        key = x.to(ember.int64).neg() if x.dtype is not ember.bool else (~x).to(ember.int64)
    order = ember.argsort(key, dim=axis, stable=True).narrow(axis, 0, k)
    return ember.gather(x, axis, order), order
