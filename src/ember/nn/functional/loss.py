"""Loss functions (PyTorch's ``torch.nn.functional`` losses, same arguments and reductions).

``cross_entropy`` with class indices runs one fused primitive (log-softmax, pick, weight,
ignore_index, label smoothing and reduction, with its own backward kernel); the other losses are
composites of ember ops. ``size_average``/``reduce`` are PyTorch's deprecated spellings of
``reduction`` and are still understood.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.mse_loss(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0]))
    tensor(2.)
"""

from __future__ import annotations

import numpy as np

from ... import dtypes as _dt
from ...ops import elementwise as _ew
from ...ops._helpers import to_tensor
from ...ops.indexing import take_along_dim
from ...ops.nn_kernels import cross_entropy_indices, ctc_nll, log_softmax
from ...ops.reduce import sum as _sum
from ...tensor import Tensor
from .activation import logsigmoid
from .normalization import pairwise_distance

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "triplet_margin_loss",
    "hinge_embedding_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "ctc_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average, reduce, reduction: str = "mean") -> str:
    """Map PyTorch's deprecated ``size_average``/``reduce`` flags onto ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check_reduction(name: str, reduction: str, extra=()) -> None:
    if reduction not in _REDUCTIONS + tuple(extra):
        raise ValueError(f"{name}: {reduction!r} is not a valid value for reduction")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(name: str, input: Tensor, target: Tensor) -> None:
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{name}: target of shape {tuple(target.shape)} differs from input of shape "
            f"{tuple(input.shape)}; please ensure they have the same size"
        )


def _broadcastable(name: str, input: Tensor, target: Tensor) -> None:
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    except ValueError:
        raise ValueError(
            f"{name}: input of shape {tuple(input.shape)} and target of shape "
            f"{tuple(target.shape)} cannot be broadcast together"
        ) from None


# ---------------------------------------------------------------------------------------------
# classification
# ---------------------------------------------------------------------------------------------
def _class_layout(name: str, x: Tensor, t: Tensor, probs: bool):
    """Flatten ``(N, C, d1, ...)`` logits to ``(M, C)`` rows; check the target's shape."""
    if x.dim() == 0:
        raise ValueError(f"{name}: input must have at least 1 dim (C,), got a 0-d tensor")
    unbatched = x.dim() == 1
    c = x.shape[0] if unbatched else x.shape[1]
    expected = (
        tuple(x.shape) if probs else (() if unbatched else (x.shape[0],) + tuple(x.shape[2:]))
    )
    if tuple(t.shape) != expected:
        if not probs and not unbatched and t.dim() >= 1 and t.shape[0] != x.shape[0]:
            why = f"batch sizes differ ({x.shape[0]} vs {t.shape[0]})"
        else:
            why = f"expected a target of shape {expected}"
        kind = "class probabilities" if probs else "class indices"
        raise ValueError(
            f"{name}: input of shape {tuple(x.shape)} and target of shape {tuple(t.shape)} "
            f"({kind}): {why}"
        )
    if unbatched:
        rows = x.reshape(1, c)
    elif x.dim() == 2:
        rows = x
    else:
        rows = x.movedim(1, -1).reshape(-1, c)
    return rows, c, unbatched


def _check_weight(name: str, weight, c: int) -> None:
    if weight is not None and (weight.dim() != 1 or weight.shape[0] != c):
        raise ValueError(
            f"{name}: weight of shape {tuple(weight.shape)} does not match the {c} classes "
            "(expected a 1-D tensor of size C)"
        )


