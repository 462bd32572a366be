"""Reductions (sum, mean, prod, amax, ...), scans and statistics.

Example:
    >>> import ember
    >>> ember.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0)
    tensor([4., 6.])
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from .._dispatch import apply
from ..registry import Spec, primitive
from ..tensor import Tensor, tensor_method
from ._helpers import normalize_dims, to_tensor

__all__ = ["sum"]


def _reduced_shape(shape: tuple, axes, keepdim: bool) -> tuple:
    if axes is None:
        axes = tuple(range(len(shape)))
    if keepdim:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _sum_rule(x: Spec, *, axes, keepdim, dtype) -> Spec:
    return Spec(_reduced_shape(x.shape, axes, keepdim), dtype)


@primitive("sum", _sum_rule)
def _sum(x, *, axes, keepdim, dtype):
    """Sum over ``axes`` (None means all)."""
    return np.sum(x, axis=axes, keepdims=keepdim, dtype=dtype.np)


@_sum.defvjp
def _(ctx, g):
    from .movement import expand, reshape

    shape = ctx.in_meta[0][0]
    a = ctx.attrs
    if not a["keepdim"]:
        g = reshape(g, _reduced_shape(shape, a["axes"], True))
    return (expand(g, shape),)


@tensor_method()
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum of all elements, or over ``dim`` (int or tuple).

    Integer and bool inputs sum in int64, as in PyTorch.

    Example:
        >>> import ember
        >>> ember.ones(2, 3).sum(dim=1)
        tensor([3., 3.])
    """
    x = to_tensor(input)
    axes = normalize_dims("sum", dim, x._data.ndim)
    if dtype is None:
        dtype = _dt.from_numpy_dtype(x._data.dtype)
        if not dtype.is_floating_point:
            dtype = _dt.int64
    else:
        dtype = _dt.as_dtype(dtype)
    if x._data.dtype != dtype.np and dtype.is_floating_point:
        from .elementwise import cast

        x = cast(x, dtype)
    return apply(_sum, x, axes=axes, keepdim=bool(keepdim), dtype=dtype)
