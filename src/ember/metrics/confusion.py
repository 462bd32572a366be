"""Confusion-matrix based metrics: :class:`ConfusionMatrix`, :class:`Precision`, :class:`Recall`,
:class:`F1Score` and :class:`FBetaScore`.

They accumulate per-class true positive / false positive / false negative counts over batches,
so the result over several batches equals the result on the concatenated data.

Example:
    >>> from ember.metrics import Precision, Recall
    >>> p, r = Precision(), Recall()
    >>> for preds, labels in [([0.9, 0.2], [1, 0]), ([0.7, 0.1], [0, 1])]:
    ...     p.update_state(preds, labels); r.update_state(preds, labels)
    >>> p.result(), r.result()
    (0.5, 0.5)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functional as F
from .base import ArrayLike, Metric

__all__ = ["ConfusionMatrix", "Precision", "Recall", "F1Score", "FBetaScore"]

_KIND_ORDER = {"binary": 0, "multiclass": 1, "multilabel": 2}


def _pad(a: np.ndarray, k: int) -> np.ndarray:
    return a if a.shape[0] >= k else np.pad(a, (0, k - a.shape[0]))


class FBetaScore(Metric):
    """Running F-beta score from accumulated per-class counts.

    Args:
        beta: weight of recall relative to precision.
        average: ``"binary"``, ``"micro"``, ``"macro"``, ``"weighted"``, ``None`` (per-class
            array) or ``"auto"`` (``"binary"`` for binary inputs, else ``"macro"``).
        num_classes: number of classes (inferred from the scores' last axis or the labels seen).
        threshold: decision threshold for one score per sample (default 0.5); with ``(N, C)``
            scores and multi-hot labels it makes the problem multi-label (default: ``argmax``).
        from_logits: apply a sigmoid to the scores before thresholding.
        zero_division: value for a ratio whose denominator is zero.

    Example:
        >>> m = FBetaScore(beta=2.0)
        >>> m([1, 0, 1, 1], [1, 0, 0, 1])
        0.9090909090909091
    """

    _which = "f"

    def __init__(
        self,
        beta: float = 1.0,
        average: str | None = "auto",
        num_classes: int | None = None,
        threshold: float | None = None,
        from_logits: bool = False,
        zero_division: float = 0.0,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name if name is not None else "fbeta_score", dtype=dtype)
        if average not in ("auto", "binary", "micro", "macro", "weighted", None):
            raise ValueError(f"unknown average {average!r}")
        self.beta = float(beta)
        self.average = average
        self.num_classes = num_classes
        self.threshold = threshold
        self.from_logits = from_logits
        self.zero_division = zero_division
        self.reset_state()

    def reset_state(self) -> None:
        k = self.num_classes or 0
        self.tp = np.zeros(k)
        self.fp = np.zeros(k)
        self.fn = np.zeros(k)
        self._kind: str | None = None

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        P, T, kind = F._indicators(
            y_pred,
            y_true,
            threshold=self.threshold,
            from_logits=self.from_logits,
            num_classes=self.num_classes,
        )
        tp, fp, fn = F._stats(P, T, F._row_weights(sample_weight, P.shape[0]))
        k = max(tp.shape[0], self.tp.shape[0])
        self.tp = _pad(self.tp, k) + _pad(tp, k)
        self.fp = _pad(self.fp, k) + _pad(fp, k)
        self.fn = _pad(self.fn, k) + _pad(fn, k)
        if k > 2 and kind == "binary":
            kind = "multiclass"
        if self._kind is None or _KIND_ORDER[kind] > _KIND_ORDER[self._kind]:
            self._kind = kind

    def result(self) -> float | np.ndarray:
        if self._kind is None:
            return float(self.zero_division) if self.average is not None else np.zeros(0)
        return F._reduce_prf(self.tp, self.fp, self.fn, self._which, self.average, self._kind,
                             self.beta, self.zero_division)  # fmt: skip

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "beta": self.beta,
            "average": self.average,
            "num_classes": self.num_classes,
            "threshold": self.threshold,
            "from_logits": self.from_logits,
            "zero_division": self.zero_division,
        }


class F1Score(FBetaScore):
    """Running F1 score; arguments as in :class:`FBetaScore`.

    Example:
        >>> m = F1Score(average="macro")
        >>> m.update_state([[0.9, 0.1, 0.0], [0.1, 0.8, 0.1]], [0, 1])
        >>> m.update_state([[0.1, 0.2, 0.7], [0.2, 0.3, 0.5]], [2, 1])
        >>> round(m.result(), 4)
        0.7778
    """

    def __init__(
        self,
        average: str | None = "auto",
        num_classes: int | None = None,
        threshold: float | None = None,
        from_logits: bool = False,
        zero_division: float = 0.0,
        name: str = "f1_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(1.0, average, num_classes, threshold, from_logits, zero_division, name,
                         dtype)  # fmt: skip


class Precision(FBetaScore):
    """Running precision ``tp / (tp + fp)``; arguments as in :class:`FBetaScore`.

    Example:
        >>> m = Precision()
        >>> m([0.9, 0.8, 0.3, 0.6], [1, 0, 0, 1])
        0.6666666666666666
        >>> Precision(average=None)([0, 1, 2, 2], [0, 1, 1, 2])
        array([1. , 1. , 0.5])
    """

    _which = "precision"

    def __init__(
        self,
        average: str | None = "auto",
        num_classes: int | None = None,
        threshold: float | None = None,
        from_logits: bool = False,
        zero_division: float = 0.0,
        name: str = "precision",
        dtype: Any = None,
    ) -> None:
        super().__init__(1.0, average, num_classes, threshold, from_logits, zero_division, name,
                         dtype)  # fmt: skip


class Recall(FBetaScore):
    """Running recall ``tp / (tp + fn)``; arguments as in :class:`FBetaScore`.

    Example:
        >>> m = Recall(average="micro")
        >>> m([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], [1, 0, 0])
        0.6666666666666666
    """

    _which = "recall"

    def __init__(
        self,
        average: str | None = "auto",
        num_classes: int | None = None,
        threshold: float | None = None,
        from_logits: bool = False,
        zero_division: float = 0.0,
        name: str = "recall",
        dtype: Any = None,
    ) -> None:
        super().__init__(1.0, average, num_classes, threshold, from_logits, zero_division, name,
                         dtype)  # fmt: skip


class ConfusionMatrix(Metric):
    """Running ``(K, K)`` confusion matrix (rows: true class, columns: predicted class).

    :meth:`result` returns an ``int64`` array (``float64`` once weighted samples were added).
    The size grows to fit new labels unless ``num_classes`` fixes it.

    Example:
        >>> m = ConfusionMatrix()
        >>> m.update_state([0.8, 0.3], [1, 1])
        >>> m.update_state([0.6], [0])
        >>> m.result()
        array([[0, 1],
               [1, 1]])
    """

    def __init__(
        self,
        num_classes: int | None = None,
        threshold: float = 0.5,
        from_logits: bool = False,
        name: str = "confusion_matrix",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self.num_classes = num_classes
        self.threshold = threshold
        self.from_logits = from_logits
        self.reset_state()

    def reset_state(self) -> None:
        k = self.num_classes or 0
        self.matrix = np.zeros((k, k), dtype=np.int64)

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        pred, true, k = F._label_pairs(
            y_pred, y_true, self.threshold, self.from_logits, self.num_classes
        )
        w = None if sample_weight is None else F._row_weights(sample_weight, pred.size)
        batch = F._confusion(pred, true, k, w)
        k = max(k, self.matrix.shape[0])
        grown = np.zeros((k, k), dtype=np.result_type(self.matrix, batch))
        n = self.matrix.shape[0]
        grown[:n, :n] += self.matrix
        grown[: batch.shape[0], : batch.shape[0]] += batch
        self.matrix = grown

    def result(self) -> np.ndarray:
        return self.matrix.copy()

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "threshold": self.threshold,
            "from_logits": self.from_logits,
        }
