"""ONNX lowerings of the movement primitives: views, concatenation, padding, triangles.

Batch-dependent sizes in attributes (reshape targets, slice bounds, expand shapes) become
shape tensors computed at run time (:meth:`LoweringContext.ints`); a reshape with a single
batch-dependent size uses ONNX's ``-1`` instead, which is exact when the other sizes are static.
``view_scatter`` (a write through a view) replays the view chain on an index array at export
time and becomes one ``ScatterElements`` on the flattened base, so it needs a static base shape.

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops.movement
    >>> REGISTRY["tril"].lowerings["onnx"].min_opset
    13
"""

from __future__ import annotations

import numpy as np

from ._registry import lowers

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


@lowers("reshape")
def _reshape(ctx, node, x):
    return ctx.reshape(x, node.attrs["shape"])


@lowers("permute")
def _permute(ctx, node, x):
    return ctx.op("Transpose", x, perm=[int(d) for d in node.attrs["dims"]])


@lowers("expand")
def _expand(ctx, node, x):
    src = ctx.shape(node.inputs[0])
    out = ctx.shape(node.outputs[0])
    lead = len(out) - len(src)
    # Expand broadcasts both ways: 1 keeps an existing size, so only grown sizes are spelled out
    target = [1 if k >= lead and src[k - lead] == d else d for k, d in enumerate(out)]
    return ctx.op("Expand", x, ctx.ints(target))


@lowers("clone")
def _clone(ctx, node, x):
    return ctx.op("Identity", x)


@lowers("slice")
def _slice(ctx, node, x):
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    dim = 0
    out_pos = 0
    for k in node.attrs["key"]:
        if k is None:
            unsqueeze.append(out_pos)
            out_pos += 1
            continue
        if isinstance(k, slice):
            step = 1 if k.step is None else k.step
            start = 0 if k.start is None else k.start
            stop = INT64_MAX if k.stop is None else k.stop
            if (start, stop, step) != (0, INT64_MAX, 1):
                starts.append(start)
                ends.append(stop)
                axes.append(dim)
                steps.append(step)
            out_pos += 1
        else:
            index = int(ctx.static(k, "an integer index"))
            starts.append(index)
            ends.append(index + 1 if index != -1 else INT64_MAX)
            axes.append(dim)
            steps.append(1)
            squeeze.append(dim)
        dim += 1
    out = x
    if axes:
        out = ctx.op("Slice", x, ctx.ints(starts), ctx.ints(ends), ctx.ints(axes), ctx.ints(steps))
    out = ctx.squeeze(out, squeeze)
    if unsqueeze:
        out = ctx.unsqueeze(out, unsqueeze)
    if out == x:
        out = ctx.op("Identity", x)
    return out


@lowers("cat")
def _cat(ctx, node, *xs):
    kept = [x for x, vid in zip(xs, node.inputs) if tuple(ctx.shape(vid)) != (0,)]
    if not kept:
        return ctx.op("Identity", ctx.const(np.zeros((0,), np.dtype(ctx.dtype(node.inputs[0])))))
    if len(kept) == 1:
        return ctx.op("Identity", kept[0])
    return ctx.op("Concat", *kept, axis=int(node.attrs["dim"]))


@lowers("flip")
def _flip(ctx, node, x):
    dims = [int(d) for d in node.attrs["dims"]]
    if not dims:
        return ctx.op("Identity", x)
    n = len(dims)
    return ctx.op(
        "Slice",
        x,
        ctx.ints([-1] * n),
        ctx.ints([INT64_MIN] * n),
        ctx.ints(dims),
        ctx.ints([-1] * n),
    )


@lowers("roll", note="static size of the rolled dimension")
def _roll(ctx, node, x):
    out = x
    shape = ctx.shape(node.inputs[0])
    for shift, dim in zip(node.attrs["shifts"], node.attrs["dims"]):
        size = ctx.static(shape[dim], f"the size of rolled dimension {dim}")
        if size == 0 or shift % size == 0:
            continue
        cut = size - shift % size
        head = ctx.op("Slice", out, ctx.ints([cut]), ctx.ints([size]), ctx.ints([dim]))
        tail = ctx.op("Slice", out, ctx.ints([0]), ctx.ints([cut]), ctx.ints([dim]))
        out = ctx.op("Concat", head, tail, axis=int(dim))
    return out if out != x else ctx.op("Identity", x)


