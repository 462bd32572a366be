"""Stateful metric base classes: :class:`Metric`, :class:`Mean`, :class:`Sum`, :class:`MeanMetricWrapper`.

A metric accumulates state over batches with ``update_state(y_pred, y_true, sample_weight=None)``,
reports with ``result()`` and starts over with ``reset_state()`` (Keras' protocol; note that the
argument order is PyTorch's, predictions first, as in ``loss_fn(input, target)``).

Inputs may be ember tensors, NumPy arrays, Python lists or scalars.

Example:
    >>> from ember.metrics import Mean
    >>> m = Mean()
    >>> m.update_state([1.0, 2.0, 3.0])
    >>> m.update_state([4.0], sample_weight=[3.0])
    >>> m.result()
    3.0
    >>> m.reset_state(); m.result()
    0.0
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "to_numpy"]

ArrayLike = Any  # an ember Tensor, a NumPy array, a (nested) list or a scalar


def to_numpy(x: ArrayLike, dtype: Any = None) -> np.ndarray:
    """Convert an ember tensor, NumPy array, list or scalar to a NumPy array (no autograd).

    Example:
        >>> import ember
        >>> to_numpy(ember.tensor([1, 2])).tolist()
        [1, 2]
        >>> to_numpy([[0.5]], dtype="float64").dtype
        dtype('float64')
    """
    if x is None:
        return None  # type: ignore[return-value]
    if isinstance(x, Tensor):
        x = x._data
    arr = np.asarray(x)
    if arr.dtype.kind not in "biufc":  # e.g. bfloat16 / object: go through float64
        arr = arr.astype(np.float64)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    return arr


def _broadcast_weight(sample_weight: ArrayLike | None, shape: tuple) -> np.ndarray:
    """Broadcast per-sample (or per-element) weights to ``shape`` (leading axes aligned)."""
    if sample_weight is None:
        return np.ones(shape, dtype=np.float64)
    w = to_numpy(sample_weight, np.float64)
    if w.ndim == 0:
        return np.broadcast_to(w, shape)
    while w.ndim > len(shape) and w.shape[-1] == 1:
        w = w.reshape(w.shape[:-1])
    if w.ndim < len(shape):  # per-sample weights: align on the leading (batch) axes
        w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(
            f"sample_weight of shape {to_numpy(sample_weight).shape} cannot be broadcast to "
            f"values of shape {shape}"
        ) from None


class Metric:
    """Base class of every stateful metric (Keras' ``keras.metrics.Metric`` protocol).

    Subclasses implement :meth:`update_state`, :meth:`result` and :meth:`reset_state`.
    Calling a metric updates its state with the batch and returns the running result.

    Example:
        >>> from ember.metrics import Metric
        >>> class CountPositives(Metric):
        ...     def __init__(self, name="count_positives"):
        ...         super().__init__(name=name)
        ...         self.reset_state()
        ...     def update_state(self, y_pred, y_true=None, sample_weight=None):
        ...         self.count += int((to_numpy(y_pred) > 0).sum())
        ...     def result(self):
        ...         return float(self.count)
        ...     def reset_state(self):
        ...         self.count = 0
        >>> m = CountPositives()
        >>> m([1.0, -2.0, 3.0])
        2.0
        >>> m.name
        'count_positives'
    """

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        self.name = name if name is not None else _snake(type(self).__name__)
        self.dtype = dtype

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike = None, sample_weight: ArrayLike = None
    ) -> None:
        """Accumulate the statistics of one batch."""
        raise NotImplementedError

    def result(self) -> Any:
        """The metric's value over everything seen since the last reset (a float)."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Forget the accumulated state."""
        raise NotImplementedError

    def reset_states(self) -> None:  # Keras 2 spelling
        """Alias of :meth:`reset_state`."""
        self.reset_state()

    def __call__(
        self, y_pred: ArrayLike, y_true: ArrayLike = None, sample_weight: ArrayLike = None
    ) -> Any:
        """Update the state with a batch and return the running :meth:`result`."""
        self.update_state(y_pred, y_true, sample_weight=sample_weight)
        return self.result()

    def get_config(self) -> dict:
        """Constructor arguments (Keras' ``get_config``); subclasses add theirs."""
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def _snake(name: str) -> str:
    """``MSELoss`` -> ``mse_loss``, ``MeanMetric`` -> ``mean_metric``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class _WeightedMean(Metric):
    """Shared state for metrics that are a (weighted) mean of per-element values."""

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = 0.0
        self.count = 0.0

    def _accumulate(self, values: np.ndarray, sample_weight: ArrayLike | None) -> None:
        values = np.asarray(values, dtype=np.float64)
        w = _broadcast_weight(sample_weight, values.shape)
        self.total += float((values * w).sum())
        self.count += float(w.sum())

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0


class Mean(_WeightedMean):
    """Weighted mean of every value passed to ``update_state(values, sample_weight=None)``.

    Example:
        >>> m = Mean(name="loss")
        >>> m.update_state(2.0)
        >>> m.update_state([4.0, 6.0])
        >>> m.result()
        4.0
    """

    def update_state(
        self, values: ArrayLike, y_true: ArrayLike = None, sample_weight: ArrayLike = None
    ) -> None:
        self._accumulate(to_numpy(values, np.float64), sample_weight)


class Sum(Metric):
    """Weighted sum of every value passed to ``update_state(values, sample_weight=None)``.

    Example:
        >>> s = Sum()
        >>> s.update_state([1.0, 2.0]); s.update_state(3.0, sample_weight=2.0)
        >>> s.result()
        9.0
    """

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = 0.0

    def update_state(
        self, values: ArrayLike, y_true: ArrayLike = None, sample_weight: ArrayLike = None
    ) -> None:
        v = to_numpy(values, np.float64)
        self.total += float((v * _broadcast_weight(sample_weight, v.shape)).sum())

    def result(self) -> float:
        return self.total

    def reset_state(self) -> None:
        self.total = 0.0


class MeanMetricWrapper(_WeightedMean):
    """Wrap ``fn(y_pred, y_true, **kwargs)`` (per-sample values or a scalar) as a mean metric.

    The function may return an ember tensor, a NumPy array or a number; per-sample values are
    weighted by ``sample_weight``. A scalar result is weighted by the batch size, so the running
    value is the per-sample mean over all batches.

    Example:
        >>> import numpy as np
        >>> def abs_err(y_pred, y_true):
        ...     return np.abs(np.asarray(y_pred) - np.asarray(y_true))
        >>> m = MeanMetricWrapper(abs_err)
        >>> m.update_state([1.0, 2.0], [1.5, 2.0])
        >>> m.result(), m.name
        (0.25, 'abs_err')
    """

    def __init__(
        self, fn: Callable, name: str | None = None, dtype: Any = None, **kwargs: Any
    ) -> None:
        if name is None:
            name = getattr(fn, "__name__", None) or _snake(type(fn).__name__)
        super().__init__(name=name, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def update_state(
        self, y_pred: ArrayLike, y_true: ArrayLike = None, sample_weight: ArrayLike = None
    ) -> None:
        values = self.fn(y_pred, y_true, **self.fn_kwargs)
        values = to_numpy(values, np.float64)
        if values.ndim == 0 and sample_weight is None:
            n = _batch_size(y_pred)
            self.total += float(values) * n
            self.count += n
            return
        self._accumulate(values, sample_weight)

    def get_config(self) -> dict:
        return {"name": self.name, "fn": self.fn, **self.fn_kwargs}


def _batch_size(y: ArrayLike) -> int:
    shape = getattr(y, "shape", None)
    if shape is None:
        shape = np.shape(y)
    return int(shape[0]) if len(shape) else 1
