"""The :class:`LambdaCallback` callback: hooks from plain functions.

Example:
    >>> from ember.callbacks import LambdaCallback
    >>> seen = []
    >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, logs["loss"])))
    >>> cb.on_epoch_end(0, {"loss": 0.5}); cb.on_epoch_begin(1)
    >>> seen
    [(0, 0.5)]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .callback import HOOKS, Callback

__all__ = ["LambdaCallback"]


class LambdaCallback(Callback):
    """A callback whose hooks are the functions you pass (Keras's ``LambdaCallback``).

    Every hook name is accepted as a keyword argument: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_batch_begin(batch, logs)``,
    ``on_train_batch_end(batch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    the ``on_test_*``/``on_predict_*`` hooks, and the aliases ``on_batch_begin``/``on_batch_end``.

    Example:
        >>> from ember.callbacks import LambdaCallback
        >>> LambdaCallback(on_train_end=lambda logs: None).on_train_end({})
    """

    def __init__(
        self,
        on_epoch_begin: Callable | None = None,
        on_epoch_end: Callable | None = None,
        on_train_begin: Callable | None = None,
        on_train_end: Callable | None = None,
        on_train_batch_begin: Callable | None = None,
        on_train_batch_end: Callable | None = None,
        **kwargs: Callable,
    ) -> None:
        super().__init__()
        hooks: dict[str, Any] = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            **kwargs,
        }
        allowed = set(HOOKS) | {"on_batch_begin", "on_batch_end"}
        for name, fn in hooks.items():
            if name not in allowed:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
            if fn is not None:
                setattr(self, name, fn)
