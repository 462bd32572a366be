"""One-pass C updates for Adam/AdamW and SGD, bit-identical to their NumPy passes.

The NumPy update of Adam is about a dozen passes over parameter-sized arrays (lerp, scale,
square, add, sqrt, divide, ...). The C functions here do the same float operations in the
same order, element by element, in one pass: each operation is IEEE-rounded in the array's
dtype (Python scalars are rounded to it first, as NumPy does with them), no FMA contraction
(``-ffp-contract=off``), and ``maximum`` propagates NaN like ``np.maximum``. So the results are
the NumPy path's to the last bit (the tests compare with ``assert_array_equal``), and which
path runs never changes training.

The library is tiny and built once per machine with the system C compiler through the
compile cache (:mod:`ember.compiler.codegen.c_build`). The first optimizer step starts the
build in a background thread and keeps using NumPy until it is loaded; without a working
compiler, with ``EMBER_NO_CC=1`` or with ``EMBER_FUSED_OPTIM=0``, NumPy is used throughout.

Example:
    >>> import numpy as np
    >>> from ember.optim import _fused
    >>> _fused.wait()  # build (or load) now instead of in the background
    >>> p, g = np.ones(4, np.float32), np.full(4, 0.5, np.float32)
    >>> buf = np.zeros(4, np.float32)
    >>> done = _fused.sgd(p, g, buf, lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0,
    ...                   nesterov=False, first=False)
    >>> done in (True, False) and bool(np.allclose(p, 0.95))
    True
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

from ..ops._address import data_address as _ptr

__all__ = ["adam", "sgd", "available", "wait"]

_SOURCE = r"""
#include <math.h>
#include <stdint.h>

#define MAXIMUM(a, b) (((a) >= (b) || (a) != (a)) ? (a) : (b))  /* np.maximum: NaN wins */
#define INLINE static inline __attribute__((always_inline))

/* The loop bodies take their options as compile-time constants: each entry point switches
   once over the option bits, so every loop is specialised and has no conditional stores
   (masked vector stores are very slow on some x86 CPUs). */
#define ADAM(T, S, SQRT)                                                                    \
INLINE void adam_##S(T *restrict p, const T *restrict g, T *restrict m, T *restrict v,      \
                     T *restrict vmax, int64_t n, const int coupled, const int decoupled,   \
                     const int low, const int ams, const T wd, const T decay, const T w,    \
                     const T b2, const T omb2, const T bc2, const T eps, const T nss)       \
{                                                                                           \
    for (int64_t i = 0; i < n; i++) {                                                       \
        T gi = g[i], pi = p[i];                                                             \
        if (coupled) { T t = wd * pi; gi = gi + t; }                                       \
        if (decoupled) pi = pi * decay;                                                     \
        T d = gi - m[i], mi;                                                                \
        if (low) { d = d * w; mi = m[i] + d; } else { d = d * w; mi = gi - d; }             \
        m[i] = mi;                                                                          \
        T t = gi * omb2; t = t * gi;                                                        \
        T vi = v[i] * b2; vi = vi + t; v[i] = vi;                                           \
        T den;                                                                              \
        if (ams) { T mx = MAXIMUM(vmax[i], vi); vmax[i] = mx; den = SQRT(mx); }            \
        else den = SQRT(vi);                                                                \
        den = den / bc2; den = den + eps;                                                   \
        T u = mi / den; u = u * nss;                                                        \
        p[i] = pi + u;                                                                      \
    }                                                                                       \
}                                                                                           \
int em_adam_##S(T *restrict p, const T *restrict g, T *restrict m, T *restrict v,          \
                 T *restrict vmax, int64_t n, int64_t flags, double wd, double decay,       \
                 double w, double b2, double omb2, double bc2, double eps, double nss)      \
{                                                                                           \
    switch (flags & 15) {                                                                   \
    ADAM_CASE(S, 0) ADAM_CASE(S, 1) ADAM_CASE(S, 2) ADAM_CASE(S, 3)                         \
    ADAM_CASE(S, 4) ADAM_CASE(S, 5) ADAM_CASE(S, 6) ADAM_CASE(S, 7)                         \
    ADAM_CASE(S, 8) ADAM_CASE(S, 9) ADAM_CASE(S, 10) ADAM_CASE(S, 11)                       \
    ADAM_CASE(S, 12) ADAM_CASE(S, 13) ADAM_CASE(S, 14) ADAM_CASE(S, 15)                     \
    }                                                                                       \
    return 0;                                                                               \
}
#define ADAM_CASE(S, k)                                                                     \
    case k: adam_##S(p, g, m, v, vmax, n, (k) & 1, (k) & 2, (k) & 4, (k) & 8, wd, decay, w, \
                     b2, omb2, bc2, eps, nss); break;

