"""Regression metrics: :class:`MeanAbsoluteError`, :class:`MeanSquaredError`,
:class:`RootMeanSquaredError` and :class:`R2Score`.

Example:
    >>> from ember.metrics import MeanSquaredError, RootMeanSquaredError
    >>> mse, rmse = MeanSquaredError(), RootMeanSquaredError()
    >>> for p, t in [([1.0, 2.0], [1.0, 4.0]), ([0.0], [2.0])]:
    ...     mse.update_state(p, t); rmse.update_state(p, t)
    >>> mse.result(), rmse.result()
    (2.6666666666666665, 1.632993161855452)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functional as F
from .base import ArrayLike, Metric, _WeightedMean

__all__ = ["MeanAbsoluteError", "MeanSquaredError", "RootMeanSquaredError", "R2Score"]


class MeanAbsoluteError(_WeightedMean):
    """Running mean of ``|y_pred - y_true|`` over all elements (weighted per sample).

    Example:
        >>> MeanAbsoluteError()([2.5, 0.0, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0])
        0.5
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        yp, yt = F._regression_inputs(y_pred, y_true)
        self._accumulate(np.abs(yp - yt), sample_weight)


class MeanSquaredError(_WeightedMean):
    """Running mean of ``(y_pred - y_true) ** 2`` over all elements (weighted per sample).

    Example:
        >>> MeanSquaredError()([[1.0], [3.0]], [1.0, 1.0])
        2.0
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        yp, yt = F._regression_inputs(y_pred, y_true)
        self._accumulate((yp - yt) ** 2, sample_weight)


class RootMeanSquaredError(MeanSquaredError):
    """Square root of the running mean squared error (not the mean of per-batch roots).

    Example:
        >>> RootMeanSquaredError()([1.0, 2.0], [1.0, 4.0])
        1.4142135623730951
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def result(self) -> float:
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """Running coefficient of determination ``1 - SS_res / SS_tot`` (scikit-learn's ``r2_score``).

    The target mean and sum of squares are merged across batches with Chan's parallel
    algorithm, so the result equals the one-shot value on the concatenated data (and stays
    accurate for targets with a large mean). Multi-output targets ``(N, D)`` are combined by
    ``multioutput`` (``"uniform_average"``, ``"variance_weighted"`` or ``"raw_values"``).

    Example:
        >>> m = R2Score()
        >>> m.update_state([2.5, 0.0], [3.0, -0.5])
        >>> m.update_state([2.0, 8.0], [2.0, 7.0])
        >>> m.result()
        0.9486081370449679
    """

    def __init__(
        self, multioutput: str = "uniform_average", name: str = "r2_score", dtype: Any = None
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self.multioutput = multioutput
        self.reset_state()

    def reset_state(self) -> None:
        self.sum_weight: Any = 0.0
        self.mean: Any = 0.0
        self.m2: Any = 0.0
        self.ss_res: Any = 0.0

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike, sample_weight: ArrayLike = None
    ) -> None:
        yp, yt = F._regression_inputs(y_pred, y_true)
        sw, mean, m2, ss_res = F._r2_batch(yp, yt, sample_weight)
        total = self.sum_weight + sw
        safe = np.where(total == 0, 1.0, total)
        delta = mean - self.mean
        self.m2 = self.m2 + m2 + delta**2 * self.sum_weight * sw / safe
        self.mean = self.mean + delta * sw / safe
        self.sum_weight = total
        self.ss_res = self.ss_res + ss_res

    def result(self) -> float | np.ndarray:
        if np.all(np.asarray(self.sum_weight) == 0):
            return 0.0
        return F._r2_from_moments(
            self.sum_weight, self.mean, np.atleast_1d(self.m2), np.atleast_1d(self.ss_res),
            self.multioutput,
        )  # fmt: skip

    def get_config(self) -> dict:
        return {"name": self.name, "multioutput": self.multioutput}
