"""Convolution and pooling primitives: NumPy kernels, shape rules and vjps.

Every kernel works on any number of spatial dimensions (1-D and 2-D are the public ones) and
is vectorised with stride tricks: a strided *window view* of the (padded) input has shape
``(N, C, *kernel, *out)``, so Python loops run only over kernel positions or groups, never
over pixels. GEMMs go to BLAS through ``np.matmul``.

The primitives come in adjoint pairs so that every vjp is again a primitive and grad-of-grad
works to any order:

* ``conv`` (x, w) ↔ ``conv_input_grad`` (g, w) ↔ ``conv_weight_grad`` (x, g): the three
  bilinear maps of one convolution; each one's vjp is made of the other two.
  ``conv_input_grad`` is the transposed convolution.
* ``im2col`` ↔ ``col2im`` (``F.unfold`` / ``F.fold``).
* ``avg_pool`` ↔ ``avg_pool_backward``.
* ``max_pool`` / ``adaptive_max_pool`` return (values, flat indices); their vjp is
  ``pool_scatter``, whose vjp is ``pool_gather`` (and back).

Spatial padding is given as ``((lo, hi), ...)`` pairs so that asymmetric padding
(``padding="same"`` with an even kernel) needs no extra op.

Example:
    >>> import ember
    >>> from ember.ops.conv_kernels import conv
    >>> conv(ember.ones(1, 1, 4), ember.ones(1, 1, 3), stride=(1,), padding=((1, 1),),
    ...      dilation=(1,), groups=1)
    tensor([[[2., 3., 3., 2.]]])
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._dispatch import apply
from ..registry import ShapeError, Spec, primitive
from ..tensor import Tensor
from . import _parallel as _par
from . import conv_shift

__all__ = [
    "conv",
    "conv_input_grad",
    "conv_weight_grad",
    "im2col",
    "col2im",
    "max_pool",
    "avg_pool",
    "adaptive_max_pool",
    "pool_out_size",
    "conv_out_size",
]

# Batch chunks keep the im2col buffer near this many bytes (a few MB: L2/L3-sized GEMM panels).
_CHUNK_BYTES = 16 << 20


# ---------------------------------------------------------------------------------------------
# sizes and windows
# ---------------------------------------------------------------------------------------------
def conv_out_size(size: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """Output length of a convolution along one dimension."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def pool_out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output length of a pooling window along one dimension (PyTorch's formula)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:  # the last window must start inside the input
        out -= 1
    return out


def _windows(xp: np.ndarray, kernel, stride, dilation, out) -> np.ndarray:
    """Read-only view ``(N, C, *kernel, *out)`` of windows of a padded ``(N, C, *P)`` array."""
    st = xp.strides
    nd = len(kernel)
    shape = xp.shape[:2] + tuple(kernel) + tuple(out)
    strides = (
        st[:2]
        + tuple(st[2 + i] * dilation[i] for i in range(nd))
        + tuple(st[2 + i] * stride[i] for i in range(nd))
    )
    return as_strided(xp, shape, strides, writeable=False)