#define SGD(T, S)                                                                           \
INLINE void sgd_##S(T *restrict p, const T *restrict g, T *restrict buf, int64_t n,         \
                    const int decay, const int momentum, const int first, const int damp,   \
                    const int nesterov, const T wd, const T mom, const T omd, const T nlr)  \
{                                                                                           \
    for (int64_t i = 0; i < n; i++) {                                                       \
        T gi = g[i], pi = p[i];                                                             \
        if (decay) { T t = wd * pi; gi = gi + t; }                                         \
        if (momentum) {                                                                     \
            T b;                                                                            \
            if (first) b = gi;                                                              \
            else { b = buf[i] * mom; b = b + (damp ? omd * gi : gi); }                     \
            buf[i] = b;                                                                     \
            if (nesterov) { T t = mom * b; gi = gi + t; } else gi = b;                     \
        }                                                                                   \
        T u = nlr * gi;                                                                     \
        p[i] = pi + u;                                                                      \
    }                                                                                       \
}                                                                                           \
int em_sgd_##S(T *restrict p, const T *restrict g, T *restrict buf, int64_t n,             \
                int64_t flags, double wd, double mom, double omd, double nlr)               \
{                                                                                           \
    switch (flags & 31) {                                                                   \
    SGD_CASE(S, 0) SGD_CASE(S, 1) SGD_CASE(S, 2) SGD_CASE(S, 3)                             \
    SGD_CASE(S, 6) SGD_CASE(S, 7) SGD_CASE(S, 10) SGD_CASE(S, 11)                           \
    SGD_CASE(S, 14) SGD_CASE(S, 15) SGD_CASE(S, 18) SGD_CASE(S, 19)                         \
    SGD_CASE(S, 22) SGD_CASE(S, 23)                                                         \
    default: return -1;  /* not a combination SGD produces: the caller falls back */         \
    }                                                                                       \
    return 0;                                                                               \
}
#define SGD_CASE(S, k)                                                                      \
    case k: sgd_##S(p, g, buf, n, (k) & 1, (k) & 2, (k) & 4, (k) & 8, (k) & 16, wd, mom,    \
                    omd, nlr); break;

