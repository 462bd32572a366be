"""ONNX lowerings of the reductions and scans (``ember/ops/reduce.py``).

``sum``/``prod`` cast to their accumulation dtype first (NumPy's ``dtype=`` argument);
``all``/``any`` count the false/true elements (so empty reductions give True/False, as NumPy);
``median``/``median_index`` take the ``(n - 1) // 2``-th smallest with ``TopK`` (ties go to the
lower index, as a stable sort) and then put NaN (or the first NaN's index) where NumPy would.
``cumprod`` has no ONNX operator: it is unrolled along its axis (one ``Mul`` per step, the same
order of products as NumPy), up to :data:`MAX_UNROLL` steps.

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops.reduce
    >>> REGISTRY["cumsum"].lowerings["onnx"].min_opset
    13
"""

from __future__ import annotations

import numpy as np

from ._registry import lowers

MAX_UNROLL = 1024


def _axes(node):
    axes = node.attrs.get("axes")
    return None if axes is None else tuple(int(a) for a in axes)


def _dtype_name(dtype) -> str:
    return getattr(dtype, "name", None) or str(dtype)


@lowers("sum", "prod")
def _sum_prod(ctx, node, x):
    x = ctx.cast(x, ctx.dtype(node.inputs[0]), _dtype_name(node.attrs["dtype"]))
    op_type = "ReduceSum" if node.op == "sum" else "ReduceProd"
    return ctx.reduce(op_type, x, _axes(node), node.attrs["keepdim"])


@lowers("amax", "amin")
def _amax_amin(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    op_type = "ReduceMax" if node.op == "amax" else "ReduceMin"
    if dt == "bool":
        out = ctx.reduce(op_type, ctx.cast(x, dt, "int32"), _axes(node), node.attrs["keepdim"])
        return ctx.cast(out, "int32", "bool")
    return ctx.reduce(op_type, x, _axes(node), node.attrs["keepdim"])


@lowers("all", "any")
def _all_any(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    truth = ctx.cast(x, dt, "bool")
    if node.op == "all":
        truth = ctx.op("Not", truth)
    flags = ctx.cast(truth, "bool", "int64")
    count = ctx.reduce("ReduceSum", flags, _axes(node), node.attrs["keepdim"])
    zero = ctx.const(np.array(0, np.int64))
    out = ctx.op("Equal" if node.op == "all" else "Greater", count, zero)
    return ctx.cast(out, "bool", ctx.dtype(node.outputs[0]))


@lowers("argmax", "argmin")
def _arg(ctx, node, x):
    op_type = "ArgMax" if node.op == "argmax" else "ArgMin"
    dt = ctx.dtype(node.inputs[0])
    if dt == "bool":
        x = ctx.cast(x, dt, "int32")
    axis, keep = node.attrs["axis"], int(bool(node.attrs["keepdim"]))
    if axis is not None:
        return ctx.op(op_type, x, axis=int(axis), keepdims=keep)
    flat = ctx.op("Reshape", x, ctx.ints([-1]))
    out = ctx.op(op_type, flat, axis=0, keepdims=0)
    return ctx.reshape(out, ctx.shape(node.outputs[0]))


@lowers("cumsum")
def _cumsum(ctx, node, x):
    x = ctx.cast(x, ctx.dtype(node.inputs[0]), _dtype_name(node.attrs["dtype"]))
    if ctx.rank(node.inputs[0]) == 0:
        return ctx.op("Identity", x)
    axis = ctx.const(np.array(int(node.attrs["axis"]), np.int64))
    return ctx.op("CumSum", x, axis, reverse=int(bool(node.attrs.get("reverse", False))))


@lowers("cumprod", note="unrolled, up to 1024 steps")
def _cumprod(ctx, node, x):
    x = ctx.cast(x, ctx.dtype(node.inputs[0]), _dtype_name(node.attrs["dtype"]))
    if ctx.rank(node.inputs[0]) == 0:
        return ctx.op("Identity", x)
    axis = int(node.attrs["axis"])
    n = ctx.static(ctx.shape(node.inputs[0])[axis], "the length of the cumulative product")
    if n > MAX_UNROLL:
        raise ctx.unsupported(f"cumprod is unrolled, up to {MAX_UNROLL} steps (got {n})")
    if n <= 1:
        return ctx.op("Identity", x)
    steps = [
        ctx.op("Slice", x, ctx.ints([k]), ctx.ints([k + 1]), ctx.ints([axis])) for k in range(n)
    ]
    running = [steps[0]]
    for step in steps[1:]:
        running.append(ctx.op("Mul", running[-1], step))
    return ctx.op("Concat", *running, axis=axis)


def _kth_smallest(ctx, x, axis: int, size):
    """Values and indices of the ``(size - 1) // 2``-th smallest along ``axis`` (keepdim).

    ``size`` is the length of ``axis``: an int, or None to read it at run time.
    """
    if size is not None:
        k = ctx.const(np.array([(int(size) - 1) // 2 + 1], np.int64))
    else:
        n = ctx.dim_of(x, axis)
        half = ctx.op("Div", ctx.op("Sub", n, ctx.ints([1])), ctx.ints([2]))
        k = ctx.op("Add", half, ctx.ints([1]))
    values, indices = ctx.op("TopK", x, k, axis=axis, largest=0, sorted=1, outputs=2)
    last = [ctx.ints([-1]), ctx.ints([np.iinfo(np.int64).max]), ctx.ints([axis])]
    return ctx.op("Slice", values, *last), ctx.op("Slice", indices, *last)


@lowers("median")
def _median(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    flat = ctx.op("Reshape", x, ctx.ints([-1]))
    shape = ctx.shape(node.inputs[0])
    size = int(np.prod(shape)) if all(isinstance(d, int) for d in shape) else None
    value, _ = _kth_smallest(ctx, flat, 0, size)
    value = ctx.op("Reshape", value, ctx.ints([]))
    if not dt.startswith(("float", "bfloat")):
        return value
    nan = ctx.cast(ctx.op("IsNaN", flat), "bool", "int32")
    any_nan = ctx.cast(ctx.reduce("ReduceMax", nan, None, False), "int32", "bool")
    return ctx.op("Where", any_nan, ctx.scalar(np.nan, dt), value)


@lowers("median_index")
def _median_index(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    axis = int(node.attrs["axis"])
    size = ctx.shape(node.inputs[0])[axis]
    _, index = _kth_smallest(ctx, x, axis, size if isinstance(size, int) else None)
    if not dt.startswith(("float", "bfloat")):
        return index
    nan = ctx.cast(ctx.op("IsNaN", x), "bool", "int32")
    has_nan = ctx.cast(ctx.reduce("ReduceMax", nan, [axis], True), "int32", "bool")
    first_nan = ctx.op("ArgMax", nan, axis=axis, keepdims=1)
    return ctx.op("Where", has_nan, first_nan, index)


@lowers("reduce_select")
def _reduce_select(ctx, node, x, index):
    axis = int(node.attrs["axis"])
    out = ctx.op("GatherElements", x, index, axis=axis)
    return out if node.attrs["keepdim"] else ctx.squeeze(out, [axis])
