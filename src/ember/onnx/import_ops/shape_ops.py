"""Shape and layout ONNX ops: Reshape, Flatten, Transpose, Squeeze/Unsqueeze, Concat, Split,
Slice, Expand, Tile, Pad, Shape, Size, Trilu, DepthToSpace/SpaceToDepth, ReverseSequence.

Target shapes, slice bounds and pad widths are read as Python ints (they fix shapes, not
values); the data moves through ember's view and copy ops, so gradients flow.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("Slice", "", 13, "", {}, 1)
    >>> x = ember.arange(6).reshape(2, 3)
    >>> find_handler("Slice", 13)(ctx, x, ember.tensor([-1]), ember.tensor([-4]),
    ...                           ember.tensor([1]), ember.tensor([-1]))
    tensor([[2, 1, 0],
            [5, 4, 3]])
"""

from __future__ import annotations

import math

import numpy as np

import ember

from ._registry import OpContext, onnx_op
from ._util import int_list, norm_axes, norm_axis, scalar


# ---------------------------------------------------------------------------------------------
# reshaping
# ---------------------------------------------------------------------------------------------
def _reshape(ctx: OpContext, x, shape: list[int]):
    allowzero = ctx.attr("allowzero", 0)
    target = [
        x.shape[i] if (s == 0 and not allowzero and i < x.dim()) else s for i, s in enumerate(shape)
    ]
    if target.count(-1) > 1:
        raise ctx.error(f"shape {shape} has more than one -1")
    if -1 in target:
        known = math.prod(s for s in target if s != -1)
        if known == 0 or x.numel() % known:
            raise ctx.error(f"cannot reshape a tensor of shape {tuple(x.shape)} to {shape}")
        target[target.index(-1)] = x.numel() // known
    if math.prod(target) != x.numel():
        raise ctx.error(f"cannot reshape a tensor of shape {tuple(x.shape)} to {shape}")
    return x.reshape(target)


@onnx_op("Reshape")
def reshape_v1(ctx: OpContext, x):
    return _reshape(ctx, x, list(ctx.attr("shape", [])))


@onnx_op("Reshape", since=5)
def reshape(ctx: OpContext, x, shape):
    return _reshape(ctx, x, int_list(shape))


@onnx_op("Flatten")
def flatten(ctx: OpContext, x):
    axis = ctx.attr("axis", 1)
    if not -x.dim() <= axis <= x.dim():
        raise ctx.error(f"axis {axis} is out of range for a tensor of rank {x.dim()}")
    axis = axis + x.dim() if axis < 0 else axis
    return x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))


@onnx_op("Transpose")
def transpose(ctx: OpContext, x):
    perm = ctx.attr("perm") or list(range(x.dim()))[::-1]
    if sorted(perm) != list(range(x.dim())):
        raise ctx.error(f"perm {perm} is not a permutation of the {x.dim()} axes")
    return ember.permute(x, perm)


def _squeeze(ctx: OpContext, x, axes):
    if not axes:  # omitted (or empty): every size-1 axis
        return x.reshape([s for s in x.shape if s != 1])
    dims = norm_axes(ctx, axes, x.dim())
    for d in dims:
        if x.shape[d] != 1:
            raise ctx.error(
                f"cannot squeeze axis {d} of size {x.shape[d]} (shape {tuple(x.shape)})"
            )
    return x.reshape([s for i, s in enumerate(x.shape) if i not in dims])


def _unsqueeze(ctx: OpContext, x, axes):
    rank = x.dim() + len(axes)
    dims = set(norm_axes(ctx, axes, rank))
    sizes = iter(x.shape)
    return x.reshape([1 if i in dims else next(sizes) for i in range(rank)])


@onnx_op("Squeeze")
def squeeze_v1(ctx: OpContext, x):
    return _squeeze(ctx, x, ctx.attr("axes"))


@onnx_op("Squeeze", since=13)
def squeeze(ctx: OpContext, x, axes=None):
    return _squeeze(ctx, x, int_list(axes))


@onnx_op("Unsqueeze")
def unsqueeze_v1(ctx: OpContext, x):
    return _unsqueeze(ctx, x, ctx.attr("axes", []))


@onnx_op("Unsqueeze", since=13)
def unsqueeze(ctx: OpContext, x, axes):
    return _unsqueeze(ctx, x, int_list(axes))


