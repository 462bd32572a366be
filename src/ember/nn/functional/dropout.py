"""Dropout functions. Masks are drawn from ember's global generator (``ember.manual_seed`` makes
them reproducible); kept values are scaled by ``1 / (1 - p)`` so the expectation is unchanged.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.dropout(ember.ones(4), p=0.5, training=False)
    tensor([1., 1., 1., 1.])
"""

from __future__ import annotations

import math

from ..._dispatch import apply
from ...ops._helpers import to_tensor
from ...random import rand_bernoulli
from ...tensor import Tensor

__all__ = [
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
]

_ALPHA = 1.7580993408473766  # SELU scale * alpha


def _check_p(name: str, p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _noise(x: Tensor, shape: tuple, keep: float) -> Tensor:
    # a registry primitive, so a compiled graph draws a fresh mask on every call
    return apply(rand_bernoulli, shape=shape, p=keep, dtype=x.dtype)


def _apply(x: Tensor, noise: Tensor, p: float, inplace: bool, alpha: bool) -> Tensor:
    if alpha:
        a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
        b = (noise - 1.0) * (_ALPHA * a) + _ALPHA * a * p
        scale = noise * a
    else:
        scale, b = noise * (1.0 / (1.0 - p)), None
    if inplace:
        x.mul_(scale)
        return x.add_(b) if b is not None else x
    y = x * scale
    return y + b if b is not None else y


def _dropout(name, input, p, training, inplace, feature_dims=0, alpha=False) -> Tensor:
    p = _check_p(name, p)
    x = to_tensor(input)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x.mul_(0.0) if inplace else x * 0.0
    shape = tuple(x.shape)
    if feature_dims:
        shape = shape[: x.dim() - feature_dims] + (1,) * feature_dims
    return _apply(x, _noise(x, shape, 1.0 - p), p, inplace, alpha)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> _ = ember.manual_seed(0)
        >>> y = F.dropout(ember.ones(1000), p=0.5)
        >>> sorted(set(y.tolist()))
        [0.0, 2.0]
    """
    return _dropout("dropout", input, p, training, inplace)


def _feature(name: str, x: Tensor, batched: int, spatial: int) -> int:
    if x.dim() not in (batched, batched - 1):
        raise RuntimeError(
            f"{name}: expected {batched - 1}-D or {batched}-D input, but received a "
            f"{x.dim()}-D input of shape {tuple(x.shape)}"
        )
    return spatial


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of an ``(N, C, L)`` or ``(C, L)`` input with probability ``p``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> y = F.dropout1d(ember.ones(2, 3, 4), 0.5)
        >>> bool(((y == 0).all(-1) | (y == 2).all(-1)).all())
        True
    """
    x = to_tensor(input)
    return _dropout("dropout1d", x, p, training, inplace, _feature("dropout1d", x, 3, 1))


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of an ``(N, C, H, W)`` or ``(C, H, W)`` input with probability ``p``.

    A 3-D input is read as ``(N, C, L)`` (channel-wise 1-D dropout), as PyTorch does.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.dropout2d(ember.ones(1, 2, 2, 2), 0.5, training=False).shape
        ember.Size([1, 2, 2, 2])
    """
    x = to_tensor(input)
    _feature("dropout2d", x, 4, 2)
    return _dropout("dropout2d", x, p, training, inplace, 2 if x.dim() == 4 else 1)


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of an ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.dropout3d(ember.ones(1, 2, 1, 1, 1), 0.0).sum()
        tensor(2.)
    """
    x = to_tensor(input)
    return _dropout("dropout3d", x, p, training, inplace, _feature("dropout3d", x, 5, 3))


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout for SELU networks: dropped values go to SELU's negative saturation and an affine
    correction keeps mean 0 and variance 1.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.alpha_dropout(ember.ones(3), 0.2)
        tensor([1., 1., 1.])
    """
    return _dropout("alpha_dropout", input, p, training, inplace, alpha=True)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout of whole channels (dims after the first two share one mask value).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.feature_alpha_dropout(ember.ones(1, 2, 3), 0.2).shape
        ember.Size([1, 2, 3])
    """
    x = to_tensor(input)
    return _dropout("feature_alpha_dropout", x, p, training, inplace, max(x.dim() - 2, 0), True)
