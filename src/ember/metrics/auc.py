"""Area under the ROC or precision-recall curve: :class:`AUC`.

**Exact computation.** Unlike Keras, which buckets scores into ``num_thresholds`` fixed
thresholds, ember keeps every score, label and weight seen since the last reset and computes
the exact area in :meth:`AUC.result` (ROC: trapezoidal rule over all distinct scores, ties
handled exactly; PR: average precision, scikit-learn's step-wise definition). Memory grows
with the number of samples (three floats per sample and class), which is fine for evaluation
sets of up to millions of samples.

Example:
    >>> from ember.metrics import AUC
    >>> m = AUC()
    >>> m.update_state([0.1, 0.4], [0, 0])
    >>> m.update_state([0.35, 0.8], [1, 1])
    >>> m.result()
    0.75
    >>> AUC(curve="PR")([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.8333333333333333
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functional as F
from .base import ArrayLike, Metric

__all__ = ["AUC"]


class AUC(Metric):
    """Exact area under the ROC curve (``curve="ROC"``) or PR curve (``curve="PR"``).

    Inputs: one score per sample (binary); ``(N, C)`` scores with integer labels (multi-class,
    one-vs-rest); or ``(N, C)`` scores with multi-hot labels (multi-label). Per-class areas are
    combined by ``average`` (``"macro"``, ``"weighted"``, ``"micro"``, or ``None`` for the
    per-class array). ``from_logits=True`` applies a softmax to multi-class scores (ranking of
    binary or multi-label scores does not change under a sigmoid).

    Where the area is undefined (ROC with a single class present), :meth:`result` returns 0.0
    like Keras, and such classes are left out of a macro average; the functional
    :func:`ember.metrics.functional.roc_auc` raises instead.

    Example:
        >>> m = AUC(name="roc")
        >>> m([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.1, 0.3, 0.6], [0.4, 0.4, 0.2]], [0, 1, 2, 1])
        0.9166666666666666
    """

    def __init__(
        self,
        curve: str = "ROC",
        average: str | None = "macro",
        from_logits: bool = False,
        name: str = "auc",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        curve = curve.upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"curve must be 'ROC' or 'PR', got {curve!r}")
        if average not in ("macro", "micro", "weighted", None):
            raise ValueError(
                f"average must be 'macro', 'micro', 'weighted' or None, got {average!r}"
            )
        self.curve = curve
        self.average = average
        self.from_logits = from_logits
        self.reset_state()

    def reset_state(self) -> None:
        self._scores: list[np.ndarray] = []
        self._labels: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        scores, labels = F._ranking_inputs(y_pred, y_true, self.from_logits)
        if self._scores and scores.shape[1] != self._scores[0].shape[1]:
            raise ValueError(
                f"AUC got {scores.shape[1]} score columns after {self._scores[0].shape[1]}"
            )
        self._scores.append(scores)
        self._labels.append(labels)
        self._weights.append(F._row_weights(sample_weight, scores.shape[0]))

    def result(self) -> float | np.ndarray:
        if not self._scores:
            return 0.0
        scores = np.concatenate(self._scores)
        labels = np.concatenate(self._labels)
        weights = np.concatenate(self._weights)
        fn = F._binary_roc_auc if self.curve == "ROC" else F._binary_average_precision
        if self.average is None or scores.shape[1] == 1 or self.average == "micro":
            out = F._ranking_metric(scores, labels, weights, fn, self.average)
            return np.nan_to_num(out) if isinstance(out, np.ndarray) else (
                0.0 if np.isnan(out) else out)  # fmt: skip
        per_class = F._ranking_metric(scores, labels, weights, fn, None)
        ok = ~np.isnan(per_class)
        if not ok.any():
            return 0.0
        if self.average == "weighted":
            support = (labels * weights[:, None]).sum(axis=0)[ok]
            return float((per_class[ok] * support).sum() / support.sum())
        return float(per_class[ok].mean())

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "curve": self.curve,
            "average": self.average,
            "from_logits": self.from_logits,
        }
