"""Indexing ONNX ops: Gather*, Scatter*, OneHot, NonZero, Compress, Unique, TensorScatter.

Negative indices count from the end, as in ONNX. N-d index tuples (GatherND, ScatterND) are
turned into flat row numbers with ember integer ops, so the data side stays differentiable.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("Gather", "", 13, "", {"axis": 0}, 1)
    >>> find_handler("Gather", 13)(ctx, ember.tensor([10, 20, 30]), ember.tensor([[2, -3]]))
    tensor([[30, 10]])
"""

from __future__ import annotations

import math

import numpy as np

import ember
from ember import _dispatch

from ._registry import OpContext, onnx_op
from ._util import norm_axis, scalar


def _wrap_negative(index, size: int):
    index = index.to(ember.int64)
    return ember.where(index < 0, index + size, index)


def _check_bounds(ctx: OpContext, index, size: int, what: str = "indices") -> None:
    """An error naming the node for out-of-range indices (skipped while ember.compile traces:
    the check reads the indices as data)."""
    if _dispatch.is_traced():
        return
    if index.numel() and (bool((index < 0).any()) or bool((index >= size).any())):
        raise ctx.error(f"{what} out of range for an axis of size {size}", IndexError)


@onnx_op("Gather")
def gather(ctx: OpContext, x, indices):
    axis = norm_axis(ctx, ctx.attr("axis", 0), x.dim())
    index = _wrap_negative(indices, x.shape[axis])
    _check_bounds(ctx, index, x.shape[axis])
    out = x.index_select(axis, index.reshape(-1))
    return out.reshape(tuple(x.shape[:axis]) + tuple(indices.shape) + tuple(x.shape[axis + 1 :]))


@onnx_op("GatherElements")
def gather_elements(ctx: OpContext, x, indices):
    axis = norm_axis(ctx, ctx.attr("axis", 0), x.dim())
    index = _wrap_negative(indices, x.shape[axis])
    _check_bounds(ctx, index, x.shape[axis])
    return ember.gather(x, axis, index)


def _row_numbers(ctx: OpContext, indices, dims: tuple):
    """Flat row numbers of the index tuples in ``indices[..., :k]`` over ``dims`` (length k)."""
    index = indices.to(ember.int64)
    rows = ember.zeros(tuple(index.shape[:-1]), dtype=ember.int64)
    for j, size in enumerate(dims):
        part = _wrap_negative(index[..., j], size)
        _check_bounds(ctx, part, size)
        rows = rows * size + part
    return rows


@onnx_op("GatherND")
def gather_nd(ctx: OpContext, x, indices):
    b = ctx.attr("batch_dims", 0)
    k = indices.shape[-1]
    batch = tuple(x.shape[:b])
    rest = tuple(x.shape[b + k :])
    inner = math.prod(x.shape[b : b + k])
    rows = _row_numbers(ctx, indices, tuple(x.shape[b : b + k]))  # (*batch, *middle)
    nbatch = math.prod(batch)
    offsets = (ember.arange(nbatch) * inner).reshape((nbatch, 1))
    flat_rows = rows.reshape(nbatch, -1) + offsets
    out = x.reshape((nbatch * inner,) + rest).index_select(0, flat_rows.reshape(-1))
    return out.reshape(tuple(indices.shape[:-1]) + rest)


_SCATTER_REDUCE = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}


def _scatter(ctx: OpContext, x, axis: int, index, updates):
    reduction = ctx.attr("reduction", "none")
    if reduction == "none":
        return ember.scatter(x, axis, index, updates)
    if reduction not in _SCATTER_REDUCE:
        raise ctx.error(f"reduction must be none, add, mul, max or min, got {reduction!r}")
    return ember.scatter_reduce(x, axis, index, updates, _SCATTER_REDUCE[reduction])


@onnx_op("ScatterElements", "Scatter")
def scatter_elements(ctx: OpContext, x, indices, updates):
    axis = norm_axis(ctx, ctx.attr("axis", 0), x.dim())
    index = _wrap_negative(indices, x.shape[axis])
    _check_bounds(ctx, index, x.shape[axis])
    return _scatter(ctx, x, axis, index, updates)


