"""Convolutions: ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``.

Thin wrappers that normalise PyTorch's arguments (ints or tuples, ``padding="same"`` /
``"valid"``, unbatched inputs) and call the ``conv`` / ``conv_input_grad`` primitives of
:mod:`ember.ops.conv_kernels` (im2col + BLAS GEMM, vectorised with stride tricks).

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> x = ember.ones(1, 1, 4, 4)
    >>> F.conv2d(x, ember.ones(2, 1, 3, 3), padding=1)[0, 0]
    tensor([[4., 6., 6., 4.],
            [6., 9., 9., 6.],
            [6., 9., 9., 6.],
            [4., 6., 6., 4.]])
"""

from __future__ import annotations

from ...ops import conv_kernels as _k
from ...tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


def _ntuple(op: str, name: str, value, n: int) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) == 1 and n > 1:
            value = tuple(value) * n
        if len(value) != n:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
        out = tuple(int(v) for v in value)
    else:
        out = (int(value),) * n
    return out


def _batched(op: str, input: Tensor, nd: int) -> tuple[Tensor, bool]:
    """``input`` with a batch dimension, and whether one was added (unbatched input)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if input.dim() == nd + 2:
        return input, False
    if input.dim() == nd + 1:
        return input.unsqueeze(0), True
    raise ValueError(
        f"{op}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, but got input of "
        f"shape {tuple(input.shape)}"
    )


def _conv_padding(op: str, padding, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding != "same":
            raise ValueError(
                f"{op}: invalid padding string {padding!r}, should be 'same' or 'valid'"
            )
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    p = _ntuple(op, "padding", padding, nd)
    if any(v < 0 for v in p):
        raise ValueError(f"{op}: negative padding is not supported, got {p}")
    return tuple((v, v) for v in p)


def _add_bias(out: Tensor, bias: Tensor | None, op: str) -> Tensor:
    if bias is None:
        return out
    if bias.dim() != 1 or bias.shape[0] != out.shape[1]:
        raise ValueError(f"{op}: expected bias of shape ({out.shape[1]},), got {tuple(bias.shape)}")
    return out + bias.reshape((-1,) + (1,) * (out.dim() - 2))


def _convnd(op, nd, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    x, unbatched = _batched(op, input, nd)
    if weight.dim() != nd + 2:
        raise ValueError(
            f"{op}: expected a {nd + 2}-D weight (out_channels, in_channels/groups, *kernel), "
            f"got shape {tuple(weight.shape)}"
        )
    if groups <= 0:
        raise ValueError(f"{op}: non-positive groups is not supported, got {groups}")
    stride = _ntuple(op, "stride", stride, nd)
    dilation = _ntuple(op, "dilation", dilation, nd)
    if any(s <= 0 for s in stride) or any(d <= 0 for d in dilation):
        raise ValueError(f"{op}: stride and dilation must be positive, got {stride}, {dilation}")
    kernel = tuple(weight.shape[2:])
    pads = _conv_padding(op, padding, kernel, stride, dilation)
    if x.shape[1] != weight.shape[1] * groups:
        raise ValueError(
            f"{op}: input of shape {tuple(input.shape)} has {x.shape[1]} channels but weight of "
            f"shape {tuple(weight.shape)} with groups={groups} expects {weight.shape[1] * groups}"
        )
    out = _k.conv(x, weight, stride=stride, padding=pads, dilation=dilation, groups=groups)
    out = _add_bias(out, bias, op)
    return out.squeeze(0) if unbatched else out


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation of ``input (N, C_in, L)`` with ``weight (C_out, C_in/groups, k)``.

    ``padding`` is an int, a 1-tuple, ``"valid"`` or ``"same"``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.conv1d(ember.tensor([[[1.0, 2.0, 3.0, 4.0]]]), ember.tensor([[[1.0, -1.0]]]))
        tensor([[[-1., -1., -1.]]])
    """
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation of ``input (N, C_in, H, W)`` with ``weight (C_out, C_in/groups, kH, kW)``.

    ``groups=C_in`` gives a depthwise convolution; ``padding="same"`` keeps the spatial size
    (stride 1; an odd total padding puts the extra row/column at the end, as PyTorch does).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.conv2d(ember.ones(8, 3, 28, 28), ember.ones(16, 3, 3, 3), stride=2).shape
        ember.Size([8, 16, 13, 13])
        >>> F.conv2d(ember.ones(3, 5, 5), ember.ones(3, 1, 2, 2), padding="same", groups=3).shape
        ember.Size([3, 5, 5])
    """
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(
    op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation, output_size=None
) -> Tensor:
    x, unbatched = _batched(op, input, nd)
    if weight.dim() != nd + 2:
        raise ValueError(
            f"{op}: expected a {nd + 2}-D weight (in_channels, out_channels/groups, *kernel), "
            f"got shape {tuple(weight.shape)}"
        )
    if x.shape[1] != weight.shape[0]:
        raise ValueError(
            f"{op}: input of shape {tuple(input.shape)} has {x.shape[1]} channels but weight of "
            f"shape {tuple(weight.shape)} expects {weight.shape[0]}"
        )
    if groups <= 0 or weight.shape[0] % groups:
        raise ValueError(
            f"{op}: in_channels ({weight.shape[0]}) must be divisible by groups ({groups})"
        )
    stride = _ntuple(op, "stride", stride, nd)
    dilation = _ntuple(op, "dilation", dilation, nd)
    if isinstance(padding, str):
        raise ValueError(f"{op}: string padding ({padding!r}) is not supported")
    pad = _ntuple(op, "padding", padding, nd)
    opad = _ntuple(op, "output_padding", output_padding, nd)
    kernel = tuple(weight.shape[2:])
    for i in range(nd):
        if opad[i] >= stride[i] and opad[i] >= dilation[i]:
            raise ValueError(
                f"{op}: output padding must be smaller than either stride or dilation, got "
                f"output_padding={opad}, stride={stride}, dilation={dilation}"
            )
    base = tuple(
        (x.shape[2 + i] - 1) * stride[i] - 2 * pad[i] + dilation[i] * (kernel[i] - 1) + 1
        for i in range(nd)
    )
    size = tuple(base[i] + opad[i] for i in range(nd))
    if output_size is not None:
        want = tuple(output_size)[-nd:]
        for i in range(nd):
            if not base[i] <= want[i] < base[i] + max(stride[i], dilation[i]):
                raise ValueError(
                    f"{op}: requested output size {want} is not reachable from input of shape "
                    f"{tuple(input.shape)}: each size must lie in [{base[i]}, "
                    f"{base[i] + max(stride[i], dilation[i]) - 1}]"
                )
        size = want
    if any(s <= 0 for s in size):
        raise ValueError(f"{op}: computed output size {size} is too small")
    out = _k.conv_input_grad(
        x,
        weight,
        size=size,
        stride=stride,
        padding=tuple((p, p) for p in pad),
        dilation=dilation,
        groups=groups,
    )
    out = _add_bias(out, bias, op)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """1-D transposed convolution; ``weight`` is ``(C_in, C_out/groups, k)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.conv_transpose1d(ember.tensor([[[1.0, 2.0]]]), ember.ones(1, 1, 2), stride=2)
        tensor([[[1., 1., 2., 2.]]])
    """
    return _conv_transposend(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """2-D transposed convolution (the gradient of ``conv2d`` w.r.t. its input).

    ``weight`` is ``(C_in, C_out/groups, kH, kW)``; the output size is
    ``(in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.conv_transpose2d(ember.ones(1, 4, 7, 7), ember.ones(4, 2, 3, 3), stride=2,
        ...                    padding=1, output_padding=1).shape
        ember.Size([1, 2, 14, 14])
    """
    return _conv_transposend(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