def _pad(x: np.ndarray, padding, out, kernel, stride, dilation, value=0.0) -> np.ndarray:
    """Pad the spatial dims by ``padding`` (lo, hi), growing hi so every window fits."""
    widths = [(0, 0), (0, 0)]
    for i, (lo, hi) in enumerate(padding):
        need = (out[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1
        widths.append((lo, max(hi, need - x.shape[2 + i] - lo, 0)))
    if not any(lo or hi for lo, hi in widths):
        return x
    return np.pad(x, widths, constant_values=value)


def _kernel_slices(k, stride, dilation, out) -> tuple:
    """Index into a padded array selecting, for kernel offset ``k``, the pixel of every window."""
    return (slice(None), slice(None)) + tuple(
        slice(k[i] * dilation[i], k[i] * dilation[i] + stride[i] * (out[i] - 1) + 1, stride[i])
        for i in range(len(k))
    )


def _scatter_windows(cols6: np.ndarray, size, kernel, stride, padding, dilation, out):
    """Adjoint of the window view: sum ``(N, C, *kernel, *out)`` back into ``(N, C, *size)``."""
    n, c = cols6.shape[:2]
    full = tuple(
        max(
            size[i] + padding[i][0] + padding[i][1],
            (out[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1,
        )
        for i in range(len(size))
    )
    buf = np.zeros((n, c) + full, cols6.dtype)
    for k in itertools.product(*(range(kk) for kk in kernel)):
        buf[_kernel_slices(k, stride, dilation, out)] += cols6[(slice(None), slice(None)) + k]
    crop = (slice(None), slice(None)) + tuple(
        slice(padding[i][0], padding[i][0] + size[i]) for i in range(len(size))
    )
    return buf[crop]


def _batch_chunk(n: int, bytes_per_sample: int) -> int:
    return max(1, min(n, _CHUNK_BYTES // max(bytes_per_sample, 1)))


def _batch_ranges(n: int, bytes_per_sample: int, flops: float) -> list:
    """``(lo, hi)`` batch chunks: each within ``_CHUNK_BYTES`` of im2col buffer, and at least
    one per thread when the convolution is worth splitting (``flops``)."""
    step = _batch_chunk(n, bytes_per_sample)
    k = -(-n // step)
    if flops >= _par.GEMM_MIN_FLOPS:
        k = max(k, min(_par.num_threads(), n))
    size = -(-n // k)
    return [(lo, min(n, lo + size)) for lo in range(0, n, size)]


def _gemm(a, b):
    """``a @ b`` for ``(G, m, k) @ (G, k, n)``: one split GEMM when ``G == 1`` (inside a
    parallel region it runs inline on one thread)."""
    if a.shape[0] == 1:
        return _par.matmul(a[0], b[0])[None]
    return np.matmul(a, b)


def _im2col_np(x, kernel, stride, padding, dilation, out) -> np.ndarray:
    """``(N, C, *S)`` -> contiguous ``(N, C*prod(kernel), prod(out))``."""
    xp = _pad(x, padding, out, kernel, stride, dilation)
    view = _windows(xp, kernel, stride, dilation, out)
    n, c = x.shape[:2]
    return view.reshape(n, c * math.prod(kernel), math.prod(out))


# ---------------------------------------------------------------------------------------------
# shape rules
# ---------------------------------------------------------------------------------------------
def _check_float(op: str, *specs: Spec) -> None:
    for s in specs:
        if not s.dtype.is_floating_point:
            raise TypeError(f"{op}: expected floating-point inputs, got {s.dtype}")
    if any(s.dtype is not specs[0].dtype for s in specs[1:]):
        raise TypeError(
            f"{op}: input and weight must have the same dtype, got "
            + " and ".join(str(s.dtype) for s in specs)
        )


def _conv_geometry(op, x_shape, w_shape, stride, padding, dilation, groups, transposed=False):
    nd = len(stride)
    if len(x_shape) != nd + 2 or len(w_shape) != nd + 2:
        raise ShapeError(
            f"{op}: expected a {nd + 2}-D input and weight, got input of shape {tuple(x_shape)} "
            f"and weight of shape {tuple(w_shape)}"
        )
    c_in = x_shape[1]
    if transposed:  # x is the output gradient (N, C_out, *O); w is (C_out?, ...) as for conv
        if c_in != w_shape[0]:
            raise ShapeError(
                f"{op}: input of shape {tuple(x_shape)} has {c_in} channels but the weight of "
                f"shape {tuple(w_shape)} expects {w_shape[0]}"
            )
        return None
    if w_shape[0] % groups:
        raise ShapeError(
            f"{op}: out_channels ({w_shape[0]}) must be divisible by groups ({groups})"
        )
    if c_in != w_shape[1] * groups:
        raise ShapeError(
            f"{op}: input of shape {tuple(x_shape)} has {c_in} channels but the weight of shape "
            f"{tuple(w_shape)} with groups={groups} expects {w_shape[1] * groups}"
        )
    out = tuple(
        conv_out_size(x_shape[2 + i], w_shape[2 + i], stride[i], *padding[i], dilation[i])
        for i in range(nd)
    )
    if any(o <= 0 for o in out):
        raise ShapeError(
            f"{op}: input of shape {tuple(x_shape)} (padded by {padding}) is smaller than the "
            f"kernel {tuple(w_shape[2:])} with dilation {dilation}"
        )
    return out


def _conv_rule(x: Spec, w: Spec, *, stride, padding, dilation, groups) -> Spec:
    _check_float("conv", x, w)
    out = _conv_geometry("conv", x.shape, w.shape, stride, padding, dilation, groups)
    return Spec((x.shape[0], w.shape[0]) + out, x.dtype)


def _conv_input_grad_rule(g: Spec, w: Spec, *, size, stride, padding, dilation, groups) -> Spec:
    _check_float("conv_transpose", g, w)
    _conv_geometry("conv_transpose", g.shape, w.shape, stride, padding, dilation, groups, True)
    x_shape = (g.shape[0], w.shape[1] * groups) + tuple(size)
    for i, o in enumerate(g.shape[2:]):
        k, s, d = w.shape[2 + i], stride[i], dilation[i]
        base = (o - 1) * s - padding[i][0] - padding[i][1] + d * (k - 1) + 1
        if not base <= size[i] < base + max(s, d):
            raise ShapeError(
                f"conv_transpose: output size {tuple(size)} is not reachable from input of shape "
                f"{tuple(g.shape)} with weight of shape {tuple(w.shape)}: dimension {i} must lie "
                f"in [{base}, {base + max(s, d) - 1}]"
            )
    return Spec(x_shape, g.dtype)


def _conv_weight_grad_rule(x: Spec, g: Spec, *, kernel, stride, padding, dilation, groups):
    _check_float("conv_weight_grad", x, g)
    if x.shape[0] != g.shape[0] or x.shape[1] % groups or g.shape[1] % groups:
        raise ShapeError(
            f"conv_weight_grad: input of shape {tuple(x.shape)} and gradient of shape "
            f"{tuple(g.shape)} do not fit groups={groups}"
        )
    return Spec((g.shape[1], x.shape[1] // groups) + tuple(kernel), x.dtype)


# ---------------------------------------------------------------------------------------------
# conv primitives
# ---------------------------------------------------------------------------------------------
def _check_arrays(a, b) -> None:
    if a.dtype != b.dtype or a.dtype.kind != "f":
        raise TypeError("conv: floating-point inputs of one dtype expected")  # rule explains


def _im2col_t(x, kernel, stride, padding, dilation, out, groups) -> np.ndarray:
    """``(N, C, *S)`` -> contiguous ``(groups, C/groups*prod(kernel), N*prod(out))``.

    Batch and output positions share the GEMM's long axis, so one BLAS call covers a chunk.
    """
    nd = len(kernel)
    xp = _pad(x, padding, out, kernel, stride, dilation)
    view = _windows(xp, kernel, stride, dilation, out)  # (N, C, *K, *O)
    order = (1,) + tuple(range(2, 2 + nd)) + (0,) + tuple(range(2 + nd, 2 + 2 * nd))
    n, c = x.shape[:2]
    return view.transpose(order).reshape(
        groups, c // groups * math.prod(kernel), n * math.prod(out)
    )


def _grad_t(g, groups) -> np.ndarray:
    """``(N, C_out, *O)`` -> contiguous ``(groups, C_out/groups, N*prod(O))``."""
    n, c = g.shape[:2]
    gt = np.ascontiguousarray(g.reshape(n, c, -1).transpose(1, 0, 2))
    return gt.reshape(groups, c // groups, -1)


@primitive("conv", _conv_rule, saves_inputs=True)
def _conv(x, w, *, stride, padding, dilation, groups):
    """N-d cross-correlation of ``x (N, C_in, *S)`` with ``w (C_out, C_in/groups, *K)``."""
    _check_arrays(x, w)
    kernel = w.shape[2:]
    out = _conv_geometry("conv", x.shape, w.shape, stride, padding, dilation, groups)
    n, c_out = x.shape[0], w.shape[0]
    length = math.prod(out)
    w_g = w.reshape(groups, c_out // groups, -1)
    res = np.empty((n, c_out, length), x.dtype)
    per_sample = x.shape[1] * math.prod(kernel) * length
    flops = 2.0 * c_out * per_sample * n / groups

    def chunk(lo, hi):  # batch chunks run on ember's threads, each im2col + GEMM
        cols = _im2col_t(x[lo:hi], kernel, stride, padding, dilation, out, groups)
        o = _gemm(w_g, cols)  # (G, C_out/G, nb*L)
        res[lo:hi] = o.reshape(c_out, -1, length).transpose(1, 0, 2)

    _par.map_parts(chunk, _batch_ranges(n, per_sample * x.itemsize, flops))
    return res.reshape((n, c_out) + out)


@primitive("conv_input_grad", _conv_input_grad_rule, saves_inputs=True)
def _conv_input_grad(g, w, *, size, stride, padding, dilation, groups):
    """Transposed convolution: the adjoint of ``conv`` in its input (``size`` = input size)."""
    _check_arrays(g, w)
    if all(st == 1 for st in stride):
        # whole-row shifted adds instead of a window scatter (measured on the CNN benchmark's
        # 32 -> 64 channel 3x3 conv, batch 64, 1 thread: 14.2 -> 11.2 ms)
        return conv_shift.conv_input_grad(g, w, size, padding, dilation, groups, _CHUNK_BYTES)
    kernel = tuple(w.shape[2:])
    out = tuple(g.shape[2:])
    nd = len(kernel)
    n = g.shape[0]
    c_out = w.shape[0]
    c_in = w.shape[1] * groups
    length = math.prod(out)
    w_t = np.swapaxes(w.reshape(groups, c_out // groups, -1), 1, 2)  # (G, C_in/G*KK, C_out/G)
    res = np.empty((n, c_in) + tuple(size), g.dtype)
    step = _batch_chunk(n, c_in * math.prod(kernel) * length * g.itemsize)
    for b in range(0, n, step):
        gb = g[b : b + step]
        cols = np.matmul(w_t, _grad_t(gb, groups))  # (G, C_in/G*KK, nb*L)
        cols = cols.reshape((c_in,) + kernel + (gb.shape[0],) + out)
        cols6 = np.moveaxis(cols, 1 + nd, 0)  # (nb, C_in, *K, *O) view
        res[b : b + step] = _scatter_windows(cols6, size, kernel, stride, padding, dilation, out)
    return res


@primitive("conv_weight_grad", _conv_weight_grad_rule, saves_inputs=True)
def _conv_weight_grad(x, g, *, kernel, stride, padding, dilation, groups):
    """The adjoint of ``conv`` in its weight: ``dw`` for input ``x`` and output grad ``g``."""
    _check_arrays(x, g)
    out = g.shape[2:]
    n, c_in = x.shape[:2]
    c_out = g.shape[1]
    length = math.prod(out)
    per_sample = c_in * math.prod(kernel) * length
    flops = 2.0 * c_out * per_sample * n / groups

    def chunk(lo, hi):  # partial weight gradients of batch chunks, summed below
        cols = _im2col_t(x[lo:hi], kernel, stride, padding, dilation, out, groups)
        return _gemm(_grad_t(g[lo:hi], groups), np.swapaxes(cols, 1, 2))

    parts = _par.map_parts(chunk, _batch_ranges(n, per_sample * x.itemsize, flops))
    acc = parts[0]
    for p in parts[1:]:
        acc += p
    return acc.reshape((c_out, c_in // groups) + tuple(kernel))


def _geom(attrs) -> dict:
    return {k: attrs[k] for k in ("stride", "padding", "dilation", "groups")}


def _conv_to(x: Tensor, w: Tensor, out: tuple, geom: dict) -> Tensor:
    """``conv(x, w)`` cropped to spatial size ``out`` (transposed convs with output_padding
    reach input sizes whose convolution has a few more positions than the gradient)."""
    y = apply(_conv, x, w, **geom)
    if tuple(y.shape[2:]) != tuple(out):
        y = y[(slice(None), slice(None)) + tuple(slice(0, o) for o in out)]
    return y


@_conv.defvjp
def _(ctx, g):
    x, w = ctx.inputs
    geom = _geom(ctx.attrs)
    gx = gw = None
    if ctx.needs_input_grad[0]:
        gx = apply(_conv_input_grad, g, w, size=tuple(x.shape[2:]), **geom)
    if ctx.needs_input_grad[1]:
        gw = apply(_conv_weight_grad, x, g, kernel=tuple(w.shape[2:]), **geom)
    return gx, gw


@_conv_input_grad.defvjp
def _(ctx, h):
    g, w = ctx.inputs
    geom = _geom(ctx.attrs)
    gg = gw = None
    if ctx.needs_input_grad[0]:
        gg = _conv_to(h, w, tuple(g.shape[2:]), geom)
    if ctx.needs_input_grad[1]:
        gw = apply(_conv_weight_grad, h, g, kernel=tuple(w.shape[2:]), **geom)
    return gg, gw


@_conv_weight_grad.defvjp
def _(ctx, h):
    x, g = ctx.inputs
    geom = _geom(ctx.attrs)
    gx = gg = None
    if ctx.needs_input_grad[0]:
        gx = apply(_conv_input_grad, g, h, size=tuple(x.shape[2:]), **geom)
    if ctx.needs_input_grad[1]:
        gg = _conv_to(x, h, tuple(g.shape[2:]), geom)
    return gx, gg


def conv(input: Tensor, weight: Tensor, *, stride, padding, dilation, groups) -> Tensor:
    """The ``conv`` primitive (no bias, no argument normalisation): see ``F.conv2d``."""
    return apply(
        _conv,
        input,
        weight,
        stride=tuple(stride),
        padding=tuple(padding),
        dilation=tuple(dilation),
        groups=int(groups),
    )


def conv_input_grad(
    grad: Tensor, weight: Tensor, *, size, stride, padding, dilation, groups
) -> Tensor:
    """The ``conv_input_grad`` primitive (transposed convolution to spatial ``size``)."""
    return apply(
        _conv_input_grad,
        grad,
        weight,
        size=tuple(size),
        stride=tuple(stride),
        padding=tuple(padding),
        dilation=tuple(dilation),
        groups=int(groups),
    )


def conv_weight_grad(
    input: Tensor, grad: Tensor, *, kernel, stride, padding, dilation, groups
) -> Tensor:
    """The ``conv_weight_grad`` primitive."""
    return apply(
        _conv_weight_grad,
        input,
        grad,
        kernel=tuple(kernel),
        stride=tuple(stride),
        padding=tuple(padding),
        dilation=tuple(dilation),
        groups=int(groups),
    )


# ---------------------------------------------------------------------------------------------
# im2col / col2im (F.unfold / F.fold)
# ---------------------------------------------------------------------------------------------
def _im2col_rule(x: Spec, *, kernel, stride, padding, dilation) -> Spec:
    nd = len(kernel)
    if len(x.shape) != nd + 2:
        raise ShapeError(f"unfold: expected a {nd + 2}-D input, got shape {tuple(x.shape)}")
    out = tuple(
        conv_out_size(x.shape[2 + i], kernel[i], stride[i], *padding[i], dilation[i])
        for i in range(nd)
    )
    if any(o <= 0 for o in out):
        raise ShapeError(
            f"unfold: input of shape {tuple(x.shape)} is too small for kernel {tuple(kernel)}"
        )
    return Spec((x.shape[0], x.shape[1] * math.prod(kernel), math.prod(out)), x.dtype)


def _col2im_geometry(cols_shape, size, kernel, stride, padding, dilation):
    nd = len(kernel)
    kk = math.prod(kernel)
    out = tuple(
        conv_out_size(size[i], kernel[i], stride[i], *padding[i], dilation[i]) for i in range(nd)
    )
    if len(cols_shape) != 3 or cols_shape[1] % kk or cols_shape[2] != math.prod(out):
        raise ShapeError(
            f"fold: input of shape {tuple(cols_shape)} does not match output_size {tuple(size)} "
            f"with kernel_size {tuple(kernel)}: expected (N, C*{kk}, {math.prod(out)})"
        )
    return out


def _col2im_rule(c: Spec, *, size, kernel, stride, padding, dilation) -> Spec:
    _col2im_geometry(c.shape, size, kernel, stride, padding, dilation)
    return Spec((c.shape[0], c.shape[1] // math.prod(kernel)) + tuple(size), c.dtype)


@primitive("im2col", _im2col_rule)
def _im2col(x, *, kernel, stride, padding, dilation):
    """Sliding local blocks: ``(N, C, *S)`` -> ``(N, C*prod(kernel), L)``."""
    out = tuple(
        conv_out_size(x.shape[2 + i], kernel[i], stride[i], *padding[i], dilation[i])
        for i in range(len(kernel))
    )
    return np.ascontiguousarray(_im2col_np(x, kernel, stride, padding, dilation, out))


@primitive("col2im", _col2im_rule)
def _col2im(c, *, size, kernel, stride, padding, dilation):
    """Sum sliding local blocks back into an image: the adjoint of ``im2col``."""
    out = _col2im_geometry(c.shape, size, kernel, stride, padding, dilation)
    cols6 = c.reshape((c.shape[0], c.shape[1] // math.prod(kernel)) + tuple(kernel) + out)
    return np.ascontiguousarray(
        _scatter_windows(cols6, size, kernel, stride, padding, dilation, out)
    )


@_im2col.defvjp
def _(ctx, g):
    size = ctx.in_meta[0][0][2:]
    return (apply(_col2im, g, size=tuple(size), **ctx.attrs),)


@_col2im.defvjp
def _(ctx, g):
    attrs = {k: v for k, v in ctx.attrs.items() if k != "size"}
    return (apply(_im2col, g, **attrs),)


def im2col(input: Tensor, *, kernel, stride, padding, dilation) -> Tensor:
    """The ``im2col`` primitive (``F.unfold`` without argument normalisation)."""
    return apply(
        _im2col,
        input,
        kernel=tuple(kernel),
        stride=tuple(stride),
        padding=tuple(padding),
        dilation=tuple(dilation),
    )


def col2im(input: Tensor, *, size, kernel, stride, padding, dilation) -> Tensor:
    """The ``col2im`` primitive (``F.fold`` without argument normalisation)."""
    return apply(
        _col2im,
        input,
        size=tuple(size),
        kernel=tuple(kernel),
        stride=tuple(stride),
        padding=tuple(padding),
        dilation=tuple(dilation),
    )


# ---------------------------------------------------------------------------------------------
# gather / scatter by flat spatial index (max-pool backward)
# ---------------------------------------------------------------------------------------------
def _pool_scatter_rule(g: Spec, idx: Spec, *, size, unique=False) -> Spec:
    return Spec(tuple(g.shape[:2]) + tuple(size), g.dtype)


def _pool_gather_rule(x: Spec, idx: Spec) -> Spec:
    return Spec(tuple(idx.shape), x.dtype)


@primitive("pool_scatter", _pool_scatter_rule, saves_inputs=True)
def _pool_scatter(g, idx, *, size, unique=False):
    """Sum ``g (N, C, *O)`` into zeros ``(N, C, *size)`` at flat spatial indices ``idx``;
    ``unique`` promises no index repeats within a plane (a plain assignment then suffices:
    max pooling with non-overlapping windows, 1.5 -> 1.1 ms on the CNN benchmark's first pool)."""
    n, c = g.shape[:2]
    plane = math.prod(size)
    rows = np.arange(n * c, dtype=np.int64).reshape(n, c, *([1] * (g.ndim - 2))) * plane
    res = np.zeros(n * c * plane, g.dtype)
    if not unique:
        np.add.at(res, (idx + rows).ravel(), g.ravel())
        return res.reshape((n, c) + tuple(size))
    res2 = res.reshape(n, -1)

    def chunk(lo, hi):  # batch chunks on ember's threads: their indices never meet
        flat = idx[lo:hi] + (rows[lo:hi] - lo * c * plane)
        res2[lo:hi].reshape(-1)[flat.ravel()] = g[lo:hi].ravel()

    _par.for_rows(chunk, n, 4 * math.prod(g.shape[1:]))
    return res.reshape((n, c) + tuple(size))


@primitive("pool_gather", _pool_gather_rule, saves_inputs=True)
def _pool_gather(x, idx):
    """``x (N, C, *S)`` read at flat spatial indices ``idx (N, C, *O)``."""
    n, c = x.shape[:2]
    vals = np.take_along_axis(x.reshape(n, c, -1), idx.reshape(n, c, -1), axis=2)
    return vals.reshape(idx.shape)


@_pool_scatter.defvjp
def _(ctx, h):
    _, idx = ctx.inputs
    return apply(_pool_gather, h, idx), None


@_pool_gather.defvjp
def _(ctx, h):
    x, idx = ctx.inputs
    return apply(_pool_scatter, h, idx, size=tuple(x.shape[2:])), None


# ---------------------------------------------------------------------------------------------
# max pooling
# ---------------------------------------------------------------------------------------------
def _pool_geometry(op, shape, kernel, stride, padding, dilation, ceil_mode):
    nd = len(kernel)
    if len(shape) != nd + 2:
        raise ShapeError(f"{op}: expected a {nd + 2}-D input, got shape {tuple(shape)}")
    for i in range(nd):
        if kernel[i] <= 0 or stride[i] <= 0 or dilation[i] <= 0:
            raise ShapeError(
                f"{op}: kernel_size, stride and dilation must be positive, got {kernel}, "
                f"{stride}, {dilation}"
            )
        if padding[i] < 0 or padding[i] * 2 > kernel[i]:
            raise ShapeError(
                f"{op}: pad should be at most half of effective kernel size, but got "
                f"pad={padding[i]} and kernel_size={kernel[i]}"
            )
    out = tuple(
        pool_out_size(shape[2 + i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
        for i in range(nd)
    )
    if any(o <= 0 for o in out):
        raise ShapeError(
            f"{op}: output size is too small for input of shape {tuple(shape)} with kernel_size "
            f"{tuple(kernel)}, stride {tuple(stride)}, padding {tuple(padding)}"
        )
    return out


def _max_pool_rule(x: Spec, *, kernel, stride, padding, dilation, ceil_mode):
    out = _pool_geometry("max_pool", x.shape, kernel, stride, padding, dilation, ceil_mode)
    shape = tuple(x.shape[:2]) + out
    from .. import dtypes as _dt

    return Spec(shape, x.dtype), Spec(shape, _dt.int64)


@primitive("max_pool", _max_pool_rule, num_outputs=2, saves_outputs=True)
def _max_pool(x, *, kernel, stride, padding, dilation, ceil_mode):
    """Max over windows; returns values and flat spatial indices (NaN propagates)."""
    out = _pool_geometry("max_pool", x.shape, kernel, stride, padding, dilation, ceil_mode)
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    pads = tuple((p, p) for p in padding)
    xp = _pad(x, pads, out, kernel, stride, dilation, value=low)
    view = _windows(xp, kernel, stride, dilation, out)
    offsets = list(itertools.product(*(range(kk) for kk in kernel)))
    kdt = np.uint8 if len(offsets) < 256 else np.int64
    # flat input index = base of the window + offset of the chosen kernel position
    size = x.shape[2:]
    plane = [math.prod(size[i + 1 :]) for i in range(len(size))]
    table = np.array(
        [sum(k[i] * dilation[i] * plane[i] for i in range(len(k))) for k in offsets], np.int64
    )
    base = 0
    for i in range(len(size)):
        o = np.arange(out[i], dtype=np.int64).reshape([-1] + [1] * (len(size) - 1 - i))
        base = base + (o * stride[i] - padding[i]) * plane[i]
    best = np.empty(x.shape[:2] + out, x.dtype)
    index = np.empty(x.shape[:2] + out, np.int64)

    def chunk(lo, hi):  # batch chunks on ember's threads
        vw = view[lo:hi]
        b = kidx = None
        for pos, k in enumerate(offsets):
            v = vw[(slice(None), slice(None)) + k]
            if b is None:
                b = best[lo:hi]
                np.copyto(b, v)
                kidx = np.zeros(b.shape, kdt)
                continue
            # positions only grow, so "take the later one where it is larger" is a maximum
            later = np.multiply(v > b, pos, dtype=kdt)
            np.maximum(kidx, later, out=kidx)
            np.maximum(b, v, out=b)  # propagates NaN, as PyTorch does
        if x.dtype.kind == "f" and np.isnan(b).any():  # the last NaN of a window is its argmax
            for pos, k in enumerate(offsets):
                kidx[np.isnan(vw[(slice(None), slice(None)) + k])] = pos
        np.add(table[kidx], base, out=index[lo:hi])

    _par.for_rows(chunk, x.shape[0], 6 * len(offsets) * math.prod(x.shape[1:]) // 4)
    return best, index


@_max_pool.defvjp
def _(ctx, g, _gi):
    idx = ctx.outputs[1]
    a = ctx.attrs
    # windows that cannot overlap pick distinct pixels
    disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(a["kernel"], a["stride"], a["dilation"]))
    size = tuple(ctx.in_meta[0][0][2:])
    if disjoint:
        return (apply(_pool_scatter, g, idx, size=size, unique=True),)
    return (apply(_pool_scatter, g, idx, size=size),)


def max_pool(input: Tensor, *, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    """The ``max_pool`` primitive: ``(values, indices)``."""
    return apply(
        _max_pool,
        input,
        kernel=tuple(kernel),
        stride=tuple(stride),
        padding=tuple(padding),
        dilation=tuple(dilation),
        ceil_mode=bool(ceil_mode),
    )


def _adaptive_ranges(size: int, out: int) -> tuple:
    o = np.arange(out)
    start = (o * size) // out
    end = -((-(o + 1) * size) // out)
    return start, end


def _adaptive_max_rule(x: Spec, *, output_size):
    nd = len(output_size)
    if len(x.shape) != nd + 2:
        raise ShapeError(f"adaptive_max_pool: expected a {nd + 2}-D input, got {tuple(x.shape)}")
    from .. import dtypes as _dt

    shape = tuple(x.shape[:2]) + tuple(output_size)
    return Spec(shape, x.dtype), Spec(shape, _dt.int64)


@primitive("adaptive_max_pool", _adaptive_max_rule, num_outputs=2, saves_outputs=True)
def _adaptive_max_pool(x, *, output_size):
    """Max over PyTorch's adaptive windows [floor(i*S/O), ceil((i+1)*S/O)); values and indices."""
    nd = len(output_size)
    size = x.shape[2:]
    idxs = []
    for i in range(nd):
        start, end = _adaptive_ranges(size[i], output_size[i])
        kmax = int((end - start).max())
        # pad short windows by repeating their last element: the max and first argmax are unchanged
        ix = np.minimum(start[:, None] + np.arange(kmax), end[:, None] - 1)
        shape = [1] * (2 * nd)
        shape[2 * i], shape[2 * i + 1] = ix.shape
        idxs.append(ix.reshape(shape))
    g = x[(slice(None), slice(None)) + tuple(idxs)]  # (N, C, O0, K0, O1, K1, ...)
    order = (
        tuple(range(2)) + tuple(2 + 2 * i for i in range(nd)) + tuple(3 + 2 * i for i in range(nd))
    )
    g = g.transpose(order)
    lead = g.shape[: 2 + nd]
    g = g.reshape(lead + (-1,))
    if x.dtype.kind == "f":  # NaN propagates: it wins the argmax
        arg = np.argmax(np.where(np.isnan(g), np.inf, g), axis=-1)
        nan_any = np.isnan(g).any(-1)
        if nan_any.any():
            arg = np.where(nan_any, np.argmax(np.isnan(g), axis=-1), arg)
    else:
        arg = np.argmax(g, axis=-1)
    vals = np.take_along_axis(g, arg[..., None], -1)[..., 0]
    flat = 0
    for i in range(nd):
        flat = flat * size[i] + idxs[i]
    flat = np.broadcast_to(flat, [s for s in np.broadcast_shapes(*[a.shape for a in idxs])])
    flat = flat.transpose(tuple(2 * i for i in range(nd)) + tuple(2 * i + 1 for i in range(nd)))
    flat = flat.reshape(tuple(output_size) + (-1,))
    idx = np.take_along_axis(np.broadcast_to(flat, lead + flat.shape[-1:]), arg[..., None], -1)
    return vals, idx[..., 0].astype(np.int64)


@_adaptive_max_pool.defvjp
def _(ctx, g, _gi):
    idx = ctx.outputs[1]
    return (apply(_pool_scatter, g, idx, size=tuple(ctx.in_meta[0][0][2:])),)


def adaptive_max_pool(input: Tensor, *, output_size) -> tuple:
    """The ``adaptive_max_pool`` primitive: ``(values, indices)``."""
    return apply(_adaptive_max_pool, input, output_size=tuple(output_size))


# ---------------------------------------------------------------------------------------------
# average pooling
# ---------------------------------------------------------------------------------------------
def _avg_divisor(size, out, kernel, stride, padding, count_include_pad, divisor_override):
    if divisor_override:
        return float(divisor_override)
    nd = len(kernel)
    div = 1
    for i in range(nd):
        start = np.arange(out[i]) * stride[i] - padding[i]
        end = np.minimum(start + kernel[i], size[i] + padding[i])
        n = end - start
        if not count_include_pad:
            n = np.minimum(end, size[i]) - np.maximum(start, 0)
        div = div * n.reshape([-1] + [1] * (nd - 1 - i))
    return div


def _avg_rule(
    x: Spec, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
) -> Spec:
    if not x.dtype.is_floating_point:
        raise TypeError(f"avg_pool: expected a floating-point input, got {x.dtype}")
    dil = (1,) * len(kernel)
    out = _pool_geometry("avg_pool", x.shape, kernel, stride, padding, dil, ceil_mode)
    return Spec(tuple(x.shape[:2]) + out, x.dtype)


def _avg_backward_rule(
    g: Spec, *, size, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
) -> Spec:
    return Spec(tuple(g.shape[:2]) + tuple(size), g.dtype)


@primitive("avg_pool", _avg_rule)
def _avg_pool(x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Mean over windows (PyTorch's divisor rules for padding and ceil_mode)."""
    dil = (1,) * len(kernel)
    out = _pool_geometry("avg_pool", x.shape, kernel, stride, padding, dil, ceil_mode)
    xp = _pad(x, tuple((p, p) for p in padding), out, kernel, stride, dil)
    total = None
    for k in itertools.product(*(range(kk) for kk in kernel)):
        v = xp[_kernel_slices(k, stride, dil, out)]
        total = v.copy() if total is None else np.add(total, v, out=total)
    div = _avg_divisor(
        x.shape[2:], out, kernel, stride, padding, count_include_pad, divisor_override
    )
    return (total / np.asarray(div, dtype=x.dtype)).astype(x.dtype, copy=False)


@primitive("avg_pool_backward", _avg_backward_rule)
def _avg_pool_backward(
    g, *, size, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    """The adjoint of ``avg_pool``: spread each window's gradient over its pixels."""
    out = g.shape[2:]
    dil = (1,) * len(kernel)
    div = _avg_divisor(size, out, kernel, stride, padding, count_include_pad, divisor_override)
    gd = (g / np.asarray(div, dtype=g.dtype)).astype(g.dtype, copy=False)
    cols6 = np.broadcast_to(
        gd[(slice(None), slice(None)) + (None,) * len(kernel)],
        g.shape[:2] + tuple(kernel) + tuple(out),
    )
    pads = tuple((p, p) for p in padding)
    return np.ascontiguousarray(_scatter_windows(cols6, size, kernel, stride, pads, dil, out))


@_avg_pool.defvjp
def _(ctx, g):
    return (apply(_avg_pool_backward, g, size=tuple(ctx.in_meta[0][0][2:]), **ctx.attrs),)


@_avg_pool_backward.defvjp
def _(ctx, h):
    attrs = {k: v for k, v in ctx.attrs.items() if k != "size"}
    return (apply(_avg_pool, h, **attrs),)


def avg_pool(
    input: Tensor, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
) -> Tensor:
    """The ``avg_pool`` primitive."""
    return apply(
        _avg_pool,
        input,
        kernel=tuple(kernel),
        stride=tuple(stride),
        padding=tuple(padding),
        ceil_mode=bool(ceil_mode),
        count_include_pad=bool(count_include_pad),
        divisor_override=int(divisor_override) if divisor_override else None,
    )
