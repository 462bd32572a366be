"""ONNX lowerings of convolution and pooling (``ember/ops/conv_kernels.py``).

``conv`` is ``Conv`` (asymmetric padding, groups, dilation, 1-D to 3-D). Pooling in floor mode
is ``MaxPool``/``AveragePool`` with their own padding; ``ceil_mode`` and ``divisor_override``
pad explicitly (``-inf`` for max, zeros for average) so every window PyTorch's rule keeps is
there, and average pooling then rescales by ember's own divisor array. Max-pool indices are
ember's flat positions inside each ``(n, c)`` plane (ONNX counts over the whole tensor).
``adaptive_max_pool`` is one ``MaxPool`` when the sizes divide, else a max over each of
PyTorch's windows, one spatial dimension at a time (a box max is separable). The gradient
primitives become ``ConvTranspose`` (input gradient, average-pool gradient),
``ScatterElements`` (max-pool gradient, ``col2im``) and ``Gather`` (``im2col``).

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops.conv_pool
    >>> REGISTRY["pool_scatter"].lowerings["onnx"].min_opset
    16
"""

from __future__ import annotations

import math

import numpy as np
from onnx import numpy_helper

from ._registry import lowers


def _spatial(ctx, vid, what: str) -> tuple:
    return tuple(ctx.static(d, what) for d in ctx.shape(vid)[2:])


@lowers("conv")
def _conv(ctx, node, x, w):
    a = node.attrs
    pads = [lo for lo, _ in a["padding"]] + [hi for _, hi in a["padding"]]
    kernel = list(ctx.shape(node.inputs[1])[2:])
    return ctx.op(
        "Conv",
        x,
        w,
        kernel_shape=kernel,
        strides=list(a["stride"]),
        pads=pads,
        dilations=list(a["dilation"]),
        group=int(a["groups"]),
    )


@lowers("conv_weight_grad")
def _conv_weight_grad(ctx, node, x, g):
    """``dw[o, i, k] = sum over n, l of g[n, o, l] * x[n, i, l * stride + k * dilation]``: a
    convolution of the input by the output gradient, with the batch as the channel axis and
    stride and dilation swapped (groups stay groups: the batch is repeated per group)."""
    a = node.attrs
    kernel = [int(k) for k in a["kernel"]]
    groups = int(a["groups"])
    c_in = ctx.static(ctx.shape(node.inputs[0])[1], "the input channel count")
    size = list(_spatial(ctx, node.inputs[0], "the input's spatial size"))
    per_group = c_in // groups
    nd = len(kernel)
    images = ctx.op("Reshape", x, ctx.ints([0, groups, per_group, *size]))
    images = ctx.op("Transpose", images, perm=[2, 1, 0, *range(3, 3 + nd)])
    images = ctx.op("Reshape", images, ctx.ints([per_group, -1, *size]))  # (i, G * N, *S)
    filters = ctx.op("Transpose", g, perm=[1, 0, *range(2, 2 + nd)])  # (C_out, N, *O)
    pads = [lo for lo, _ in a["padding"]] + [hi for _, hi in a["padding"]]
    dw = ctx.op(
        "Conv",
        images,
        filters,
        strides=list(a["dilation"]),
        dilations=list(a["stride"]),
        pads=pads,
        group=groups,
    )  # (i, C_out, *K') with K' >= K
    dw = ctx.op("Transpose", dw, perm=[1, 0, *range(2, 2 + nd)])
    axes = list(range(2, 2 + nd))
    return ctx.op("Slice", dw, ctx.ints([0] * nd), ctx.ints(kernel), ctx.ints(axes))


def _transpose_pads(size, out, kernel, stride, dilation, lo):
    """``pads`` of a ConvTranspose from ``out`` back to ``size``, and the zeros to append
    where ``size`` reaches past every window."""
    pads_lo, pads_hi, extra = [], [], []
    for i in range(len(size)):
        full = stride[i] * (out[i] - 1) + dilation[i] * (kernel[i] - 1) + 1
        hi = full - lo[i] - size[i]
        pads_lo.append(lo[i])
        pads_hi.append(max(hi, 0))
        extra.append(max(-hi, 0))
    return pads_lo + pads_hi, extra


