"""ONNX lowerings of the indexing primitives (``ember/ops/indexing.py``).

Advanced indexing (``index``/``index_put``) follows NumPy: one index array is a ``Gather``;
several move the indexed dimensions to the front, broadcast and stack the index arrays and use
``GatherND``/``ScatterND``, and the result's dimensions are put back where NumPy puts them
(in place when the indexed dimensions are adjacent, first otherwise). ``gather``/``scatter*``
are ``GatherElements``/``ScatterElements``; ``sort`` is a full ``TopK`` (ties keep the lower
index first, as a stable sort; NaN ties with +inf); ``searchsorted`` counts the sorted values
below each query (NaN queries count as below every NaN-free element).

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops.indexing
    >>> REGISTRY["scatter_add"].lowerings["onnx"].min_opset
    16
"""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from ...ir.symbolic import SymInt
from ._registry import lowers

INT64_MAX = np.iinfo(np.int64).max


def _size_scalar(ctx, size) -> str:
    """A 0-d int64 tensor holding a (possibly batch-dependent) size."""
    if not isinstance(size, SymInt):
        return ctx.const(np.array(int(size), np.int64))
    return ctx.op("Reshape", ctx.sym(size), ctx.ints([]))


def _wrap(ctx, index: str, index_dtype: str, size) -> str:
    """``index`` as int64 with negative entries counted from the end (``+ size``)."""
    index = ctx.cast(index, index_dtype, "int64")
    negative = ctx.op("Less", index, ctx.const(np.array(0, np.int64)))
    return ctx.op("Where", negative, ctx.op("Add", index, _size_scalar(ctx, size)), index)


def _layout(spec, rank: int):
    pos = [d for d, k in enumerate(spec) if k is not None]
    rest = [d for d in range(rank) if d not in pos]
    adjacent = pos == list(range(pos[0], pos[-1] + 1))
    return pos, rest, adjacent


def _stacked(ctx, node, spec, pos, idx_names, first: int, xshape, bshape):
    """The index arrays of ``pos`` broadcast to ``bshape`` and stacked on a last axis
    (``first``: the node input position of index array 0)."""
    target = ctx.ints(bshape)
    parts = []
    for d in pos:
        k = spec[d]
        vid = node.inputs[first + k]
        wrapped = _wrap(ctx, idx_names[k], ctx.dtype(vid), xshape[d])
        parts.append(ctx.unsqueeze(ctx.op("Expand", wrapped, target), [-1]))
    return parts[0] if len(parts) == 1 else ctx.op("Concat", *parts, axis=-1)


def _front_to(lead: int, nb: int, nrest: int) -> list[int]:
    """Permutation taking ``(b..., rest...)`` to ``(rest[:lead], b..., rest[lead:])``."""
    b = list(range(nb))
    rest = list(range(nb, nb + nrest))
    return rest[:lead] + b + rest[lead:]


@lowers("index")
def _index(ctx, node, x, *idx):
    spec = node.attrs["spec"]
    xshape = ctx.shape(node.inputs[0])
    pos, rest, adjacent = _layout(spec, len(xshape))
    if len(pos) == 1:
        d = pos[0]
        return ctx.op(
            "Gather",
            x,
            ctx.cast(idx[spec[d]], ctx.dtype(node.inputs[1 + spec[d]]), "int64"),
            axis=d,
        )
    out_shape = ctx.shape(node.outputs[0])
    nb = len(out_shape) - len(rest)
    lead = pos[0] if adjacent else 0
    bshape = out_shape[lead : lead + nb]
    stacked = _stacked(ctx, node, spec, pos, idx, 1, xshape, bshape)
    picked = ctx.op("GatherND", ctx.transpose(x, pos + rest), stacked)
    return ctx.transpose(picked, _front_to(lead, nb, len(rest)))


@lowers("index_put", note="accumulate=True needs opset 16")
def _index_put(ctx, node, x, v, *idx):
    spec = node.attrs["spec"]
    xshape = ctx.shape(node.inputs[0])
    dt = ctx.dtype(node.inputs[0])
    pos, rest, adjacent = _layout(spec, len(xshape))
    accumulate = bool(node.attrs["accumulate"])
    if accumulate and ctx.opset < 16:
        raise ctx.unsupported("index_put with accumulate=True needs opset >= 16")
    idx_shapes = [ctx.shape(node.inputs[2 + spec[d]]) for d in pos]
    bshape = _broadcast(idx_shapes)
    lead = pos[0] if adjacent else 0
    rest_shape = [xshape[d] for d in rest]
    region = rest_shape[:lead] + list(bshape) + rest_shape[lead:]
    update = ctx.op("Expand", ctx.cast(v, ctx.dtype(node.inputs[1]), dt), ctx.ints(region))
    nb = len(bshape)
    back = _front_to(lead, nb, len(rest))
    update = ctx.transpose(update, list(np.argsort(back)))
    stacked = _stacked(ctx, node, spec, pos, idx, 2, xshape, bshape)
    order = pos + rest
    out = ctx.op(
        "ScatterND",
        ctx.transpose(x, order),
        stacked,
        update,
        reduction="add" if accumulate else None,
    )
    return ctx.transpose(out, list(np.argsort(order)))


def _broadcast(shapes) -> tuple:
    rank = max(len(s) for s in shapes)
    out = []
    for k in range(rank):
        dims = [s[len(s) - rank + k] for s in shapes if len(s) - rank + k >= 0]
        sizes = [d for d in dims if not (isinstance(d, int) and d == 1)]
        out.append(sizes[0] if sizes else 1)
    return tuple(out)


