"""Resize / Upsample: nearest, linear and cubic, every coordinate transformation mode.

Resizing is separable: along each resized axis the output is ``W @ x`` for an ``(out, in)``
interpolation matrix ``W`` computed from the sizes and attributes alone (so it is a constant),
applied with ember's ``matmul`` (nearest mode gathers rows instead). Gradients therefore flow
to the input.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("Resize", "", 13, "", {"mode": "linear", "coordinate_transformation_mode":
    ...                 "align_corners"}, 1)
    >>> find_handler("Resize", 13)(ctx, ember.tensor([[0.0, 1.0]]), None, ember.tensor([1.0, 2.0]))
    tensor([[0.0000, 0.3333, 0.6667, 1.0000]])
"""

from __future__ import annotations

import math

import numpy as np

import ember

from ._registry import OpContext, onnx_op
from ._util import const, int_list, norm_axes


# ---------------------------------------------------------------------------------------------
# 1-D interpolation weights
# ---------------------------------------------------------------------------------------------
def _nearest_taps(ratio: float, mode: str) -> list[float]:
    if ratio == 1.0:
        return [0.0, 1.0]
    if mode == "round_prefer_floor":
        return [float(ratio <= 0.5), float(ratio > 0.5)]
    if mode == "round_prefer_ceil":
        return [float(ratio < 0.5), float(ratio >= 0.5)]
    if mode == "floor":
        return [1.0, 0.0]
    if mode == "ceil":
        return [0.0, 1.0]
    raise ValueError(
        f"nearest_mode must be round_prefer_floor, round_prefer_ceil, floor or ceil, got {mode!r}"
    )


def _cubic_kernel(x: float, a: float) -> float:
    x = abs(x)
    if x <= 1:
        return (a + 2) * x**3 - (a + 3) * x**2 + 1
    if x < 2:
        return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return 0.0


def _cubic_taps(ratio: float, a: float) -> list[float]:
    return [_cubic_kernel(d, a) for d in (ratio + 1, ratio, 1 - ratio, 2 - ratio)]


def _antialias_taps(ratio: float, scale: float, mode: str, a: float) -> list[float]:
    """Widened, renormalised linear/cubic filters for downscaling (``antialias=1``)."""
    scale = min(scale, 1.0)
    support = 1 if mode == "linear" else 2
    start = math.floor(-support / scale) + 1
    args = [(i - ratio) * scale for i in range(start, 2 - start)]
    if mode == "linear":
        taps = [min(max(1 - abs(v), 0.0), 1.0) for v in args]
    else:
        taps = [_cubic_kernel(v, a) for v in args]
    total = sum(taps)
    return [t / total for t in taps]


