"""Metrics: stateful classes (Keras' ``update_state`` / ``result`` / ``reset_state``) and
functional forms in :mod:`ember.metrics.functional`.

Every metric takes ``(y_pred, y_true, sample_weight=None)`` as ember tensors, NumPy arrays or
lists; predictions may be probabilities or logits (``argmax`` for categorical problems,
``threshold=0.5`` for binary ones, ``from_logits=True`` to apply a sigmoid first).
:func:`get` resolves Keras names such as ``"accuracy"`` or ``"mae"``.

Example:
    >>> import ember
    >>> from ember import metrics
    >>> acc = metrics.get("accuracy")
    >>> logits = ember.tensor([[2.0, -1.0, 0.1], [0.3, 0.2, 1.5]])
    >>> acc.update_state(logits, ember.tensor([0, 1]))
    >>> acc.result()
    0.5
    >>> acc.reset_state()
    >>> metrics.functional.mean_squared_error([1.0, 2.0], [1.0, 3.0])
    0.5
"""

from . import functional
from .accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKAccuracy,
    TopKCategoricalAccuracy,
)
from .auc import AUC
from .base import Mean, MeanMetricWrapper, Metric, Sum
from .confusion import ConfusionMatrix, F1Score, FBetaScore, Precision, Recall
from .registry import available, get, register
from .regression import MeanAbsoluteError, MeanSquaredError, R2Score, RootMeanSquaredError

__all__ = [
    "Metric",
    "Mean",
    "Sum",
    "MeanMetricWrapper",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "Precision",
    "Recall",
    "F1Score",
    "FBetaScore",
    "ConfusionMatrix",
    "AUC",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "RootMeanSquaredError",
    "R2Score",
    "functional",
    "get",
    "register",
    "available",
]