def _head(ctx, node, x_vid: int, x: str, index_vid: int, dim: int | None) -> str:
    """``x`` cut to the index's size in the dimensions other than ``dim``."""
    xs, ids = ctx.shape(x_vid), ctx.shape(index_vid)
    axes = [a for a in range(len(xs)) if a != dim and xs[a] != ids[a]]
    if not axes:
        return x
    return ctx.op(
        "Slice", x, ctx.ints([0] * len(axes)), ctx.ints([ids[a] for a in axes]), ctx.ints(axes)
    )


@lowers("gather")
def _gather(ctx, node, x, index):
    if ctx.rank(node.inputs[0]) == 0:
        return ctx.op("Identity", x)
    dim = int(node.attrs["dim"])
    x = _head(ctx, node, node.inputs[0], x, node.inputs[1], dim)
    index = ctx.cast(index, ctx.dtype(node.inputs[1]), "int64")
    return ctx.op("GatherElements", x, index, axis=dim)


def _scatter_into(ctx, node, base, index, src, reduction=None):
    dim = int(node.attrs["dim"])
    src = _head(ctx, node, node.inputs[2], src, node.inputs[1], None)
    index = ctx.cast(index, ctx.dtype(node.inputs[1]), "int64")
    if ctx.rank(node.inputs[0]) == 0:
        flat = [ctx.reshape(t, (1,)) for t in (base, index, src)]
        out = ctx.op("ScatterElements", *flat, axis=0, reduction=reduction)
        return ctx.reshape(out, ())
    return ctx.op("ScatterElements", base, index, src, axis=dim, reduction=reduction)


@lowers("scatter")
def _scatter(ctx, node, x, index, src):
    return _scatter_into(ctx, node, x, index, src)


@lowers("scatter_add", min_opset=16)
def _scatter_add(ctx, node, x, index, src):
    return _scatter_into(ctx, node, x, index, src, "add")


_REDUCTIONS = {"sum": ("add", 16), "prod": ("mul", 16), "amax": ("max", 18), "amin": ("min", 18)}


def _full_like(ctx, t: str, value, dt: str) -> str:
    value = numpy_helper.from_array(np.array([value], np.dtype(dt)))
    return ctx.op("ConstantOfShape", ctx.op("Shape", t), value=value)


@lowers("scatter_reduce", min_opset=16, note="amax/amin need opset 18")
def _scatter_reduce(ctx, node, x, index, src):
    reduce = node.attrs["reduce"]
    include_self = bool(node.attrs["include_self"])
    dt = ctx.dtype(node.inputs[0])
    reduction, needs = _REDUCTIONS.get(reduce, ("add", 16))
    if ctx.opset < needs:
        raise ctx.unsupported(f"scatter_reduce with reduce={reduce!r} needs opset >= {needs}")
    base = x
    if not include_self:
        fill = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
        if fill is None:
            if dt.startswith(("float", "bfloat")):
                fill = -np.inf if reduce == "amax" else np.inf
            else:
                info = np.iinfo(np.dtype(dt))
                fill = info.min if reduce == "amax" else info.max
        base = _scatter_into(ctx, node, x, index, _full_like(ctx, src, fill, dt))
    if reduce != "mean":
        return _scatter_into(ctx, node, base, index, src, reduction)
    total = _scatter_into(ctx, node, base, index, src, "add")
    start = _full_like(ctx, x, 1 if include_self else 0, "int64")
    count = _scatter_into(ctx, node, start, index, _full_like(ctx, src, 1, "int64"), "add")
    count = ctx.cast(ctx.op("Max", count, ctx.const(np.array(1, np.int64))), "int64", dt)
    if dt.startswith(("float", "bfloat")):
        return ctx.op("Div", total, count)
    quotient = ctx.op("Div", total, count)  # total >= 0 is not guaranteed: floor, as NumPy
    remainder = ctx.op("Sub", total, ctx.op("Mul", quotient, count))
    zero = ctx.scalar(0, dt)
    fix = ctx.op(
        "And", ctx.op("Not", ctx.op("Equal", remainder, zero)), ctx.op("Less", remainder, zero)
    )
    return ctx.op("Where", fix, ctx.op("Sub", quotient, ctx.scalar(1, dt)), quotient)


@lowers("searchsorted", note="NaN queries are not placed after NaNs")
def _searchsorted(ctx, node, seq, values):
    compare = "LessOrEqual" if node.attrs["right"] else "Less"
    if ctx.rank(node.inputs[0]) <= 1:
        row = ctx.op("Reshape", seq, ctx.ints([-1]))
        below = ctx.op(compare, row, ctx.unsqueeze(values, [-1]))
    else:
        below = ctx.op(compare, ctx.unsqueeze(seq, [-2]), ctx.unsqueeze(values, [-1]))
    count = ctx.reduce("ReduceSum", ctx.cast(below, "bool", "int64"), [-1], False)
    return ctx.cast(count, "int64", ctx.dtype(node.outputs[0]))


@lowers("sort", note="NaN ties with +inf")
def _sort(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    if ctx.rank(node.inputs[0]) == 0:
        return ctx.op("Identity", x), ctx.const(np.array(0, np.int64))
    dim = int(node.attrs["dim"])
    size = ctx.shape(node.inputs[0])[dim]
    k = ctx.sym(size)
    key = x
    if dt.startswith(("float", "bfloat")):  # NaN sorts as the largest value
        key = ctx.where_nan(x, ctx.scalar(np.inf, dt), x)
    elif dt == "bool":
        key = ctx.cast(x, dt, "int32")
    largest = int(bool(node.attrs["descending"]))
    _, indices = ctx.op("TopK", key, k, axis=dim, largest=largest, sorted=1, outputs=2)
    return ctx.op("GatherElements", x, indices, axis=dim), indices
