"""Loss lookup for ``compile(loss=...)`` and sample-weighted loss reduction.

Losses are PyTorch-style: called as ``loss(y_pred, y_true)`` (input first, then target),
taking logits where PyTorch does, and reducing to the batch mean. ``compile`` accepts a
name from :data:`LOSSES`, an ``nn`` loss module (``nn.CrossEntropyLoss()``) or any callable.

With sample weights (``sample_weight=`` or ``class_weight=`` in ``fit``), the loss is taken
per sample (``reduction="none"``; extra dimensions are averaged) and reduced as Keras does:
``sum(weight_i * loss_i) / batch_size``.

Example:
    >>> import ember
    >>> from ember.training.losses_registry import get_loss, weighted_loss
    >>> mse = get_loss("mse")
    >>> pred, target = ember.tensor([[1.0], [3.0]]), ember.tensor([[0.0], [0.0]])
    >>> mse(pred, target)
    tensor(5.)
    >>> weighted_loss(mse, pred, target, ember.tensor([1.0, 0.0]))
    tensor(0.5000)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..tensor import Tensor

__all__ = ["LOSSES", "get_loss", "weighted_loss", "loss_name"]

#: Names accepted by ``compile(loss=...)`` and the ``ember.nn.functional`` loss each maps to.
LOSSES: dict[str, str] = {
    "cross_entropy": "cross_entropy",
    "crossentropy": "cross_entropy",
    "ce": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
    "categorical_crossentropy": "cross_entropy",
    "nll": "nll_loss",
    "nll_loss": "nll_loss",
    "mse": "mse_loss",
    "mse_loss": "mse_loss",
    "mean_squared_error": "mse_loss",
    "mae": "l1_loss",
    "l1": "l1_loss",
    "l1_loss": "l1_loss",
    "mean_absolute_error": "l1_loss",
    "bce": "binary_cross_entropy",
    "binary_crossentropy": "binary_cross_entropy",
    "binary_cross_entropy": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
    "huber": "huber_loss",
    "huber_loss": "huber_loss",
    "smooth_l1": "smooth_l1_loss",
    "smooth_l1_loss": "smooth_l1_loss",
    "kl_div": "kl_div",
    "kld": "kl_div",
    "poisson": "poisson_nll_loss",
    "poisson_nll_loss": "poisson_nll_loss",
    "soft_margin": "soft_margin_loss",
    "multilabel_soft_margin": "multilabel_soft_margin_loss",
}


def get_loss(identifier: str | Callable | None) -> Callable | None:
    """The loss callable for a name, an ``nn`` loss module or a callable (returned as is).

    Example:
        >>> from ember.training.losses_registry import get_loss
        >>> get_loss("sparse_categorical_crossentropy").__name__
        'cross_entropy'
    """
    if identifier is None or (callable(identifier) and not isinstance(identifier, str)):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in LOSSES:
            raise ValueError(
                f"unknown loss {identifier!r}; use a callable, an nn loss module or one of: "
                + ", ".join(sorted(LOSSES))
            )
        from ..nn import functional as F

        return getattr(F, LOSSES[key])
    raise TypeError(f"loss must be a name or a callable, got {type(identifier).__name__}")


def loss_name(fn: Any) -> str:
    """A readable name of a loss (for messages)."""
    return getattr(fn, "__name__", None) or type(fn).__name__


def _accepts_reduction(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "reduction" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def per_sample_loss(fn: Callable, y_pred: Any, y_true: Any) -> Tensor:
    """The loss of each sample as a 1-d tensor (``reduction="none"``, extra dims averaged)."""
    from ..nn.modules.module import Module

    if isinstance(fn, Module) and hasattr(fn, "reduction"):
        old = fn.reduction
        fn.reduction = "none"
        try:
            out = fn(y_pred, y_true)
        finally:
            fn.reduction = old
    elif _accepts_reduction(fn):
        out = fn(y_pred, y_true, reduction="none")
    else:
        out = fn(y_pred, y_true)
    if not isinstance(out, Tensor) or out.ndim == 0:
        raise ValueError(
            f"sample_weight/class_weight need the loss of each sample, but {loss_name(fn)} "
            "returned a scalar; give it a `reduction` argument (reduction='none') or make it "
            "return one loss per sample"
        )
    if out.ndim > 1:
        out = out.reshape(out.shape[0], -1).mean(1)
    return out


def weighted_loss(fn: Callable, y_pred: Any, y_true: Any, sample_weight: Tensor | None) -> Tensor:
    """The batch loss; with ``sample_weight``, ``sum(w_i * loss_i) / batch_size`` (Keras).

    Without weights the loss is called as is (a callable returning per-sample losses is
    averaged).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> from ember.training.losses_registry import weighted_loss
        >>> logits = ember.tensor([[2.0, 0.0], [0.0, 2.0]])
        >>> labels = ember.tensor([0, 0])
        >>> per_sample = F.cross_entropy(logits, labels, reduction="none")
        >>> w = ember.tensor([1.0, 3.0])
        >>> bool(((per_sample * w).mean() - weighted_loss(F.cross_entropy, logits, labels, w)).abs() < 1e-6)
        True
    """
    if sample_weight is None:
        out = fn(y_pred, y_true)
        if isinstance(out, Tensor) and out.ndim > 0:
            out = out.mean()
        return out
    losses = per_sample_loss(fn, y_pred, y_true)
    w = sample_weight
    if w.dtype != losses.dtype:
        w = w.to(losses.dtype)
    w = w.reshape(-1)
    if w.shape[0] != losses.shape[0]:
        raise ValueError(
            f"sample_weight has {w.shape[0]} entries but the batch has {losses.shape[0]} samples"
        )
    return (losses * w).mean()