@onnx_op("ScatterND")
def scatter_nd(ctx: OpContext, x, indices, updates):
    k = indices.shape[-1]
    rest = tuple(x.shape[k:])
    rows = _row_numbers(ctx, indices, tuple(x.shape[:k])).reshape(-1)
    flat = x.reshape((math.prod(x.shape[:k]),) + rest)
    upd = updates.reshape((rows.shape[0],) + rest)
    index = rows.reshape((-1,) + (1,) * len(rest)).expand(*upd.shape)
    return _scatter(ctx, flat, 0, index, upd).reshape(x.shape)


@onnx_op("OneHot")
def one_hot(ctx: OpContext, indices, depth, values):
    n = int(scalar(depth))
    axis = norm_axis(ctx, ctx.attr("axis", -1), indices.dim() + 1)
    index = indices if not indices.dtype.is_floating_point else ember.trunc(indices)
    index = _wrap_negative(index, n).unsqueeze(axis)
    shape = [1] * (indices.dim() + 1)
    shape[axis] = n
    hit = index == ember.arange(n).reshape(shape)
    off, on = values.reshape(-1)[0], values.reshape(-1)[1]
    return ember.where(hit, on, off)


@onnx_op("NonZero")
def nonzero(ctx: OpContext, x):
    if x.dim() == 0:
        return ember.zeros((0, int(bool(x.item()))), dtype=ember.int64)
    return ember.nonzero(x).t()


@onnx_op("Compress")
def compress(ctx: OpContext, x, condition):
    axis = ctx.attr("axis")
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = norm_axis(ctx, axis, x.dim())
    keep = ember.nonzero(condition.reshape(-1)).reshape(-1)
    if keep.numel() and int(keep.max().item()) >= x.shape[axis]:
        raise ctx.error(f"condition selects past the end of axis {axis} (size {x.shape[axis]})")
    return x.index_select(axis, keep)


@onnx_op("Unique")
def unique(ctx: OpContext, x):
    """Unique values (or slices along ``axis``), their first positions, inverse map, counts.

    Which entries are equal is read from the data (an index structure, not a value); ``Y``
    itself is gathered with ember ops.
    """
    axis = ctx.attr("axis")
    data = x.detach().numpy()
    if axis is None:
        flat, axis_n = x.reshape(-1), 0
        arr = data.reshape(-1)
        _, first, inverse, counts = np.unique(
            arr, return_index=True, return_inverse=True, return_counts=True
        )
    else:
        axis_n = norm_axis(ctx, axis, x.dim())
        flat = x
        _, first, inverse, counts = np.unique(
            data, return_index=True, return_inverse=True, return_counts=True, axis=axis_n
        )
    inverse = inverse.reshape(-1)
    if not ctx.attr("sorted", 1):  # order of first appearance
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        first, counts, inverse = first[order], counts[order], rank[inverse]
    y = flat.index_select(axis_n, ember.tensor(first.astype(np.int64)))
    as_tensor = lambda a: ember.tensor(np.asarray(a, np.int64))  # noqa: E731
    return y, as_tensor(first), as_tensor(inverse), as_tensor(counts)


@onnx_op("TensorScatter")
def tensor_scatter(ctx: OpContext, past, update, write_indices=None):
    """Write ``update`` into the cache ``past`` along ``axis`` at each batch's write index."""
    axis = norm_axis(ctx, ctx.attr("axis", -2), past.dim())
    if axis == 0:
        raise ctx.error("axis cannot be the batch axis 0")
    circular = ctx.attr("mode", "linear") == "circular"
    size, steps, nbatch = past.shape[axis], update.shape[axis], past.shape[0]
    if write_indices is None:
        write_indices = ember.zeros(nbatch, dtype=ember.int64)
    shape = [1] * past.dim()
    shape[axis] = steps
    pos = ember.arange(steps).reshape(shape)
    shape = [1] * past.dim()
    shape[0] = nbatch
    pos = pos + write_indices.to(ember.int64).reshape(shape)
    if circular:
        pos = ember.remainder(pos, ember.tensor(size))
    return ember.scatter(past, axis, pos.expand(*update.shape), update)
