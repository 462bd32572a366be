"""Intra-op parallelism for ember's NumPy kernels: split one op over ``get_num_threads()``.

NumPy's ufuncs run on one thread, and OpenBLAS's own threads busy-wait for ~0.1 s after every
multi-threaded call (measured: a full core of CPU time during a 50 ms sleep right after a
2-thread GEMM), keeping the other cores busy while the Python thread runs the next
elementwise pass. So ember splits its large kernels itself, over a small pool of worker
threads (NumPy releases the GIL inside ufunc loops and BLAS calls): a GEMM by rows or columns
of its output (or by whole matrices of a stack) with OpenBLAS set to one thread, and the
elementwise, softmax, normalisation, loss, pooling and convolution kernels by rows or batch
chunks. Measured on 2 cores (no other load): a (1024, 512) @ (512, 128) GEMM 1.46 ms on one
thread, 0.76 ms split (OpenBLAS's own 2 threads: 0.75 ms, but then a split GELU CDF after it
takes 1.8 ms instead of 0.9 ms); medians over 30 alternating runs, one thread -> two: GELU
forward 1.83 -> 1.24 ms, cross entropy (1024 x 512) 1.18 -> 0.73 ms, attention probabilities
1.23 -> 1.01 ms.

Work below a size threshold runs inline (a hand-off costs ~20 us, and concurrent small
OpenBLAS calls serialise); so does a call from a pool worker, from a second Python thread
while the pool is busy, or with one thread configured. Workers run with the caller's NumPy
error settings. The pool is rebuilt after ``os.fork`` (worker threads do not survive it).

Example:
    >>> import numpy as np
    >>> from ember.ops._parallel import matmul, run_parts
    >>> a, b = np.ones((300, 200), np.float32), np.ones((200, 100), np.float32)
    >>> float(matmul(a, b)[0, 0])
    200.0
    >>> run_parts(lambda lo, hi: hi - lo, [(0, 3), (3, 10)])
    [3, 7]
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

from ..threads import get_num_threads
from ._blas import single_thread_setter

__all__ = [
    "run_parts",
    "row_parts",
    "matmul",
    "for_rows",
    "map_parts",
    "ufunc",
    "num_threads",
    "BlasSingleThread",
    "GEMM_MIN_FLOPS",
    "MIN_ELEMENTS",
]

#: Below these, an op runs inline: the hand-off to a worker (~20 us) costs more than it saves.
#: ``MIN_ELEMENTS`` counts element-passes (one NumPy pass over one element ~ 0.1 ns).
GEMM_MIN_FLOPS = 16_000_000  # concurrent small OpenBLAS calls serialise; measured on 2 cores
MIN_ELEMENTS = 1_000_000
_BLAS_SINGLE_BELOW = 65536 * 4  # OpenBLAS's own threshold for threading a GEMM (m * n * k)


class _Worker:
    """One daemon thread that runs the jobs handed to it, one at a time."""

    def __init__(self):
        self._cv = threading.Condition()
        self._job = None
        self._done = threading.Event()
        self._result = self._error = None
        self._err = {}
        threading.Thread(target=self._loop, name="ember-intra-op", daemon=True).start()

    def _loop(self):
        while True:
            with self._cv:
                while self._job is None:
                    self._cv.wait()
                fn, args = self._job
                self._job = None
            try:
                with np.errstate(**self._err):  # the caller's floating-point error settings
                    self._result, self._error = fn(*args), None
            except BaseException as exc:  # re-raised in the calling thread
                self._result, self._error = None, exc
            self._done.set()

    def submit(self, fn, args, err: dict) -> None:
        self._done.clear()
        with self._cv:
            self._job = (fn, args)
            self._err = err
            self._cv.notify()

    def result(self):
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result


_workers: list = []
_busy = threading.Lock()  # one parallel region at a time; others run inline
_pid = os.getpid()


def _reset_after_fork() -> None:
    global _workers, _busy, _pid
    _workers, _busy, _pid = [], threading.Lock(), os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def num_threads() -> int:
    """The number of threads ember's kernels split over (``ember.get_num_threads()``)."""
    return get_num_threads()


_threads = num_threads


def run_parts(fn, parts: list) -> list:
    """``[fn(*p) for p in parts]`` with the parts spread over the pool's threads (the first
    in the calling thread). Inline when there is one part or the pool is in use."""
    if len(parts) < 2 or not _busy.acquire(blocking=False):
        return [fn(*p) for p in parts]
    try:
        need = len(parts) - 1
        while len(_workers) < need:
            _workers.append(_Worker())
        err = np.geterr()
        for w, p in zip(_workers, parts[1:]):
            w.submit(fn, p, err)
        first = fn(*parts[0])
        return [first] + [w.result() for w in _workers[:need]]
    finally:
        _busy.release()


def map_parts(fn, parts: list) -> list:
    """``[fn(*p) for p in parts]`` in waves of ``num_threads()`` parts, with BLAS on one
    thread (for kernels whose parts call BLAS)."""
    k = max(1, num_threads())
    with BlasSingleThread():
        out = []
        for i in range(0, len(parts), k):
            out.extend(run_parts(fn, parts[i : i + k]))
    return out


