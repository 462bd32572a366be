"""C versions of registry primitives whose NumPy forwards are many passes over memory.

* Around the convolution GEMMs (2-D, ``groups=1``, float): the NumPy forwards of ``conv``,
  ``conv_input_grad``, ``conv_weight_grad``, ``max_pool`` and ``pool_scatter`` spend much of
  their time outside BLAS (gathering windows through strided views, scattering them back one
  kernel position at a time, ``np.add.at``). Here those loops are C, and batches go through
  im2col -> GEMM (BLAS) -> col2im in chunks small enough to stay in cache.
* Row primitives over the last axis (float): ``softmax``, ``log_softmax``, their backwards,
  ``standardize`` (LayerNorm's core), ``attention_probs`` (after its GEMM), ``cross_entropy``
  and its backward (no class weights, no label smoothing): one pass per row instead of a NumPy
  pass over the whole array per step.

The C code (:mod:`~ember.compiler.codegen.native_source`) repeats each forward's float
operations in order (NumPy's pairwise sums, NaN rules, index rules), so results are the
forwards' values to the last bit or within a few ulp: libm's ``exp``/``log`` differ from
NumPy's, GEMMs over other batch chunks sum in another order.
:func:`native_forward` gives the replacement of a node's forward when one applies (rank,
dtype, attributes), else None; at run time it falls back to the forward for anything the C
code does not handle (an out-of-range index). The library is one fixed C file per dtype,
built once per machine through the kernel cache.

Eager mode uses the same kernels through :func:`eager_forward` (registered by
``ember.ops._native``), with rows and batch chunks spread over ember's intra-op threads, and
a few more that only eager mode needs: ``gelu``/``gelu_backward`` (float32, the operations of
``ember.ops._erf``) and ``layer_norm``/``layer_norm_backward`` (compiled graphs fuse or lower
those themselves, so :func:`native_forward` does not offer them).

Example:
    >>> from ember.compiler.codegen.native import NATIVE_OPS
    >>> "conv" in NATIVE_OPS and "standardize" in NATIVE_OPS
    True
"""

from __future__ import annotations

import ctypes
import math
import threading

import numpy as np

from ...ops import _parallel as _par
from ...ops._address import data_address as _ptr
from .native_source import source

__all__ = [
    "NATIVE_OPS",
    "EAGER_OPS",
    "native_forward",
    "eager_forward",
    "native_library",
    "prefetch",
]

_lock = threading.Lock()
_libs: dict = {}  # "f32" / "f64" -> ctypes library, or False when it cannot be built
_building: dict = {}  # suffix -> the background build started by prefetch()


def native_library(suffix: str = "f32"):
    """The library of the float32 (``"f32"``) or float64 (``"f64"``) kernels, built on first
    use (one file per dtype, so a float32 model never waits for the float64 build); None
    without a working compiler."""
    pending = _building.get(suffix)
    if pending is not None:
        pending.result()
    return _load(suffix)


def _load(suffix: str):
    with _lock:
        if suffix not in _libs:
            _libs[suffix] = _build(suffix) or False
        return _libs[suffix] or None


def prefetch(suffix: str = "f32") -> None:
    """Start building a library in the background (a no-op once it is built or started):
    executors call this when they are created, so the build overlaps their kernels' builds."""
    from .library import _pool

    with _lock:
        if suffix not in _libs and suffix not in _building:
            _building[suffix] = _pool().submit(_load, suffix)


