"""The :class:`ReduceLROnPlateau` callback: lower the learning rate when progress stalls.

Example:
    >>> import ember
    >>> from ember.callbacks import ReduceLROnPlateau
    >>> class Holder:
    ...     optimizer = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=1.0)
    >>> cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    >>> cb.set_model(Holder())
    >>> cb.on_train_begin()
    >>> for epoch, loss in enumerate([1.0, 1.0, 1.0]):
    ...     cb.on_epoch_end(epoch, {"loss": loss})
    >>> Holder.optimizer.param_groups[0]["lr"]
    0.25
"""

from __future__ import annotations

import warnings

from ._utils import initial_best, is_better, resolve_mode
from .callback import Callback
from .learning_rate_scheduler import get_lr

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement.

    Args:
        monitor: the logged quantity to watch.
        factor: the multiplier (``new_lr = lr * factor``), below 1.
        patience: epochs without improvement before reducing.
        verbose: 1 prints a message on each reduction.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before watching again.
        min_lr: the learning rate never goes below this.

    The current rate is logged as ``learning_rate`` (Keras semantics).

    Example:
        >>> from ember.callbacks import ReduceLROnPlateau
        >>> ReduceLROnPlateau(factor=0.2).factor
        0.2
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support factor >= 1.0, got {factor}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = resolve_mode(monitor, mode, "ReduceLROnPlateau")
        self.min_delta = float(min_delta)
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self) -> None:
        self.best = initial_best(self.mode)
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = get_lr(optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau: monitored quantity {self.monitor!r} is not in the logs "
                f"(available: {', '.join(logs)})",
                stacklevel=2,
            )
            return
        current = float(current)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if is_better(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                changed = False
                for group in optimizer.param_groups:
                    old = float(group["lr"])
                    if old > self.min_lr:
                        group["lr"] = max(old * self.factor, self.min_lr)
                        changed = True
                if changed and self.verbose > 0:
                    print(
                        f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                        f"{get_lr(optimizer)}."
                    )
                self.cooldown_counter = self.cooldown
                self.wait = 0
