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
code does not handle (an out-of-range index). The library is one fixed C file, built once per
machine through the kernel cache.

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

from .native_source import source

__all__ = ["NATIVE_OPS", "native_forward", "native_library", "prefetch"]

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
    }
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
        self.im2col(xb.ctypes.data, part.ctypes.data, xb.shape[0], *self.args)
        return part

    def images(self, cols: np.ndarray, part: np.ndarray) -> None:
        """``part`` (nb, C, H, W) = the column matrix summed back into images."""
        self.col2im(cols.ctypes.data, part.ctypes.data, part.shape[0], *self.args)


def _matrix(buf: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A C-contiguous ``(rows, cols)`` matrix at the start of the flat scratch ``buf``."""
    return buf[: rows * cols].reshape(rows, cols)


def _to_rows(gb: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """``(nb, C_out, L)`` -> ``(C_out, nb*L)`` in scratch ``buf``."""
    nb, cout, length = gb.shape
    part = _matrix(buf, cout, nb * length)
    np.copyto(part.reshape(cout, nb, length), gb.transpose(1, 0, 2))
    return part


def _conv(lib, x, w, *, stride, padding, dilation, groups):
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    cout, kernel = w.shape[0], w.shape[2:]
    out = _geometry(x.shape, kernel, stride, padding, dilation)
    win = _Windows(lib, x.dtype, c, x.shape[2:], kernel, out, stride, padding, dilation)
    step = _chunk(n, win.ckk * win.length * x.itemsize)
    cols = np.empty(win.ckk * step * win.length, x.dtype)
    prod = np.empty(cout * step * win.length, x.dtype)
    w2 = w.reshape(cout, -1)
    res = np.empty((n, cout, win.length), x.dtype)
    for b in range(0, n, step):
        xb = x[b : b + step]
        nb = xb.shape[0]
        o = _matrix(prod, cout, nb * win.length)
        np.matmul(w2, win.columns(xb, cols), out=o)
        res[b : b + nb] = o.reshape(cout, nb, win.length).transpose(1, 0, 2)
    return res.reshape((n, cout) + out)


def _conv_input_grad(lib, g, w, *, size, stride, padding, dilation, groups):
    g = np.ascontiguousarray(g)
    n, cout = g.shape[:2]
    kernel, out = tuple(w.shape[2:]), tuple(g.shape[2:])
    c = w.shape[1]
    win = _Windows(lib, g.dtype, c, size, kernel, out, stride, padding, dilation)
    step = _chunk(n, win.ckk * win.length * g.itemsize)
    rows = np.empty(cout * step * win.length, g.dtype)
    cols = np.empty(win.ckk * step * win.length, g.dtype)
    w_t = w.reshape(cout, -1).T
    res = np.empty((n, c) + tuple(size), g.dtype)
    g3 = g.reshape(n, cout, win.length)
    for b in range(0, n, step):
        gb = g3[b : b + step]
        nb = gb.shape[0]
        part = _matrix(cols, win.ckk, nb * win.length)
        np.matmul(w_t, _to_rows(gb, rows), out=part)
        win.images(part, res[b : b + nb])
    return res


def _conv_weight_grad(lib, x, g, *, kernel, stride, padding, dilation, groups):
    x, g = np.ascontiguousarray(x), np.ascontiguousarray(g)
    n, c = x.shape[:2]
    cout = g.shape[1]
    out = tuple(g.shape[2:])
    win = _Windows(lib, x.dtype, c, x.shape[2:], kernel, out, stride, padding, dilation)
    step = _chunk(n, win.ckk * win.length * x.itemsize)
    rows = np.empty(cout * step * win.length, x.dtype)
    cols = np.empty(win.ckk * step * win.length, x.dtype)
    acc = np.zeros((cout, win.ckk), x.dtype)
    part = np.empty_like(acc)
    g3 = g.reshape(n, cout, win.length)
    for b in range(0, n, step):
        xb = x[b : b + step]
        np.matmul(_to_rows(g3[b : b + step], rows), win.columns(xb, cols).T, out=part)
        acc += part
    return acc.reshape((cout, c) + tuple(kernel))


def _max_pool(lib, x, *, kernel, stride, padding, dilation, ceil_mode):
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
    if (
        fn(
            x.ctypes.data,
            vals.ctypes.data,
            idx.ctypes.data,
            n * c,
            h,
            w,
            *window,
            padding[0],
            padding[1],
            dilation[0],
            dilation[1],
        )
        != 0
    ):
        return None
    return vals, idx


def _pool_scatter(lib, g, idx, *, size, unique=False):  # accumulating is right either way
    g, idx = np.ascontiguousarray(g), np.ascontiguousarray(idx)
    n, c = g.shape[:2]
    plane = math.prod(size)
    res = np.empty((n, c) + tuple(size), g.dtype)
    fn = getattr(lib, f"em_pool_scatter_{_sfx(g.dtype)}")
    if fn(g.ctypes.data, idx.ctypes.data, res.ctypes.data, n * c, g[0, 0].size, plane) != 0:
        return None
    return res


# -- row primitives --------------------------------------------------------------------------
def _rows(x: np.ndarray) -> tuple[int, int]:
    n = x.shape[-1] if x.ndim else 1
    return (x.size // n if n else 0), n


def _fn(lib, name: str, dtype):
    return getattr(lib, f"em_{name}_{_sfx(dtype)}")


def _softmax(lib, x, *, axis):
    x = np.ascontiguousarray(x)
    if x.size == 0:
        return None
    y = np.empty_like(x)
    _fn(lib, "softmax", x.dtype)(x.ctypes.data, y.ctypes.data, *_rows(x))
    return y


def _log_softmax(lib, x, *, axis):
    x = np.ascontiguousarray(x)
    if x.size == 0:
        return None
    rows, n = _rows(x)
    y, tmp = np.empty_like(x), np.empty(n, x.dtype)
    _fn(lib, "log_softmax", x.dtype)(x.ctypes.data, y.ctypes.data, tmp.ctypes.data, rows, n)
    return y


def _softmax_backward(lib, g, y, *, axis, scale):
    g, y = np.ascontiguousarray(g), np.ascontiguousarray(y)
    if g.shape != y.shape or g.size == 0:
        return None
    rows, n = _rows(g)
    out, tmp = np.empty_like(g), np.empty(n, g.dtype)
    fn = _fn(lib, "softmax_backward", g.dtype)
    fn(g.ctypes.data, y.ctypes.data, out.ctypes.data, tmp.ctypes.data, rows, n, float(scale))
    return out


def _log_softmax_backward(lib, g, y, *, axis):
    g, y = np.ascontiguousarray(g), np.ascontiguousarray(y)
    if g.shape != y.shape or g.size == 0:
        return None
    out = np.empty_like(g)
    fn = _fn(lib, "log_softmax_backward", g.dtype)
    fn(g.ctypes.data, y.ctypes.data, out.ctypes.data, *_rows(g))
    return out


def _standardize(lib, x, *, axes, eps):
    x = np.ascontiguousarray(x)
    lead = x.shape[: x.ndim - len(axes)]
    n = math.prod(x.shape[x.ndim - len(axes) :])
    rows = math.prod(lead)
    if n == 0 or rows == 0:
        return None
    stat = lead + (1,) * len(axes)
    y, tmp = np.empty_like(x), np.empty(n, x.dtype)
    mean, rstd = np.empty(stat, x.dtype), np.empty(stat, x.dtype)
    fn = _fn(lib, "standardize", x.dtype)
    fn(
        x.ctypes.data,
        y.ctypes.data,
        mean.ctypes.data,
        rstd.ctypes.data,
        tmp.ctypes.data,
        rows,
        n,
        float(eps),
    )
    return y, mean, rstd


def _attention_probs(lib, q, k, *, scale, causal):
    s = np.matmul(q, np.swapaxes(k, -1, -2))
    if not s.flags.c_contiguous or s.size == 0:
        return None
    l_, n = s.shape[-2:]
    fn = _fn(lib, "attention_rows", s.dtype)
    fn(s.ctypes.data, s.size // (l_ * n), l_, n, float(scale), int(bool(causal)))
    return s


def _ce_ok(x, t, rest, smoothing) -> bool:
    return x.ndim == 2 and x.shape[1] > 0 and t.dtype == np.int64 and not smoothing


def _cross_entropy(lib, x, t, *rest, ignore_index, smoothing, reduction):
    if rest or not _ce_ok(x, t, rest, smoothing):
        return None
    x, t = np.ascontiguousarray(x), np.ascontiguousarray(t)
    n, c = x.shape
    loss, tmp = np.empty(n, x.dtype), np.empty(c, x.dtype)
    fn = _fn(lib, "cross_entropy", x.dtype)
    if (
        fn(x.ctypes.data, t.ctypes.data, loss.ctypes.data, tmp.ctypes.data, n, c, int(ignore_index))
        != 0
    ):
        return None  # an out-of-range target: the forward raises the error
    if reduction == "none":
        return loss
    total = loss.sum(dtype=x.dtype)
    if reduction == "mean":
        denom = (t != ignore_index).astype(x.dtype).sum(dtype=x.dtype)
        return np.asarray(total / denom, dtype=x.dtype)
    return np.asarray(total, dtype=x.dtype)


def _cross_entropy_backward(lib, x, t, *rest, ignore_index, smoothing, reduction):
    if len(rest) != 1 or not _ce_ok(x, t, rest, smoothing):
        return None
    (g,) = rest
    x, t = np.ascontiguousarray(x), np.ascontiguousarray(t)
    n, c = x.shape
    if reduction == "none":
        scale = np.ascontiguousarray(g, dtype=x.dtype)
    else:
        denom = (t != ignore_index).astype(x.dtype).sum(dtype=x.dtype)
        scale = np.full(n, g / denom if reduction == "mean" else g).astype(x.dtype, copy=False)
    out = np.empty_like(x)
    fn = _fn(lib, "cross_entropy_backward", x.dtype)
    if (
        fn(
            x.ctypes.data,
            t.ctypes.data,
            scale.ctypes.data,
            out.ctypes.data,
            n,
            c,
            int(ignore_index),
        )
        != 0
    ):
        return None
    return out


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

#: The primitives with a native version.
NATIVE_OPS = tuple(_IMPL)

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
}

_FLOAT = ("float32", "float64")
_WINDOW_OPS = ("conv", "conv_input_grad", "conv_weight_grad", "max_pool")


def _applies(op: str, dtypes: list, shapes: list, attrs: dict) -> bool:
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


def native_forward(op: str, dtypes: list, shapes: list, attrs: dict, reference):
    """``fn(*arrays, **attrs)`` computing ``op`` natively, falling back to ``reference``
    (the registry forward) when the library is missing or a run-time check fails; None when
    nothing native applies to these dtypes, shapes and attributes."""
    if op not in _IMPL or not set(attrs) <= _ATTRS[op] or not _applies(op, dtypes, shapes, attrs):
        return None
    lib = native_library("f32" if dtypes[0] == "float32" else "f64")
    if lib is None:
        return None
    impl = _IMPL[op]

    def forward(*arrays, **kw):
        res = impl(lib, *arrays, **kw)
        return reference(*arrays, **kw) if res is None else res

    forward.__name__ = f"native_{op}"
    return forward
