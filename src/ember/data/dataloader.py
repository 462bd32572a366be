"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

The arguments and behaviour are PyTorch's (``torch.utils.data.DataLoader``). With
``num_workers > 0`` batches are made by worker processes (``fork`` where the platform has it)
and handed back in order; an exception in a worker is re-raised in the main process with the
worker's id and the original traceback, a worker that dies is reported, and workers are shut
down when the iterator is exhausted, dropped early or garbage-collected.

Example:
    >>> import ember
    >>> from ember.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(ember.arange(10.0).reshape(5, 2), ember.arange(5))
    >>> loader = DataLoader(ds, batch_size=2)
    >>> len(loader)
    3
    >>> x, y = next(iter(loader))
    >>> x.shape, y
    (ember.Size([2, 2]), tensor([0, 1]))
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..random import Generator, _gen
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .worker import _make_fetcher, _worker_loop

__all__ = ["DataLoader"]

_POLL_S = 0.1
_JOIN_TIMEOUT_S = 2.0


class _InfiniteConstantSampler(Sampler):
    """Yields ``None`` forever: the 'sampler' of an ``IterableDataset``."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


def _default_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class DataLoader:
    """Iterate over a dataset in batches.

    Args:
        dataset: a map-style ``Dataset`` (anything with ``__getitem__``/``__len__``) or an
            ``IterableDataset``.
        batch_size: samples per batch (``None`` turns batching off: one sample at a time,
            converted with ``default_convert``).
        shuffle: reshuffle the indices every epoch (uses ``generator``).
        sampler / batch_sampler: choose the indices yourself (exclusive with ``shuffle``;
            ``batch_sampler`` also with ``batch_size`` and ``drop_last``).
        num_workers: worker processes (0 loads in the main process).
        collate_fn: list of samples -> batch (``default_collate`` by default).
        drop_last: drop the last, incomplete batch.
        timeout: seconds to wait for a batch from the workers before raising (0 waits forever).
        worker_init_fn: called as ``fn(worker_id)`` in each worker after seeding.
        multiprocessing_context: a start method name (``"fork"``, ``"spawn"``...) or context.
        generator: ``ember.Generator`` for shuffling and for the workers' base seed.
        prefetch_factor: batches in flight per worker (2 by default when ``num_workers > 0``).
        persistent_workers: keep the worker processes alive between epochs.
        pin_memory, pin_memory_device, in_order: accepted for PyTorch compatibility (CPU only;
            batches always come back in order).

    Example:
        >>> import ember
        >>> from ember.data import DataLoader
        >>> g = ember.Generator().manual_seed(0)
        >>> batches = list(DataLoader(range(6), batch_size=4, shuffle=True, generator=g))
        >>> [b.shape[0] for b in batches], sorted(ember.cat(batches).tolist())
        ([4, 2], [0, 1, 2, 3, 4, 5])
    """

    _FROZEN = (
        "batch_size",
        "batch_sampler",
        "sampler",
        "drop_last",
        "dataset",
        "persistent_workers",
    )

    def __init__(
        self,
        dataset: Dataset | Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 1:
            raise ValueError("prefetch_factor option should be a positive integer")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (None, False):
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, but "
                    f"got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler option, but "
                    f"got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                    f"but got batch_sampler={batch_sampler}"
                )
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if sampler is None:
            if iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        d = self.__dict__
        d["dataset"] = dataset
        d["batch_size"] = batch_size
        d["drop_last"] = drop_last
        d["sampler"] = sampler
        d["batch_sampler"] = batch_sampler
        d["persistent_workers"] = persistent_workers
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.in_order = in_order
        self.multiprocessing_context = multiprocessing_context
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self._iterator = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._FROZEN:
            raise ValueError(
                f"{name} attribute should not be set after {type(self).__name__} is initialized"
            )
        super().__setattr__(name, value)

    @property
    def multiprocessing_context(self):
        """The ``multiprocessing`` context the workers are started with."""
        return self.__dict__["_mp_context"]

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx) -> None:
        if ctx is not None:
            if self.num_workers == 0:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading "
                    f"(num_workers > 0), but got num_workers={self.num_workers}"
                )
            if isinstance(ctx, str):
                if ctx not in multiprocessing.get_all_start_methods():
                    raise ValueError(
                        "multiprocessing_context option should specify a valid start method in "
                        f"{multiprocessing.get_all_start_methods()!r}, but got {ctx!r}"
                    )
                ctx = multiprocessing.get_context(ctx)
            elif not hasattr(ctx, "Process"):
                raise TypeError(
                    "multiprocessing_context option should be a valid context object or a "
                    f"string specifying the start method, but got {ctx!r}"
                )
        self.__dict__["_mp_context"] = ctx

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    @property
    def _is_iterable(self) -> bool:
        return isinstance(self.dataset, IterableDataset)

    def __iter__(self) -> Iterator:
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if self.persistent_workers:
            if self._iterator is None or self._iterator._shutdown:
                self._iterator = _MultiProcessIter(self)
            else:
                self._iterator._reset()
            return self._iterator
        return _MultiProcessIter(self)

    def __len__(self) -> int:
        if self._is_iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    return n // self.batch_size
                return (n + self.batch_size - 1) // self.batch_size
            return n
        return len(self._index_sampler)


class _BaseIter:
    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._sampler_iter = iter(loader._index_sampler)
        # drawn by every iterator (as in PyTorch), so that shuffling with a given generator
        # gives the same order whatever num_workers is
        self._base_seed = int(_gen(loader.generator).integers(0, 2**63 - 1))

    def __iter__(self) -> _BaseIter:
        return self

    def __len__(self) -> int:
        return len(self._loader)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._fetcher = _make_fetcher(
            loader._is_iterable,
            loader.dataset,
            loader._auto_collation,
            loader.collate_fn,
            loader.drop_last,
        )

    def __next__(self) -> Any:
        index = next(self._sampler_iter)
        return self._fetcher.fetch(index)


class _MultiProcessIter(_BaseIter):
    """Keeps ``prefetch_factor * num_workers`` batches in flight and returns them in order."""

    def __init__(self, loader: DataLoader) -> None:
        self._shutdown = True  # until the workers exist (keeps __del__ safe)
        super().__init__(loader)
        ctx = loader.multiprocessing_context or _default_context()
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor * loader.num_workers
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._epoch = 0
        self._result_queue = ctx.Queue()
        self._done_event = ctx.Event()
        self._index_queues = []
        self._workers = []
        self._shutdown = False
        try:
            for wid in range(self._num_workers):
                iq = ctx.Queue()
                w = ctx.Process(
                    target=_worker_loop,
                    args=(
                        loader._is_iterable,
                        loader.dataset,
                        iq,
                        self._result_queue,
                        self._done_event,
                        loader._auto_collation,
                        loader.collate_fn,
                        loader.drop_last,
                        self._base_seed,
                        loader.worker_init_fn,
                        wid,
                        self._num_workers,
                        os.getpid(),
                    ),
                    daemon=True,
                )
                w.start()
                self._index_queues.append(iq)
                self._workers.append(w)
        except BaseException:
            self._shutdown_workers()
            raise
        self._reset(first=True)

    def _reset(self, first: bool = False) -> None:
        if not first:  # a new epoch of persistent workers: the same draws as a new iterator
            self._sampler_iter = iter(self._loader._index_sampler)
            _gen(self._loader.generator).integers(0, 2**63 - 1)
        self._epoch += 1
        self._send_idx = 0
        self._rcvd_idx = 0
        self._tasks: dict[int, tuple] = {}  # task id -> (worker id,) or (worker id, payload)
        self._active = [True] * self._num_workers
        self._cycle = itertools.cycle(range(self._num_workers))
        for _ in range(self._prefetch):
            self._put_index()

    def _put_index(self) -> None:
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            wid = next(self._cycle)
            if self._active[wid]:
                break
        else:
            return
        self._index_queues[wid].put((self._send_idx, self._epoch, index))
        self._tasks[self._send_idx] = (wid,)
        self._send_idx += 1

    def _get(self) -> tuple:
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _POLL_S
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    self._shutdown_workers(force=True)
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            try:
                return self._result_queue.get(timeout=wait)
            except queue.Empty:
                dead = [w for w in self._workers if not w.is_alive()]
                if dead:
                    detail = ", ".join(f"pid {w.pid}, exit code {w.exitcode}" for w in dead)
                    self._shutdown_workers()
                    raise RuntimeError(
                        f"DataLoader worker ({detail}) exited unexpectedly. If it was killed by "
                        "a signal, the worker may have run out of memory."
                    ) from None

    def __next__(self) -> Any:
        if self._shutdown:
            raise StopIteration
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._tasks.get(self._rcvd_idx)
                if info is not None and (len(info) == 2 or self._active[info[0]]):
                    break
                self._tasks.pop(self._rcvd_idx, None)  # its worker is exhausted
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            info = self._tasks[self._rcvd_idx]
            if len(info) == 2:
                del self._tasks[self._rcvd_idx]
                self._rcvd_idx += 1
                self._put_index()
                return self._unpack(info[1])
            wid, task_id, epoch, payload = self._get()
            if epoch != self._epoch or task_id not in self._tasks:
                continue  # left over from an earlier pass, or from an exhausted worker
            if payload is None:  # this worker's copy of the IterableDataset is exhausted
                self._active[wid] = False
                del self._tasks[task_id]
                self._put_index()
                continue
            if task_id != self._rcvd_idx:
                self._tasks[task_id] = (wid, payload)
                continue
            del self._tasks[task_id]
            self._rcvd_idx += 1
            self._put_index()
            return self._unpack(payload)

    @staticmethod
    def _unpack(payload: bytes) -> Any:
        kind, obj = pickle.loads(payload)
        if kind == "error":
            obj.reraise()
        return obj

    def _shutdown_workers(self, force: bool = False) -> None:
        """Stop the workers: ask politely, then terminate those still busy after a grace period
        (at once with ``force``, e.g. after a timeout, when a worker is known to be stuck)."""
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._done_event.set()
            for q in self._index_queues:
                try:
                    q.put(None)
                except Exception:
                    pass
            deadline = time.monotonic() + (0.0 if force else _JOIN_TIMEOUT_S)
            for w in self._workers:
                w.join(timeout=max(0.0, deadline - time.monotonic()))
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=_JOIN_TIMEOUT_S)
            for q in self._index_queues:
                q.cancel_join_thread()
                q.close()
            self._result_queue.cancel_join_thread()
            self._result_queue.close()
        except Exception:  # interpreter shutdown: best effort
            pass

    def __del__(self) -> None:
        self._shutdown_workers()
