"""Shape and view primitives (reshape, expand, permute, slice...) and composites on them.

View primitives return NumPy views: the result shares memory and the version counter with
its base, and in-place writes through a view reach the base, as in PyTorch.

Example:
    >>> import ember
    >>> x = ember.arange(6).reshape(2, 3)
    >>> x.t().shape
    ember.Size([3, 2])
"""

from __future__ import annotations

import numpy as np

from .._dispatch import apply, apply_inplace
from ..registry import ShapeError, Spec, primitive
from ..tensor import Tensor, tensor_method
from ._helpers import sum_to_shape, to_tensor, wrap_dim

__all__ = ["reshape", "view", "expand", "permute", "clone", "contiguous", "copy_"]


def _infer_shape(op: str, shape, numel: int) -> tuple:
    shape = tuple(int(s) for s in shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise ShapeError(f"{op}: only one dimension can be inferred, got shape {list(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ShapeError(f"{op}: invalid shape dimension {s} in {list(shape)}")
            known *= s
    if unknown:
        if known == 0 or numel % known:
            raise ShapeError(f"{op}: shape {list(shape)} is invalid for input of size {numel}")
        shape = shape[: unknown[0]] + (numel // known,) + shape[unknown[0] + 1 :]
    elif known != numel:
        raise ShapeError(f"{op}: shape {list(shape)} is invalid for input of size {numel}")
    return shape


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _reshape_rule(x: Spec, *, shape) -> Spec:
    return Spec(_infer_shape("reshape", shape, _numel(x.shape)), x.dtype)


@primitive("reshape", _reshape_rule, is_view=True)
def _reshape(x, *, shape):
    """Same data, new shape (a view when the memory layout allows)."""
    return x.reshape(shape)


@_reshape.defvjp
def _(ctx, g):
    return (reshape(g, ctx.in_meta[0][0]),)


def _flat_shape_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


@tensor_method()
def reshape(input: Tensor, *shape) -> Tensor:
    """Return the data with a new shape; one dimension may be -1.

    Example:
        >>> import ember
        >>> ember.arange(6).reshape(3, -1).shape
        ember.Size([3, 2])
    """
    x = to_tensor(input)
    target = _infer_shape("reshape", _flat_shape_args(shape), x._data.size)
    if target == x._data.shape:
        return apply(_reshape, x, shape=target) if x._requires_grad else _alias(x)
    return apply(_reshape, x, shape=target)


def _alias(x: Tensor) -> Tensor:
    return apply(_reshape, x, shape=tuple(x._data.shape))


@tensor_method()
def view(input: Tensor, *shape) -> Tensor:
    """Like ``reshape`` but never copies; a dtype argument reinterprets the bytes.

    Example:
        >>> import ember
        >>> ember.zeros(4).view(2, 2).shape
        ember.Size([2, 2])
    """
    from .. import dtypes as _dt

    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        return Tensor._wrap(input._data.view(shape[0].np))
    out = reshape(input, *shape)
    if out._data.size and not np.shares_memory(out._data, input._data):
        raise RuntimeError(
            f"view: size {list(out.shape)} is not compatible with input tensor's size and stride "
            f"{list(input.shape)} (at least one dimension spans across two contiguous subspaces). "
            "Use .reshape(...) instead."
        )
    return out


def _expand_rule(x: Spec, *, shape) -> Spec:
    return Spec(_expand_shape(x.shape, shape), x.dtype)


def _expand_shape(src: tuple, shape: tuple) -> tuple:
    shape = tuple(int(s) for s in shape)
    if len(shape) < len(src):
        raise ShapeError(
            f"expand: the number of sizes provided ({len(shape)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(src)})"
        )
    lead = len(shape) - len(src)
    out = list(shape)
    for i, s in enumerate(src):
        want = shape[lead + i]
        if want == -1:
            out[lead + i] = s
        elif s != want and s != 1:
            raise ShapeError(
                f"expand: the expanded size of the tensor ({want}) must match the existing size "
                f"({s}) at non-singleton dimension {lead + i}. Target sizes: {list(shape)}. "
                f"Tensor sizes: {list(src)}"
            )
    if any(s < 0 for s in out[:lead]):
        raise ShapeError(f"expand: -1 is not allowed in a leading, non-existing dimension {list(shape)}")
    return tuple(out)


@primitive("expand", _expand_rule, is_view=True)
def _expand(x, *, shape):
    """Broadcast to a larger shape without copying (read-only view)."""
    return np.broadcast_to(x, shape)


@_expand.defvjp
def _(ctx, g):
    return (sum_to_shape(g, ctx.in_meta[0][0]),)


@tensor_method()
def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast singleton dimensions to ``sizes`` (-1 keeps a size) without copying."""
    x = to_tensor(input)
    shape = _expand_shape(x._data.shape, _flat_shape_args(sizes))
    if shape == x._data.shape:
        return x
    return apply(_expand, x, shape=shape)


def _permute_rule(x: Spec, *, dims) -> Spec:
    if sorted(dims) != list(range(len(x.shape))):
        raise ShapeError(
            f"permute: dims {list(dims)} are not a permutation of the {len(x.shape)} dimensions "
            f"of a tensor of shape {tuple(x.shape)}"
        )
    return Spec(tuple(x.shape[d] for d in dims), x.dtype)


@primitive("permute", _permute_rule, is_view=True)
def _permute(x, *, dims):
    """Reorder the axes (a view)."""
    return np.transpose(x, dims)


@_permute.defvjp
def _(ctx, g):
    inv = tuple(np.argsort(ctx.attrs["dims"]).tolist())
    return (permute(g, inv),)


@tensor_method()
def permute(input: Tensor, *dims) -> Tensor:
    """Reorder dimensions: ``x.permute(2, 0, 1)``."""
    x = to_tensor(input)
    dims = _flat_shape_args(dims)
    nd = x._data.ndim
    dims = tuple(wrap_dim("permute", d, nd) for d in dims)
    _permute_rule(Spec(x._data.shape, None), dims=dims)
    return apply(_permute, x, dims=dims)


def _copy_rule(x: Spec) -> Spec:
    return x


@primitive("clone", _copy_rule)
def _clone(x):
    """A copy of the data in new memory."""
    return x.copy()


@_clone.defvjp
def _(ctx, g):
    return (g,)


@tensor_method()
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own memory; gradients flow back to ``input``."""
    return apply(_clone, to_tensor(input))


@tensor_method()
def contiguous(input: Tensor, memory_format=None) -> Tensor:
    """``input`` if already C-contiguous, else a contiguous copy."""
    if input._data.flags.c_contiguous:
        return input
    return clone(input)


def _copy_value(dst: Tensor, src) -> Tensor:
    src = to_tensor(src)
    if src._data.dtype != dst._data.dtype:
        from .elementwise import cast

        src = cast(src, dst.dtype)
    return expand(src, tuple(dst._data.shape)) if src._data.shape != dst._data.shape else src


@tensor_method()
def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast) into ``self`` in place; autograd tracks it."""
    src = to_tensor(src)
    try:
        np.broadcast_shapes(src._data.shape, self._data.shape)
        np.broadcast_to(np.empty(src._data.shape, np.bool_), self._data.shape)
    except ValueError:
        raise RuntimeError(
            f"copy_: the source of shape {tuple(src.shape)} cannot be broadcast to the "
            f"destination shape {tuple(self.shape)}"
        ) from None
    return apply_inplace(self, _copied, src)


def _copied(dst: Tensor, src: Tensor) -> Tensor:
    return clone(_copy_value(dst, src))
