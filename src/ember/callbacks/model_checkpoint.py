"""The :class:`ModelCheckpoint` callback: save the model (or only its weights) during ``fit``.

Files are written with ``ember.save`` (safetensors, never pickle), atomically: the bytes go
to a temporary file that is renamed over the target, so an interrupted save never leaves a
half-written checkpoint behind.

* ``save_weights_only=True`` writes ``model.state_dict()``: a plain safetensors file whose
  entry names are the state_dict keys (``model.load_state_dict(ember.load(path))``).
* ``save_weights_only=False`` writes ``{"model": state_dict, "optimizer":
  optimizer.state_dict(), "epoch": epoch, "logs": logs}``, enough to resume training
  (the architecture itself comes from your code: ember checkpoints never hold code).

Example:
    >>> import os, tempfile
    >>> from ember.callbacks import ModelCheckpoint
    >>> ckpt = ModelCheckpoint(os.path.join(tempfile.mkdtemp(), "w-{epoch:02d}-{val_loss:.2f}.st"))
    >>> os.path.basename(ckpt.format_path(4, {"val_loss": 0.1234}))
    'w-05-0.12.st'
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from ._utils import format_value, initial_best, is_better, resolve_mode
from .callback import Callback

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Save the model at the end of every epoch (or every ``save_freq`` batches).

    Args:
        filepath: where to save; may hold ``{epoch}`` (1-based, as Keras) and log keys, e.g.
            ``"ckpt/{epoch:02d}-{val_loss:.3f}.safetensors"``.
        monitor: the logged quantity that decides which checkpoint is best.
        verbose: 1 prints a line for each save.
        save_best_only: save only when ``monitor`` improves (the file then always holds the
            best model seen so far).
        save_weights_only: save ``state_dict()`` only (else weights, optimizer and epoch).
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        save_freq: ``"epoch"`` or a number of training batches between saves.
        initial_value_threshold: a value ``monitor`` must beat before the first save.

    Example:
        >>> from ember.callbacks import ModelCheckpoint
        >>> ModelCheckpoint("best.safetensors", monitor="val_accuracy").mode
        'max'
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = resolve_mode(monitor, mode, "ModelCheckpoint")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best = (
            float(initial_value_threshold)
            if initial_value_threshold is not None
            else initial_best(self.mode)
        )
        self._epoch = 0
        self._batches_seen = 0

    def format_path(self, epoch: int, logs: dict | None = None) -> str:
        """The file path for ``epoch`` (0-based; written 1-based) and ``logs``."""
        try:
            return self.filepath.format(epoch=epoch + 1, **(logs or {}))
        except KeyError as e:
            raise KeyError(
                f"ModelCheckpoint: filepath {self.filepath!r} names {e}, which is not in the "
                f"logs (available: {', '.join(logs or {})})"
            ) from e

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _save(self, epoch: int, logs: dict | None) -> None:
        logs = dict(logs or {})
        path = self.format_path(epoch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(
                    f"ModelCheckpoint: can save best model only with {self.monitor!r} in the "
                    f"logs (available: {', '.join(logs) or 'none'}); skipping",
                    stacklevel=3,
                )
                return
            current = float(current)
            if not is_better(current, self.best, self.mode):
                if self.verbose > 0:
                    print(
                        f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                        f"{format_value(self.best)}"
                    )
                return
            if self.verbose > 0:
                print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {format_value(self.best)} "
                    f"to {format_value(current)}, saving model to {path}"
                )
            self.best = current
        elif self.verbose > 0:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        self._write(path, epoch, logs)

    def _write(self, path: str, epoch: int, logs: dict[str, Any]) -> None:
        from ..serialization import save

        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        if self.save_weights_only:
            save(self.model.state_dict(), path)
            return
        optimizer = getattr(self.model, "optimizer", None)
        save(
            {
                "model": self.model.state_dict(),
                "optimizer": optimizer.state_dict() if optimizer is not None else None,
                "epoch": epoch,
                "logs": {k: v for k, v in logs.items() if isinstance(v, (int, float, str))},
            },
            path,
        )
