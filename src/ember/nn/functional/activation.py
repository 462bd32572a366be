"""Activation functions (PyTorch's ``torch.nn.functional`` activations).

``relu``, ``gelu``, ``silu``, ``softplus``, ``sigmoid`` and ``tanh`` come from ``ember.ops``;
softmax and log_softmax are fused primitives (``ember.ops.nn_kernels``); the rest are
composites of elementwise ops whose kinks follow PyTorch's subgradient choices.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.leaky_relu(ember.tensor([-2.0, 3.0]), 0.1)
    tensor([-0.2000,  3.0000])
"""

from __future__ import annotations

import warnings

from ...ops import elementwise as _ew
from ...ops import nn_kernels as _k
from ...ops._helpers import to_tensor, wrap_dim
from ...tensor import Tensor

__all__ = [
    "softmax",
    "log_softmax",
    "softmin",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "celu",
    "prelu",
    "rrelu",
    "mish",
    "hardswish",
    "hardsigmoid",
    "hardtanh",
    "hardshrink",
    "softshrink",
    "logsigmoid",
    "softsign",
    "tanhshrink",
    "threshold",
    "glu",
    "relu_",
    "elu_",
    "leaky_relu_",
    "hardtanh_",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Softmax along ``dim`` (fused primitive); ``dtype`` casts the input first.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.softmax(ember.tensor([[1.0, 1.0, 1.0, 1.0]]), dim=1)
        tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """
    x = to_tensor(input)
    if dim is None:
        dim = _softmax_dim("softmax", x.dim())
    return _k.softmax(x, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Log-softmax along ``dim`` (fused primitive, stable for large logits).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.log_softmax(ember.tensor([0.0, 0.0]), dim=0)
        tensor([-0.6931, -0.6931])
    """
    x = to_tensor(input)
    if dim is None:
        dim = _softmax_dim("log_softmax", x.dim())
    return _k.log_softmax(x, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-input)`` along ``dim``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.softmin(ember.tensor([0.0, 0.6931472]), dim=0)
        tensor([0.6667, 0.3333])
    """
    x = to_tensor(input)
    if dim is None:
        dim = _softmax_dim("softmin", x.dim())
    if dtype is not None:
        x = _ew.cast(x, dtype)
    return _k.softmax(-x, dim)


def _inplace(fn):
    def op(input: Tensor, *args, **kwargs) -> Tensor:
        from ..._dispatch import apply_inplace

        return apply_inplace(input, fn, *args, **kwargs)

    return op


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """Clamp to ``[min_val, max_val]``; the gradient is zero at and beyond the bounds (PyTorch).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.hardtanh(ember.tensor([-3.0, 0.5, 2.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})"
        )
    if inplace:
        return _inplace(hardtanh)(input, min_val, max_val)
    x = to_tensor(input)
    inside = _ew.logical_and(x > min_val, x < max_val)
    return _ew.where(inside, x, _ew.clamp(x.detach(), min_val, max_val))


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` (``hardtanh(x, 0, 6)``).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.relu6(ember.tensor([-1.0, 3.0, 9.0]))
        tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def relu_(input: Tensor) -> Tensor:
    """In-place ReLU."""
    return _inplace(_ew.relu)(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``negative_slope * x``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.leaky_relu(ember.tensor([-1.0, 1.0]))
        tensor([-0.0100,  1.0000])
    """
    if inplace:
        return _inplace(leaky_relu)(input, negative_slope)
    x = to_tensor(input)
    return _ew.where(x > 0, x, x * negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.elu(ember.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """
    if inplace:
        return _inplace(elu)(input, alpha)
    x = to_tensor(input)
    return _ew.where(x > 0, x, _ew.expm1(_ew.where(x > 0, 0.0, x)) * alpha)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Scaled ELU with the self-normalising constants (alpha ~ 1.6733, scale ~ 1.0507).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.selu(ember.tensor([1.0]))
        tensor([1.0507])
    """
    if inplace:
        return _inplace(selu)(input)
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.celu(ember.tensor([-1.0, 1.0]), alpha=2.0)
        tensor([-0.7869,  1.0000])
    """
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0")
    if inplace:
        return _inplace(celu)(input, alpha)
    x = to_tensor(input)
    return _ew.where(x > 0, x, _ew.expm1(_ew.where(x > 0, 0.0, x) / alpha) * alpha)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU with a learned slope: one per channel (dim 1) or a single shared one.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.prelu(ember.tensor([[-1.0, -1.0]]), ember.tensor([0.1, 0.2]))
        tensor([[-0.1000, -0.2000]])
    """
    x = to_tensor(input)
    n = weight.numel()
    if weight.dim() > 1:
        raise ValueError(f"prelu: weight must be 1-D, got shape {tuple(weight.shape)}")
    if n != 1:
        channels = x.shape[1] if x.dim() >= 2 else (x.shape[0] if x.dim() == 1 else 1)
        if n != channels:
            raise ValueError(
                f"prelu: weight of {n} parameters does not match the {channels} channels of an "
                f"input of shape {tuple(x.shape)} (channel dim is 1)"
            )
        if x.dim() >= 2:
            weight = weight.reshape((n,) + (1,) * (x.dim() - 2))
    return _ew.where(x > 0, x, x * weight)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomised leaky ReLU: a random slope in ``[lower, upper]`` when training, else the mean.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.rrelu(ember.tensor([-3.0, 1.0]), 0.1, 0.3)
        tensor([-0.6000,  1.0000])
    """
    if inplace:
        return _inplace(rrelu)(input, lower, upper, training)
    x = to_tensor(input)
    if training:
        from ..._dispatch import apply
        from ...random import rand_uniform

        # the sampling primitive, so a compiled graph draws new slopes on every call
        noise = apply(rand_uniform, shape=tuple(x.shape), dtype=x.dtype)
        slope = noise * (upper - lower) + lower
    else:
        slope = (lower + upper) / 2
    return _ew.where(x >= 0, x, x * slope)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.mish(ember.tensor([1.0]))
        tensor([0.8651])
    """
    if inplace:
        return _inplace(mish)(input)
    x = to_tensor(input)
    return x * _ew.tanh(_ew.softplus(x))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``; at the kinks the gradient follows PyTorch.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.hardswish(ember.tensor([-4.0, 1.0, 4.0]))
        tensor([-0.0000,  0.6667,  4.0000])
    """
    if inplace:
        return _inplace(hardswish)(input)
    x = to_tensor(input)
    # gradient (2x + 3) / 6 strictly inside (-3, 3), 0 at and below -3, 1 at and above 3
    return _ew.where(x <= -3.0, x * 0.0, _ew.where(x >= 3.0, x, x * (x + 3.0) * (1.0 / 6.0)))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``; the gradient is ``1/6`` strictly inside ``(-3, 3)``, else 0.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.hardsigmoid(ember.tensor([-4.0, 0.0, 4.0]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    if inplace:
        return _inplace(hardsigmoid)(input)
    return hardtanh(to_tensor(input), -3.0, 3.0) * (1.0 / 6.0) + 0.5


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.hardshrink(ember.tensor([-1.0, 0.2, 0.7]))
        tensor([-1.0000,  0.0000,  0.7000])
    """
    x = to_tensor(input)
    return _ew.where(_ew.abs(x) > lambd, x, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Shrink toward 0 by ``lambd``: ``x - lambd``, ``x + lambd`` or 0.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.softshrink(ember.tensor([-1.0, 0.2, 0.7]))
        tensor([-0.5000,  0.0000,  0.2000])
    """
    x = to_tensor(input)
    return _ew.where(x > lambd, x - lambd, _ew.where(x < -lambd, x + lambd, 0.0))


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed as ``min(x, 0) - log1p(exp(-|x|))`` (no overflow).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.logsigmoid(ember.tensor([-200.0, 0.0]))
        tensor([-200.0000,   -0.6931])
    """
    x = to_tensor(input)
    return _ew.minimum(x, 0.0) - _ew.log1p(_ew.exp(-_ew.abs(x)))


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.softsign(ember.tensor([-3.0, 1.0]))
        tensor([-0.7500,  0.5000])
    """
    x = to_tensor(input)
    return x / (_ew.abs(x) + 1.0)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.tanhshrink(ember.tensor([1.0]))
        tensor([0.2384])
    """
    x = to_tensor(input)
    return x - _ew.tanh(x)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.threshold(ember.tensor([0.5, 2.0]), 1.0, -1.0)
        tensor([-1.,  2.])
    """
    if inplace:
        return _inplace(_threshold)(input, threshold, value)
    return _threshold(to_tensor(input), threshold, value)


def _threshold(x: Tensor, th: float, value: float) -> Tensor:
    return _ew.where(x > th, x, value)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``dim`` in halves ``a, b`` and return ``a * sigmoid(b)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.glu(ember.tensor([2.0, 0.0]))
        tensor([1.])
    """
    x = to_tensor(input)
    if x.dim() == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    d = wrap_dim("glu", dim, x.dim())
    if x.shape[d] % 2:
        raise RuntimeError(
            f"glu: halving dimension must be even, but dimension {d} is size {x.shape[d]} "
            f"(input of shape {tuple(x.shape)})"
        )
    a, b = x.chunk(2, d)
    return a * _ew.sigmoid(b)