class _Axis:
    """Interpolation of one axis: ``in_size`` -> ``out_size`` with the node's attributes."""

    def __init__(self, ctx: OpContext, in_size: int, out_size: int, scale: float, roi):
        self.ctx = ctx
        self.n, self.m, self.scale, self.roi = in_size, out_size, scale, roi

    def source_positions(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Source coordinate of each output position, and which ones extrapolate."""
        mode = self.ctx.attr("coordinate_transformation_mode", "half_pixel")
        n, m, s = self.n, self.m, self.scale
        y = np.arange(m, dtype=np.float64)
        width = s * n
        outside = None
        if mode == "align_corners":
            x = np.zeros(m) if width == 1 else y * (n - 1) / (width - 1)
        elif mode == "asymmetric":
            x = y / s
        elif mode == "pytorch_half_pixel":
            x = np.full(m, -0.5) if width == 1 else (y + 0.5) / s - 0.5
        elif mode == "half_pixel":
            x = (y + 0.5) / s - 0.5
        elif mode == "half_pixel_symmetric":
            offset = n / 2 * (1 - m / width)
            x = offset + (y + 0.5) / s - 0.5
        elif mode == "tf_half_pixel_for_nn":
            x = (y + 0.5) / s
        elif mode == "tf_crop_and_resize":
            lo, hi = self.roi
            if width == 1:
                x = np.full(m, (hi - lo) * (n - 1) / 2)
            else:
                x = y * (hi - lo) * (n - 1) / (width - 1)
            x = x + lo * (n - 1)
            outside = (x < 0) | (x > n - 1)
        else:
            raise self.ctx.error(f"unknown coordinate_transformation_mode {mode!r}")
        return x, outside

    def taps(self, ratio: float) -> list[float]:
        mode = self.ctx.attr("mode", "nearest")
        a = self.ctx.attr("cubic_coeff_a", -0.75)
        if mode == "nearest":
            return _nearest_taps(ratio, self.ctx.attr("nearest_mode", "round_prefer_floor"))
        if self.ctx.attr("antialias", 0) and mode in ("linear", "cubic"):
            return _antialias_taps(ratio, self.scale, mode, a)
        if mode == "linear":
            return [1 - ratio, ratio]
        if mode == "cubic":
            return _cubic_taps(ratio, a)
        raise self.ctx.error(f"mode must be nearest, linear or cubic, got {mode!r}")

    def matrix(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(out, in)`` weights (edge positions clamped) and the extrapolation mask."""
        x, outside = self.source_positions()
        weights = np.zeros((self.m, self.n))
        exclude = bool(self.ctx.attr("exclude_outside", 0))
        for i, xi in enumerate(x):
            base = math.floor(xi)
            ratio = 1.0 if xi == base else xi - base
            taps = np.array(self.taps(ratio))
            k = len(taps)
            start = (base - k // 2) if ratio == 1.0 else (base - k // 2 + 1)
            idx = np.arange(start, start + k)
            if exclude:
                taps = np.where((idx < 0) | (idx >= self.n), 0.0, taps)
                total = taps.sum()
                taps = taps / (total if total else 1.0)
            np.add.at(weights[i], np.clip(idx, 0, self.n - 1), taps)
        return weights, outside


def _apply_axis(ctx: OpContext, x, axis: int, interp: _Axis):
    weights, outside = interp.matrix()
    moved = x.movedim(axis, -1)
    if ctx.attr("mode", "nearest") == "nearest" and outside is None:
        picks = ember.tensor(weights.argmax(1).astype(np.int64))
        out = moved.index_select(-1, picks)
    else:
        w = ember.tensor(
            weights.T, dtype=moved.dtype if moved.is_floating_point() else ember.float64
        )
        out = ember.matmul(moved if moved.is_floating_point() else moved.to(ember.float64), w)
        if outside is not None and outside.any():
            value = const(ctx.attr("extrapolation_value", 0.0), out)
            out = ember.where(ember.tensor(outside), value, out)
    return out.movedim(-1, axis)


def _output_sizes(ctx: OpContext, x, scales, sizes, axes):
    """(output size, scale) for each resized axis."""
    rank = x.dim()
    axes = list(range(rank)) if axes is None else list(norm_axes(ctx, axes, rank))
    in_sizes = [x.shape[a] for a in axes]
    if sizes:
        if len(sizes) != len(axes):
            raise ctx.error(f"sizes {sizes} must have one entry per resized axis ({len(axes)})")
        factors = [o / i for o, i in zip(sizes, in_sizes)]
        policy = ctx.attr("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            if policy not in ("not_larger", "not_smaller"):
                raise ctx.error(f"unknown keep_aspect_ratio_policy {policy!r}")
            one = min(factors) if policy == "not_larger" else max(factors)
            factors = [one] * len(axes)
            sizes = [int(one * i + 0.5) for i in in_sizes]
        return axes, list(sizes), factors
    if scales is None or len(scales) != len(axes):
        raise ctx.error(f"scales {scales} must have one entry per resized axis ({len(axes)})")
    return axes, [int(s * i) for s, i in zip(scales, in_sizes)], list(scales)


def _resize(ctx: OpContext, x, roi, scales, sizes, axes):
    axes, out_sizes, factors = _output_sizes(ctx, x, scales, sizes, axes)
    rank = x.dim()
    roi_pairs = {}
    if roi is not None and ctx.attr("coordinate_transformation_mode") == "tf_crop_and_resize":
        k = len(axes)
        roi_pairs = (
            {a: (roi[i], roi[k + i]) for i, a in enumerate(axes)}
            if len(roi) == 2 * k
            else {a: (roi[a], roi[rank + a]) for a in axes}
        )
    out = x
    for axis, size, factor in zip(axes, out_sizes, factors):
        pair = roi_pairs.get(axis, (0.0, 1.0))
        if size == x.shape[axis] and factor == 1.0 and pair == (0.0, 1.0):
            continue
        out = _apply_axis(ctx, out, axis, _Axis(ctx, x.shape[axis], size, factor, pair))
    if not x.dtype.is_floating_point and out.dtype is not x.dtype:
        out = ember.round(out).to(x.dtype)
    return out


def _floats(value) -> list[float] | None:
    if value is None or value.numel() == 0:
        return None
    return [float(v) for v in value.detach().numpy().reshape(-1)]


@onnx_op("Resize", since=10)
def resize_v10(ctx: OpContext, x, scales):
    attrs = dict(ctx.attrs, coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    sub = OpContext(ctx.op_type, ctx.domain, ctx.opset, ctx.name, attrs, ctx.num_outputs)
    return _resize(sub, x, None, _floats(scales), None, None)


@onnx_op("Resize", since=11)
def resize(ctx: OpContext, x, roi=None, scales=None, sizes=None):
    return _resize(ctx, x, _floats(roi), _floats(scales), int_list(sizes) or None, ctx.attr("axes"))


@onnx_op("Upsample")
def upsample(ctx: OpContext, x, scales=None):
    """Deprecated Upsample: nearest (floor) or linear with asymmetric coordinates."""
    factors = ctx.attr("scales") if scales is None else _floats(scales)
    if ctx.attr("mode", "nearest") not in ("nearest", "linear", "bilinear"):
        raise ctx.error(f"mode must be nearest or linear, got {ctx.attr('mode')!r}")
    attrs = {
        "mode": "nearest" if ctx.attr("mode", "nearest") == "nearest" else "linear",
        "coordinate_transformation_mode": "asymmetric",
        "nearest_mode": "floor",
    }
    sub = OpContext(ctx.op_type, ctx.domain, ctx.opset, ctx.name, attrs, ctx.num_outputs)
    return _resize(sub, x, None, factors, None, None)
