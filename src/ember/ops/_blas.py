"""Single-threaded BLAS calls: the small reductions ember runs as matrix-vector products,
and the switch that keeps OpenBLAS on one thread while ember splits work itself.

Row sums of short rows are ~4x faster as a GEMV with a ones vector than as NumPy's
reduction (:func:`sum_last`), but OpenBLAS splits a GEMV over its threads from 9,216 elements
on, and a woken worker thread then busy-waits for ~0.1 s. That spinning thread competes with
the Python thread's next NumPy passes (and with ember's own worker threads, see
``_parallel``): measured on 2 loaded cores, a cross-entropy forward took 5.2 ms with the
threaded GEMV, 1.2 ms with a single-threaded one and 1.3 ms with ``np.sum``. So these GEMVs
run with OpenBLAS set to one thread and the previous count restored right after
(``openblas_set_num_threads_local``, which sets the process-wide count and returns the old
one; 0.7 us for the pair of calls). Where that function is missing (another BLAS), the
reductions use NumPy.

Example:
    >>> import numpy as np
    >>> from ember.ops._blas import sum_last, sum_rows
    >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> sum_last(a).ravel().tolist(), sum_rows(a).tolist()
    ([3.0, 12.0], [3.0, 5.0, 7.0])
"""

from __future__ import annotations

import ctypes

import numpy as np

__all__ = ["sum_last", "mean_last", "sum_rows", "single_thread_setter"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_MIN_SIZE = 8192  # below this NumPy's own reduction costs about the same
_setter = None  # ctypes function, or False when unavailable


def single_thread_setter():
    """OpenBLAS's ``openblas_set_num_threads_local(n) -> previous n`` from the library NumPy
    loaded, or None."""
    global _setter
    if _setter is None:
        _setter = False
        np.dot(np.ones((2, 2)), np.ones((2, 2)))  # make sure NumPy's BLAS is loaded
        try:
            with open("/proc/self/maps") as f:
                paths = {
                    line.split()[-1]
                    for line in f
                    if "openblas" in line.lower() and line.rstrip().split()[-1].startswith("/")
                }
        except OSError:  # not Linux
            paths = set()
        for path in sorted(paths, key=lambda p: "numpy" not in p):
            try:
                fn = ctypes.CDLL(path).openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
            _setter = fn
            break
    return _setter or None


def _gemv(a2: np.ndarray, v: np.ndarray, left: bool) -> np.ndarray | None:
    setter = single_thread_setter()
    if setter is None:
        return None
    prev = setter(1)
    try:
        return v @ a2 if left else a2 @ v
    finally:
        setter(prev)


def _usable(a: np.ndarray) -> bool:
    return a.dtype in _FLOATS and a.size >= _MIN_SIZE and a.flags.c_contiguous


def sum_last(a: np.ndarray, keepdims: bool = True) -> np.ndarray:
    """``a.sum(axis=-1)``; a single-threaded GEMV with a ones vector for large float arrays
    (NumPy reduces short rows one at a time: (1024, 128) float32 takes 57 us against 13 us)."""
    shape = a.shape[:-1] + (1,) if keepdims else a.shape[:-1]
    if a.ndim and _usable(a) and a.shape[-1]:
        n = a.shape[-1]
        out = _gemv(a.reshape(-1, n), np.ones(n, a.dtype), False)
        if out is not None:
            return out.reshape(shape)
    return a.sum(axis=-1, keepdims=keepdims)


def mean_last(a: np.ndarray, keepdims: bool = True) -> np.ndarray:
    """``a.mean(axis=-1)`` the way :func:`sum_last` sums (the 1/n folded into the vector)."""
    shape = a.shape[:-1] + (1,) if keepdims else a.shape[:-1]
    if a.ndim and _usable(a) and a.shape[-1]:
        n = a.shape[-1]
        out = _gemv(a.reshape(-1, n), np.full(n, 1.0 / n, a.dtype), False)
        if out is not None:
            return out.reshape(shape)
    return a.mean(axis=-1, keepdims=keepdims, dtype=a.dtype)


def sum_rows(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a 2-D array, as a ones row vector times ``a`` where it pays."""
    if a.ndim == 2 and _usable(a) and a.shape[0]:
        out = _gemv(a, np.ones(a.shape[0], a.dtype), True)
        if out is not None:
            return out
    return a.sum(axis=0)