def _class_targets(name: str, t: Tensor, c: int, ignore_index: int) -> np.ndarray:
    flat = t._data.reshape(-1).astype(np.int64, copy=False)
    bad = (flat != ignore_index) & ((flat < 0) | (flat >= c))
    if bad.any():
        raise IndexError(
            f"{name}: target {int(flat[bad][0])} is out of bounds for {c} classes "
            f"(valid class indices are 0..{c - 1}, ignore_index={ignore_index})"
        )
    return flat


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross entropy between logits ``(N, C, d1, ...)`` (or ``(C,)``) and a target of class
    indices ``(N, d1, ...)`` or class probabilities (same shape as the input).

    ``weight`` rescales each class, ``ignore_index`` drops targets (indices only),
    ``label_smoothing`` mixes the target with the uniform distribution, and ``reduction`` is
    ``"none"``, ``"mean"`` (weighted mean over non-ignored targets) or ``"sum"``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.cross_entropy(ember.tensor([[0.0, 0.0], [0.0, 0.0]]), ember.tensor([0, 1]))
        tensor(0.6931)
        >>> F.cross_entropy(ember.zeros(2, 2), ember.tensor([[1.0, 0.0], [0.5, 0.5]]))
        tensor(0.6931)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}"
        )
    x, t = to_tensor(input), to_tensor(target)
    probs = t.is_floating_point()
    rows, c, unbatched = _class_layout("cross_entropy", x, t, probs)
    _check_weight("cross_entropy", weight, c)
    if probs:
        return _cross_entropy_probs(x, t, weight, reduction, label_smoothing, c, unbatched)
    if not rows.is_floating_point():
        raise TypeError(f"cross_entropy: expected floating point logits, got {x.dtype}")
    _class_targets("cross_entropy", t, c, ignore_index)  # validates the indices
    flat = t.reshape(-1)  # through the registry, so ember.compile sees the targets
    if flat.dtype is not _dt.int64:
        flat = flat.long()
    w = weight.detach().to(rows.dtype) if weight is not None else None
    loss = cross_entropy_indices(rows, flat, w, ignore_index, label_smoothing, reduction)
    return loss.reshape(tuple(t.shape)) if reduction == "none" else loss


