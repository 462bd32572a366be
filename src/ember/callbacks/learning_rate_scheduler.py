"""The :class:`LearningRateScheduler` callback: set the learning rate at each epoch.

Example:
    >>> import ember
    >>> from ember.callbacks import LearningRateScheduler
    >>> class Holder:
    ...     optimizer = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.1)
    >>> cb = LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    >>> cb.set_model(Holder())
    >>> cb.on_epoch_begin(0); cb.on_epoch_begin(1)
    >>> Holder.optimizer.param_groups[0]["lr"]
    0.025
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .callback import Callback

__all__ = ["LearningRateScheduler", "get_lr", "set_lr"]


def get_lr(optimizer: Any) -> float:
    """The learning rate of the first parameter group."""
    lr = optimizer.param_groups[0]["lr"]
    return float(lr.item()) if hasattr(lr, "item") else float(lr)


def set_lr(optimizer: Any, lr: float) -> None:
    """Set the learning rate of every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = float(lr)


def _takes_two_args(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate from ``schedule`` at the start of every epoch.

    Args:
        schedule: ``schedule(epoch, lr) -> new_lr`` or ``schedule(epoch) -> new_lr``
            (``epoch`` counts from 0), or an ``ember.optim.lr_scheduler`` scheduler built on
            ``model.optimizer``, which is then stepped at the end of every epoch.
        verbose: 1 prints the new learning rate each epoch.

    The current rate is logged as ``learning_rate``.

    Example:
        >>> from ember.callbacks import LearningRateScheduler
        >>> cb = LearningRateScheduler(lambda epoch: 0.1 / (1 + epoch))
        >>> cb.verbose
        0
    """

    def __init__(self, schedule: Callable[..., float] | Any, verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose
        self._is_torch_style = hasattr(schedule, "step") and hasattr(schedule, "get_last_lr")

    def _optimizer(self) -> Any:
        opt = getattr(self.model, "optimizer", None)
        if opt is None:
            raise RuntimeError("LearningRateScheduler: the model has no optimizer (compile it)")
        return opt

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self._is_torch_style:
            return
        opt = self._optimizer()
        if _takes_two_args(self.schedule):
            lr = self.schedule(epoch, get_lr(opt))
        else:
            lr = self.schedule(epoch)
        lr = float(lr.item()) if hasattr(lr, "item") else float(lr)
        set_lr(opt, lr)
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = get_lr(self._optimizer())
        if self._is_torch_style:
            self.schedule.step()