ADAM(float, f32, sqrtf)
ADAM(double, f64, sqrt)
SGD(float, f32)
SGD(double, f64)
"""

_lock = threading.Lock()
_lib = None  # the loaded functions {"adam_f32": fn, ...}, once built
_state = "new"  # new -> building -> ready | failed
_thread: threading.Thread | None = None


def _enabled() -> bool:
    return os.environ.get("EMBER_FUSED_OPTIM", "1") != "0"


def _build() -> None:
    global _lib, _state
    try:
        from ..compiler.codegen.c_build import BuildError, build_library, load_library, toolchain

        tc = toolchain()
        if tc is None:
            _state = "failed"
            return
        path, _ = build_library(_SOURCE, tc)
        lib = load_library(path)
    except (BuildError, OSError):
        _state = "failed"
        return
    i64, ptr, f64 = ctypes.c_int64, ctypes.c_void_p, ctypes.c_double
    fns = {}
    for suffix in ("f32", "f64"):
        adam = getattr(lib, f"em_adam_{suffix}")
        adam.argtypes = [ptr] * 5 + [i64, i64] + [f64] * 8
        adam.restype = ctypes.c_int
        sgd = getattr(lib, f"em_sgd_{suffix}")
        sgd.argtypes = [ptr] * 3 + [i64, i64] + [f64] * 4
        sgd.restype = ctypes.c_int
        fns[f"adam_{suffix}"], fns[f"sgd_{suffix}"] = adam, sgd
    _lib = fns
    _state = "ready"


def _start() -> None:
    global _state, _thread
    with _lock:
        if _state != "new":
            return
        if not _enabled():
            _state = "failed"
            return
        _state = "building"
        _thread = threading.Thread(target=_build, name="ember-optim-build", daemon=True)
        _thread.start()


def available() -> bool:
    """True once the C updates are loaded (starts the build in the background if needed)."""
    if _state == "new":
        _start()
    return _state == "ready"


def wait() -> None:
    """Build or load the C updates now (no-op without a compiler); for tests and benchmarks."""
    _start()
    thread = _thread
    if thread is not None:
        thread.join()


def _usable(arrays, dtype) -> bool:
    for a in arrays:
        if a.dtype != dtype or not a.flags.c_contiguous or (a.flags.writeable is False):
            return False
    return dtype == np.float32 or dtype == np.float64


def _suffix(dtype) -> str:
    return "f32" if dtype == np.float32 else "f64"


def adam(p, g, m, v, vmax, *, weight_decay, decoupled, decay, lerp_weight, beta2, bc2, eps,
         neg_step_size) -> bool:  # fmt: skip
    """One Adam/AdamW update of ``p``, ``m``, ``v`` (and ``vmax`` for AMSGrad) in place, with
    the scalars of :meth:`ember.optim.Adam._update`; False (nothing done) when the C update is
    not available or the arrays do not suit it (dtype, layout, shape)."""
    if _state != "ready" and not available():
        return False
    arrays = (p, g, m, v) if vmax is None else (p, g, m, v, vmax)
    if not _usable(arrays, p.dtype) or any(a.shape != p.shape for a in arrays):
        return False
    low = lerp_weight < 0.5
    flags = (
        (1 if weight_decay != 0 and not decoupled else 0)
        | (2 if weight_decay != 0 and decoupled else 0)
        | (4 if low else 0)
        | (8 if vmax is not None else 0)
    )
    return 0 == _lib[f"adam_{_suffix(p.dtype)}"](
        _ptr(p),
        _ptr(g),
        _ptr(m),
        _ptr(v),
        None if vmax is None else _ptr(vmax),
        p.size,
        flags,
        weight_decay,
        decay,
        lerp_weight if low else 1.0 - lerp_weight,
        beta2,
        1.0 - beta2,
        bc2,
        eps,
        neg_step_size,
    )


def sgd(p, g, buf, *, lr, momentum, dampening, weight_decay, nesterov, first) -> bool:
    """One SGD update of ``p`` (and the momentum buffer ``buf``) in place, as
    :meth:`ember.optim.SGD._update` does it; False when the C update cannot run."""
    if _state != "ready" and not available():
        return False
    arrays = (p, g) if buf is None else (p, g, buf)
    if not _usable(arrays, p.dtype) or any(a.shape != p.shape for a in arrays):
        return False
    flags = (
        (1 if weight_decay != 0 else 0)
        | (2 if momentum != 0 else 0)
        | (4 if first else 0)
        | (8 if dampening != 0 else 0)
        | (16 if nesterov else 0)
    )
    return 0 == _lib[f"sgd_{_suffix(p.dtype)}"](
        _ptr(p),
        _ptr(g),
        None if buf is None else _ptr(buf),
        p.size,
        flags,
        weight_decay,
        momentum,
        1.0 - dampening,
        -lr,
    )
