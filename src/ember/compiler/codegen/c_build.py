"""Build C source into a shared library with the system compiler, cached on disk, loaded with ctypes.

The compiler is ``$CC`` or the first of ``cc``, ``gcc``, ``clang`` on the ``PATH``;
``EMBER_NO_CC=1`` pretends there is none. Flags: ``-O3 -fno-math-errno -fno-trapping-math
-ffp-contract=off -fopenmp-simd`` (no ``-ffast-math``: it would change NaN handling and the
accuracy of ``exp``/``erf``/``tanh``), plus ``-march=native`` when the compiler accepts it.
When the C library has vector math (glibc's libmvec), the math functions are declared with
SIMD variants so loops calling ``expf``/``erff``/``tanhf`` vectorise; those variants are
accurate to a few ulp (measured against float64: < 4e-7 relative for float32).

Libraries are cached by the SHA-256 of (source, compiler identity, flags, CPU) in
``$EMBER_CACHE_DIR`` or ``~/.cache/ember/kernels`` as ``<hash>.so`` with the source beside
it. Writes go to a unique temporary file first and are moved in place with ``os.replace``, so
processes building the same library at once are safe (both produce the same bytes; the last
rename wins) and a reader never sees a half-written file.

Example:
    >>> from ember.compiler.codegen import c_build
    >>> tc = c_build.toolchain()
    >>> tc is None or tc.cc.endswith(("cc", "gcc", "clang"))
    True
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .c_ops import MATH_FUNCTIONS

__all__ = [
    "Toolchain",
    "BuildError",
    "toolchain",
    "cache_dir",
    "build_library",
    "cached_library",
    "load_library",
    "fallback_notice",
    "array_data_offset",
]

BASE_FLAGS = (
    "-O3",
    "-fPIC",
    "-shared",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-ffp-contract=off",
    "-fopenmp-simd",
)


class BuildError(RuntimeError):
    """The C compiler failed (the message holds its output)."""


@dataclass(frozen=True)
class Toolchain:
    """A working C compiler and what it can do here."""

    cc: str
    version: str
    flags: tuple
    vector_math: bool  # libmvec SIMD declarations link and run
    openmp: bool  # -fopenmp works

    def identity(self) -> str:
        return "|".join((self.cc, self.version, " ".join(self.flags), str(self.vector_math)))


_lock = threading.Lock()
_toolchain: Toolchain | None | bool = False  # False: not probed yet
_notified = False


def cache_dir() -> str:
    """Where built kernels live: ``$EMBER_CACHE_DIR`` or ``~/.cache/ember/kernels`` (a
    directory under the system's temporary directory when that one cannot be written)."""
    root = os.environ.get("EMBER_CACHE_DIR")
    if not root:
        root = os.path.join(os.path.expanduser("~"), ".cache", "ember", "kernels")
    try:
        os.makedirs(root, exist_ok=True)
        if os.access(root, os.W_OK):
            return root
    except OSError:
        pass
    fallback = os.path.join(tempfile.gettempdir(), f"ember-kernels-{os.getuid()}")
    os.makedirs(fallback, exist_ok=True)
    return fallback


def _find_cc() -> str | None:
    env = os.environ.get("CC")
    if env:
        path = shutil.which(env.split()[0])
        return path
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _cpu_signature() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        model = next((ln for ln in text.splitlines() if ln.startswith("model name")), "")
        flags = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
        return model + hashlib.sha256(flags.encode()).hexdigest()[:16]
    except OSError:
        return platform.processor()


def toolchain() -> Toolchain | None:
    """The C toolchain, probed once per process (and cached on disk), or None if unusable."""
    global _toolchain
    if os.environ.get("EMBER_NO_CC", "") not in ("", "0"):
        return None
    with _lock:
        if _toolchain is False:
            _toolchain = _probe()
        return _toolchain or None


def reset_toolchain() -> None:
    """Forget the probed toolchain (tests that change ``CC`` or ``EMBER_NO_CC`` call this)."""
    global _toolchain, _notified
    with _lock:
        _toolchain = False
        _notified = False


def _run(cmd: list[str], timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _probe() -> Toolchain | None:
    cc = _find_cc()
    if cc is None:
        return None
    try:
        version = _run([cc, "--version"], timeout=30).stdout.splitlines()[0].strip()
    except (OSError, IndexError, subprocess.SubprocessError):
        return None
    key = hashlib.sha256(
        "|".join((cc, version, platform.machine(), _cpu_signature(), " ".join(BASE_FLAGS))).encode()
    ).hexdigest()[:24]
    record = os.path.join(cache_dir(), f"toolchain-{key}.json")
    try:
        with open(record) as f:
            saved = json.load(f)
        return Toolchain(cc, version, tuple(saved["flags"]), saved["vector_math"], saved["openmp"])
    except (OSError, ValueError, KeyError):
        pass
    flags = list(BASE_FLAGS)
    trivial = "int f(int x) { return x + 1; }\n"
    if _compiles(cc, flags + ["-march=native"], trivial, "f"):
        flags.append("-march=native")
    elif not _compiles(cc, flags, trivial, "f"):
        return None
    with ThreadPoolExecutor(max_workers=2) as pool:  # two more compilers, side by side
        vm = pool.submit(_compiles, cc, flags, _vector_math_probe(), "probe", ["-lm"], True)
        omp = pool.submit(_compiles, cc, flags + ["-fopenmp"], _openmp_probe(), "probe", (), True)
        vector_math, openmp = vm.result(), omp.result()
    tc = Toolchain(cc, version, tuple(flags), vector_math, openmp)
    _atomic_write(
        record,
        json.dumps({"flags": tc.flags, "vector_math": vector_math, "openmp": openmp}).encode(),
    )
    return tc


def _vector_math_probe() -> str:
    lines = ["#include <math.h>", "#include <stdint.h>", vector_math_declarations()]
    lines.append("double probe(void) { float xf[64]; double xd[64]; double s = 0;")
    lines.append("  for (int i = 0; i < 64; i++) { xf[i] = 0.01f * i + 0.1f; xd[i] = xf[i]; }")
    for fn in MATH_FUNCTIONS:
        two = fn in ("pow", "atan2", "fmod")
        argf = "xf[i], xf[i]" if two else "xf[i]"
        argd = "xd[i], xd[i]" if two else "xd[i]"
        lines.append(f"  for (int i = 0; i < 64; i++) xf[i] = {fn}f({argf});")
        lines.append(f"  for (int i = 0; i < 64; i++) xd[i] = {fn}({argd});")
    lines.append("  for (int i = 0; i < 64; i++) s += xf[i] + xd[i];")
    lines.append("  return s; }")
    return "\n".join(lines) + "\n"


def _openmp_probe() -> str:
    return (
        "#include <omp.h>\n"
        "double probe(void) { double s = 0;\n"
        "#pragma omp parallel for reduction(+:s) num_threads(2)\n"
        "  for (int i = 0; i < 100; i++) s += i;\n"
        "  return s; }\n"
    )


def vector_math_declarations() -> str:
    """Redeclare the libm functions the kernels use with SIMD variants (glibc libmvec)."""
    out = []
    for fn in MATH_FUNCTIONS:
        two = fn in ("pow", "atan2", "fmod")
        if fn == "fmod":  # no vector variant in libmvec
            continue
        out.append(
            f'float {fn}f(float{", float" if two else ""}) __attribute__((simd("notinbranch")));'
        )
        out.append(
            f'double {fn}(double{", double" if two else ""}) __attribute__((simd("notinbranch")));'
        )
    return "\n".join(out) + "\n"


def _compiles(cc, flags, source, symbol, libs=(), call=False) -> bool:
    with tempfile.TemporaryDirectory(prefix="ember-probe-") as tmp:
        src = os.path.join(tmp, "probe.c")
        lib = os.path.join(tmp, "probe.so")
        with open(src, "w") as f:
            f.write(source)
        try:
            res = _run([cc, *flags, src, "-o", lib, *libs], timeout=60)
        except (OSError, subprocess.SubprocessError):
            return False
        if res.returncode != 0:
            return False
        try:
            handle = ctypes.CDLL(lib)
            fn = getattr(handle, symbol)
            if call:
                fn.restype = ctypes.c_double
                fn()
        except (OSError, AttributeError):
            return False
    return True


def _atomic_write(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def library_key(source: str, tc: Toolchain, extra_flags: tuple = ()) -> str:
    """Content hash naming the library built from ``source`` with ``tc``."""
    text = "\n".join((tc.identity(), " ".join(extra_flags), platform.machine(), _cpu_signature()))
    return hashlib.sha256((text + "\n" + source).encode()).hexdigest()[:32]


def cached_library(source: str, tc: Toolchain, extra_flags: tuple = ()) -> str | None:
    """Path of the already-built library for ``source``, or None."""
    path = os.path.join(cache_dir(), f"{library_key(source, tc, extra_flags)}.so")
    return path if os.path.exists(path) else None


def build_library(source: str, tc: Toolchain, extra_flags: tuple = ()) -> tuple[str, bool]:
    """Path of the library built from ``source`` and whether it came from the cache."""
    key = library_key(source, tc, extra_flags)
    root = cache_dir()
    path = os.path.join(root, f"{key}.so")
    if os.path.exists(path):
        return path, True
    fd, tmp_src = tempfile.mkstemp(dir=root, prefix=f".{key}-", suffix=".c")
    tmp_lib = tmp_src[:-2] + ".so"
    try:
        with os.fdopen(fd, "w") as f:
            f.write(source)
        cmd = [tc.cc, *tc.flags, *extra_flags, tmp_src, "-o", tmp_lib, "-lm"]
        try:
            res = _run(cmd)
        except (OSError, subprocess.SubprocessError) as exc:
            raise BuildError(f"could not run the C compiler {tc.cc}: {exc}") from None
        if res.returncode != 0:
            raise BuildError(f"C compiler failed ({' '.join(cmd)}):\n{res.stderr.strip()[-4000:]}")
        os.replace(tmp_lib, path)
        os.replace(tmp_src, os.path.join(root, f"{key}.c"))
    finally:
        for leftover in (tmp_src, tmp_lib):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return path, False


def load_library(path: str) -> ctypes.CDLL:
    """Load a built library (each path is loaded once per process by the dynamic loader)."""
    return ctypes.CDLL(path)


def fallback_notice(reason: str) -> None:
    """Warn once per process that kernels run with NumPy instead of C."""
    global _notified
    if _notified:
        return
    _notified = True
    warnings.warn(
        f"ember.compile: {reason}; fused kernels run with NumPy (same results, slower)",
        RuntimeWarning,
        stacklevel=4,
    )


_offset: int | None | bool = False


def array_data_offset() -> int | None:
    """Byte offset of the data pointer inside a NumPy array object (None if not found).

    Kernels called through ctypes receive the array objects and read the pointer there, which
    costs far less than ``arr.ctypes.data`` per call. The offset is found by looking for the
    known data address in the object's memory, and checked on a second array.
    """
    global _offset
    if _offset is not False:
        return _offset
    import numpy as np

    found = None
    probes = [np.arange(7, dtype=np.float32), np.zeros((3, 5), np.float64)[1:]]
    for off in range(8, 96, 8):
        if all(ctypes.c_void_p.from_address(id(a) + off).value == a.ctypes.data for a in probes):
            found = off
            break
    _offset = found
    return found
