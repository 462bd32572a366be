"""Convolution and pooling ONNX ops (N-d): Conv, ConvTranspose, ConvInteger, MaxPool,
AveragePool, LpPool, the Global* pools, MaxUnpool, Col2Im.

ONNX pads may differ at the two ends of an axis (``pads = [x1_begin, x2_begin, ..., x1_end,
...]``) and ``auto_pad`` derives them from the output size; the convolution primitives take
``(begin, end)`` pairs directly, and the pools pad explicitly (with -inf for max, zeros for
the others) and divide average pools by counts computed from a constant mask.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("MaxPool", "", 12, "", {"kernel_shape": [2], "strides": [2]}, 1)
    >>> find_handler("MaxPool", 12)(ctx, ember.tensor([[[1.0, 3.0, 2.0, 0.0]]]))
    tensor([[[3., 2.]]])
"""

from __future__ import annotations

import math

import ember
from ember.ops import conv_kernels as K

from ._registry import OpContext, onnx_op
from ._util import const, int_list


def _spatial_attrs(ctx: OpContext, nd: int):
    strides = list(ctx.attr("strides") or [1] * nd)
    dilations = list(ctx.attr("dilations") or [1] * nd)
    if len(strides) != nd or len(dilations) != nd:
        raise ctx.error(f"strides {strides} / dilations {dilations} must have {nd} entries")
    return strides, dilations


def _explicit_pads(ctx: OpContext, nd: int) -> tuple[list[int], list[int]]:
    pads = list(ctx.attr("pads") or [0] * (2 * nd))
    if len(pads) != 2 * nd:
        raise ctx.error(f"pads {pads} must have {2 * nd} entries (begin and end per axis)")
    return pads[:nd], pads[nd:]


def _auto_pads(ctx: OpContext, sizes, kernel, strides, dilations):
    """(begin pads, end pads) from ``auto_pad`` (SAME_UPPER/SAME_LOWER/VALID) or ``pads``."""
    nd = len(kernel)
    mode = ctx.attr("auto_pad", "NOTSET") or "NOTSET"
    if mode == "NOTSET":
        return _explicit_pads(ctx, nd)
    if mode == "VALID":
        return [0] * nd, [0] * nd
    if mode not in ("SAME_UPPER", "SAME_LOWER"):
        raise ctx.error(f"auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got {mode!r}")
    lo, hi = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilations):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        small, big = total // 2, total - total // 2
        lo.append(small if mode == "SAME_UPPER" else big)
        hi.append(big if mode == "SAME_UPPER" else small)
    return lo, hi


# ---------------------------------------------------------------------------------------------
# convolutions
# ---------------------------------------------------------------------------------------------
def _conv(ctx: OpContext, x, w, b=None):
    nd = x.dim() - 2
    if nd < 1 or w.dim() != x.dim():
        raise ctx.error(f"input {tuple(x.shape)} and weight {tuple(w.shape)} must be (N, C, ...)")
    kernel = list(w.shape[2:])
    strides, dilations = _spatial_attrs(ctx, nd)
    lo, hi = _auto_pads(ctx, x.shape[2:], kernel, strides, dilations)
    groups = ctx.attr("group", 1)
    if x.shape[1] != w.shape[1] * groups:
        raise ctx.error(
            f"input has {x.shape[1]} channels but weight {tuple(w.shape)} with group={groups} "
            f"expects {w.shape[1] * groups}"
        )
    y = K.conv(x, w, stride=strides, padding=tuple(zip(lo, hi)), dilation=dilations, groups=groups)
    if b is not None:
        y = y + b.reshape((-1,) + (1,) * nd)
    return y


@onnx_op("Conv")
def conv(ctx: OpContext, x, w, b=None):
    return _conv(ctx, x, w, b)


@onnx_op("ConvInteger")
def conv_integer(ctx: OpContext, x, w, x_zero_point=None, w_zero_point=None):
    """Integer convolution, computed exactly in float64 and returned as int32."""
    xf, wf = x.to(ember.float64), w.to(ember.float64)
    if x_zero_point is not None:
        xf = xf - x_zero_point.to(ember.float64)
    if w_zero_point is not None:
        zp = w_zero_point.to(ember.float64)
        wf = wf - (zp.reshape((-1,) + (1,) * (w.dim() - 1)) if zp.numel() > 1 else zp)
    return _conv(ctx, xf, wf).to(ember.int32)


