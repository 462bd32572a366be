"""The :class:`BackupAndRestore` callback: a killed ``fit`` resumes where it stopped.

At the end of every epoch it writes, atomically (``ember.save``: a temporary file renamed
over the target), one safetensors file holding everything the rest of the run depends on:

* the model's ``state_dict`` and the optimizer's ``state_dict`` (learning rates included),
* the random states: ember's default generator, NumPy's and Python's global generators,
  and the generator that shuffles the training data (``fit``'s own, or the ``generator``
  of a ``DataLoader`` you pass),
* the position of the data stream (used with ``steps_per_epoch``) and the epoch number.

When ``fit`` starts again with the same arguments and a backup exists, it loads all of that
and continues with the next epoch, so the run ends with the same weights as a run that was
never interrupted. A successful ``fit`` deletes the backup (``delete_checkpoint=True``).

Limits: the state of other callbacks (e.g. the patience counter of ``EarlyStopping``) is
not saved, and a ``DataLoader`` without a ``generator`` that is resumed in the middle of
a pass (``steps_per_epoch`` smaller than its length) starts a fresh pass.

Example:
    >>> import os, tempfile
    >>> from ember.callbacks import BackupAndRestore
    >>> cb = BackupAndRestore(tempfile.mkdtemp())
    >>> os.path.basename(cb.backup_path)
    'backup.safetensors'
"""

from __future__ import annotations

import os

from .callback import Callback

__all__ = ["BackupAndRestore"]


class BackupAndRestore(Callback):
    """Back up the whole training state each epoch; restore it when ``fit`` starts again.

    Args:
        backup_dir: a directory for the backup file (created if missing). Use one directory
            per training run.
        save_freq: only ``"epoch"`` is supported (a backup after every epoch).
        delete_checkpoint: remove the backup when ``fit`` finishes normally.

    Example:
        >>> import tempfile
        >>> from ember.callbacks import BackupAndRestore
        >>> BackupAndRestore(tempfile.mkdtemp()).delete_checkpoint
        True
    """

    FILENAME = "backup.safetensors"

    def __init__(
        self,
        backup_dir: str | os.PathLike,
        save_freq: str = "epoch",
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore supports save_freq='epoch' only, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.restored_epoch: int | None = None

    @property
    def backup_path(self) -> str:
        """The backup file: ``backup_dir/backup.safetensors``."""
        return os.path.join(self.backup_dir, self.FILENAME)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.restored_epoch = None
        if not os.path.exists(self.backup_path):
            return
        from ..serialization import load

        ckpt = load(self.backup_path)
        self.model._load_fit_state(ckpt["state"])
        self.restored_epoch = int(ckpt["epoch"])
        self.model._resume_epoch = self.restored_epoch + 1

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        from ..serialization import save

        os.makedirs(self.backup_dir, exist_ok=True)
        save({"epoch": epoch, "state": self.model._get_fit_state()}, self.backup_path)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.delete_checkpoint and os.path.exists(self.backup_path):
            os.remove(self.backup_path)
