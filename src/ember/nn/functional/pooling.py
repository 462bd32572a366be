"""Pooling: max, average and adaptive pooling in 1-D and 2-D (PyTorch's signatures).

Max and average pooling are primitives of :mod:`ember.ops.conv_kernels` (strided window views,
a loop over kernel offsets only). Adaptive average pooling is composed: a reshape + mean when
the sizes divide, otherwise a few weighted ``index_select`` taps per dimension.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> x = ember.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.max_pool2d(x, 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    >>> F.avg_pool2d(x, 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
"""

from __future__ import annotations

import numpy as np

from ...ops import conv_kernels as _k
from ...tensor import Tensor
from .conv import _batched, _ntuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
]


def _pool_args(op, nd, kernel_size, stride, padding, dilation):
    kernel = _ntuple(op, "kernel_size", kernel_size, nd)
    stride = kernel if stride is None or stride == [] or stride == () else stride
    stride = _ntuple(op, "stride", stride, nd)
    padding = _ntuple(op, "padding", padding, nd)
    dilation = _ntuple(op, "dilation", dilation, nd)
    if any(k <= 0 for k in kernel) or any(s <= 0 for s in stride):
        raise ValueError(
            f"{op}: kernel_size and stride must be positive, got kernel_size={kernel}, "
            f"stride={stride}"
        )
    for p, k in zip(padding, kernel):
        if p < 0 or 2 * p > k:
            raise ValueError(
                f"{op}: pad should be at most half of effective kernel size, but got pad={p} and "
                f"kernel_size={k}"
            )
    return kernel, stride, padding, dilation


def _max_poolnd(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = _batched(op, input, nd)
    kernel, stride, padding, dilation = _pool_args(op, nd, kernel_size, stride, padding, dilation)
    vals, idx = _k.max_pool(
        x, kernel=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    if unbatched:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return (vals, idx) if return_indices else vals


def max_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Max over sliding windows of ``input (N, C, L)``; ``stride`` defaults to ``kernel_size``.

    With ``return_indices=True`` also returns the flat position of each maximum in its row.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.max_pool1d(ember.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2, return_indices=True)
        (tensor([[[3., 5.]]]), tensor([[[1, 3]]]))
    """
    return _max_poolnd(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Max over sliding windows of ``input (N, C, H, W)``; indices are flat in ``H * W``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.max_pool2d(ember.ones(2, 3, 7, 7), 2, ceil_mode=True).shape
        ember.Size([2, 3, 4, 4])
    """
    return _max_poolnd(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_poolnd(
    op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    x, unbatched = _batched(op, input, nd)
    kernel, stride, padding, _ = _pool_args(op, nd, kernel_size, stride, padding, 1)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{op}: divisor must be not zero")
    out = _k.avg_pool(
        x,
        kernel=kernel,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )
    return out.squeeze(0) if unbatched else out


def avg_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over sliding windows of ``input (N, C, L)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.avg_pool1d(ember.tensor([[[1.0, 2.0, 3.0, 4.0]]]), 2)
        tensor([[[1.5000, 3.5000]]])
    """
    return _avg_poolnd(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows of ``input (N, C, H, W)``.

    ``count_include_pad=False`` divides by the number of real (unpadded) pixels in each window;
    ``divisor_override`` replaces the divisor altogether.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.avg_pool2d(ember.ones(1, 1, 3, 3), 3, stride=1, padding=1)[0, 0]
        tensor([[0.4444, 0.6667, 0.4444],
                [0.6667, 1.0000, 0.6667],
                [0.4444, 0.6667, 0.4444]])
    """
    return _avg_poolnd(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _output_size(op: str, output_size, x: Tensor, nd: int) -> tuple:
    if isinstance(output_size, (list, tuple)):
        sizes = tuple(output_size)
        if len(sizes) == 1 and nd > 1:
            sizes = sizes * nd
    else:
        sizes = (output_size,) * nd
    if len(sizes) != nd:
        raise ValueError(f"{op}: output_size must have {nd} elements, got {output_size!r}")
    spatial = tuple(x.shape[-nd:])
    sizes = tuple(spatial[i] if s is None else int(s) for i, s in enumerate(sizes))
    if any(s <= 0 for s in sizes):
        raise ValueError(f"{op}: output_size must be positive, got {sizes}")
    if any(s == 0 for s in spatial):
        raise ValueError(f"{op}: input of shape {tuple(x.shape)} has an empty spatial dimension")
    return sizes


def _adaptive_avg_dim(x: Tensor, dim: int, out: int) -> Tensor:
    """Average ``x`` over PyTorch's adaptive windows along ``dim`` (composed of ember ops)."""
    import ember

    size = x.shape[dim]
    if out == size:
        return x
    if size % out == 0:
        k = size // out
        shape = tuple(x.shape[:dim]) + (out, k) + tuple(x.shape[dim + 1 :])
        return x.reshape(shape).mean(dim + 1)
    start, end = _k._adaptive_ranges(size, out)
    lens = end - start
    bshape = [1] * x.dim()
    bshape[dim] = out
    total = None
    for j in range(int(lens.max())):
        # short windows repeat their last element with weight 0, so NaNs stay in their window
        idx = ember.from_numpy(np.minimum(start + j, end - 1).astype(np.int64))
        weight = ((start + j < end) / lens).astype(x._data.dtype).reshape(bshape)
        term = ember.index_select(x, dim, idx) * ember.from_numpy(weight)
        total = term if total is None else total + term
    return total


def _adaptive_avg_poolnd(op, nd, input, output_size):
    x, unbatched = _batched(op, input, nd)
    sizes = _output_size(op, output_size, x, nd)
    if not x.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a floating-point input, got {x.dtype}")
    for i in range(nd):
        x = _adaptive_avg_dim(x, 2 + i, sizes[i])
    return x.squeeze(0) if unbatched else x


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output length (windows ``[floor(iL/O), ceil((i+1)L/O))``).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.adaptive_avg_pool1d(ember.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 2)
        tensor([[[2., 4.]]])
    """
    return _adaptive_avg_poolnd("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (an int, a pair, ``None`` keeps a dimension).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.adaptive_avg_pool2d(ember.ones(2, 8, 7, 7), 1).shape
        ember.Size([2, 8, 1, 1])
        >>> F.adaptive_avg_pool2d(ember.ones(8, 10, 9), (3, None)).shape
        ember.Size([8, 3, 9])
    """
    return _adaptive_avg_poolnd("adaptive_avg_pool2d", 2, input, output_size)


def _adaptive_max_poolnd(op, nd, input, output_size, return_indices):
    x, unbatched = _batched(op, input, nd)
    sizes = _output_size(op, output_size, x, nd)
    vals, idx = _k.adaptive_max_pool(x, output_size=sizes)
    if unbatched:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return (vals, idx) if return_indices else vals


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output length.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.adaptive_max_pool1d(ember.tensor([[[1.0, 5.0, 2.0, 4.0, 3.0]]]), 2)
        tensor([[[5., 4.]]])
    """
    return _adaptive_max_poolnd("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size; indices are flat in ``H * W``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> x = ember.arange(9.0).reshape(1, 1, 3, 3)
        >>> F.adaptive_max_pool2d(x, 2, return_indices=True)
        (tensor([[[[4., 5.],
                  [7., 8.]]]]), tensor([[[[4, 5],
                  [7, 8]]]]))
    """
    return _adaptive_max_poolnd("adaptive_max_pool2d", 2, input, output_size, return_indices)
