"""The :class:`ProgbarLogger` callback: progress output of ``fit``/``evaluate``/``predict``.

``fit`` adds one unless ``verbose=0``. What it prints depends on ``verbose`` and on where
the output goes:

* ``verbose=1`` on a terminal: a tqdm bar per epoch with the running metrics.
* ``verbose=1`` elsewhere (CI logs, files, notebooks captured to text) and ``verbose=2``:
  one line per epoch, e.g.
  ``Epoch 3/10 - 0.5s - loss: 0.1234 - accuracy: 0.9500 - val_loss: 0.2100``.
* ``verbose=0``: nothing.

Example:
    >>> from ember.callbacks import ProgbarLogger
    >>> bar = ProgbarLogger()
    >>> bar.set_params({"verbose": 2, "epochs": 3, "steps": 4})
    >>> bar.on_train_begin()
    >>> bar.on_epoch_begin(0)
    >>> bar.on_epoch_end(0, {"loss": 0.1234, "val_loss": 0.25})  # doctest: +ELLIPSIS
    Epoch 1/3 - ...s - loss: 0.1234 - val_loss: 0.2500
"""

from __future__ import annotations

import sys
import time
from typing import Any

from ._utils import format_logs
from .callback import Callback

__all__ = ["ProgbarLogger"]


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgbarLogger(Callback):
    """Prints progress: a tqdm bar on a terminal, one concise line per epoch otherwise.

    Args:
        stream: where to write (default: ``sys.stdout`` at the time of writing).
        use_tqdm: force (``True``) or refuse (``False``) the tqdm bar; default: only when
            ``stream`` is a terminal and ``verbose == 1``.

    Example:
        >>> import io
        >>> from ember.callbacks import ProgbarLogger
        >>> out = io.StringIO()
        >>> bar = ProgbarLogger(stream=out)
        >>> bar.set_params({"verbose": 1, "epochs": 1, "steps": 2})
        >>> bar.on_test_begin(); bar.on_test_end({"loss": 0.5})
        >>> out.getvalue().split(" - ")[-1]
        'loss: 0.5000\\n'
    """

    def __init__(self, stream: Any = None, use_tqdm: bool | None = None) -> None:
        super().__init__()
        self.stream = stream
        self.use_tqdm = use_tqdm
        self._bar: Any = None
        self._in_fit = False
        self._start = 0.0
        self._epoch = 0
        self._seen = 0

    # -- helpers -----------------------------------------------------------------------------
    @property
    def verbose(self) -> int:
        return int(self.params.get("verbose", 1) or 0)

    def _out(self) -> Any:
        return self.stream if self.stream is not None else sys.stdout

    def _tqdm_wanted(self) -> bool:
        if self.use_tqdm is not None:
            return self.use_tqdm and self.verbose > 0
        return self.verbose == 1 and _is_terminal(self._out())

    def _print(self, text: str) -> None:
        out = self._out()
        out.write(text + "\n")
        out.flush()

    def _open_bar(self, total: int | None, desc: str) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=total, desc=desc, file=self._out(), unit="step", dynamic_ncols=True, leave=True
        )

    def _close_bar(self, logs: dict | None) -> None:
        if self._bar is not None:
            if logs:
                self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.close()
            self._bar = None

    # -- fit ---------------------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._in_fit = True

    def on_train_end(self, logs: dict | None = None) -> None:
        self._close_bar(None)
        self._in_fit = False

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        self._start = time.perf_counter()
        self._seen = 0
        if self._tqdm_wanted():
            self._open_bar(self.params.get("steps"), self._epoch_title())

    def _epoch_title(self) -> str:
        epochs = self.params.get("epochs")
        return f"Epoch {self._epoch + 1}/{epochs}" if epochs else f"Epoch {self._epoch + 1}"

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._seen = batch + 1
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.update(1)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.verbose == 0:
            return
        if self._bar is not None:
            self._close_bar(logs)
            return
        elapsed = time.perf_counter() - self._start
        parts = [self._epoch_title(), f"{elapsed:.1f}s"]
        if logs:
            parts.append(format_logs(logs))
        self._print(" - ".join(parts))

    # -- evaluate / predict (ignored while fit validates) -----------------------------------------
    def on_test_begin(self, logs: dict | None = None) -> None:
        if not self._in_fit:
            self._begin_loop("evaluate")

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not self._in_fit and self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.update(1)

    def on_test_end(self, logs: dict | None = None) -> None:
        if not self._in_fit:
            self._end_loop(logs)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._begin_loop("predict")

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._seen = batch + 1
        if self._bar is not None:
            self._bar.update(1)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._end_loop(None)

    def _begin_loop(self, name: str) -> None:
        self._start = time.perf_counter()
        self._seen = 0
        if self._tqdm_wanted():
            self._open_bar(self.params.get("steps"), name)

    def _end_loop(self, logs: dict | None) -> None:
        if self.verbose == 0:
            return
        if self._bar is not None:
            self._close_bar(logs)
            return
        steps = self.params.get("steps") or self._seen
        parts = [f"{steps}/{steps}", f"{time.perf_counter() - self._start:.1f}s"]
        if logs:
            parts.append(format_logs(logs))
        self._print(" - ".join(parts))