def _build(suffix: str):
    from .c_build import BuildError, build_library, load_library, toolchain

    tc = toolchain()
    if tc is None:
        return None
    try:
        path, _ = build_library(source(tc.vector_math, (suffix,)), tc)
    except BuildError:
        return None
    lib = load_library(path)
    i64, ptr, f64 = ctypes.c_int64, ctypes.c_void_p, ctypes.c_double
    signatures = {  # name -> (argument types, result type)
        "im2col": ([ptr, ptr] + [i64] * 14, None),
        "col2im": ([ptr, ptr] + [i64] * 14, None),
        "maxpool2d": ([ptr, ptr, ptr] + [i64] * 13, ctypes.c_int),
        "pool_scatter": ([ptr, ptr, ptr, i64, i64, i64], ctypes.c_int),
        "softmax": ([ptr, ptr, i64, i64], None),
        "log_softmax": ([ptr, ptr, ptr, i64, i64], None),
        "softmax_backward": ([ptr, ptr, ptr, ptr, i64, i64, f64], None),
        "log_softmax_backward": ([ptr, ptr, ptr, i64, i64], None),
        "standardize": ([ptr, ptr, ptr, ptr, ptr, i64, i64, f64], None),
        "attention_rows": ([ptr, i64, i64, i64, f64, i64], None),
        "cross_entropy": ([ptr, ptr, ptr, ptr, i64, i64, i64], ctypes.c_int),
        "cross_entropy_backward": ([ptr, ptr, ptr, ptr, i64, i64, i64], ctypes.c_int),
        "layer_norm": ([ptr] * 5 + [i64, i64, f64], None),
        "layer_norm_backward": ([ptr] * 7 + [i64, i64, f64], None),
    }
    if suffix == "f32":
        signatures["gelu"] = ([ptr, ptr, ptr, i64], None)
        signatures["gelu_backward"] = ([ptr, ptr, ptr, ptr, i64], None)
    for name, (argtypes, restype) in signatures.items():
        fn = getattr(lib, f"em_{name}_{suffix}")
        fn.argtypes = argtypes
        fn.restype = restype
    return lib


# Batch chunks keep a chunk's column matrix near this size, so im2col, the GEMM and col2im
# work in cache (measured on the CNN benchmark's 32 -> 64 channel conv, 1 thread: 8.6 ms for
# one chunk of 64 images, 7.7 ms in chunks of 6); at most 16 images, where smaller GEMMs
# stop paying.
_CHUNK_BYTES = 3 << 19
_CHUNK_IMAGES = 16


