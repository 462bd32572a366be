"""The :class:`TerminateOnNaN` callback: stop as soon as the loss becomes NaN or infinite.

Example:
    >>> from ember.callbacks import TerminateOnNaN
    >>> class Dummy:
    ...     stop_training = False
    >>> cb = TerminateOnNaN()
    >>> cb.set_model(Dummy())
    >>> cb.on_train_batch_end(7, {"loss": float("nan")})
    Batch 7: Invalid loss, terminating training
    >>> cb.model.stop_training
    True
"""

from __future__ import annotations

import math

from .callback import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Set ``model.stop_training`` when a batch's loss is NaN or infinite.

    ``fit`` stops right after that batch (the epoch is not finished).

    Example:
        >>> from ember.callbacks import TerminateOnNaN
        >>> TerminateOnNaN().terminated
        False
    """

    def __init__(self) -> None:
        super().__init__()
        self.terminated = False

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.terminated = True
            self.model.stop_training = True
