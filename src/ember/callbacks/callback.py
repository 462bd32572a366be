"""The :class:`Callback` base class and :class:`CallbackList`, with Keras's hook names.

``fit``, ``evaluate`` and ``predict`` call these hooks, in this order::

    fit:      on_train_begin
                on_epoch_begin(epoch)
                  on_train_batch_begin(step) / on_train_batch_end(step, logs)  (each batch)
                  [validation: on_test_begin, on_test_batch_begin/end..., on_test_end]
                on_epoch_end(epoch, logs)            (logs hold val_* keys after validation)
              on_train_end(logs)
    evaluate: on_test_begin, on_test_batch_begin/end..., on_test_end(logs)
    predict:  on_predict_begin, on_predict_batch_begin/end..., on_predict_end

``on_batch_begin``/``on_batch_end`` are aliases that the training-batch hooks call by
default (as in Keras). Logs are dicts of Python floats: running averages over the epoch
for the training metrics (``loss`` first), and ``val_``-prefixed results of validation.

A callback reaches the model through ``self.model`` (set by ``set_model``) and stops
training by setting ``self.model.stop_training = True``; ``self.params`` holds ``verbose``,
``epochs`` and ``steps`` (batches per epoch, ``None`` where unknown).

Example:
    >>> from ember.callbacks import Callback, CallbackList
    >>> class Printer(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, logs)
    >>> cbs = CallbackList([Printer()])
    >>> cbs.on_epoch_end(0, {"loss": 0.5})
    0 {'loss': 0.5}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["Callback", "CallbackList"]

HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


class Callback:
    """Base class of callbacks: override the hooks you need (all default to doing nothing).

    Example:
        >>> from ember.callbacks import Callback
        >>> class CountBatches(Callback):
        ...     def on_train_begin(self, logs=None):
        ...         self.count = 0
        ...     def on_train_batch_end(self, batch, logs=None):
        ...         self.count += 1
        >>> cb = CountBatches()
        >>> cb.on_train_begin(); cb.on_train_batch_end(0, {"loss": 1.0}); cb.count
        1
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        """Attach the model being trained (``self.model``)."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Receive the run's parameters (``verbose``, ``epochs``, ``steps``)."""
        self.params = params

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Alias called by the default ``on_train_batch_begin``."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Alias called by the default ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the start of each training epoch (``epoch`` counts from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the end of each epoch, after validation, with the epoch's logs."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each training batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each training batch with the running metrics of the epoch."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each batch of ``evaluate`` (and of validation inside ``fit``)."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each batch of ``evaluate`` (and of validation inside ``fit``)."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each batch of ``predict``."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each batch of ``predict`` (``logs["outputs"]`` holds the batch)."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called once at the start of ``fit``."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called once at the end of ``fit`` with the last epoch's logs."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called at the start of ``evaluate`` (and of each validation inside ``fit``)."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called at the end of ``evaluate`` with its results."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called at the end of ``predict``."""


class CallbackList(Callback):
    """Calls every hook on each callback in order; adds ``History`` and the progress bar.

    Args:
        callbacks: the user's callbacks (run first, in the given order).
        add_history: append a :class:`~ember.callbacks.History` unless one is given.
        add_progbar: append a :class:`~ember.callbacks.ProgbarLogger` unless one is given.
        model: the model to attach to every callback.
        **params: ``verbose``, ``epochs``, ``steps`` passed to every ``set_params``.

    Example:
        >>> from ember.callbacks import CallbackList, History
        >>> cbs = CallbackList(add_history=True)
        >>> [type(c).__name__ for c in cbs.callbacks]
        ['History']
        >>> isinstance(cbs.history, History)
        True
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | None = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model: Any = None,
        **params: Any,
    ) -> None:
        super().__init__()
        from .history import History
        from .progbar import ProgbarLogger

        self.callbacks: list[Callback] = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks must be ember.callbacks.Callback instances, got {type(cb).__name__}"
                )
        self.history: History | None = next(
            (c for c in self.callbacks if isinstance(c, History)), None
        )
        self.progbar: ProgbarLogger | None = next(
            (c for c in self.callbacks if isinstance(c, ProgbarLogger)), None
        )
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and self.progbar is None:
            self.progbar = ProgbarLogger()
            self.callbacks.append(self.progbar)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback: Callback) -> None:
        """Add a callback at the end (it gets the current model and params)."""
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(self.params)
        self.callbacks.append(callback)

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_batch_begin", batch, logs)

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_batch_end", batch, logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._call("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._call("on_train_begin", logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._call("on_train_end", logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._call("on_test_begin", logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._call("on_predict_end", logs)
