"""The :class:`CSVLogger` callback: one CSV row of logs per epoch.

Example:
    >>> import os, tempfile
    >>> from ember.callbacks import CSVLogger
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> cb = CSVLogger(path)
    >>> cb.on_train_begin()
    >>> cb.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
    >>> cb.on_train_end()
    >>> print(open(path).read().strip())
    epoch,loss,val_loss
    0,0.5,0.75
"""

from __future__ import annotations

import csv
import os
from typing import Any

from .callback import Callback

__all__ = ["CSVLogger"]


class CSVLogger(Callback):
    """Write ``epoch`` and every log value to a CSV file, one row per epoch (Keras format).

    Columns are ``epoch`` followed by the log keys in sorted order, fixed by the first
    epoch. Each row is flushed as it is written, so the file is readable while training runs.

    Args:
        filename: the CSV file.
        separator: the column separator.
        append: add to an existing file (no new header) instead of overwriting it; use it
            with ``BackupAndRestore`` to keep the rows of an interrupted run.

    Example:
        >>> from ember.callbacks import CSVLogger
        >>> CSVLogger("training.csv", separator=";").sep
        ';'
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: list[str] | None = None
        self._file: Any = None
        self._writer: Any = None
        self._header_written = False

    def on_train_begin(self, logs: dict | None = None) -> None:
        exists = os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._header_written = self.append and exists
        if self._header_written:
            with open(self.filename, newline="") as fh:
                header = fh.readline().strip()
            self.keys = header.split(self.sep)[1:] if header else None
        else:
            self.keys = None
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        if self._file is None:
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(
                self._file,
                fieldnames=["epoch", *self.keys],
                delimiter=self.sep,
                extrasaction="ignore",
                lineterminator="\n",
            )
            if not self._header_written:
                self._writer.writeheader()
                self._header_written = True
        row = {"epoch": epoch, **{k: _cell(logs.get(k, "NA")) for k in self.keys}}
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return value
