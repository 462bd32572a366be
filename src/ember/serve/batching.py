"""Dynamic batching: concurrent requests to one model version run as one model call.

Requests queue up; a batch starts when ``max_batch_size`` rows are waiting or the oldest
request has waited ``batch_timeout_micros``, whichever comes first (and a free execution slot).
Only requests whose tensors agree on everything but the batch axis (axis 0) are merged; the
inputs are concatenated along axis 0, the model runs once in the executor thread pool, and each
output is split back by row counts in request order. If a merged call fails, its requests are
re-run one by one, so one bad request cannot fail its neighbours. ``max_batch_size <= 1``
turns merging off but keeps the queue (and its concurrency limit).

Example:
    >>> import asyncio
    >>> import numpy as np
    >>> from ember.serve.batching import DynamicBatcher
    >>> calls = []
    >>> def model(arrays):
    ...     calls.append(len(arrays["x"]))
    ...     return {"y": arrays["x"] * 2}
    >>> async def main():
    ...     batcher = DynamicBatcher(model, max_batch_size=8, timeout_s=0.01)
    ...     xs = [np.full((1, 2), i, np.float32) for i in range(3)]
    ...     results = await asyncio.gather(*(batcher.submit({"x": x}) for x in xs))
    ...     await batcher.close()
    ...     return [float(r["y"][0, 0]) for r in results]
    >>> asyncio.run(main()), calls
    ([0.0, 2.0, 4.0], [3])
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DynamicBatcher", "BatchStats"]


@dataclass
class BatchStats:
    """What one model call looked like (for metrics)."""

    rows: int
    requests: int
    queue_seconds: list[float] = field(default_factory=list)
    run_seconds: float = 0.0


@dataclass
class _Pending:
    inputs: dict
    rows: int
    key: tuple
    future: asyncio.Future
    enqueued: float


def _batch_key(inputs: dict) -> tuple:
    return tuple((name, a.dtype.str, a.shape[1:]) for name, a in inputs.items())


class DynamicBatcher:
    """Queue + merge + split for one model version; :meth:`submit` is the only entry point.

    ``run(dict of arrays) -> dict of arrays`` is called in ``executor`` (None = asyncio's
    default), or directly on the event loop with ``inline=True`` (no thread hand-off: cheaper
    for small models, but the loop waits for each call); at most ``concurrency`` calls run at
    once; ``observe(BatchStats)`` is called after every model call.

    Scheduling uses plain event-loop callbacks (no background task): a batch is flushed by a
    timer at the oldest request's deadline, or on the next loop turn once enough rows wait or
    the timeout is 0 (requests that arrived in the same turn are still merged).
    """

    def __init__(
        self,
        run: Callable[[dict], dict],
        *,
        max_batch_size: int = 32,
        timeout_s: float = 0.001,
        executor: Executor | None = None,
        concurrency: int = 1,
        observe: Callable[[BatchStats], None] | None = None,
        inline: bool = False,
    ):
        self.run, self.executor, self.observe, self.inline = run, executor, observe, inline
        self.max_batch_size = max(1, int(max_batch_size))
        self.timeout_s = max(0.0, float(timeout_s))
        self._concurrency = max(1, int(concurrency))
        self._queue: deque[_Pending] = deque()
        self._queued_rows = 0
        self._busy = 0
        self._timer: asyncio.Handle | None = None
        self._timer_due = 0.0
        self._closing = False
        self._drained: asyncio.Event | None = None

    @property
    def closing(self) -> bool:
        """True once :meth:`close` was called (no new requests are taken)."""
        return self._closing

    @property
    def pending(self) -> int:
        """Requests waiting for a model call."""
        return len(self._queue)

    async def submit(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Queue one request (arrays with equal axis-0 length) and wait for its outputs."""
        if self._closing:
            raise RuntimeError("this model version is shutting down")
        loop = asyncio.get_running_loop()
        rows = next(iter(inputs.values())).shape[0] if inputs else 0
        pending = _Pending(inputs, rows, _batch_key(inputs), loop.create_future(), loop.time())
        self._queue.append(pending)
        self._queued_rows += rows
        self._schedule(loop)
        return await pending.future

    async def close(self) -> None:
        """Finish every queued and running request, then stop taking new ones."""
        self._closing = True
        if not self._queue and not self._busy:
            return
        self._drained = asyncio.Event()
        self._schedule(asyncio.get_running_loop())
        await self._drained.wait()

    # -- scheduling (all on the event loop thread) ---------------------------------------------
    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._queue or self._busy >= self._concurrency:
            return  # a finishing call schedules again
        now = loop.time()
        due = self._queue[0].enqueued + self.timeout_s
        if self._closing or self._queued_rows >= self.max_batch_size:
            due = now
        if self._timer is not None:
            if self._timer_due <= due:
                return  # already due no later than needed
            self._timer.cancel()
        self._timer_due = due
        if due <= now:
            self._timer = loop.call_soon(self._flush, loop)
        else:
            self._timer = loop.call_at(due, self._flush, loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        while self._queue and self._busy < self._concurrency:
            batch = self._take(self._queue[0].key)
            if not batch:
                continue
            self._busy += 1
            started = loop.time()
            stats = BatchStats(
                rows=sum(p.rows for p in batch),
                requests=len(batch),
                queue_seconds=[started - p.enqueued for p in batch],
            )
            if self.inline:
                self._finish(loop, batch, stats, self._compute(batch, stats))
            else:
                future = loop.run_in_executor(self.executor, self._compute, batch, stats)
                future.add_done_callback(
                    lambda f, b=batch, s=stats: self._finish(loop, b, s, _outcome(f, len(b)))
                )
            if self._queue:
                # the rest waits for its own deadline (or for a free execution slot)
                self._schedule(loop)
                return
        self._check_drained()

    def _take(self, key: tuple) -> list[_Pending]:
        batch, rows, keep = [], 0, deque()
        while self._queue:
            p = self._queue.popleft()
            if p.future.done():  # the client went away
                self._queued_rows -= p.rows
                continue
            fits = not batch or rows + p.rows <= self.max_batch_size
            if p.key == key and fits and rows < self.max_batch_size:
                batch.append(p)
                rows += p.rows
                self._queued_rows -= p.rows
            else:
                keep.append(p)
        self._queue = keep
        return batch

    def _finish(self, loop, batch: list[_Pending], stats: BatchStats, outcome: list) -> None:
        self._busy -= 1
        for p, result in zip(batch, outcome):
            if isinstance(result, BaseException):
                _settle(p.future, exc=result)
            else:
                _settle(p.future, result=result)
        if self.observe is not None:
            self.observe(stats)
        self._schedule(loop)
        self._check_drained()

    def _check_drained(self) -> None:
        if self._drained is not None and not self._queue and not self._busy:
            self._drained.set()

    # -- the model call (event loop thread if inline, else an executor thread) -----------------
    def _timed_run(self, arrays: dict, stats: BatchStats) -> dict:
        start = time.perf_counter()
        try:
            return self.run(arrays)
        finally:
            stats.run_seconds += time.perf_counter() - start

    def _compute(self, batch: list[_Pending], stats: BatchStats) -> list:
        """One result dict or exception per request, in order."""
        if len(batch) == 1:
            return _outcome_of(lambda: self._timed_run(batch[0].inputs, stats), 1)
        names = list(batch[0].inputs)
        try:
            merged = {n: np.concatenate([p.inputs[n] for p in batch], axis=0) for n in names}
            return _split(self._timed_run(merged, stats), [p.rows for p in batch])
        except Exception:
            # Re-run one by one so only the request that caused the failure sees it.
            out = []
            for p in batch:
                out += _outcome_of(lambda p=p: self._timed_run(p.inputs, stats), 1)
            return out


def _outcome_of(call: Callable[[], dict], n: int) -> list:
    try:
        return [call()]
    except Exception as exc:
        return [exc] * n


def _outcome(future: asyncio.Future, n: int) -> list:
    if future.cancelled():
        return [asyncio.CancelledError()] * n
    exc = future.exception()
    return [exc] * n if exc is not None else future.result()


def _split(outputs: dict, rows: list[int]) -> list[dict]:
    total = sum(rows)
    for name, value in outputs.items():
        if value.ndim == 0 or value.shape[0] != total:
            raise ValueError(
                f"output {name!r} has shape {list(value.shape)}; a batched model must return "
                f"{total} rows (one per input row)"
            )
    offsets = np.cumsum(rows)[:-1]
    pieces = {name: np.split(value, offsets, axis=0) for name, value in outputs.items()}
    return [{name: pieces[name][i] for name in outputs} for i in range(len(rows))]


def _settle(future: asyncio.Future, result: dict | None = None, exc: Exception | None = None):
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