@onnx_op("ConvTranspose")
def conv_transpose(ctx: OpContext, x, w, b=None):
    nd = x.dim() - 2
    groups = ctx.attr("group", 1)
    if w.dim() != x.dim() or w.shape[0] != x.shape[1]:
        raise ctx.error(f"input {tuple(x.shape)} and weight {tuple(w.shape)} do not match")
    kernel = list(ctx.attr("kernel_shape") or w.shape[2:])
    strides, dilations = _spatial_attrs(ctx, nd)
    out_pad = list(ctx.attr("output_padding") or [0] * nd)
    sizes = list(x.shape[2:])
    natural = [
        s * (n - 1) + op + (k - 1) * d + 1
        for n, k, s, d, op in zip(sizes, kernel, strides, dilations, out_pad)
    ]
    mode = ctx.attr("auto_pad", "NOTSET") or "NOTSET"
    output_shape = ctx.attr("output_shape")
    if output_shape or mode in ("SAME_UPPER", "SAME_LOWER"):
        want = list(output_shape)[-nd:] if output_shape else [n * s for n, s in zip(sizes, strides)]
        lo, hi = [], []
        for full, target in zip(natural, want):
            total = full - target
            if mode == "SAME_UPPER":
                lo.append(total // 2)
                hi.append(total - total // 2)
            else:
                lo.append(total - total // 2)
                hi.append(total // 2)
    elif mode == "VALID":
        lo, hi = [0] * nd, [0] * nd
    else:
        lo, hi = _explicit_pads(ctx, nd)
    # Negative pads (an output larger than the natural one) grow the result with zeros.
    grow = [(max(-a, 0), max(-b_, 0)) for a, b_ in zip(lo, hi)]
    lo, hi = [max(a, 0) for a in lo], [max(b_, 0) for b_ in hi]
    size = [full - a - b_ for full, a, b_ in zip(natural, lo, hi)]
    y = K.conv_input_grad(
        x,
        w,
        size=size,
        stride=strides,
        padding=tuple(zip(lo, hi)),
        dilation=dilations,
        groups=groups,
    )
    if any(g != (0, 0) for g in grow):
        y = ember.pad(y, tuple(v for pair in reversed(grow) for v in pair))
    if b is not None:
        y = y + b.reshape((-1,) + (1,) * nd)
    return y


# ---------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------
class _PoolGeometry:
    """Output size and the padding (begin, end incl. the ceil-mode extra) of a pool."""

    def __init__(self, ctx: OpContext, x, kernel):
        nd = len(kernel)
        if x.dim() != nd + 2:
            raise ctx.error(
                f"kernel_shape {kernel} does not fit an input of shape {tuple(x.shape)}"
            )
        self.kernel = list(kernel)
        self.strides, self.dilations = _spatial_attrs(ctx, nd)
        sizes = list(x.shape[2:])
        self.lo, self.hi = _auto_pads(ctx, sizes, kernel, self.strides, self.dilations)
        ceil_mode = bool(ctx.attr("ceil_mode", 0))
        self.out, self.extra = [], []
        for n, k, s, d, a, b in zip(sizes, kernel, self.strides, self.dilations, self.lo, self.hi):
            span = n + a + b - (k - 1) * d - 1
            if span < 0:
                raise ctx.error(f"kernel {kernel} is larger than the padded input {tuple(x.shape)}")
            o = (-(-span // s) if ceil_mode else span // s) + 1
            if ceil_mode and (o - 1) * s >= n + a:  # windows starting in the end padding go
                o -= 1
            self.out.append(o)
            self.extra.append(max((o - 1) * s + (k - 1) * d + 1 - (n + a + b), 0))

    def pad_widths(self, include_extra: bool = True) -> tuple:
        """``ember.pad`` widths (last axis first) for the begin/end padding."""
        widths = []
        for a, b, e in reversed(list(zip(self.lo, self.hi, self.extra))):
            widths += [a, b + (e if include_extra else 0)]
        return tuple(widths)

    def window_sums(self, xp):
        """Sum of each window of the already padded ``xp``: (N, C, *out)."""
        k = math.prod(self.kernel)
        if all(d == 1 for d in self.dilations):
            avg = K.avg_pool(
                xp,
                kernel=self.kernel,
                stride=self.strides,
                padding=[0] * len(self.kernel),
                ceil_mode=False,
                count_include_pad=True,
                divisor_override=None,
            )
            return avg * const(k, avg)
        cols = K.im2col(
            xp,
            kernel=self.kernel,
            stride=self.strides,
            padding=((0, 0),) * len(self.kernel),
            dilation=self.dilations,
        )
        n, c = xp.shape[:2]
        return cols.reshape(n, c, k, -1).sum(2).reshape((n, c) + tuple(self.out))


def _kernel(ctx: OpContext):
    kernel = ctx.attr("kernel_shape")
    if not kernel:
        raise ctx.error("kernel_shape is required")
    return list(kernel)


@onnx_op("MaxPool")
def max_pool(ctx: OpContext, x):
    geo = _PoolGeometry(ctx, x, _kernel(ctx))
    work = x if x.dtype is not ember.bool else x.to(ember.uint8)
    low = -math.inf if work.dtype.is_floating_point else _int_min(work.dtype)
    widths = geo.pad_widths()
    padded = ember.pad(work, widths, value=low) if any(widths) else work
    values, flat = K.max_pool(
        padded,
        kernel=geo.kernel,
        stride=geo.strides,
        padding=[0] * len(geo.kernel),
        dilation=geo.dilations,
        ceil_mode=False,
    )
    values = values.to(x.dtype)
    if ctx.num_outputs < 2:
        return values
    return values, _onnx_pool_indices(ctx, x, padded, flat, geo)


def _int_min(dtype) -> int:
    return -(2 ** (dtype.itemsize * 8 - 1)) if dtype.is_signed else 0


def _onnx_pool_indices(ctx: OpContext, x, padded, flat, geo: _PoolGeometry):
    """Flat indices into the whole unpadded input (row- or column-major spatial order)."""
    sizes = list(x.shape[2:])
    padded_sizes = list(padded.shape[2:])
    coords = []
    rest = flat
    for i in range(len(sizes) - 1, -1, -1):  # unravel the padded index, last axis first
        size = const(padded_sizes[i], rest)
        coords.insert(0, ember.remainder(rest, size) - geo.lo[i])
        rest = ember.floor_divide(rest, size)
    spatial = const(0, flat)
    if ctx.attr("storage_order", 0):
        for i in range(len(sizes) - 1, -1, -1):
            spatial = spatial * sizes[i] + coords[i]
    else:
        for i in range(len(sizes)):
            spatial = spatial * sizes[i] + coords[i]
    n, c = x.shape[:2]
    plane = math.prod(sizes)
    base = (ember.arange(n * c) * plane).reshape((n, c) + (1,) * len(sizes))
    return spatial + base


@onnx_op("AveragePool")
def average_pool(ctx: OpContext, x):
    geo = _PoolGeometry(ctx, x, _kernel(ctx))
    widths = geo.pad_widths()
    padded = ember.pad(x, widths) if any(widths) else x
    sums = geo.window_sums(padded)
    # Count the positions each window covers: the padding too when count_include_pad is set,
    # never the ceil-mode extra.
    ones = ember.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype)
    if ctx.attr("count_include_pad", 0):
        mask = ember.pad(ones, geo.pad_widths(False), value=1.0)
        extra = tuple(v for e in reversed(geo.extra) for v in (0, e))
        mask = ember.pad(mask, extra) if any(extra) else mask
    else:
        mask = ember.pad(ones, widths) if any(widths) else ones
    counts = geo.window_sums(mask)
    return sums / counts


@onnx_op("LpPool")
def lp_pool(ctx: OpContext, x):
    geo = _PoolGeometry(ctx, x, _kernel(ctx))
    p = ctx.attr("p", 2)
    widths = geo.pad_widths()
    powered = x.abs() ** p
    padded = ember.pad(powered, widths) if any(widths) else powered
    return geo.window_sums(padded) ** (1.0 / p)


@onnx_op("GlobalAveragePool")
def global_average_pool(ctx: OpContext, x):
    return ember.mean(x, tuple(range(2, x.dim())), keepdim=True)


@onnx_op("GlobalMaxPool")
def global_max_pool(ctx: OpContext, x):
    return ember.amax(x, tuple(range(2, x.dim())), keepdim=True)


@onnx_op("GlobalLpPool")
def global_lp_pool(ctx: OpContext, x):
    p = ctx.attr("p", 2)
    return ember.sum(x.abs() ** p, tuple(range(2, x.dim())), keepdim=True) ** (1.0 / p)


@onnx_op("MaxUnpool")
def max_unpool(ctx: OpContext, x, indices, output_shape=None):
    """Scatter ``x`` into zeros at the flat ``indices`` a MaxPool returned."""
    nd = x.dim() - 2
    kernel = _kernel(ctx)
    strides, _ = _spatial_attrs(ctx, nd)
    lo, hi = _explicit_pads(ctx, nd)
    default = [
        (n - 1) * s + k - a - b for n, k, s, a, b in zip(x.shape[2:], kernel, strides, lo, hi)
    ]
    spatial = list(int_list(output_shape))[2:] if output_shape is not None else default
    index = indices.to(ember.int64)
    if spatial != default:  # indices count positions of the default-sized plane: re-ravel
        coords, rest = [], index
        for size in reversed(default):
            coords.insert(0, ember.remainder(rest, const(size, rest)))
            rest = ember.floor_divide(rest, const(size, rest))
        index = rest  # the (n * C + c) plane number
        for size, coord in zip(spatial, coords):
            index = index * size + coord
    shape = tuple(x.shape[:2]) + tuple(spatial)
    flat = ember.zeros(math.prod(shape), dtype=x.dtype)
    out = ember.scatter(flat, 0, index.reshape(-1), x.reshape(-1))
    return out.reshape(shape)


@onnx_op("Col2Im")
def col2im(ctx: OpContext, x, image_shape, block_shape):
    size, kernel = int_list(image_shape), int_list(block_shape)
    nd = len(size)
    strides, dilations = _spatial_attrs(ctx, nd)
    lo, hi = _explicit_pads(ctx, nd)
    return K.col2im(
        x,
        size=size,
        kernel=kernel,
        stride=strides,
        padding=tuple(zip(lo, hi)),
        dilation=dilations,
    )
