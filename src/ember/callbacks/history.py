"""The :class:`History` callback: ``fit`` returns it, with every epoch's logs.

Example:
    >>> from ember.callbacks import History
    >>> h = History()
    >>> h.on_train_begin()
    >>> h.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.5})
    >>> h.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.9})
    >>> h.epoch, h.history["loss"]
    ([0, 1], [1.0, 0.5])
"""

from __future__ import annotations

import os
from typing import Any

from .callback import Callback

__all__ = ["History"]


class History(Callback):
    """Records the logs of each epoch in ``history`` (``{name: [value per epoch]}``).

    ``fit`` adds one automatically and returns it (also reachable as ``model.history``).

    Example:
        >>> from ember.callbacks import History
        >>> h = History()
        >>> h.on_train_begin(); h.on_epoch_end(0, {"loss": 0.25})
        >>> h.history
        {'loss': [0.25]}
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self

    def plot(self, path: str | os.PathLike, metrics: list[str] | None = None) -> str:
        """Write a PNG with one panel per metric (training and ``val_`` curves); returns the path.

        Needs matplotlib (``pip install matplotlib``); see
        :func:`ember.training.history.plot_history`.

        Example:
            >>> import os, tempfile
            >>> from ember.callbacks import History
            >>> h = History()
            >>> for e, (l, v) in enumerate([(1.0, 1.2), (0.6, 0.8)]):
            ...     h.on_epoch_end(e, {"loss": l, "val_loss": v})
            >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
            >>> try:  # matplotlib is an optional extra
            ...     ok = h.plot(path) == path and os.path.getsize(path) > 0
            ... except ImportError:
            ...     ok = True
            >>> ok
            True
        """
        from ..training.history import plot_history

        return plot_history(self.history, path, metrics=metrics, epochs=self.epoch or None)