def _cross_entropy_probs(x, t, weight, reduction, eps, c, unbatched) -> Tensor:
    dim = 0 if unbatched else 1
    logp = log_softmax(x, dim)
    if eps:
        t = t * (1 - eps) + eps / c
    prod = logp * t
    if weight is not None:
        shape = (c,) + (1,) * (x.dim() - dim - 1)
        prod = prod * weight.reshape(shape)
    loss = -_sum(prod, dim=dim)
    if reduction == "mean":
        return loss.sum() / max(x.numel() // max(c, 1), 1) if loss.numel() else loss.mean()
    return loss.sum() if reduction == "sum" else loss


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of log-probabilities ``(N, C, d1, ...)`` at class indices.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.nll_loss(ember.tensor([[-1.0, -2.0], [-3.0, -4.0]]), ember.tensor([1, 0]))
        tensor(2.5000)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("nll_loss", reduction)
    x, t = to_tensor(input), to_tensor(target)
    if t.is_floating_point():
        raise TypeError(f"nll_loss: expected a target of class indices, got {t.dtype}")
    rows, c, _ = _class_layout("nll_loss", x, t, False)
    _check_weight("nll_loss", weight, c)
    _class_targets("nll_loss", t, c, ignore_index)  # validates the indices
    flat = t.reshape(-1)  # ember ops from here on, so ember.compile sees the targets
    if flat.dtype is not _dt.int64:
        flat = flat.long()
    mask = flat != ignore_index
    tc = _ew.where(mask, flat, 0)
    wt = mask.to(rows.dtype)
    if weight is not None:
        wt = weight.detach().to(rows.dtype)[tc] * wt
    picked = take_along_dim(rows, tc.unsqueeze(1), 1).reshape(-1)
    loss = -picked * wt
    if reduction == "none":
        return loss.reshape(tuple(t.shape))
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / wt.sum()


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``-(t * log(x) + (1 - t) * log(1 - x))`` for probabilities ``x`` (logs clamped at -100).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.binary_cross_entropy(ember.tensor([0.5, 0.5]), ember.tensor([1.0, 0.0]))
        tensor(0.6931)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("binary_cross_entropy", reduction)
    x, t = to_tensor(input), to_tensor(target)
    _same_shape("binary_cross_entropy", x, t)
    if x.numel() and (x._data.min() < 0 or x._data.max() > 1):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1")
    log_x = _ew.clamp(_ew.log(x), min=-100.0)
    log_1mx = _ew.clamp(_ew.log(1.0 - x), min=-100.0)
    loss = -(t * log_x + (1.0 - t) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + binary cross entropy in one stable formula; ``pos_weight`` weights positives
    (broadcast along the last dim, one per class).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.binary_cross_entropy_with_logits(ember.tensor([0.0, 100.0]), ember.tensor([1.0, 1.0]))
        tensor(0.3466)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    x, t = to_tensor(input), to_tensor(target)
    _same_shape("binary_cross_entropy_with_logits", x, t)
    # softplus(-x) = log(1 + exp(-x)), computed without overflow
    sp = _ew.log1p(_ew.exp(-_ew.abs(x))) + _ew.relu(-x)
    if pos_weight is not None:
        loss = (1.0 - t) * x + (t * (pos_weight - 1.0) + 1.0) * sp
    else:
        loss = (1.0 - t) * x + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Per-sample mean over classes of binary cross entropy with logits (targets 0/1).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.multilabel_soft_margin_loss(ember.zeros(1, 2), ember.tensor([[1.0, 0.0]]))
        tensor(0.6931)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("multilabel_soft_margin_loss", reduction)
    x, t = to_tensor(input), to_tensor(target)
    _same_shape("multilabel_soft_margin_loss", x, t)
    loss = -(t * logsigmoid(x) + (1.0 - t) * logsigmoid(-x))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(-1) / x.shape[-1] if x.dim() else loss
    return _reduce(loss, reduction)


def soft_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``log(1 + exp(-y * x))`` for targets ``y`` in {1, -1}.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.soft_margin_loss(ember.tensor([0.0]), ember.tensor([1.0]))
        tensor(0.6931)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("soft_margin_loss", reduction)
    x, t = to_tensor(input), to_tensor(target)
    _same_shape("soft_margin_loss", x, t)
    z = -t * x
    return _reduce(_ew.log1p(_ew.exp(-_ew.abs(z))) + _ew.relu(z), reduction)


# ---------------------------------------------------------------------------------------------
# regression
# ---------------------------------------------------------------------------------------------
def _diff(name, input, target, size_average, reduce, reduction):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(name, reduction)
    x, t = to_tensor(input), to_tensor(target)
    _broadcastable(name, x, t)
    return x - t, reduction


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error ``(x - y)^2``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.mse_loss(ember.tensor([0.0, 0.0]), ember.tensor([1.0, 3.0]), reduction="sum")
        tensor(10.)
    """
    d, reduction = _diff("mse_loss", input, target, size_average, reduce, reduction)
    loss = d * d
    return _reduce(loss * weight if weight is not None else loss, reduction)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error ``|x - y|``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.l1_loss(ember.tensor([0.0, 0.0]), ember.tensor([1.0, -3.0]))
        tensor(2.)
    """
    d, reduction = _diff("l1_loss", input, target, size_average, reduce, reduction)
    loss = _ew.abs(d)
    return _reduce(loss * weight if weight is not None else loss, reduction)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (L1 when beta is 0).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.smooth_l1_loss(ember.tensor([0.0, 0.0]), ember.tensor([0.5, 3.0]), reduction="none")
        tensor([0.1250, 2.5000])
    """
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    d, reduction = _diff("smooth_l1_loss", input, target, size_average, reduce, reduction)
    a = _ew.abs(d)
    if beta == 0:
        return _reduce(a, reduction)
    return _reduce(_ew.where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta), reduction)


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 delta)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.huber_loss(ember.tensor([0.0, 0.0]), ember.tensor([0.5, 3.0]), delta=2.0,
        ...              reduction="none")
        tensor([0.1250, 4.0000])
    """
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got {delta}")
    d, reduction = _diff("huber_loss", input, target, None, None, reduction)
    a = _ew.abs(d)
    loss = _ew.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    return _reduce(loss * weight if weight is not None else loss, reduction)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL divergence with ``input`` as log-probabilities: ``t * (log t - input)``.

    ``reduction="batchmean"`` divides the sum by the batch size (the mathematically correct
    KL); ``log_target=True`` takes the target as log-probabilities too.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> p = ember.tensor([[0.5, 0.5]])
        >>> F.kl_div(p.log(), p, reduction="batchmean")
        tensor(0.)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("kl_div", reduction, ("batchmean",))
    x, t = to_tensor(input), to_tensor(target)
    _broadcastable("kl_div", x, t)
    if log_target:
        loss = _ew.exp(t) * (t - x)
    else:
        loss = _ew.xlogy(t, t) - t * x
    if reduction == "batchmean":
        return loss.sum() / x.shape[0] if x.dim() else loss.sum()
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log likelihood (``exp(x) - t * x`` for log inputs).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.poisson_nll_loss(ember.tensor([0.0]), ember.tensor([1.0]))
        tensor(1.)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("poisson_nll_loss", reduction)
    x, t = to_tensor(input), to_tensor(target)
    loss = _ew.exp(x) - t * x if log_input else x - t * _ew.log(x + eps)
    if full:
        stirling = t * _ew.log(t) - t + _ew.log(t * (2 * np.pi)) * 0.5
        loss = loss + _ew.where(t > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Gaussian negative log likelihood ``0.5 * (log var + (x - t)^2 / var)`` (var clamped).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.gaussian_nll_loss(ember.tensor([0.0]), ember.tensor([2.0]), ember.tensor([1.0]))
        tensor(2.)
    """
    _check_reduction("gaussian_nll_loss", reduction)
    x, t = to_tensor(input), to_tensor(target)
    v = to_tensor(var)
    if v.dim() == x.dim() - 1 or (v.dim() == x.dim() and v.shape[-1] == 1 and x.shape[-1] != 1):
        v = v.reshape(tuple(v.shape[: x.dim() - 1]) + (1,))
    if v.numel() and v._data.min() < 0:
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    v = v.clone()
    with __import__("ember").no_grad():
        v.clamp_(min=eps)
    loss = (_ew.log(v) + (x - t) ** 2 / v) * 0.5
    if full:
        loss = loss + 0.5 * np.log(2 * np.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------------------------
# embedding / ranking
# ---------------------------------------------------------------------------------------------
def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``1 - cos(x1, x2)`` for ``y = 1`` and ``max(0, cos(x1, x2) - margin)`` for ``y = -1``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> x = ember.tensor([[1.0, 0.0]])
        >>> F.cosine_embedding_loss(x, x, ember.tensor([1]))
        tensor(0.)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("cosine_embedding_loss", reduction)
    a, b, y = to_tensor(input1), to_tensor(input2), to_tensor(target)
    if (
        a.dim() not in (1, 2)
        or tuple(a.shape) != tuple(b.shape)
        or y.dim() != a.dim() - 1
        or (a.dim() == 2 and y.shape[0] != a.shape[0])
    ):
        raise RuntimeError(
            f"cosine_embedding_loss: inputs of shapes {tuple(a.shape)} and {tuple(b.shape)} and "
            f"target of shape {tuple(y.shape)} do not match (expected (N, D), (N, D), (N,) "
            "or (D,), (D,), ())"
        )
    eps = 1e-12
    prod = _sum(a * b, dim=-1)
    m1 = _sum(a * a, dim=-1) + eps
    m2 = _sum(b * b, dim=-1) + eps
    cos = prod / _ew.sqrt(m1 * m2)
    loss = _ew.where(y == 1, 1.0 - cos, 0.0) + _ew.where(y == -1, _ew.relu(cos - margin), 0.0)
    return _reduce(loss, reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, -y * (x1 - x2) + margin)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.margin_ranking_loss(ember.tensor([1.0]), ember.tensor([2.0]), ember.tensor([1.0]))
        tensor(1.)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("margin_ranking_loss", reduction)
    a, b, y = to_tensor(input1), to_tensor(input2), to_tensor(target)
    if not (a.dim() == b.dim() == y.dim()):
        raise RuntimeError(
            f"margin_ranking_loss: input1 of shape {tuple(a.shape)}, input2 of shape "
            f"{tuple(b.shape)} and target of shape {tuple(y.shape)} must have the same number "
            "of dimensions"
        )
    return _reduce(_ew.relu(-y * (a - b) + margin), reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``x`` where ``y = 1`` and ``max(0, margin - x)`` where ``y = -1``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.hinge_embedding_loss(ember.tensor([0.3, 0.3]), ember.tensor([1.0, -1.0]),
        ...                        reduction="none")
        tensor([0.3000, 0.7000])
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("hinge_embedding_loss", reduction)
    x, y = to_tensor(input), to_tensor(target)
    loss = _ew.where(y != 1, _ew.relu(margin - x), 0.0) + _ew.where(y != -1, x, 0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d`` the pairwise p-norm distance;
    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> a = ember.tensor([[0.0, 0.0]])
        >>> F.triplet_margin_loss(a, a, ember.tensor([[3.0, 4.0]]), eps=0.0)
        tensor(0.)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction("triplet_margin_loss", reduction)
    a, pos, neg = to_tensor(anchor), to_tensor(positive), to_tensor(negative)
    if not (a.dim() == pos.dim() == neg.dim()) or a.dim() not in (1, 2):
        raise RuntimeError(
            f"triplet_margin_loss: anchor {tuple(a.shape)}, positive {tuple(pos.shape)} and "
            f"negative {tuple(neg.shape)} must all be 1-D or 2-D"
        )
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = _ew.minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return _reduce(_ew.relu(d_pos - d_neg + margin), reduction)


# ---------------------------------------------------------------------------------------------
# CTC
# ---------------------------------------------------------------------------------------------
def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification loss of ``(T, N, C)`` log-probabilities.

    ``targets`` is ``(N, S)`` padded or 1-D concatenated; lengths are tensors or sequences.
    ``"mean"`` divides each loss by its target length, then averages over the batch. The
    forward-backward (alpha/beta) recursions run in NumPy, vectorised over the batch.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> lp = ember.full((1, 1, 2), 0.5).log()
        >>> F.ctc_loss(lp, ember.tensor([[1]]), [1], [1], reduction="sum")
        tensor(0.6931)
    """
    _check_reduction("ctc_loss", reduction)
    lp, tg = to_tensor(log_probs), to_tensor(targets)
    unbatched = lp.dim() == 2
    if unbatched:
        lp, tg = lp.unsqueeze(1), tg.reshape(1, -1)
    if lp.dim() != 3:
        raise ValueError(f"ctc_loss: expected (T, N, C) log_probs, got shape {tuple(lp.shape)}")
    n = lp.shape[1]
    li = _lengths(input_lengths, n, "input_lengths")
    lt = _lengths(target_lengths, n, "target_lengths")
    tdata = tg if tg.dtype is _dt.int64 else tg.long()  # ember ops: ember.compile sees targets
    if tdata.dim() == 1:  # concatenated targets -> padded (N, S)
        if tdata.shape[0] != lt.sum():
            raise ValueError(
                f"ctc_loss: 1-D targets of length {tdata.shape[0]} but target_lengths sum to "
                f"{lt.sum()}"
            )
        cols = np.arange(max(int(lt.max(initial=0)), 1))
        inside = cols < lt[:, None]
        if tdata.shape[0]:
            starts = np.concatenate([[0], np.cumsum(lt)[:-1]])[:, None]
            picked = tdata[Tensor._wrap(np.where(inside, starts + cols, 0))]
            tdata = _ew.where(Tensor._wrap(inside), picked, 0)
        else:
            tdata = Tensor._wrap(np.zeros(inside.shape, np.int64))
    elif tdata.shape[1] == 0:
        tdata = Tensor._wrap(np.zeros((n, 1), np.int64))
    nll = ctc_nll(lp, tdata, li.tolist(), lt.tolist(), blank, zero_infinity)
    if reduction == "none":
        return nll.reshape(()) if unbatched else nll
    if reduction == "sum":
        return nll.sum()
    return (nll / Tensor._wrap(np.maximum(lt, 1).astype(nll._data.dtype))).mean()


def _lengths(v, n: int, name: str) -> np.ndarray:
    # tolist(): under ember.compile, lengths held in traced tensors are refused (not frozen)
    arr = np.asarray(v.tolist() if isinstance(v, Tensor) else v, dtype=np.int64).reshape(-1)
    if arr.size != n:
        raise ValueError(f"ctc_loss: {name} has {arr.size} entries for a batch of {n}")
    return arr