def _chunk(n: int, per_sample: int) -> int:
    return max(1, min(n, _CHUNK_IMAGES, _CHUNK_BYTES // max(per_sample, 1)))


def _sfx(dtype) -> str:
    return "f32" if dtype == np.float32 else "f64"


def _geometry(x_shape, kernel, stride, padding, dilation):
    from ...ops.conv_kernels import conv_out_size

    return tuple(
        conv_out_size(x_shape[2 + i], kernel[i], stride[i], *padding[i], dilation[i])
        for i in range(2)
    )


class _Windows:
    """One convolution's geometry and the im2col / col2im calls over a batch slice."""

    def __init__(self, lib, dtype, c, size, kernel, out, stride, padding, dilation):
        self.im2col = getattr(lib, f"em_im2col_{_sfx(dtype)}")
        self.col2im = getattr(lib, f"em_col2im_{_sfx(dtype)}")
        pads = (padding[0][0], padding[1][0])
        self.args = (c, size[0], size[1], *kernel, *out, *stride, *pads, *dilation)
        self.ckk = c * kernel[0] * kernel[1]
        self.length = out[0] * out[1]

    def columns(self, xb: np.ndarray, buf: np.ndarray) -> np.ndarray:
        """The (C*KH*KW, nb*L) column matrix of images ``xb``, in scratch ``buf``."""
        part = _matrix(buf, self.ckk, xb.shape[0] * self.length)
        self.im2col(_ptr(xb), _ptr(part), xb.shape[0], *self.args)
        return part

    def images(self, cols: np.ndarray, part: np.ndarray) -> None:
        """``part`` (nb, C, H, W) = the column matrix summed back into images."""
        self.col2im(_ptr(cols), _ptr(part), part.shape[0], *self.args)


def _matrix(buf: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A C-contiguous ``(rows, cols)`` matrix at the start of the flat scratch ``buf``."""
    return buf[: rows * cols].reshape(rows, cols)


def _to_rows(gb: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """``(nb, C_out, L)`` -> ``(C_out, nb*L)`` in scratch ``buf``."""
    nb, cout, length = gb.shape
    part = _matrix(buf, cout, nb * length)
    np.copyto(part.reshape(cout, nb, length), gb.transpose(1, 0, 2))
    return part


class _Serial:
    """How the compiled path runs a kernel: every batch or row range in one call, on the
    executor's thread, and GEMMs with ``np.matmul``."""

    matmul = staticmethod(np.matmul)

    @staticmethod
    def rows(fn, n: int, work_per_row: float, *, blas: bool = False) -> list:
        return [fn(0, n)]


class _Threaded:
    """How eager mode runs a kernel: row or batch ranges spread over ember's intra-op
    threads when large (``ember.ops._parallel``; ctypes releases the GIL during a call),
    GEMMs split the same way. Work too small to split runs in one call, here."""

    @staticmethod
    def matmul(a, b):
        return _par.matmul(a, b)

    @staticmethod
    def rows(fn, n: int, work_per_row: float, *, blas: bool = False) -> list:
        if not blas and n * work_per_row < _par.MIN_ELEMENTS:
            return [fn(0, n)]  # (a part that calls BLAS keeps BLAS on one thread below)
        return _par.for_rows(fn, n, work_per_row, blas=blas)


def _conv_work(win, cout) -> float:
    # per image, scaled so that a split needs ~16 MFLOP in all (ember.ops._parallel's GEMM
    # threshold: smaller concurrent OpenBLAS calls serialise)
    return 2.0 * cout * win.ckk * win.length / 16


def _conv(lib, run, x, w, *, stride, padding, dilation, groups):
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    cout, kernel = w.shape[0], w.shape[2:]
    out = _geometry(x.shape, kernel, stride, padding, dilation)
    win = _Windows(lib, x.dtype, c, x.shape[2:], kernel, out, stride, padding, dilation)
    w2 = w.reshape(cout, -1)
    res = np.empty((n, cout, win.length), x.dtype)

    def images(lo, hi):
        step = _chunk(hi - lo, win.ckk * win.length * x.itemsize)
        cols = np.empty(win.ckk * step * win.length, x.dtype)
        prod = np.empty(cout * step * win.length, x.dtype)
        for b in range(lo, hi, step):
            xb = x[b : min(b + step, hi)]
            nb = xb.shape[0]
            o = _matrix(prod, cout, nb * win.length)
            np.matmul(w2, win.columns(xb, cols), out=o)
            res[b : b + nb] = o.reshape(cout, nb, win.length).transpose(1, 0, 2)

    run.rows(images, n, _conv_work(win, cout), blas=True)
    return res.reshape((n, cout) + out)


def _conv_input_grad(lib, run, g, w, *, size, stride, padding, dilation, groups):
    g = np.ascontiguousarray(g)
    n, cout = g.shape[:2]
    kernel, out = tuple(w.shape[2:]), tuple(g.shape[2:])
    c = w.shape[1]
    win = _Windows(lib, g.dtype, c, size, kernel, out, stride, padding, dilation)
    w_t = w.reshape(cout, -1).T
    res = np.empty((n, c) + tuple(size), g.dtype)
    g3 = g.reshape(n, cout, win.length)

    def images(lo, hi):
        step = _chunk(hi - lo, win.ckk * win.length * g.itemsize)
        rows = np.empty(cout * step * win.length, g.dtype)
        cols = np.empty(win.ckk * step * win.length, g.dtype)
        for b in range(lo, hi, step):
            gb = g3[b : min(b + step, hi)]
            nb = gb.shape[0]
            part = _matrix(cols, win.ckk, nb * win.length)
            np.matmul(w_t, _to_rows(gb, rows), out=part)
            win.images(part, res[b : b + nb])

    run.rows(images, n, _conv_work(win, cout), blas=True)
    return res


def _conv_weight_grad(lib, run, x, g, *, kernel, stride, padding, dilation, groups):
    x, g = np.ascontiguousarray(x), np.ascontiguousarray(g)
    n, c = x.shape[:2]
    cout = g.shape[1]
    out = tuple(g.shape[2:])
    win = _Windows(lib, x.dtype, c, x.shape[2:], kernel, out, stride, padding, dilation)
    g3 = g.reshape(n, cout, win.length)

    def images(lo, hi):  # the weight gradient of a range of images
        step = _chunk(hi - lo, win.ckk * win.length * x.itemsize)
        rows = np.empty(cout * step * win.length, x.dtype)
        cols = np.empty(win.ckk * step * win.length, x.dtype)
        acc = np.zeros((cout, win.ckk), x.dtype)
        part = np.empty_like(acc)
        for b in range(lo, hi, step):
            e = min(b + step, hi)
            np.matmul(_to_rows(g3[b:e], rows), win.columns(x[b:e], cols).T, out=part)
            acc += part
        return acc

    parts = run.rows(images, n, _conv_work(win, cout), blas=True)
    acc = parts[0]
    for p in parts[1:]:
        acc += p
    return acc.reshape((cout, c) + tuple(kernel))


def _max_pool(lib, run, x, *, kernel, stride, padding, dilation, ceil_mode):
    from ...ops.conv_kernels import pool_out_size

    x = np.ascontiguousarray(x)
    n, c, h, w = x.shape
    out = tuple(
        pool_out_size(x.shape[2 + i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
        for i in range(2)
    )
    vals = np.empty((n, c) + out, x.dtype)
    idx = np.empty((n, c) + out, np.int64)
    fn = getattr(lib, f"em_maxpool2d_{_sfx(x.dtype)}")
    window = (kernel[0], kernel[1], out[0], out[1], stride[0], stride[1])
    geometry = (h, w, *window, padding[0], padding[1], dilation[0], dilation[1])

    def images(lo, hi):
        xs, vs, ix = x[lo:hi], vals[lo:hi], idx[lo:hi]
        return fn(_ptr(xs), _ptr(vs), _ptr(ix), (hi - lo) * c, *geometry)

    if any(run.rows(images, n, 6 * kernel[0] * kernel[1] * c * out[0] * out[1] // 4)):
        return None
    return vals, idx


def _pool_scatter(lib, run, g, idx, *, size, unique=False):  # accumulating is right either way
    g, idx = np.ascontiguousarray(g), np.ascontiguousarray(idx)
    n, c = g.shape[:2]
    plane = math.prod(size)
    length = g[0, 0].size
    res = np.empty((n, c) + tuple(size), g.dtype)
    fn = getattr(lib, f"em_pool_scatter_{_sfx(g.dtype)}")

    def images(lo, hi):
        gs, ix, rs = g[lo:hi], idx[lo:hi], res[lo:hi]
        return fn(_ptr(gs), _ptr(ix), _ptr(rs), (hi - lo) * c, length, plane)

    if any(run.rows(images, n, 4 * c * max(length, plane))):
        return None  # an index out of range: the forward raises the error
    return res


# -- row primitives --------------------------------------------------------------------------
def _rows(x: np.ndarray) -> tuple[int, int]:
    n = x.shape[-1] if x.ndim else 1
    return (x.size // n if n else 0), n


def _fn(lib, name: str, dtype):
    return getattr(lib, f"em_{name}_{_sfx(dtype)}")


def _row_kernel(run, fn, ins, outs, rows: int, n: int, extra=(), tmp=None, work=8):
    """``fn(*ins, *outs, [tmp,] rows, n, *extra)`` over ranges of rows: the arrays are viewed
    as ``(rows, n)``; each range gets its own length-``n`` scratch row when ``tmp`` (a dtype)."""
    ins2 = [a.reshape(rows, n) for a in ins]
    outs2 = [o.reshape(rows, n) for o in outs]

    def part(lo, hi):
        ptrs = [_ptr(a[lo:hi]) for a in ins2] + [_ptr(o[lo:hi]) for o in outs2]
        if tmp is not None:
            scratch = np.empty(n, tmp)
            ptrs.append(_ptr(scratch))
        fn(*ptrs, hi - lo, n, *extra)

    run.rows(part, rows, work * n)


def _softmax(lib, run, x, *, axis):
    x = np.ascontiguousarray(x)
    if x.size == 0:
        return None
    y = np.empty_like(x)
    _row_kernel(run, _fn(lib, "softmax", x.dtype), [x], [y], *_rows(x))
    return y


def _log_softmax(lib, run, x, *, axis):
    x = np.ascontiguousarray(x)
    if x.size == 0:
        return None
    y = np.empty_like(x)
    _row_kernel(run, _fn(lib, "log_softmax", x.dtype), [x], [y], *_rows(x), tmp=x.dtype)
    return y


def _softmax_backward(lib, run, g, y, *, axis, scale):
    g, y = np.ascontiguousarray(g), np.ascontiguousarray(y)
    if g.shape != y.shape or g.dtype != y.dtype or g.size == 0:
        return None
    out = np.empty_like(g)
    fn = _fn(lib, "softmax_backward", g.dtype)
    _row_kernel(run, fn, [g, y], [out], *_rows(g), (float(scale),), tmp=g.dtype, work=5)
    return out


def _log_softmax_backward(lib, run, g, y, *, axis):
    g, y = np.ascontiguousarray(g), np.ascontiguousarray(y)
    if g.shape != y.shape or g.dtype != y.dtype or g.size == 0:
        return None
    out = np.empty_like(g)
    _row_kernel(run, _fn(lib, "log_softmax_backward", g.dtype), [g, y], [out], *_rows(g))
    return out


def _standardize(lib, run, x, *, axes, eps):
    x = np.ascontiguousarray(x)
    lead = x.shape[: x.ndim - len(axes)]
    n = math.prod(x.shape[x.ndim - len(axes) :])
    rows = math.prod(lead)
    if n == 0 or rows == 0:
        return None
    stat = lead + (1,) * len(axes)
    y = np.empty_like(x)
    mean, rstd = np.empty(stat, x.dtype), np.empty(stat, x.dtype)
    x2, y2 = x.reshape(rows, n), y.reshape(rows, n)
    m1, r1 = mean.reshape(rows), rstd.reshape(rows)
    fn = _fn(lib, "standardize", x.dtype)

    def part(lo, hi):
        tmp = np.empty(n, x.dtype)
        fn(
            _ptr(x2[lo:hi]),
            _ptr(y2[lo:hi]),
            _ptr(m1[lo:hi]),
            _ptr(r1[lo:hi]),
            _ptr(tmp),
            hi - lo,
            n,
            float(eps),
        )

    run.rows(part, rows, 5 * n)
    return y, mean, rstd


def _attention_probs(lib, run, q, k, *, scale, causal):
    s = run.matmul(q, np.swapaxes(k, -1, -2))
    if not s.flags.c_contiguous or s.size == 0:
        return None
    l_, n = s.shape[-2:]
    s3 = s.reshape(-1, l_, n)
    fn = _fn(lib, "attention_rows", s.dtype)

    def mats(lo, hi):
        fn(_ptr(s3[lo:hi]), hi - lo, l_, n, float(scale), int(bool(causal)))

    run.rows(mats, s3.shape[0], 16 * l_ * n)
    return s


def _ce_ok(x, t, rest, smoothing) -> bool:
    return x.ndim == 2 and x.shape[1] > 0 and t.dtype == np.int64 and not smoothing


def _cross_entropy(lib, run, x, t, *rest, ignore_index, smoothing, reduction):
    if rest or not _ce_ok(x, t, rest, smoothing) or t.shape != x.shape[:1]:
        return None
    x, t = np.ascontiguousarray(x), np.ascontiguousarray(t)
    n, c = x.shape
    loss = np.empty(n, x.dtype)
    fn = _fn(lib, "cross_entropy", x.dtype)

    def part(lo, hi):
        tmp = np.empty(c, x.dtype)
        xs, ts, ls = x[lo:hi], t[lo:hi], loss[lo:hi]
        args = (_ptr(xs), _ptr(ts), _ptr(ls), _ptr(tmp))
        return fn(*args, hi - lo, c, int(ignore_index))

    if any(run.rows(part, n, 5 * c)):
        return None  # an out-of-range target: the forward raises the error
    if reduction == "none":
        return loss
    total = loss.sum(dtype=x.dtype)
    if reduction == "mean":
        denom = (t != ignore_index).astype(x.dtype).sum(dtype=x.dtype)
        return np.asarray(total / denom, dtype=x.dtype)
    return np.asarray(total, dtype=x.dtype)


def _cross_entropy_backward(lib, run, x, t, *rest, ignore_index, smoothing, reduction):
    if len(rest) != 1 or not _ce_ok(x, t, rest, smoothing) or t.shape != x.shape[:1]:
        return None
    (g,) = rest
    x, t = np.ascontiguousarray(x), np.ascontiguousarray(t)
    n, c = x.shape
    if reduction == "none":
        if np.shape(g) != (n,):
            return None
        scale = np.ascontiguousarray(g, dtype=x.dtype)
    else:
        denom = (t != ignore_index).astype(x.dtype).sum(dtype=x.dtype)
        scale = np.full(n, g / denom if reduction == "mean" else g).astype(x.dtype, copy=False)
    out = np.empty_like(x)
    fn = _fn(lib, "cross_entropy_backward", x.dtype)

    def part(lo, hi):
        xs, ts, ss, os_ = x[lo:hi], t[lo:hi], scale[lo:hi], out[lo:hi]
        args = (_ptr(xs), _ptr(ts), _ptr(ss), _ptr(os_))
        return fn(*args, hi - lo, c, int(ignore_index))

    if any(run.rows(part, n, 5 * c)):
        return None
    return out


# -- eager mode only (compiled graphs fuse GELU into elementwise kernels and lower layer_norm
# through their own kernels) ------------------------------------------------------------------
def _gelu(lib, run, x):
    y, cdf = np.empty(x.shape, x.dtype), np.empty(x.shape, x.dtype)
    fn = _fn(lib, "gelu", x.dtype)
    xf = np.ascontiguousarray(x).reshape(-1)  # (ascontiguousarray makes a 0-d array 1-d)
    yf, cf = y.reshape(-1), cdf.reshape(-1)

    def part(lo, hi):
        fn(_ptr(xf[lo:hi]), _ptr(yf[lo:hi]), _ptr(cf[lo:hi]), hi - lo)

    run.rows(part, xf.size, 30)
    return y, cdf


def _gelu_backward(lib, run, g, x, cdf):
    out = np.empty(x.shape, x.dtype)
    fn = _fn(lib, "gelu_backward", x.dtype)
    flat = [np.ascontiguousarray(a).reshape(-1) for a in (g, x, cdf)] + [out.reshape(-1)]

    def part(lo, hi):
        fn(*[_ptr(a[lo:hi]) for a in flat], hi - lo)

    run.rows(part, x.size, 15)
    return out


def _layer_norm(lib, run, x, w, b, *, ndim, eps):
    x = np.ascontiguousarray(x)
    w, b = np.ascontiguousarray(w), np.ascontiguousarray(b)
    n = w.size
    rows = x.size // n
    y = np.empty_like(x)
    x2, y2 = x.reshape(rows, n), y.reshape(rows, n)
    fn = _fn(lib, "layer_norm", x.dtype)

    def part(lo, hi):
        tmp = np.empty(n, x.dtype)
        ptrs = (_ptr(x2[lo:hi]), _ptr(w), _ptr(b), _ptr(y2[lo:hi]))
        fn(*ptrs, _ptr(tmp), hi - lo, n, float(eps))

    run.rows(part, rows, 8 * n)
    return y


def _layer_norm_backward(lib, run, g, x, w, *, ndim, eps):
    g, x, w = np.ascontiguousarray(g), np.ascontiguousarray(x), np.ascontiguousarray(w)
    n = w.size
    rows = x.size // n
    gx = np.empty_like(x)
    g2, x2, gx2 = g.reshape(rows, n), x.reshape(rows, n), gx.reshape(rows, n)
    fn = _fn(lib, "layer_norm_backward", x.dtype)

    def part(lo, hi):  # gx of these rows, and their partial weight and bias gradients
        gw, gb, scratch = np.empty(n, x.dtype), np.empty(n, x.dtype), np.empty(2 * n, x.dtype)
        ptrs = (_ptr(g2[lo:hi]), _ptr(x2[lo:hi]), _ptr(w))
        fn(
            *ptrs,
            _ptr(gx2[lo:hi]),
            _ptr(gw),
            _ptr(gb),
            _ptr(scratch),
            hi - lo,
            n,
            float(eps),
        )
        return gw, gb

    parts = run.rows(part, rows, 16 * n)
    gw, gb = parts[0]
    for pw, pb in parts[1:]:
        gw += pw
        gb += pb
    return gx, gw.reshape(w.shape), gb.reshape(w.shape)


_EAGER_IMPL = {
    "gelu": _gelu,
    "gelu_backward": _gelu_backward,
    "layer_norm": _layer_norm,
    "layer_norm_backward": _layer_norm_backward,
}


_IMPL = {
    "conv": _conv,
    "conv_input_grad": _conv_input_grad,
    "conv_weight_grad": _conv_weight_grad,
    "max_pool": _max_pool,
    "pool_scatter": _pool_scatter,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "softmax_backward": _softmax_backward,
    "log_softmax_backward": _log_softmax_backward,
    "standardize": _standardize,
    "attention_probs": _attention_probs,
    "cross_entropy": _cross_entropy,
    "cross_entropy_backward": _cross_entropy_backward,
}

#: The primitives with a native version (compiled graphs use these).
NATIVE_OPS = tuple(_IMPL)

#: The primitives with a native version in eager mode.
EAGER_OPS = NATIVE_OPS + tuple(_EAGER_IMPL)

#: The attributes each native version understands; a node with others (a newer forward)
#: keeps its registry forward.
_ATTRS = {
    "conv": {"stride", "padding", "dilation", "groups"},
    "conv_input_grad": {"size", "stride", "padding", "dilation", "groups"},
    "conv_weight_grad": {"kernel", "stride", "padding", "dilation", "groups"},
    "max_pool": {"kernel", "stride", "padding", "dilation", "ceil_mode"},
    "pool_scatter": {"size", "unique"},
    "softmax": {"axis"},
    "log_softmax": {"axis"},
    "softmax_backward": {"axis", "scale"},
    "log_softmax_backward": {"axis"},
    "standardize": {"axes", "eps"},
    "attention_probs": {"scale", "causal"},
    "cross_entropy": {"ignore_index", "smoothing", "reduction"},
    "cross_entropy_backward": {"ignore_index", "smoothing", "reduction"},
    "gelu": set(),
    "gelu_backward": set(),
    "layer_norm": {"ndim", "eps"},
    "layer_norm_backward": {"ndim", "eps"},
}

_FLOAT = ("float32", "float64")
_WINDOW_OPS = ("conv", "conv_input_grad", "conv_weight_grad", "max_pool")


def _applies(op: str, dtypes: list, shapes: list, attrs: dict) -> bool:
    if op.startswith("gelu"):  # float32 only (float64 GELU uses SciPy's erf)
        return all(d == "float32" for d in dtypes) and len(set(shapes)) == 1
    if op.startswith("layer_norm"):
        ndim, x = attrs["ndim"], shapes[1 if op == "layer_norm_backward" else 0]
        tail = tuple(x[len(x) - ndim :]) if ndim else ()
        return (
            dtypes[0] in _FLOAT
            and len(set(dtypes)) == 1
            and ndim >= 1
            and len(x) >= ndim
            and tuple(shapes[2 if op == "layer_norm_backward" else 1]) == tail
            and (op != "layer_norm" or tuple(shapes[2]) == tail)
            and (op != "layer_norm_backward" or tuple(shapes[0]) == tuple(x))
        )
    if op == "pool_scatter":
        return dtypes[0] in _FLOAT and dtypes[1] == "int64" and len(shapes[0]) == 4
    if op.startswith("cross_entropy"):
        return dtypes[0] in _FLOAT and len(shapes[0]) == 2 and dtypes[1] == "int64"
    if any(d not in _FLOAT for d in dtypes) or len(set(dtypes)) != 1:
        return False
    if op == "max_pool":
        return len(shapes[0]) == 4 and len(attrs["kernel"]) == 2
    if op in _WINDOW_OPS:
        return len(shapes[0]) == 4 and attrs.get("groups") == 1 and len(attrs["stride"]) == 2
    rank = len(shapes[0])
    if op == "standardize":
        axes = tuple(attrs["axes"])
        return bool(axes) and axes == tuple(range(rank - len(axes), rank))
    if op == "attention_probs":
        return len(shapes) == 2 and rank >= 2
    return rank >= 1 and attrs.get("axis") == rank - 1  # softmax family: the last axis


def native_forward(
    op: str, dtypes: list, shapes: list, attrs: dict, reference, *, split: bool = False
):
    """``fn(*arrays, **attrs)`` computing ``op`` natively, falling back to ``reference``
    (the registry forward) when the library is missing or a run-time check fails; None when
    nothing native applies to these dtypes, shapes and attributes. ``split=True`` spreads
    rows and batch chunks over ember's intra-op threads (as eager mode does), else the kernel
    runs in one call on the caller's thread."""
    if op not in _IMPL or not set(attrs) <= _ATTRS[op] or not _applies(op, dtypes, shapes, attrs):
        return None
    lib = native_library("f32" if dtypes[0] == "float32" else "f64")
    if lib is None:
        return None
    impl = _IMPL[op]
    run = _Threaded if split else _Serial

    def forward(*arrays, **kw):
        res = impl(lib, run, *arrays, **kw)
        return reference(*arrays, **kw) if res is None else res

    forward.__name__ = f"native_{op}"
    return forward


def _shapes_agree(op: str, shapes: list, attrs: dict) -> bool:
    """Checks the C code relies on that a primitive's shape rule leaves to its forward."""
    if op == "pool_scatter":
        return shapes[0] == shapes[1] and len(attrs["size"]) == 2
    if op == "conv_weight_grad":
        out = _geometry(
            shapes[0], attrs["kernel"], attrs["stride"], attrs["padding"], attrs["dilation"]
        )
        return tuple(shapes[1][2:]) == out
    return True


def eager_forward(prim):
    """The native version of ``prim`` for eager mode, or None (no C compiler, no native
    kernel for this primitive).

    The returned ``fn(*arrays, **attrs)`` decides per call (cached by dtypes, shapes and
    attributes) whether the C kernel applies: float32/float64 inputs, the ranks and
    attributes :func:`native_forward` accepts, non-empty arrays, and inputs the primitive's
    shape rule accepts (so malformed calls reach ``prim.forward`` and raise its errors).
    Otherwise, or when a run-time check fails (an index out of range), it runs
    ``prim.forward``. Rows and batch chunks are spread over ember's intra-op threads. The
    library of a dtype is built (or loaded from the disk cache) at its first use, blocking.
    """
    from .c_build import toolchain

    op = prim.name
    impl = _IMPL.get(op) or _EAGER_IMPL.get(op)
    if impl is None or toolchain() is None:
        return None
    from ...dtypes import from_numpy_dtype
    from ...registry import Spec

    allowed, reference, rule = _ATTRS[op], prim.forward, prim.rule
    decided: dict = {}  # (dtypes, shapes, attrs) -> the library to use, or None

    def decide(arrays, attrs):
        dtypes = [a.dtype.name for a in arrays]
        shapes = [a.shape for a in arrays]
        try:
            if not set(attrs) <= allowed or not _applies(op, dtypes, shapes, attrs):
                return None
            if any(a.size == 0 for a in arrays) or not _shapes_agree(op, shapes, attrs):
                return None
            rule(*[Spec(a.shape, from_numpy_dtype(a.dtype)) for a in arrays], **attrs)
        except Exception:  # the forward raises the right error
            return None
        try:
            return native_library(_sfx(arrays[0].dtype))
        except Exception:  # a library that cannot be loaded: NumPy, as without a compiler
            return None

    def forward(*arrays, **attrs):
        try:
            key = (*[(a.dtype, a.shape) for a in arrays], *attrs.items())
            lib = decided[key]
        except KeyError:
            lib = decided[key] = decide(arrays, attrs)
            if len(decided) > 4096:
                decided.clear()
        except (TypeError, AttributeError):  # an unhashable attribute, a non-array input
            lib = None
        if lib is not None:
            res = impl(lib, _Threaded, *arrays, **attrs)
            if res is not None:
                return res
        return reference(*arrays, **attrs)

    forward.__name__ = f"native_{op}"
    forward.__doc__ = reference.__doc__
    return forward
