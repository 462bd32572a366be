"""The :class:`EarlyStopping` callback: stop when a monitored quantity stops improving.

Example:
    >>> from ember.callbacks import EarlyStopping
    >>> class Dummy:
    ...     stop_training = False
    >>> es = EarlyStopping(monitor="val_loss", patience=1)
    >>> es.set_model(Dummy())
    >>> es.on_train_begin()
    >>> for epoch, v in enumerate([1.0, 0.8, 0.9]):
    ...     es.on_epoch_end(epoch, {"val_loss": v})
    >>> es.model.stop_training, es.stopped_epoch, es.best
    (True, 2, 0.8)
"""

from __future__ import annotations

import warnings

import numpy as np

from ._utils import initial_best, is_better, resolve_mode
from .callback import Callback

__all__ = ["EarlyStopping"]


def snapshot_state(model) -> dict:
    """A deep copy of ``model.state_dict()`` (NumPy arrays, independent of training)."""
    return {k: np.array(v.detach().numpy(), copy=True) for k, v in model.state_dict().items()}


def restore_state(model, snapshot: dict) -> None:
    """Load a :func:`snapshot_state` back into ``model``."""
    import ember

    model.load_state_dict(
        {k: ember.from_numpy(np.array(v, copy=True)) for k, v in snapshot.items()}
    )


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs (Keras semantics).

    Args:
        monitor: the logged quantity to watch (``"val_loss"``, ``"val_accuracy"``, ``"loss"``...).
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints a message when stopping or restoring.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy-like names, else min).
        baseline: training stops if the quantity does not beat this within ``patience`` epochs.
        restore_best_weights: at the end of training, load the weights of the best epoch.
        start_from_epoch: epochs to wait before watching (warm-up).

    Example:
        >>> from ember.callbacks import EarlyStopping
        >>> EarlyStopping(monitor="val_accuracy").mode
        'max'
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = resolve_mode(monitor, mode, "EarlyStopping")
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.wait = 0
        self.stopped_epoch = 0
        self.best = initial_best(self.mode)
        self.best_epoch = 0
        self.best_weights: dict | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = initial_best(self.mode)
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"EarlyStopping: monitored quantity {self.monitor!r} is not in the logs "
                f"(available: {', '.join(logs or {}) or 'none'})",
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        current = float(current)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = snapshot_state(self.model)  # first watched epoch
            self.best_epoch = epoch
        self.wait += 1
        if is_better(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = snapshot_state(self.model)
            if self.baseline is None or is_better(current, self.baseline, self.mode):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            restore_state(self.model, self.best_weights)
