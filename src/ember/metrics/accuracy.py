"""Accuracy metrics: :class:`Accuracy`, :class:`BinaryAccuracy`, :class:`CategoricalAccuracy`,
:class:`SparseCategoricalAccuracy` and :class:`TopKAccuracy` (Keras names and semantics).

Example:
    >>> from ember.metrics import SparseCategoricalAccuracy
    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state([[0.1, 0.9], [0.8, 0.2]], [1, 1])
    >>> m.update_state([[2.0, -1.0]], [0])
    >>> m.result()
    0.6666666666666666
"""

from __future__ import annotations

from typing import Any

from . import functional as F
from .base import ArrayLike, _WeightedMean

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
]


class Accuracy(_WeightedMean):
    """Running accuracy that picks its rule from the shapes, like Keras' ``"accuracy"`` string.

    ``(..., C)`` scores with integer labels: sparse categorical; with one-hot labels:
    categorical; one floating score per sample: binary (``> threshold``, sigmoid first with
    ``from_logits=True``); integer predictions: equality. See :func:`ember.metrics.functional.accuracy`.

    Example:
        >>> m = Accuracy()
        >>> m([0.7, 0.2, 0.9], [1, 0, 0])
        0.6666666666666666
    """

    def __init__(
        self,
        name: str = "accuracy",
        threshold: float = 0.5,
        from_logits: bool = False,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold
        self.from_logits = from_logits

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        vals = F._accuracy_values(y_pred, y_true, self.threshold, self.from_logits)
        self._accumulate(vals, sample_weight)

    def get_config(self) -> dict:
        return {"name": self.name, "threshold": self.threshold, "from_logits": self.from_logits}


class BinaryAccuracy(Accuracy):
    """Fraction of elements with ``(y_pred > threshold) == (y_true > 0.5)``.

    For logits pass ``from_logits=True`` (or ``threshold=0.0``). Works element-wise, so it is
    also the multi-label accuracy.

    Example:
        >>> m = BinaryAccuracy(threshold=0.0)
        >>> m([1.5, -0.3, 0.2, -2.0], [1, 0, 0, 0])
        0.75
    """

    def __init__(
        self,
        name: str = "binary_accuracy",
        threshold: float = 0.5,
        from_logits: bool = False,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, threshold=threshold, from_logits=from_logits, dtype=dtype)

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        vals = F._binary_accuracy_values(y_pred, y_true, self.threshold, self.from_logits)
        self._accumulate(vals, sample_weight)


class CategoricalAccuracy(_WeightedMean):
    """Fraction of rows with ``argmax(y_pred) == argmax(y_true)`` (one-hot labels).

    Example:
        >>> m = CategoricalAccuracy()
        >>> m([[0.1, 0.9], [0.6, 0.4]], [[0, 1], [0, 1]])
        0.5
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        self._accumulate(F._categorical_accuracy_values(y_pred, y_true), sample_weight)


class SparseCategoricalAccuracy(_WeightedMean):
    """Fraction of rows with ``argmax(y_pred) == y_true`` (integer labels, logits or probs).

    Example:
        >>> m = SparseCategoricalAccuracy()
        >>> m([[0.1, 0.9], [0.6, 0.4]], [1, 1], sample_weight=[3.0, 1.0])
        0.75
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        self._accumulate(F._sparse_categorical_accuracy_values(y_pred, y_true), sample_weight)


class TopKAccuracy(_WeightedMean):
    """Fraction of rows whose true class is among the ``k`` highest scores.

    Labels may be integers or one-hot rows; ties with the true class's score count as hits.

    Example:
        >>> m = TopKAccuracy(k=2)
        >>> m([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1]], [2, 2])
        0.5
        >>> m.name
        'top_k_accuracy'
    """

    def __init__(self, k: int = 5, name: str = "top_k_accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.k = int(k)

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        self._accumulate(F._top_k_values(y_pred, y_true, self.k), sample_weight)

    def get_config(self) -> dict:
        return {"name": self.name, "k": self.k}


class TopKCategoricalAccuracy(TopKAccuracy):
    """Keras' name for :class:`TopKAccuracy` with one-hot labels.

    Example:
        >>> TopKCategoricalAccuracy(k=1)([[0.2, 0.8]], [[0, 1]])
        1.0
    """

    def __init__(
        self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None
    ) -> None:
        super().__init__(k=k, name=name, dtype=dtype)


class SparseTopKCategoricalAccuracy(TopKAccuracy):
    """Keras' name for :class:`TopKAccuracy` with integer labels.

    Example:
        >>> SparseTopKCategoricalAccuracy(k=1)([[0.2, 0.8]], [0])
        0.0
    """

    def __init__(
        self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None
    ) -> None:
        super().__init__(k=k, name=name, dtype=dtype)