@lowers("pad")
def _pad(ctx, node, x):
    widths = node.attrs["widths"]
    pads = [lo for lo, _ in widths] + [hi for _, hi in widths]
    dt = ctx.dtype(node.inputs[0])
    value = ctx.scalar(node.attrs["value"], dt)
    return ctx.op("Pad", x, ctx.ints(pads), value, mode="constant")


@lowers("tril", "triu")
def _tri(ctx, node, x):
    k = int(node.attrs["diagonal"])
    upper = int(node.op == "triu")
    if ctx.opset >= 14:
        return ctx.op("Trilu", x, ctx.const(np.array(k, np.int64)), upper=upper)
    rows, cols = (ctx.static(d, "the matrix size") for d in ctx.shape(node.inputs[0])[-2:])
    ones = np.ones((rows, cols), bool)
    keep = np.triu(ones, k) if upper else np.tril(ones, k)
    zero = ctx.scalar(0, ctx.dtype(node.inputs[0]))
    return ctx.op("Where", ctx.const(keep), x, zero)


@lowers("diagonal", note="static sizes of the two dimensions")
def _diagonal(ctx, node, x):
    offset, d1, d2 = (int(node.attrs[k]) for k in ("offset", "dim1", "dim2"))
    shape = ctx.shape(node.inputs[0])
    r = len(shape)
    d1, d2 = d1 % r, d2 % r
    rest = [k for k in range(r) if k not in (d1, d2)]
    rows = ctx.static(shape[d1], "the diagonal's first dimension")
    cols = ctx.static(shape[d2], "the diagonal's second dimension")
    moved = ctx.transpose(x, rest + [d1, d2])
    flat = ctx.op("Reshape", moved, ctx.ints([0] * len(rest) + [rows * cols]))
    length = ctx.shape(node.outputs[0])[-1]
    i = np.arange(length, dtype=np.int64)
    index = (i + max(-offset, 0)) * cols + (i + max(offset, 0))
    return ctx.op("Gather", flat, ctx.const(index), axis=len(rest))


@lowers("diag_embed", note="static diagonal length")
def _diag_embed(ctx, node, x):
    offset, d1, d2 = (int(node.attrs[k]) for k in ("offset", "dim1", "dim2"))
    r = ctx.rank(node.outputs[0])
    d1, d2 = d1 % r, d2 % r
    length = ctx.static(ctx.shape(node.inputs[0])[-1], "the embedded diagonal's length")
    m = length + abs(offset)
    i, j = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    k = i - max(-offset, 0)
    on = (j - i == offset) & (k >= 0) & (k < length)
    square = ctx.op("Gather", x, ctx.const(np.where(on, k, 0).astype(np.int64)), axis=-1)
    zero = ctx.scalar(0, ctx.dtype(node.inputs[0]))
    out = ctx.op("Where", ctx.const(on), square, zero)  # (..., m, m): row i, column j
    batch = iter(range(r - 2))
    perm = [r - 2 if a == d1 else r - 1 if a == d2 else next(batch) for a in range(r)]
    return ctx.transpose(out, perm) if perm != list(range(r)) else out


@lowers("unfold", note="static size of the unfolded dimension")
def _unfold(ctx, node, x):
    shape = ctx.shape(node.inputs[0])
    if not shape:
        return ctx.reshape(x, (1,))
    dim, size, step = (int(node.attrs[k]) for k in ("dim", "size", "step"))
    n = ctx.static(shape[dim], "the unfolded dimension")
    windows = (n - size) // step + 1
    index = np.arange(windows)[:, None] * step + np.arange(size)[None, :]
    out = ctx.op("Gather", x, ctx.const(index.astype(np.int64)), axis=dim)
    r = len(shape) + 1
    perm = [a for a in range(r) if a != dim + 1] + [dim + 1]
    return ctx.transpose(out, perm)


@lowers("view_scatter", note="static base shape")
def _view_scatter(ctx, node, base, value):
    from ...ops.view_scatter import _replay_np

    shape = ctx.static(ctx.shape(node.inputs[0]), "the base shape of an in-place write")
    positions = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    region = np.asarray(_replay_np(positions, node.attrs["chain"]))
    dt = ctx.dtype(node.inputs[0])
    update = ctx.cast(value, ctx.dtype(node.inputs[1]), dt)
    update = ctx.op("Expand", update, ctx.ints(region.shape))
    flat_base = ctx.op("Reshape", base, ctx.ints([-1]))
    flat_update = ctx.op("Reshape", update, ctx.ints([-1]))
    out = ctx.op("ScatterElements", flat_base, ctx.const(region.reshape(-1)), flat_update, axis=0)
    return ctx.op("Reshape", out, ctx.ints(shape))
