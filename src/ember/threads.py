"""Thread settings (PyTorch names): how many threads BLAS and ember's own kernels use.

``set_num_threads`` stores the value (ember's compiled C kernels read it) and applies it to
the BLAS library NumPy uses for matmul. The library is found lazily on first use: through
``threadpoolctl`` when it is installed, else by locating a loaded OpenBLAS (NumPy's wheels
bundle ``scipy_openblas``) or MKL and calling its thread functions through ``ctypes``. When no
BLAS can be controlled the value is only recorded and a warning is given once.

The default is ``OMP_NUM_THREADS`` when set, else the number of CPUs this process may use.

Example:
    >>> import ember
    >>> n = ember.get_num_threads()
    >>> ember.set_num_threads(1)
    >>> ember.get_num_threads()
    1
    >>> ember.set_num_threads(n)
"""

from __future__ import annotations

import os
import warnings

__all__ = [
    "set_num_threads",
    "get_num_threads",
    "set_num_interop_threads",
    "get_num_interop_threads",
]

# (setter, getter) symbol pairs, most specific first. The getter may be absent (MKL's differs).
_OPENBLAS_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)
_MKL_SYMBOLS = (("MKL_Set_Num_Threads", "MKL_Get_Max_Threads"),)
_BLIS_SYMBOLS = (("bli_thread_set_num_threads", "bli_thread_get_num_threads"),)
_LIB_HINTS = ("openblas", "mkl_rt", "libmkl", "blis", "flexiblas")


def _default_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_num_threads: int | None = None
_num_interop_threads: int | None = None
_blas = None  # _Blas instance, or False once we know none can be controlled
_warned = False


class _Blas:
    """A BLAS library whose thread count can be read and set."""

    def __init__(self, name: str, path: str, setter, getter, api: str):
        self.name, self.path, self.api = name, path, api
        self._set, self._get = setter, getter

    def set(self, n: int) -> None:
        self._set(n)

    def get(self) -> int | None:
        return self._get() if self._get is not None else None


def _loaded_library_paths() -> list[str]:
    """Paths of shared libraries loaded in this process that look like a BLAS."""
    paths: list[str] = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[-1].startswith("/"):
                    p = parts[-1]
                    if any(h in os.path.basename(p).lower() for h in _LIB_HINTS) and p not in paths:
                        paths.append(p)
    except OSError:  # not Linux: look where NumPy's wheels keep their bundled libraries
        import numpy as np

        root = os.path.dirname(os.path.dirname(np.__file__))
        for d in (os.path.join(root, "numpy.libs"), os.path.join(np.__path__[0], ".dylibs")):
            if os.path.isdir(d):
                for fn in sorted(os.listdir(d)):
                    if any(h in fn.lower() for h in _LIB_HINTS):
                        paths.append(os.path.join(d, fn))
    paths.sort(key=lambda p: "numpy" not in p)  # NumPy's own BLAS first
    return paths


def _from_threadpoolctl() -> _Blas | None:
    try:
        import threadpoolctl
    except ImportError:
        return None
    import numpy as np

    np.dot(np.ones((2, 2)), np.ones((2, 2)))  # make sure NumPy's BLAS is loaded
    ctl = threadpoolctl.ThreadpoolController()
    blas = ctl.select(user_api="blas")
    if not blas.lib_controllers:
        return None
    info = blas.lib_controllers[0].info()

    def setter(n: int) -> None:
        blas.limit(limits=n)  # the limit stays in force: threadpoolctl only restores on exit

    def getter() -> int:
        return blas.lib_controllers[0].num_threads

    return _Blas(
        info.get("internal_api", "blas"), info.get("filepath", ""), setter, getter, "threadpoolctl"
    )


def _from_ctypes() -> _Blas | None:
    import ctypes

    import numpy as np

    np.dot(np.ones((2, 2)), np.ones((2, 2)))
    for path in _loaded_library_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        base = os.path.basename(path).lower()
        if "mkl" in base:
            kind, table = "mkl", _MKL_SYMBOLS
        elif "blis" in base:
            kind, table = "blis", _BLIS_SYMBOLS
        else:
            kind, table = "openblas", _OPENBLAS_SYMBOLS
        for set_name, get_name in table:
            setter = getattr(lib, set_name, None)
            if setter is None:
                continue
            getter = getattr(lib, get_name, None)
            setter.argtypes, setter.restype = [ctypes.c_int], None
            if getter is not None:
                getter.argtypes, getter.restype = [], ctypes.c_int
            return _Blas(kind, path, setter, getter, f"ctypes:{set_name}")
    return None


def _find_blas() -> _Blas | None:
    """The controllable BLAS (found once, lazily), or None."""
    global _blas
    if _blas is None:
        found = None
        for finder in (_from_threadpoolctl, _from_ctypes):
            try:
                found = finder()
            except Exception:  # a broken library must not break ember
                found = None
            if found is not None:
                break
        _blas = found if found is not None else False
    return _blas or None


def blas_info() -> dict:
    """What ember knows about NumPy's BLAS: library kind, path, control API and thread count.

    Example:
        >>> import ember
        >>> sorted(ember.threads.blas_info())
        ['api', 'name', 'num_threads', 'path']
    """
    b = _find_blas()
    if b is None:
        return {"name": None, "path": None, "api": None, "num_threads": None}
    try:
        n = b.get()
    except Exception:
        n = None
    return {"name": b.name, "path": b.path, "api": b.api, "num_threads": n}


def _check_positive(n, op: str) -> int:
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"{op} expects a positive integer, got {type(n).__name__}")
    n = n.__index__()
    if n <= 0:
        raise RuntimeError(f"{op} expects a positive integer, got {n}")
    return n


def set_num_threads(n: int) -> None:
    """Set the number of threads for intra-op parallelism (BLAS and ember's C kernels).

    Example:
        >>> import ember
        >>> ember.set_num_threads(2)
        >>> ember.get_num_threads()
        2
    """
    global _num_threads, _warned
    n = _check_positive(n, "set_num_threads")
    _num_threads = n
    blas = _find_blas()
    if blas is not None:
        blas.set(n)
    elif not _warned:
        _warned = True
        warnings.warn(
            "ember.set_num_threads: could not find a BLAS library to control (install "
            "threadpoolctl for more libraries); the value is recorded for ember's own kernels",
            RuntimeWarning,
            stacklevel=2,
        )


def get_num_threads() -> int:
    """The number of threads used for intra-op parallelism.

    Example:
        >>> import ember
        >>> ember.get_num_threads() >= 1
        True
    """
    global _num_threads
    if _num_threads is None:
        _num_threads = _default_threads()
    return _num_threads


def set_num_interop_threads(n: int) -> None:
    """Set the number of threads for inter-op parallelism (recorded for ember's executors).

    Example:
        >>> import ember
        >>> ember.set_num_interop_threads(2)
        >>> ember.get_num_interop_threads()
        2
    """
    global _num_interop_threads
    _num_interop_threads = _check_positive(n, "set_num_interop_threads")


def get_num_interop_threads() -> int:
    """The number of threads for inter-op parallelism.

    Example:
        >>> import ember
        >>> ember.get_num_interop_threads() >= 1
        True
    """
    global _num_interop_threads
    if _num_interop_threads is None:
        _num_interop_threads = _default_threads()
    return _num_interop_threads
