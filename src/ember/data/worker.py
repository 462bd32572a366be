"""What runs inside a ``DataLoader`` worker process, and what a worker knows about itself.

Each worker receives ``(task_id, epoch, indices)`` messages on its own index queue, fetches and
collates that batch, and sends ``(worker_id, task_id, epoch, payload)`` back on the shared
result queue. The payload is pickled in the worker (so a batch that cannot be pickled becomes a
clear error instead of a hang) and is ``("data", batch)`` or ``("error", ExceptionWrapper)``; a
payload of ``None`` says that the worker's ``IterableDataset`` copy is exhausted.

Example:
    >>> from ember.data import get_worker_info
    >>> get_worker_info() is None  # in the main process
    True
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["WorkerInfo", "get_worker_info", "ExceptionWrapper"]

_POLL_S = 0.1
_worker_info: WorkerInfo | None = None


class WorkerInfo:
    """Read-only facts about the current worker: ``id``, ``num_workers``, ``seed``, ``dataset``.

    ``dataset`` is the worker's own copy of the dataset; ``seed`` is the seed the worker's
    global generators (``ember``, ``random``, NumPy's legacy one) were seeded with.

    Example:
        >>> from ember.data.worker import WorkerInfo
        >>> info = WorkerInfo(id=0, num_workers=2, seed=7, dataset=None)
        >>> info.id, info.num_workers, info.seed
        (0, 2, 7)
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_keys", tuple(kwargs))

    def __setattr__(self, key: str, val: Any) -> None:
        raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._keys if k != "dataset")
        return f"{type(self).__name__}({items})"


def get_worker_info() -> WorkerInfo | None:
    """In a ``DataLoader`` worker process, its :class:`WorkerInfo`; ``None`` in the main process.

    Use it in ``IterableDataset.__iter__`` to split the stream between workers, or in a
    ``worker_init_fn`` to configure each worker's copy of the dataset.

    Example:
        >>> from ember.data import get_worker_info
        >>> print(get_worker_info())
        None
    """
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process with its traceback text.

    ``reraise()`` raises an exception of the original type (``RuntimeError`` where that type
    cannot be rebuilt) whose message names where it happened and holds the original traceback.

    Example:
        >>> from ember.data.worker import ExceptionWrapper
        >>> try:
        ...     raise ValueError("bad sample")
        ... except ValueError:
        ...     w = ExceptionWrapper(where="in DataLoader worker process 0")
        >>> try:
        ...     w.reraise()
        ... except ValueError as e:
        ...     print(str(e).splitlines()[0])
        Caught ValueError in DataLoader worker process 0.
    """

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        exc_type = exc_info[0]
        try:  # the type itself travels by reference; local classes cannot
            pickle.loads(pickle.dumps(exc_type))
        except Exception:
            exc_type = RuntimeError
        self.exc_type = exc_type
        self.exc_name = exc_info[0].__name__
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self) -> None:
        """Raise the wrapped exception in this process."""
        msg = f"Caught {self.exc_name} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            exc = None
        if not isinstance(exc, BaseException):
            raise RuntimeError(msg) from None
        raise exc


class _KeyErrorMessage(str):
    """KeyError puts quotes around its message; this keeps the traceback readable."""

    def __repr__(self) -> str:
        return str(self)


# -- fetching one batch ------------------------------------------------------------------------
class _MapFetcher:
    """Fetch ``dataset[i]`` for each index of a batch (or one index), then collate."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last

    def fetch(self, index):
        if self.auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            if callable(getitems):
                data = getitems(index)
            else:
                data = [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


class _IterableFetcher:
    """Take the next item (or the next ``len(index)`` items) from the dataset's iterator."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self._iter = None
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if self._iter is None:
            self._iter = iter(self.dataset)
        if self.auto_collation:
            data = []
            for _ in index:
                try:
                    data.append(next(self._iter))
                except StopIteration:
                    self.ended = True
                    break
            if not data or (self.drop_last and len(data) < len(index)):
                raise StopIteration
        else:
            try:
                data = next(self._iter)
            except StopIteration:
                self.ended = True
                raise
        return self.collate_fn(data)


def _make_fetcher(iterable: bool, dataset, auto_collation, collate_fn, drop_last):
    cls = _IterableFetcher if iterable else _MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# -- the worker process ------------------------------------------------------------------------
def _seed_worker(seed: int, worker_id: int) -> None:
    from ..random import manual_seed

    random.seed(seed)
    manual_seed(seed)
    state = np.random.SeedSequence([worker_id, seed & 0xFFFFFFFF, seed >> 32]).generate_state(4)
    np.random.seed(state)


def _encode(kind: str, obj: Any, worker_id: int) -> bytes:
    try:
        return pickle.dumps((kind, obj), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        wrapper = ExceptionWrapper(where=f"in DataLoader worker process {worker_id} (pickling)")
        return pickle.dumps(("error", wrapper), protocol=pickle.HIGHEST_PROTOCOL)


def _worker_loop(
    iterable: bool,
    dataset,
    index_queue,
    result_queue,
    done_event,
    auto_collation: bool,
    collate_fn: Callable,
    drop_last: bool,
    base_seed: int,
    init_fn: Callable | None,
    worker_id: int,
    num_workers: int,
    parent_pid: int,
) -> None:
    """Body of a worker process (see the module docstring for the message protocol)."""
    global _worker_info
    where = f"in DataLoader worker process {worker_id}"
    try:
        seed = (base_seed + worker_id) % (1 << 64)
        _seed_worker(seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_error = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
        except Exception:
            init_error = ExceptionWrapper(where=where)
        fetcher = None
        current_epoch = None
        while True:
            try:
                msg = index_queue.get(timeout=_POLL_S)
            except queue.Empty:
                if done_event.is_set() or os.getppid() != parent_pid:
                    break
                continue
            if msg is None:
                break
            if done_event.is_set():
                continue
            task_id, epoch, index = msg
            if epoch != current_epoch:  # a new pass: fresh iterator for an IterableDataset
                current_epoch = epoch
                fetcher = _make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
            if init_error is not None:
                payload = _encode("error", init_error, worker_id)
                init_error = None
            else:
                try:
                    payload = _encode("data", fetcher.fetch(index), worker_id)
                except StopIteration:
                    if not iterable:
                        payload = _encode("error", ExceptionWrapper(where=where), worker_id)
                    else:
                        payload = None
                except Exception:
                    payload = _encode("error", ExceptionWrapper(where=where), worker_id)
            result_queue.put((worker_id, task_id, epoch, payload))
            del payload
    except KeyboardInterrupt:
        pass
    if done_event.is_set() or os.getppid() != parent_pid:
        result_queue.cancel_join_thread()
    result_queue.close()
