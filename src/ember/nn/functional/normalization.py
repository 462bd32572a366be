"""Normalisation functions: layer/batch/group/instance/RMS/local-response norm, ``normalize``
and the distance helpers ``cosine_similarity`` and ``pairwise_distance``.

layer_norm with weight and bias is one fused primitive (``ember.ops.norm_kernels``); otherwise
layer_norm, batch_norm (training), group_norm and instance_norm share the fused ``standardize``
primitive (``ember.ops.nn_kernels``) and the affine part is ordinary broadcasting ops.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.layer_norm(ember.tensor([[1.0, 3.0]]), (2,))
    tensor([[-1.0000,  1.0000]])
"""

from __future__ import annotations

import numpy as np

from ... import _dispatch
from ...autograd.grad_mode import no_grad
from ...ops import elementwise as _ew
from ...ops import norm_kernels as _norm_kernels
from ...ops._helpers import broadcast_shapes, to_tensor, wrap_dim
from ...ops.nn_kernels import standardize
from ...ops.reduce import mean as _mean
from ...ops.reduce import sum as _sum
from ...ops.reduce import vector_norm
from ...tensor import Tensor

__all__ = [
    "layer_norm",
    "group_norm",
    "batch_norm",
    "instance_norm",
    "rms_norm",
    "local_response_norm",
    "normalize",
    "cosine_similarity",
    "pairwise_distance",
]


def _shape_tuple(shape) -> tuple:
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims, then ``* weight + bias``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.layer_norm(ember.tensor([[0.0, 2.0], [1.0, 1.0]]), [2])
        tensor([[-1.0000,  1.0000],
                [ 0.0000,  0.0000]])
    """
    x = to_tensor(input)
    shape = _shape_tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(x.shape[x.dim() - k :]) != shape or x.dim() < k:
        raise RuntimeError(
            f"layer_norm: input of shape {tuple(x.shape)} does not end with normalized_shape "
            f"{list(shape)} (expected input of shape [*, {', '.join(map(str, shape))}])"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise RuntimeError(
                f"layer_norm: {name} of shape {tuple(p.shape)} does not match normalized_shape "
                f"{list(shape)}"
            )
    if (
        weight is not None
        and bias is not None
        and x.is_floating_point()
        and x._data.dtype == weight._data.dtype == bias._data.dtype
        and not _dispatch.is_traced()  # tracers see standardize, which every backend lowers
    ):
        return _norm_kernels.layer_norm(x, weight, bias, k, eps)
    y = standardize(x, tuple(range(x.dim() - k, x.dim())), eps)[0]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _channel_view(p: Tensor, ndim: int) -> Tensor:
    return p.reshape((p.shape[0],) + (1,) * (ndim - 2))


def _affine(y: Tensor, weight, bias) -> Tensor:
    if weight is not None:
        y = y * _channel_view(weight, y.dim())
    if bias is not None:
        y = y + _channel_view(bias, y.dim())
    return y


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over all dims but the channel dim (1).

    In training the batch statistics are used and, when given, ``running_mean`` and
    ``running_var`` (unbiased) are updated in place: ``r = (1 - momentum) * r + momentum * stat``.
    Otherwise the running statistics are used.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> rm, rv = ember.zeros(1), ember.ones(1)
        >>> F.batch_norm(ember.tensor([[1.0], [3.0]]), rm, rv, training=True)
        tensor([[-1.0000],
                [ 1.0000]])
        >>> rm, rv
        (tensor([0.2000]), tensor([1.1000]))
    """
    x = to_tensor(input)
    if x.dim() < 2:
        raise ValueError(
            f"batch_norm: expected an input of at least 2 dims (N, C, ...), got shape "
            f"{tuple(x.shape)}"
        )
    c = x.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and t.numel() != c:
            raise RuntimeError(
                f"batch_norm: {name} of shape {tuple(t.shape)} does not match the {c} channels "
                f"of an input of shape {tuple(x.shape)}"
            )
    axes = (0,) + tuple(range(2, x.dim()))
    if training:
        count = x.numel() // max(c, 1)
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"size {list(x.shape)}"
            )
        y, mean, rstd = standardize(x, axes, eps)
        if running_mean is not None or running_var is not None:
            with no_grad():
                m = momentum if momentum is not None else 0.0
                if running_mean is not None:
                    bm = mean.reshape(c).to(running_mean.dtype)
                    running_mean.mul_(1 - m).add_(bm * m)
                if running_var is not None:
                    var = (1.0 / (rstd * rstd) - eps).reshape(c) * (count / (count - 1))
                    running_var.mul_(1 - m).add_(var.to(running_var.dtype) * m)
        return _affine(y, weight, bias)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are required when not training")
    rm = _channel_view(running_mean.to(x.dtype), x.dim())
    rv = _channel_view(running_var.to(x.dtype), x.dim())
    return _affine((x - rm) * _ew.rsqrt(rv + eps), weight, bias)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each sample over its spatial dims.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.instance_norm(ember.tensor([[[1.0, 3.0]]]))
        tensor([[[-1.0000,  1.0000]]])
    """
    x = to_tensor(input)
    if x.dim() < 3:
        raise ValueError(
            f"instance_norm: expected an input of at least 3 dims (N, C, L...), got shape "
            f"{tuple(x.shape)}"
        )
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    n, c = x.shape[0], x.shape[1]
    axes = tuple(range(2, x.dim()))
    y, mean, rstd = standardize(x, axes, eps)
    if running_mean is not None or running_var is not None:
        count = x.numel() // (n * c)
        with no_grad():
            if running_mean is not None:
                bm = mean.reshape(n, c).mean(0)
                running_mean.mul_(1 - momentum).add_(bm.to(running_mean.dtype) * momentum)
            if running_var is not None:
                var = (1.0 / (rstd * rstd) - eps).reshape(n, c).mean(0)
                var = var * (count / max(count - 1, 1))
                running_var.mul_(1 - momentum).add_(var.to(running_var.dtype) * momentum)
    return _affine(y, weight, bias)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over groups of channels (and all spatial dims) of each sample.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.group_norm(ember.tensor([[1.0, 3.0, 5.0, 5.0]]), 2)
        tensor([[-1.0000,  1.0000,  0.0000,  0.0000]])
    """
    x = to_tensor(input)
    if x.dim() < 2:
        raise RuntimeError(
            f"group_norm: expected an input of at least 2 dims (N, C, ...), got shape "
            f"{tuple(x.shape)}"
        )
    n, c = x.shape[0], x.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"group_norm: expected the {c} channels of an input of shape {tuple(x.shape)} to be "
            f"divisible by num_groups={num_groups}"
        )
    y = standardize(x.reshape(n, num_groups, -1), (2,), eps)[0].reshape(tuple(x.shape))
    return _affine(y, weight, bias)