# ---------------------------------------------------------------------------------------------
# joining and splitting
# ---------------------------------------------------------------------------------------------
@onnx_op("Concat")
def concat(ctx: OpContext, *xs):
    axis = norm_axis(ctx, ctx.attr("axis", 1 if ctx.opset < 4 else 0), xs[0].dim())
    return ember.cat(list(xs), axis)


def _split(ctx: OpContext, x, sizes, count: int):
    axis = norm_axis(ctx, ctx.attr("axis", 0), x.dim())
    n = x.shape[axis]
    if sizes is None:
        if count <= 0:
            raise ctx.error("cannot tell how many outputs to split into")
        chunk = -(-n // count)
        sizes = [min(chunk, max(n - i * chunk, 0)) for i in range(count)]
    if sum(sizes) != n:
        raise ctx.error(f"split sizes {sizes} do not add up to axis {axis} of size {n}")
    return tuple(ember.split(x, list(sizes), axis))


@onnx_op("Split")
def split_v1(ctx: OpContext, x, split=None):
    sizes = ctx.attr("split") or int_list(split)
    return _split(ctx, x, sizes, ctx.num_outputs)


@onnx_op("Split", since=13)
def split(ctx: OpContext, x, split=None):
    sizes = int_list(split)
    count = ctx.attr("num_outputs", ctx.num_outputs) if ctx.opset >= 18 else ctx.num_outputs
    return _split(ctx, x, sizes, count)


# ---------------------------------------------------------------------------------------------
# slicing, expanding, tiling, padding
# ---------------------------------------------------------------------------------------------
def _slice(ctx: OpContext, x, starts, ends, axes, steps):
    if axes is None:
        axes = list(range(len(starts)))
    if steps is None:
        steps = [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ctx.error(
            f"starts {starts}, ends {ends}, axes {axes} and steps {steps} differ in length"
        )
    axes = norm_axes(ctx, axes, x.dim())
    index: list = [slice(None)] * x.dim()
    reversed_axes = []
    for axis, start, end, step in zip(axes, starts, ends, steps):
        if step == 0:
            raise ctx.error("slice step cannot be 0")
        start, stop, step = slice(start, end, step).indices(x.shape[axis])
        if step > 0:
            index[axis] = slice(start, max(start, stop), step)
        else:
            reversed_axes.append((axis, list(range(start, stop, step))))
    out = x[tuple(index)] if any(s != slice(None) for s in index) else x
    for axis, picks in reversed_axes:
        out = out.index_select(axis, ember.tensor(picks, dtype=ember.int64))
    return out


@onnx_op("Slice")
def slice_v1(ctx: OpContext, x):
    return _slice(ctx, x, ctx.attr("starts"), ctx.attr("ends"), ctx.attr("axes"), None)


@onnx_op("Slice", since=10)
def slice_(ctx: OpContext, x, starts, ends, axes=None, steps=None):
    return _slice(ctx, x, int_list(starts), int_list(ends), int_list(axes), int_list(steps))


@onnx_op("Expand")
def expand(ctx: OpContext, x, shape):
    target = int_list(shape)
    try:
        out = np.broadcast_shapes(tuple(x.shape), tuple(target))
    except ValueError:
        raise ctx.error(f"cannot broadcast shape {tuple(x.shape)} to {target}") from None
    return x.expand(*out) if tuple(out) != tuple(x.shape) else x


@onnx_op("Tile")
def tile(ctx: OpContext, x, repeats):
    reps = int_list(repeats)
    if len(reps) != x.dim():
        raise ctx.error(f"repeats {reps} must have one entry per axis of shape {tuple(x.shape)}")
    return ember.tile(x, reps)


def _pad_indices(mode: str, n: int, lo: int, hi: int) -> list[int]:
    """Source positions along one axis for reflect / edge / wrap padding."""
    out = []
    for i in range(-lo, n + hi):
        if mode == "edge":
            j = min(max(i, 0), n - 1)
        elif mode == "wrap":
            j = i % n
        else:  # reflect: mirror without repeating the edge
            period = 2 * (n - 1)
            j = i % period if period else 0
            j = period - j if j >= n else j
        out.append(j)
    return out


def _pad(ctx: OpContext, x, pads: list[int], value, mode: str, axes=None):
    rank = x.dim()
    axes = list(range(rank)) if axes is None else list(norm_axes(ctx, axes, rank))
    if len(pads) != 2 * len(axes):
        raise ctx.error(f"pads {pads} must hold a begin and an end for each of {len(axes)} axes")
    lo = dict(zip(axes, pads[: len(axes)]))
    hi = dict(zip(axes, pads[len(axes) :]))
    if mode == "constant":
        flat: list[int] = []
        for axis in range(rank - 1, -1, -1):
            flat += [lo.get(axis, 0), hi.get(axis, 0)]
        while flat[-2:] == [0, 0] and len(flat) > 2:
            flat = flat[:-2]
        return ember.pad(x, tuple(flat), value=value if value is not None else 0)
    if mode not in ("reflect", "edge", "wrap"):
        raise ctx.error(f"mode must be constant, reflect, edge or wrap, got {mode!r}")
    out = x
    for axis in axes:
        b, e = lo[axis], hi[axis]
        if b < 0 or e < 0:  # negative widths crop first
            out = out.narrow(axis, max(-b, 0), out.shape[axis] - max(-b, 0) - max(-e, 0))
            b, e = max(b, 0), max(e, 0)
        if b or e:
            n = out.shape[axis]
            if n == 0 or (mode == "reflect" and (b >= n or e >= n) and n > 1):
                raise ctx.error(f"cannot {mode}-pad axis {axis} of size {n} by ({b}, {e})")
            picks = ember.tensor(_pad_indices(mode, n, b, e), dtype=ember.int64)
            out = out.index_select(axis, picks)
    return out


@onnx_op("Pad")
def pad_v1(ctx: OpContext, x):
    pads = ctx.attr("pads", ctx.attr("paddings"))
    return _pad(ctx, x, list(pads), ctx.attr("value", 0.0), ctx.attr("mode", "constant"))


@onnx_op("Pad", since=11)
def pad(ctx: OpContext, x, pads, constant_value=None, axes=None):
    value = scalar(constant_value) if constant_value is not None else None
    if value is not None and x.dtype is ember.bool:
        value = bool(value)
    return _pad(ctx, x, int_list(pads), value, ctx.attr("mode", "constant"), int_list(axes))


# ---------------------------------------------------------------------------------------------
# shape queries
# ---------------------------------------------------------------------------------------------
@onnx_op("Shape")
def shape(ctx: OpContext, x):
    dims = list(x.shape)
    start, end = ctx.attr("start", 0), ctx.attr("end")
    return ember.tensor(dims[slice(start, end)], dtype=ember.int64)


@onnx_op("Size")
def size(ctx: OpContext, x):
    return ember.tensor(x.numel(), dtype=ember.int64)


# ---------------------------------------------------------------------------------------------
# rearrangements
# ---------------------------------------------------------------------------------------------
@onnx_op("Trilu")
def trilu(ctx: OpContext, x, k=None):
    diagonal = int(scalar(k)) if k is not None else 0
    return ember.triu(x, diagonal) if ctx.attr("upper", 1) else ember.tril(x, diagonal)


@onnx_op("DepthToSpace")
def depth_to_space(ctx: OpContext, x):
    b = ctx.attr("blocksize")
    n, c, h, w = x.shape
    if c % (b * b):
        raise ctx.error(f"channels ({c}) must be divisible by blocksize^2 ({b * b})")
    if ctx.attr("mode", "DCR") == "CRD":
        y = x.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
    else:
        y = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (b * b), h * b, w * b)


@onnx_op("SpaceToDepth")
def space_to_depth(ctx: OpContext, x):
    b = ctx.attr("blocksize")
    n, c, h, w = x.shape
    if h % b or w % b:
        raise ctx.error(f"height {h} and width {w} must be divisible by blocksize {b}")
    y = x.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


@onnx_op("ReverseSequence")
def reverse_sequence(ctx: OpContext, x, sequence_lens):
    """Reverse the first ``sequence_lens[b]`` steps of each batch entry along the time axis."""
    batch_axis, time_axis = ctx.attr("batch_axis", 1), ctx.attr("time_axis", 0)
    steps = x.shape[time_axis]
    shape = [1] * x.dim()
    shape[time_axis] = steps
    t = ember.arange(steps).reshape(shape)
    shape = [1] * x.dim()
    shape[batch_axis] = x.shape[batch_axis]
    lens = sequence_lens.to(ember.int64).reshape(shape)
    source = ember.where(t < lens, lens - 1 - t, t)
    return ember.gather(x, time_axis, source.expand(*x.shape))
