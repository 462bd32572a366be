"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, LazyConv2d.

PyTorch's defaults: weights ``kaiming_uniform_(a=sqrt(5))`` (i.e. U(-1/sqrt(fan_in),
1/sqrt(fan_in))), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)); ``padding_mode`` ``"zeros"``,
``"reflect"``, ``"replicate"`` or ``"circular"`` (the last three pad with ``ember.pad`` first).

Example:
    >>> import ember
    >>> conv = ember.nn.Conv2d(1, 32, 3, padding=1)
    >>> conv
    Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    >>> conv(ember.ones(8, 1, 28, 28)).shape
    ember.Size([8, 32, 28, 28])
"""

from __future__ import annotations

import math

from ... import dtypes as _dt
from ...tensor import Tensor
from .. import init
from ..functional.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ..parameter import Parameter, UninitializedParameter
from .module import Module

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "LazyConv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(value, n: int) -> tuple:
    if isinstance(value, (list, tuple)):
        return tuple(value) if len(value) != 1 or n == 1 else tuple(value) * n
    return (value,) * n


def _empty(*shape, dtype=None) -> Tensor:
    from ...ops.creation import empty

    return empty(*shape, dtype=dtype)


class _ConvNd(Module):
    """Shared state, init, validation and repr of the convolution layers."""

    _nd = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding=0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        nd = self._nd
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})"
            )
        if out_channels % groups:
            raise ValueError(
                f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})"
            )
        stride = _tuple(stride, nd)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{name}: invalid padding string {padding!r}, should be 'same' or 'valid'"
                )
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided convolutions"
                )
        else:
            padding = _tuple(padding, nd)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {_PADDING_MODES}, but got "
                f"padding_mode={padding_mode!r}"
            )
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f"Only 'zeros' padding mode is supported for {name}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, nd)
        self.stride = stride
        self.padding = padding
        self.dilation = _tuple(dilation, nd)
        self.transposed = self._transposed
        self.output_padding = _tuple(output_padding, nd)
        self.groups = groups
        self.padding_mode = padding_mode
        self._dtype = _dt.as_dtype(dtype)
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(_empty(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(_empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input: Tensor) -> bool:
        """Validate the input's rank and channels; returns whether it is batched."""
        name = type(self).__name__
        nd = self._nd
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.dim() not in (nd + 1, nd + 2):
            raise ValueError(
                f"{name}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, got input "
                f"of shape {tuple(input.shape)}"
            )
        batched = input.dim() == nd + 2
        channels = input.shape[1 if batched else 0]
        if channels != self.in_channels:
            raise ValueError(
                f"{name}: expected input with {self.in_channels} channels, got shape "
                f"{tuple(input.shape)}"
            )
        return batched

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)