def row_parts(n: int, work: float, min_work: float) -> list:
    """Split ``range(n)`` into ``(lo, hi)`` pieces, one per thread, when ``work`` (for all
    rows) reaches ``min_work``; else one piece."""
    k = min(_threads(), n) if work >= min_work else 1
    if k <= 1:
        return [(0, n)]
    step = -(-n // k)
    return [(lo, min(n, lo + step)) for lo in range(0, n, step)]


def _rows_part(a, b, out, lo, hi):
    np.matmul(a[lo:hi], b, out=out[lo:hi])


def _cols_part(a, b, out, lo, hi):
    np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])


def _batch_part(a, b, out, lo, hi):
    np.matmul(a[lo:hi], b[lo:hi] if b.ndim == a.ndim else b, out=out[lo:hi])


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b[, out=out])``, with BLAS on one thread and the work split over ember's
    threads when large: stacked matrices by whole matrices, a 2-D product by the longer of its
    output's rows and columns. (A multi-threaded OpenBLAS call would leave its worker
    spinning for ~0.1 s, competing with the next elementwise kernel for the cores.)"""
    setter = single_thread_setter()
    if a.ndim < 2 or b.ndim < 2 or a.dtype != b.dtype or a.dtype.kind != "f" or setter is None:
        return np.matmul(a, b, out=out)
    m, k = a.shape[-2:]
    n = b.shape[-1]
    batch = a.shape[:-2]
    if b.ndim > 2 and b.shape[:-2] != batch:
        return np.matmul(a, b, out=out)  # broadcast batch dimensions: left to NumPy
    count = math.prod(batch)
    if m * n * k * count < _BLAS_SINGLE_BELOW or _threads() < 2:
        return np.matmul(a, b, out=out)  # OpenBLAS runs these on one thread anyway
    if out is not None and (out.shape != batch + (m, n) or out.dtype != a.dtype):
        return np.matmul(a, b, out=out)  # NumPy's broadcasting and casting rules
    flops = 2.0 * m * n * k * count
    if batch:
        # split along the first batch axis of size > 1, without reshaping: a stack of views
        # (attention's q, k, v out of one qkv tensor) does not fold into one batch axis, and
        # the copy that reshape makes cost more than the split saved (measured (16, 4, 64, 32)
        # @ (16, 4, 32, 64) from a qkv view, 2 threads: 611 us with the copies, 265 us without)
        lead = 0
        while lead < len(batch) - 1 and batch[lead] == 1:
            lead += 1
        index = (0,) * lead
        a, b = a[index], (b[index] if b.ndim > 2 else b)
        part, length = _batch_part, a.shape[0]
        if out is None:
            out = np.empty(batch + (m, n), a.dtype)
        out_view = out[index]
    else:
        part, length = (_rows_part, m) if m >= n else (_cols_part, n)
        if out is None:
            out = np.empty((m, n), a.dtype)
        out_view = out
    prev = setter(1)
    try:
        parts = row_parts(length, flops, GEMM_MIN_FLOPS)
        if len(parts) < 2:
            np.matmul(a, b, out=out_view)
        else:
            run_parts(part, [(a, b, out_view, lo, hi) for lo, hi in parts])
    finally:
        setter(prev)
    return out


class BlasSingleThread:
    """Context manager: OpenBLAS on one thread for the block (kernels that call BLAS inside a
    parallel region, so no BLAS worker wakes up and spins)."""

    __slots__ = ("_prev",)

    def __enter__(self):
        setter = single_thread_setter()
        self._prev = setter(1) if setter is not None and _threads() > 1 else None
        return self

    def __exit__(self, *exc):
        if self._prev is not None:
            single_thread_setter()(self._prev)
        return False


def for_rows(fn, n: int, work_per_row: float, *, blas: bool = False) -> list:
    """Call ``fn(lo, hi)`` over row ranges covering ``range(n)``, in parallel when the total
    work (in elements touched) reaches ``MIN_ELEMENTS``; returns the results in order.
    ``blas=True`` when ``fn`` calls BLAS: it then runs with OpenBLAS on one thread."""
    parts = row_parts(n, n * work_per_row, MIN_ELEMENTS)
    if not blas:
        return run_parts(fn, parts)
    with BlasSingleThread():
        return run_parts(fn, parts)


def _ufunc_part(ufunc, arrays, out, n, lo, hi):
    ufunc(
        *[a[lo:hi] if a.ndim == out.ndim and a.shape[0] == n else a for a in arrays], out=out[lo:hi]
    )


def ufunc(fn, *arrays, passes: int = 1, dtype=None):
    """``fn(*arrays)`` for a NumPy ufunc (``dtype``: its output dtype, by default the
    arrays' common one), split along the first axis of the broadcast result when it is large.
    ``passes`` weighs the work per element (1 for ``add``, ~10 for ``exp``)."""
    size = max(a.size for a in arrays)  # the result has at least as many elements
    if size * passes < MIN_ELEMENTS or num_threads() < 2:
        return fn(*arrays) if dtype is None else fn(*arrays, dtype=dtype)
    shape = np.broadcast_shapes(*[a.shape for a in arrays])
    out = np.empty(shape, dtype if dtype is not None else np.result_type(*arrays))
    n = shape[0]
    parts = row_parts(n, out.size * passes, MIN_ELEMENTS)
    run_parts(_ufunc_part, [(fn, arrays, out, n, lo, hi) for lo, hi in parts])
    return out
