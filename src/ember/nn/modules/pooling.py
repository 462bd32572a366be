"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d.

Arguments are stored as given (so ``repr`` matches PyTorch) and passed to
``ember.nn.functional``; ``stride`` defaults to ``kernel_size``.

Example:
    >>> import ember
    >>> pool = ember.nn.MaxPool2d(2)
    >>> pool
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    >>> pool(ember.ones(8, 32, 28, 28)).shape
    ember.Size([8, 32, 14, 14])
"""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
]


def _check_rank(module: Module, input: Tensor, nd: int) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{type(module).__name__}: expected a Tensor input, got {type(input).__name__}"
        )
    if input.dim() not in (nd + 1, nd + 2):
        raise ValueError(
            f"{type(module).__name__}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) "
            f"input, got input of shape {tuple(input.shape)}"
        )


class _MaxPoolNd(Module):
    _nd = 2

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """Max pooling over ``(N, C, L)`` or ``(C, L)`` inputs.

    Example:
        >>> import ember
        >>> ember.nn.MaxPool1d(3, stride=2)(ember.ones(20, 16, 50)).shape
        ember.Size([20, 16, 24])
    """

    _nd = 1

    def forward(self, input: Tensor):
        _check_rank(self, input, 1)
        return F.max_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class MaxPool2d(_MaxPoolNd):
    """Max pooling over ``(N, C, H, W)`` or ``(C, H, W)`` inputs.

    Example:
        >>> import ember
        >>> ember.nn.MaxPool2d(3, stride=2, padding=1)(ember.ones(1, 2, 9, 9)).shape
        ember.Size([1, 2, 5, 5])
    """

    def forward(self, input: Tensor):
        _check_rank(self, input, 2)
        return F.max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class AvgPool1d(Module):
    """Average pooling over ``(N, C, L)`` or ``(C, L)`` inputs (arguments kept as 1-tuples).

    Example:
        >>> import ember
        >>> ember.nn.AvgPool1d(2)
        AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ):
        super().__init__()

        def single(v):
            return tuple(v) if isinstance(v, (list, tuple)) else (v,)

        self.kernel_size = single(kernel_size)
        self.stride = single(stride if stride is not None else kernel_size)
        self.padding = single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        _check_rank(self, input, 1)
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Average pooling over ``(N, C, H, W)`` or ``(C, H, W)`` inputs.

    Example:
        >>> import ember
        >>> ember.nn.AvgPool2d(2)(ember.ones(1, 3, 8, 8)).shape
        ember.Size([1, 3, 4, 4])
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        _check_rank(self, input, 2)
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(Module):
    _nd = 2

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average pooling to a fixed output length.

    Example:
        >>> import ember
        >>> ember.nn.AdaptiveAvgPool1d(5)(ember.ones(1, 64, 8)).shape
        ember.Size([1, 64, 5])
    """

    def __init__(self, output_size):
        super().__init__(output_size)
        del self.return_indices

    def forward(self, input: Tensor) -> Tensor:
        _check_rank(self, input, 1)
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average pooling to a fixed output size (``None`` keeps that dimension).

    Example:
        >>> import ember
        >>> ember.nn.AdaptiveAvgPool2d((5, 7))(ember.ones(1, 64, 8, 9)).shape
        ember.Size([1, 64, 5, 7])
    """

    def __init__(self, output_size):
        super().__init__(output_size)
        del self.return_indices

    def forward(self, input: Tensor) -> Tensor:
        _check_rank(self, input, 2)
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool1d(_AdaptivePool):
    """Max pooling to a fixed output length.

    Example:
        >>> import ember
        >>> ember.nn.AdaptiveMaxPool1d(5)(ember.ones(1, 64, 8)).shape
        ember.Size([1, 64, 5])
    """

    def forward(self, input: Tensor):
        _check_rank(self, input, 1)
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptivePool):
    """Max pooling to a fixed output size.

    Example:
        >>> import ember
        >>> ember.nn.AdaptiveMaxPool2d(3)(ember.ones(1, 4, 10, 7)).shape
        ember.Size([1, 4, 3, 3])
    """

    def forward(self, input: Tensor):
        _check_rank(self, input, 2)
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