class _Conv(_ConvNd):
    _fn = staticmethod(conv2d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            0,
            device,
            dtype,
        )

    def _pad_widths(self) -> tuple:
        """``ember.pad`` widths (last dimension first) for the non-zero padding modes."""
        widths = []
        for i in reversed(range(self._nd)):
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                widths += [total // 2, total - total // 2]
            elif self.padding == "valid":
                widths += [0, 0]
            else:
                widths += [self.padding[i], self.padding[i]]
        return tuple(widths)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if self.padding_mode != "zeros":
            from ...ops.movement import pad

            return type(self)._fn(
                pad(input, self._pad_widths(), mode=self.padding_mode),
                weight,
                bias,
                self.stride,
                0,
                self.dilation,
                self.groups,
            )
        return type(self)._fn(
            input, weight, bias, self.stride, self.padding, self.dilation, self.groups
        )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution over ``(N, C_in, L)`` (or unbatched ``(C_in, L)``) inputs.

    Example:
        >>> import ember
        >>> ember.nn.Conv1d(16, 33, 3, stride=2)
        Conv1d(16, 33, kernel_size=(3,), stride=(2,))
        >>> ember.nn.Conv1d(16, 33, 3, stride=2)(ember.ones(20, 16, 50)).shape
        ember.Size([20, 33, 24])
    """

    _nd = 1
    _fn = staticmethod(conv1d)


class Conv2d(_Conv):
    """2-D convolution over ``(N, C_in, H, W)`` (or unbatched ``(C_in, H, W)``) inputs.

    Example:
        >>> import ember
        >>> m = ember.nn.Conv2d(16, 16, 3, groups=16, padding="same", bias=False)
        >>> m
        Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=same, groups=16, bias=False)
        >>> m(ember.ones(2, 16, 10, 10)).shape
        ember.Size([2, 16, 10, 10])
    """

    _nd = 2
    _fn = staticmethod(conv2d)


class _ConvTranspose(_ConvNd):
    _transposed = True
    _fn = staticmethod(conv_transpose2d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        if isinstance(padding, str):
            raise ValueError(
                f"{type(self).__name__}: string padding ({padding!r}) is not supported"
            )
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            device,
            dtype,
        )

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        nd = self._nd
        size = list(output_size)
        if len(size) == input.dim():
            size = size[-nd:]
        if len(size) != nd:
            raise ValueError(
                f"{type(self).__name__}: for {input.dim()}D input, output_size must have {nd} or "
                f"{input.dim()} elements (got {len(output_size)})"
            )
        res = []
        for d in range(nd):
            lo = (
                (input.shape[input.dim() - nd + d] - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            hi = lo + self.stride[d] - 1
            if not lo <= size[d] <= hi:
                raise ValueError(
                    f"{type(self).__name__}: requested an output size of {tuple(size)}, but valid "
                    f"sizes range from {lo} to {hi} in dimension {d} (for an input of shape "
                    f"{tuple(input.shape)})"
                )
            res.append(size[d] - lo)
        return tuple(res)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        self._check_input(input)
        return type(self)._fn(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution; ``weight`` is ``(in_channels, out_channels/groups, k)``.

    Example:
        >>> import ember
        >>> ember.nn.ConvTranspose1d(4, 2, 3, stride=2)(ember.ones(1, 4, 5)).shape
        ember.Size([1, 2, 11])
    """

    _nd = 1
    _fn = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution (``forward(input, output_size=None)`` as in PyTorch).

    Example:
        >>> import ember
        >>> up = ember.nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1)
        >>> up
        ConvTranspose2d(16, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
        >>> up(ember.ones(1, 16, 12, 12), output_size=[24, 24]).shape
        ember.Size([1, 8, 24, 24])
    """

    _nd = 2
    _fn = staticmethod(conv_transpose2d)


class LazyConv2d(Conv2d):
    """A Conv2d whose ``in_channels`` is inferred from the first input.

    Example:
        >>> import ember
        >>> m = ember.nn.LazyConv2d(8, 3)
        >>> m(ember.ones(2, 5, 9, 9)).shape
        ember.Size([2, 8, 7, 7])
        >>> m
        Conv2d(5, 8, kernel_size=(3, 3), stride=(1, 1))
    """

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        # build as a 1-channel-per-group conv for validation, then drop the weights
        super().__init__(
            groups,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self.in_channels = 0
        self.weight = UninitializedParameter()
        if bias:
            self.bias = UninitializedParameter()

    def reset_parameters(self) -> None:
        if not isinstance(self.weight, UninitializedParameter):
            super().reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        if isinstance(self.weight, UninitializedParameter):
            if input.dim() not in (3, 4):
                raise ValueError(
                    f"LazyConv2d: expected 3D (unbatched) or 4D (batched) input, got input of "
                    f"shape {tuple(input.shape)}"
                )
            channels = input.shape[1 if input.dim() == 4 else 0]
            if channels % self.groups:
                raise ValueError(
                    f"LazyConv2d: input of shape {tuple(input.shape)} has {channels} channels, "
                    f"not divisible by groups ({self.groups})"
                )
            self.in_channels = channels
            self.weight.materialize(
                (self.out_channels, channels // self.groups) + self.kernel_size, self._dtype
            )
            if isinstance(self.bias, UninitializedParameter):
                self.bias.materialize((self.out_channels,), self._dtype)
            self.__class__ = Conv2d
            self.reset_parameters()
        return Conv2d.forward(self, input)
