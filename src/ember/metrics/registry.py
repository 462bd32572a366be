"""Look up metrics by Keras-style name: :func:`get` and :func:`register`.

Example:
    >>> from ember.metrics import get
    >>> m = get("top3")
    >>> type(m).__name__, m.k, m.name
    ('TopKAccuracy', 3, 'top3')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKAccuracy,
)
from .auc import AUC
from .base import Mean, MeanMetricWrapper, Metric, Sum
from .confusion import ConfusionMatrix, F1Score, Precision, Recall
from .regression import MeanAbsoluteError, MeanSquaredError, R2Score, RootMeanSquaredError

__all__ = ["get", "register", "available"]

_REGISTRY: dict[str, Callable[[str], Metric]] = {}


def register(name: str, factory: Callable[[str], Metric]) -> None:
    """Make ``get(name)`` return ``factory(name)`` (``factory`` gets the metric's name).

    Example:
        >>> from ember.metrics import Mean, get, register
        >>> register("my_mean", lambda name: Mean(name=name))
        >>> get("my_mean").name
        'my_mean'
    """
    _REGISTRY[name.lower()] = factory


def available() -> list[str]:
    """Names :func:`get` understands (besides ``"top<k>"``).

    Example:
        >>> "f1" in available()
        True
    """
    return sorted(_REGISTRY)


for _names, _factory in [
    (("accuracy", "acc"), lambda n: Accuracy(name=n)),
    (("binary_accuracy",), lambda n: BinaryAccuracy(name=n)),
    (("categorical_accuracy",), lambda n: CategoricalAccuracy(name=n)),
    (("sparse_categorical_accuracy",), lambda n: SparseCategoricalAccuracy(name=n)),
    (
        ("top_k_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"),
        lambda n: TopKAccuracy(k=5, name=n),
    ),
    (("precision",), lambda n: Precision(name=n)),
    (("recall",), lambda n: Recall(name=n)),
    (("f1", "f1_score"), lambda n: F1Score(name=n)),
    (("auc", "roc_auc", "auc_roc"), lambda n: AUC(curve="ROC", name=n)),
    (("pr_auc", "auc_pr", "average_precision"), lambda n: AUC(curve="PR", name=n)),
    (("confusion_matrix",), lambda n: ConfusionMatrix(name=n)),
    (("mae", "mean_absolute_error"), lambda n: MeanAbsoluteError(name=n)),
    (("mse", "mean_squared_error"), lambda n: MeanSquaredError(name=n)),
    (("rmse", "root_mean_squared_error"), lambda n: RootMeanSquaredError(name=n)),
    (("r2", "r2_score"), lambda n: R2Score(name=n)),
    (("mean",), lambda n: Mean(name=n)),
    (("sum",), lambda n: Sum(name=n)),
]:
    for _name in _names:
        _REGISTRY[_name] = _factory

_TOP_K = re.compile(r"^(?:sparse_)?top[_-]?(\d+)(?:_categorical)?(?:_accuracy)?$")


def get(identifier: Any) -> Metric:
    """Resolve ``identifier`` to a stateful :class:`Metric`.

    * a name (case-insensitive): ``"accuracy"``/``"acc"``, ``"binary_accuracy"``,
      ``"categorical_accuracy"``, ``"sparse_categorical_accuracy"``, ``"top_k_accuracy"``,
      ``"top5"`` (any k), ``"precision"``, ``"recall"``, ``"f1"``, ``"auc"``, ``"pr_auc"``,
      ``"confusion_matrix"``, ``"mae"``, ``"mse"``, ``"rmse"``, ``"r2"`` and their long Keras
      names; the metric's ``name`` is the string given (as Keras logs it);
    * a :class:`Metric` instance: returned as is; a :class:`Metric` subclass: instantiated;
    * any other callable ``fn(y_pred, y_true)`` returning per-sample values or a scalar (e.g. a
      loss module): wrapped in a :class:`MeanMetricWrapper`.

    Example:
        >>> from ember.metrics import get
        >>> m = get("accuracy")
        >>> m.update_state([[0.1, 0.9], [0.7, 0.3]], [1, 1])
        >>> m.name, m.result()
        ('accuracy', 0.5)
        >>> get("mae")([1.0, 2.0], [2.0, 2.0])
        0.5
        >>> def max_error(y_pred, y_true):
        ...     import numpy as np
        ...     return np.abs(np.asarray(y_pred) - np.asarray(y_true)).max()
        >>> get(max_error).name
        'max_error'
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        if key in _REGISTRY:
            return _REGISTRY[key](identifier)
        m = _TOP_K.match(key)
        if m:
            return TopKAccuracy(k=int(m.group(1)), name=identifier)
        raise ValueError(
            f"unknown metric {identifier!r}; known names: {', '.join(available())}, top<k>"
        )
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(
        f"cannot interpret {identifier!r} as a metric: pass a name, a Metric or a callable"
    )
