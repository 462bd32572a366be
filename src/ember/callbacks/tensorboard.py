"""The :class:`TensorBoard` callback: write the training curves as TensorBoard event files.

It uses ``ember.utils.tensorboard.SummaryWriter`` and Keras's layout: training scalars go
to ``log_dir/train`` and validation scalars (``val_`` prefix removed) to
``log_dir/validation``, tagged ``epoch_<name>`` (``epoch_loss``, ``epoch_accuracy``,
``epoch_learning_rate``...); with ``update_freq=N`` the running training metrics are also
written every N batches as ``batch_<name>``. ``evaluate`` results go to
``log_dir/validation`` as ``evaluation_<name>_vs_iterations``. View with
``tensorboard --logdir log_dir``.

Example:
    >>> from ember.callbacks import TensorBoard
    >>> TensorBoard(log_dir="runs/exp1").update_freq
    'epoch'
"""

from __future__ import annotations

import os
from typing import Any

from .callback import Callback

__all__ = ["TensorBoard"]


def _summary_writer_class() -> Any:
    try:
        from ..utils.tensorboard import SummaryWriter
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ImportError(
            "the TensorBoard callback needs ember.utils.tensorboard.SummaryWriter"
        ) from e
    return SummaryWriter


class TensorBoard(Callback):
    """Log scalars of every epoch (and optionally every N batches) for TensorBoard.

    Args:
        log_dir: the root directory of this run's logs.
        update_freq: ``"epoch"`` or a number of batches between batch-level scalars.
        writer_factory: ``factory(log_dir) -> writer`` with ``add_scalar(tag, value, step)``,
            ``flush()`` and ``close()`` (default: ``ember.utils.tensorboard.SummaryWriter``).

    Example:
        >>> from ember.callbacks import TensorBoard
        >>> TensorBoard("logs", update_freq=10).update_freq
        10
    """

    def __init__(
        self,
        log_dir: str | os.PathLike = "logs",
        update_freq: str | int = "epoch",
        writer_factory: Any = None,
    ) -> None:
        super().__init__()
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"update_freq must be 'epoch' or a positive int, got {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.update_freq = update_freq
        self.writer_factory = writer_factory
        self._writers: dict[str, Any] = {}
        self._global_step = 0
        self._eval_step = 0
        self._in_fit = False

    def _writer(self, name: str) -> Any:
        if name not in self._writers:
            factory = self.writer_factory or _summary_writer_class()
            self._writers[name] = factory(os.path.join(self.log_dir, name))
        return self._writers[name]

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._in_fit = True
        self._writer("train")

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._global_step += 1
        if self.update_freq == "epoch" or self._global_step % self.update_freq:
            return
        writer = self._writer("train")
        for k, v in (logs or {}).items():
            if _is_number(v):
                writer.add_scalar(f"batch_{k}", float(v), self._global_step)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        train, val = {}, {}
        for k, v in (logs or {}).items():
            if not _is_number(v):
                continue
            if k.startswith("val_"):
                val[k[4:]] = float(v)
            else:
                train[k] = float(v)
        for name, values in (("train", train), ("validation", val)):
            if not values:
                continue
            writer = self._writer(name)
            for k, v in values.items():
                writer.add_scalar(f"epoch_{k}", v, epoch)
            writer.flush()

    def on_test_end(self, logs: dict | None = None) -> None:
        if self._in_fit:
            return
        writer = self._writer("validation")
        for k, v in (logs or {}).items():
            if _is_number(v):
                writer.add_scalar(f"evaluation_{k}_vs_iterations", float(v), self._eval_step)
        self._eval_step += 1
        writer.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        self._in_fit = False
        self.close()

    def close(self) -> None:
        """Flush and close every writer."""
        for writer in self._writers.values():
            writer.flush()
            writer.close()
        self._writers = {}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