def rms_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` dims
    (``eps`` defaults to the dtype's machine epsilon, as in PyTorch).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.rms_norm(ember.tensor([[3.0, 4.0]]), [2], eps=0.0)
        tensor([[0.8485, 1.1314]])
    """
    x = to_tensor(input)
    shape = _shape_tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.dim() < k or tuple(x.shape[x.dim() - k :]) != shape:
        raise RuntimeError(
            f"rms_norm: input of shape {tuple(x.shape)} does not end with normalized_shape "
            f"{list(shape)}"
        )
    if eps is None:
        eps = float(np.finfo(x._data.dtype).eps) if x.is_floating_point() else 1e-6
    dims = tuple(range(x.dim() - k, x.dim()))
    y = x * _ew.rsqrt(_mean(x * x, dim=dims, keepdim=True) + eps)
    return y * weight if weight is not None else y


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Normalise each value by the squares of its ``size`` neighbouring channels.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.local_response_norm(ember.ones(1, 2, 1), 2, alpha=1.0, beta=1.0)
        tensor([[[0.6667],
                 [0.5000]]])
    """
    x = to_tensor(input)
    if x.dim() < 3:
        raise ValueError(
            f"local_response_norm: expected 3D or higher dimensional input, got shape "
            f"{tuple(x.shape)}"
        )
    if x.numel() == 0:
        return x
    from ...ops.movement import pad

    c = x.shape[1]
    sq = (x * x).movedim(1, -1)
    sq = pad(sq, (size // 2, (size - 1) // 2))
    window = sq[..., 0:c]
    for i in range(1, size):
        window = window + sq[..., i : i + c]
    div = (window.movedim(-1, 1) * (alpha / size) + k) ** beta
    return x / div


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None
) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.normalize(ember.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    x = to_tensor(input)
    d = wrap_dim("normalize", dim, x.dim())
    denom = _ew.clamp(vector_norm(x, p, d, keepdim=True), min=eps)
    res = x / denom
    if out is not None:
        return out.copy_(res)
    return res


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcasting); each norm is
    clamped below by ``eps``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.cosine_similarity(ember.tensor([[1.0, 0.0]]), ember.tensor([[1.0, 1.0]]))
        tensor([0.7071])
    """
    a, b = to_tensor(x1), to_tensor(x2)
    shape = broadcast_shapes("cosine_similarity", tuple(a.shape), tuple(b.shape))
    d = wrap_dim("cosine_similarity", dim, len(shape))
    na = _ew.clamp(vector_norm(a, 2, d - len(shape) + a.dim(), keepdim=True), min=eps)
    nb = _ew.clamp(vector_norm(b, 2, d - len(shape) + b.dim(), keepdim=True), min=eps)
    return _sum((a / na) * (b / nb), dim=d)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.pairwise_distance(ember.tensor([[0.0, 0.0]]), ember.tensor([[3.0, 4.0]]), eps=0.0)
        tensor([5.])
    """
    a, b = to_tensor(x1), to_tensor(x2)
    diff = a - b + eps
    if diff.dim() == 0:
        diff = diff.reshape(1)
    return vector_norm(diff, p, -1, keepdim=keepdim)