@lowers("conv_input_grad")
def _conv_input_grad(ctx, node, g, w):
    a = node.attrs
    out = _spatial(ctx, node.inputs[0], "the gradient's spatial size")
    kernel = list(ctx.shape(node.inputs[1])[2:])
    lo = [p[0] for p in a["padding"]]
    pads, extra = _transpose_pads(a["size"], out, kernel, a["stride"], a["dilation"], lo)
    full = ctx.op(
        "ConvTranspose",
        g,
        w,
        kernel_shape=kernel,
        strides=list(a["stride"]),
        pads=pads,
        dilations=list(a["dilation"]),
        group=int(a["groups"]),
    )
    return _zero_tail(ctx, full, extra, ctx.dtype(node.inputs[0]))


def _zero_tail(ctx, x, extra, dt):
    """``x`` grown by ``extra`` zeros at the end of each spatial dimension: the input positions
    no window reaches (ONNX's ``output_padding`` is limited to less than the stride)."""
    if not any(extra):
        return x
    pads = [0, 0] + [0] * len(extra) + [0, 0] + list(extra)
    return ctx.op("Pad", x, ctx.ints(pads), ctx.scalar(0, dt), mode="constant")


def _padded_extent(size, out, kernel, stride, dilation, lo):
    """Per dimension ``(hi, crop)``: floor-mode pooling over the input cropped to ``crop``
    (None: not cropped) and padded by ``(lo, hi)`` gives exactly ``out`` windows."""
    plan = []
    for i in range(len(size)):
        need = (out[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1
        hi = need - size[i] - lo[i]
        if hi >= 0 or size[i] + lo[i] <= need + stride[i] - 1:
            plan.append((max(hi, 0), None))
        else:
            plan.append((0, need - lo[i]))
    return plan


def _explicit_pad(ctx, x, lo, plan, value):
    """Crop and pad the spatial dimensions of ``x`` as ``plan`` says."""
    crops = [(2 + i, c) for i, (_, c) in enumerate(plan) if c is not None]
    if crops:
        axes = [a for a, _ in crops]
        x = ctx.op(
            "Slice", x, ctx.ints([0] * len(axes)), ctx.ints([c for _, c in crops]), ctx.ints(axes)
        )
    if not any(lo) and not any(h for h, _ in plan):
        return x
    pads = [0, 0] + list(lo) + [0, 0] + [h for h, _ in plan]
    return ctx.op("Pad", x, ctx.ints(pads), value, mode="constant")


def _needs_explicit(size, out, kernel, stride, dilation, pad) -> bool:
    for i in range(len(size)):
        floor = (size[i] + 2 * pad[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
        if floor != out[i]:
            return True
    return False


@lowers("max_pool", note="ceil_mode pads explicitly; indices per (n, c) plane")
def _max_pool(ctx, node, x):
    a = node.attrs
    kernel, stride, pad, dil = (list(a[k]) for k in ("kernel", "stride", "padding", "dilation"))
    dt = ctx.dtype(node.inputs[0])
    if not dt.startswith(("float", "bfloat")) and dt not in ("int8", "uint8"):
        raise ctx.unsupported(f"ONNX MaxPool takes float, int8 or uint8 inputs, not {dt}")
    size = _spatial(ctx, node.inputs[0], "the pooled input's spatial size")
    out = ctx.shape(node.outputs[0])[2:]
    want_index = node.outputs[1] in ctx.live_values
    common = dict(kernel_shape=kernel, strides=stride, dilations=dil)
    if not _needs_explicit(size, out, kernel, stride, dil, pad):
        if not want_index:
            return ctx.op("MaxPool", x, pads=pad + pad, **common), None
        values, index = ctx.op("MaxPool", x, pads=pad + pad, outputs=2, **common)
        plane = ctx.const(np.array(math.prod(size), np.int64))
        return values, ctx.op("Mod", index, plane)  # ONNX counts over N and C as well
    plan = _padded_extent(size, out, kernel, stride, dil, pad)
    low = -np.inf if dt.startswith(("float", "bfloat")) else np.iinfo(np.dtype(dt)).min
    padded = _explicit_pad(ctx, x, pad, plan, ctx.scalar(low, dt))
    if not want_index:
        return ctx.op("MaxPool", padded, **common), None
    if any(c is not None for _, c in plan):
        raise ctx.unsupported("max_pool indices with ceil_mode windows that crop the input")
    values, index = ctx.op("MaxPool", padded, outputs=2, **common)
    grown = [size[i] + pad[i] + plan[i][0] for i in range(len(size))]
    return values, _unpad_index(ctx, index, grown, size, pad)


def _unpad_index(ctx, index, padded, size, lo):
    """Flat indices into ``(N, C, *padded)`` -> flat spatial indices into ``(*size)``."""
    flat = ctx.op("Mod", index, ctx.const(np.array(math.prod(padded), np.int64)))
    total = None
    for i in range(len(size)):
        inner = math.prod(padded[i + 1 :])
        coord = ctx.op("Div", flat, ctx.const(np.array(inner, np.int64)))
        coord = ctx.op("Mod", coord, ctx.const(np.array(padded[i], np.int64)))
        coord = ctx.op("Sub", coord, ctx.const(np.array(lo[i], np.int64)))
        term = ctx.op("Mul", coord, ctx.const(np.array(math.prod(size[i + 1 :]), np.int64)))
        total = term if total is None else ctx.op("Add", total, term)
    return total


@lowers("avg_pool", note="ceil_mode and divisor_override rescale by the exact divisor")
def _avg_pool(ctx, node, x):
    from ...ops.conv_kernels import _avg_divisor

    a = node.attrs
    kernel, stride, pad = (list(a[k]) for k in ("kernel", "stride", "padding"))
    dil = [1] * len(kernel)
    size = _spatial(ctx, node.inputs[0], "the pooled input's spatial size")
    out = ctx.shape(node.outputs[0])[2:]
    explicit = _needs_explicit(size, out, kernel, stride, dil, pad)
    if not explicit and not a["divisor_override"]:
        return ctx.op(
            "AveragePool",
            x,
            kernel_shape=kernel,
            strides=stride,
            pads=pad + pad,
            count_include_pad=int(bool(a["count_include_pad"])),
        )
    dt = ctx.dtype(node.inputs[0])
    plan = _padded_extent(size, out, kernel, stride, dil, pad)
    padded = _explicit_pad(ctx, x, pad, plan, ctx.scalar(0, dt))
    mean = ctx.op("AveragePool", padded, kernel_shape=kernel, strides=stride)
    div = _avg_divisor(
        size, out, kernel, stride, pad, a["count_include_pad"], a["divisor_override"]
    )
    scale = math.prod(kernel) / np.asarray(div, np.float64)
    return ctx.op("Mul", mean, ctx.const(np.asarray(scale, np.dtype(dt))))


@lowers("adaptive_max_pool", note="indices only when the sizes divide")
def _adaptive_max_pool(ctx, node, x):
    from ...ops.conv_kernels import _adaptive_ranges

    target = [int(o) for o in node.attrs["output_size"]]
    size = _spatial(ctx, node.inputs[0], "the pooled input's spatial size")
    want_index = node.outputs[1] in ctx.live_values
    if all(s % o == 0 for s, o in zip(size, target)):
        kernel = [s // o for s, o in zip(size, target)]
        if not want_index:
            return ctx.op("MaxPool", x, kernel_shape=kernel, strides=kernel), None
        values, index = ctx.op("MaxPool", x, kernel_shape=kernel, strides=kernel, outputs=2)
        plane = ctx.const(np.array(math.prod(size), np.int64))
        return values, ctx.op("Mod", index, plane)
    if want_index:
        raise ctx.unsupported("adaptive_max_pool indices when the output size does not divide")
    out = x
    for i, (s, o) in enumerate(zip(size, target)):
        starts, ends = _adaptive_ranges(s, o)
        axis = 2 + i
        parts = []
        for lo, hi in zip(starts, ends):
            window = ctx.op(
                "Slice", out, ctx.ints([int(lo)]), ctx.ints([int(hi)]), ctx.ints([axis])
            )
            parts.append(ctx.reduce("ReduceMax", window, [axis], True))
        out = parts[0] if len(parts) == 1 else ctx.op("Concat", *parts, axis=axis)
    return out, None


def _flat_planes(ctx, t):
    """``(N, C, *S)`` -> ``(N, C, prod(S))``."""
    return ctx.op("Reshape", t, ctx.ints([0, 0, -1]))


@lowers("pool_gather")
def _pool_gather(ctx, node, x, index):
    picked = ctx.op("GatherElements", _flat_planes(ctx, x), _flat_planes(ctx, index), axis=2)
    return ctx.op("Reshape", picked, ctx.op("Shape", index))


@lowers("pool_scatter", min_opset=16)
def _pool_scatter(ctx, node, g, index):
    size = [int(s) for s in node.attrs["size"]]
    lead = ctx.shape(node.inputs[0])[:2]
    dt = ctx.dtype(node.inputs[0])
    zeros = _zeros(ctx, [*lead, math.prod(size)], dt)
    summed = ctx.op(
        "ScatterElements",
        zeros,
        _flat_planes(ctx, index),
        _flat_planes(ctx, g),
        axis=2,
        reduction="add",
    )
    return ctx.op("Reshape", summed, ctx.ints([*lead, *size]))


def _zeros(ctx, shape, dt):
    value = numpy_helper.from_array(np.zeros(1, np.dtype(dt)))
    return ctx.op("ConstantOfShape", ctx.ints(shape), value=value)


def _im2col_plan(size, kernel, stride, padding, dilation):
    from ...ops.conv_kernels import conv_out_size

    out = [
        conv_out_size(size[i], kernel[i], stride[i], *padding[i], dilation[i])
        for i in range(len(size))
    ]
    full = [
        max(
            size[i] + padding[i][0] + padding[i][1],
            (out[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1,
        )
        for i in range(len(size))
    ]
    ks = np.indices(kernel).reshape(len(kernel), -1)  # (nd, K)
    os_ = np.indices(out).reshape(len(out), -1)  # (nd, L)
    flat = np.zeros((ks.shape[1], os_.shape[1]), np.int64)
    for i in range(len(size)):
        coord = ks[i][:, None] * dilation[i] + os_[i][None, :] * stride[i]
        flat = flat * full[i] + coord
    return out, full, flat


@lowers("im2col")
def _im2col(ctx, node, x):
    a = node.attrs
    size = _spatial(ctx, node.inputs[0], "the input's spatial size")
    channels = ctx.static(ctx.shape(node.inputs[0])[1], "the channel count")
    out, full, flat = _im2col_plan(size, a["kernel"], a["stride"], a["padding"], a["dilation"])
    lo = [p[0] for p in a["padding"]]
    hi = [full[i] - size[i] - lo[i] for i in range(len(size))]
    padded = ctx.op(
        "Pad",
        x,
        ctx.ints([0, 0, *lo, 0, 0, *hi]),
        ctx.scalar(0, ctx.dtype(node.inputs[0])),
        mode="constant",
    )
    cols = ctx.op("Gather", _flat_planes(ctx, padded), ctx.const(flat), axis=2)  # (N, C, K, L)
    return ctx.op("Reshape", cols, ctx.ints([0, channels * flat.shape[0], flat.shape[1]]))


@lowers("col2im", min_opset=16)
def _col2im(ctx, node, cols):
    a = node.attrs
    size = [int(s) for s in a["size"]]
    out, full, flat = _im2col_plan(size, a["kernel"], a["stride"], a["padding"], a["dilation"])
    k, length = flat.shape
    channels = ctx.static(ctx.shape(node.inputs[0])[1], "the column count") // k
    batch = ctx.shape(node.inputs[0])[0]
    dt = ctx.dtype(node.inputs[0])
    grouped = ctx.op("Reshape", cols, ctx.ints([0, channels, k * length]))
    index = ctx.op("Expand", ctx.const(flat.reshape(1, 1, -1)), ctx.op("Shape", grouped))
    image = ctx.op(
        "ScatterElements",
        _zeros(ctx, [batch, channels, math.prod(full)], dt),
        index,
        grouped,
        axis=2,
        reduction="add",
    )
    image = ctx.op("Reshape", image, ctx.ints([0, channels, *full]))
    lo = [p[0] for p in a["padding"]]
    axes = list(range(2, 2 + len(size)))
    return ctx.op(
        "Slice",
        image,
        ctx.ints(lo),
        ctx.ints([lo[i] + size[i] for i in range(len(size))]),
        ctx.ints(axes),
    )


@lowers("avg_pool_backward")
def _avg_pool_backward(ctx, node, g):
    from ...ops.conv_kernels import _avg_divisor

    a = node.attrs
    kernel, stride, pad = (list(a[k]) for k in ("kernel", "stride", "padding"))
    size = [int(s) for s in a["size"]]
    out = _spatial(ctx, node.inputs[0], "the gradient's spatial size")
    channels = ctx.static(ctx.shape(node.inputs[0])[1], "the channel count")
    dt = ctx.dtype(node.inputs[0])
    div = _avg_divisor(
        size, out, kernel, stride, pad, a["count_include_pad"], a["divisor_override"]
    )
    scaled = ctx.op("Div", g, ctx.const(np.asarray(div, np.dtype(dt))))
    ones = ctx.const(np.ones((channels, 1, *kernel), np.dtype(dt)))
    pads, extra = _transpose_pads(size, out, kernel, stride, [1] * len(kernel), pad)
    full = ctx.op(
        "ConvTranspose",
        scaled,
        ones,
        kernel_shape=kernel,
        strides=stride,
        pads=pads,
        group=channels,
    )
    return _zero_tail(ctx, full, extra, dt)
