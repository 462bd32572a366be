"""Sampling and detection ONNX ops: GridSample, DeformConv, RoiAlign, MaxRoiPool,
NonMaxSuppression.

Sampling positions that come from tensors (GridSample's grid, DeformConv's offsets) are
computed with ember ops, so gradients reach both the image and the positions; RoiAlign reads
each box as Python numbers (boxes get no gradient, as in torchvision) and gathers from the
image with ember ops. NonMaxSuppression returns indices only, chosen greedily by score.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("GridSample", "", 20, "", {"align_corners": 1}, 1)
    >>> image = ember.tensor([[[[0.0, 10.0], [20.0, 30.0]]]])
    >>> find_handler("GridSample", 20)(ctx, image, ember.tensor([[[[0.0, 0.0]]]]))
    tensor([[[[15.]]]])
"""

from __future__ import annotations

import itertools
import math

import numpy as np

import ember

from ._registry import OpContext, onnx_op
from ._util import const, scalar


# ---------------------------------------------------------------------------------------------
# GridSample
# ---------------------------------------------------------------------------------------------
def _reflect(c, lo: float, hi: float):
    """Fold coordinates into ``[lo, hi]`` by reflecting at the borders (repeatedly)."""
    span = hi - lo
    if span <= 0:
        return ember.full_like(c, lo)
    below = lo - c
    n = ember.floor(below / span)
    r = below - n * span
    from_low = ember.where(ember.remainder(n, const(2.0, n)) == 0, lo + r, hi - r)
    above = c - hi
    n = ember.floor(above / span)
    r = above - n * span
    from_high = ember.where(ember.remainder(n, const(2.0, n)) == 0, hi - r, lo + r)
    return ember.where(c < lo, from_low, ember.where(c > hi, from_high, c))


def _cubic_weights(t, a: float = -0.75):
    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


@onnx_op("GridSample", since=16)
def grid_sample(ctx: OpContext, x, grid):
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(ctx.attr("mode", "linear"))
    mode = mode or ctx.attr("mode", "linear")
    if mode not in ("linear", "nearest", "cubic"):
        raise ctx.error(f"mode must be linear, nearest or cubic, got {mode!r}")
    padding = ctx.attr("padding_mode", "zeros")
    if padding not in ("zeros", "border", "reflection"):
        raise ctx.error(f"padding_mode must be zeros, border or reflection, got {padding!r}")
    align = bool(ctx.attr("align_corners", 0))
    dims = list(x.shape[2:])
    nd = len(dims)
    if grid.shape[-1] != nd or grid.dim() != nd + 2:
        raise ctx.error(f"grid {tuple(grid.shape)} does not match the input {tuple(x.shape)}")
    g = grid.to(x.dtype)
    taps_per_dim = []
    for i, size in enumerate(dims):
        c = g[..., nd - 1 - i]  # the grid lists x (last axis) first
        c = (c + 1) / 2 * (size - 1) if align else ((c + 1) * size - 1) / 2
        if mode == "nearest":
            c = ember.round(c)
        lo, hi = (0.0, size - 1.0) if align else (-0.5, size - 0.5)
        if padding == "border":
            c = ember.where((c < lo) | (c > hi), ember.clamp(c, 0, size - 1), c)
        elif padding == "reflection":
            c = _reflect(c, lo, hi)
        if mode == "nearest":
            taps = [(c, None)]
        else:
            base = ember.floor(c)
            t = c - base
            if mode == "linear":
                taps = [(base, 1 - t), (base + 1, t)]
            else:
                taps = list(zip([base - 1, base, base + 1, base + 2], _cubic_weights(t)))
        resolved = []
        for index, weight in taps:
            if padding == "zeros":
                inside = ((index >= 0) & (index <= size - 1)).to(x.dtype)
                weight = inside if weight is None else weight * inside
            elif padding == "reflection":
                index = ember.trunc(_reflect(index, lo, hi))
            resolved.append((ember.clamp(index, 0, size - 1).to(ember.int64), weight))
        taps_per_dim.append(resolved)
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1)
    out_shape = tuple(grid.shape[1:-1])
    total = None
    for combo in itertools.product(*taps_per_dim):
        index, weight = None, None
        for (idx, w), size in zip(combo, dims):
            index = idx if index is None else index * size + idx
            if w is not None:
                weight = w if weight is None else weight * w
        picked = ember.gather(flat, 2, index.reshape(n, 1, -1).expand(n, c, -1))
        if weight is not None:
            picked = picked * weight.reshape(n, 1, -1)
        total = picked if total is None else total + picked
    return total.reshape((n, c) + out_shape)


# ---------------------------------------------------------------------------------------------
# DeformConv
# ---------------------------------------------------------------------------------------------
@onnx_op("DeformConv")
def deform_conv(ctx: OpContext, x, w, offset, b=None, mask=None):
    """2-D deformable convolution: bilinear samples at kernel taps moved by ``offset``."""
    if x.dim() != 4:
        raise ctx.unsupported(f"a {x.dim() - 2}-D deformable convolution (2-D only)")
    n, c, height, width = x.shape
    oc = w.shape[0]
    kh, kw = ctx.attr("kernel_shape") or list(w.shape[2:])
    sh, sw = ctx.attr("strides") or [1, 1]
    dh, dw = ctx.attr("dilations") or [1, 1]
    pt, pl, pb, pr = ctx.attr("pads") or [0, 0, 0, 0]
    groups, off_groups = ctx.attr("group", 1), ctx.attr("offset_group", 1)
    oh = (height + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (width + pl + pr - dw * (kw - 1) - 1) // sw + 1
    k, positions = kh * kw, oh * ow
    ki, kj = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
    yy, xx = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
    base_y = ki.reshape(-1, 1) * dh + (yy.reshape(1, -1) * sh - pt)  # (K, L)
    base_x = kj.reshape(-1, 1) * dw + (xx.reshape(1, -1) * sw - pl)
    off = offset.reshape(n, off_groups, k, 2, positions)
    py = off[:, :, :, 0] + ember.tensor(base_y, dtype=x.dtype)  # (N, G, K, L)
    px = off[:, :, :, 1] + ember.tensor(base_x, dtype=x.dtype)
    inside = (py > -1) & (py < height) & (px > -1) & (px < width)
    y0, x0 = ember.floor(py), ember.floor(px)
    ly, lx = py - y0, px - x0
    cg = c // off_groups
    planes = x.reshape(n, off_groups, cg, height * width)
    columns = None
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        yi, xi = y0 + dy, x0 + dx
        ok = inside & (yi >= 0) & (yi <= height - 1) & (xi >= 0) & (xi <= width - 1)
        weight = (ly if dy else 1 - ly) * (lx if dx else 1 - lx) * ok.to(x.dtype)
        index = ember.clamp(yi, 0, height - 1) * width + ember.clamp(xi, 0, width - 1)
        index = index.to(ember.int64).reshape(n, off_groups, 1, k * positions)
        picked = ember.gather(planes, 3, index.expand(n, off_groups, cg, k * positions))
        term = picked * weight.reshape(n, off_groups, 1, k * positions)
        columns = term if columns is None else columns + term
    columns = columns.reshape(n, off_groups, cg, k, positions)
    if mask is not None:
        columns = columns * mask.reshape(n, off_groups, 1, k, positions)
    cols = columns.reshape(n, groups, (c // groups) * k, positions)
    weights = w.reshape(groups, oc // groups, (c // groups) * k)
    out = ember.matmul(weights, cols).reshape(n, oc, oh, ow)
    if b is not None:
        out = out + b.reshape(-1, 1, 1)
    return out


# ---------------------------------------------------------------------------------------------
# RoiAlign
# ---------------------------------------------------------------------------------------------
def _roi_samples(box, scale, height, width, out_h, out_w, ratio, half_pixel):
    """Flat corner positions (4, P), weights (4, P) and the grid size of one box."""
    offset = 0.5 if half_pixel else 0.0
    x1, y1, x2, y2 = (v * scale - offset for v in box)
    roi_w, roi_h = x2 - x1, y2 - y1
    if not half_pixel:
        roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
    bin_h, bin_w = roi_h / out_h, roi_w / out_w
    gh = ratio if ratio > 0 else math.ceil(roi_h / out_h)
    gw = ratio if ratio > 0 else math.ceil(roi_w / out_w)
    ph, iy = np.arange(out_h)[:, None], np.arange(gh)[None, :]
    ys = (y1 + ph * bin_h + (iy + 0.5) * bin_h / gh).reshape(out_h, 1, gh, 1)
    pw, ix = np.arange(out_w)[:, None], np.arange(gw)[None, :]
    xs = (x1 + pw * bin_w + (ix + 0.5) * bin_w / gw).reshape(1, out_w, 1, gw)
    ys, xs = np.broadcast_arrays(ys, xs)  # (out_h, out_w, gh, gw)
    outside = (ys < -1.0) | (ys > height) | (xs < -1.0) | (xs > width)
    ys, xs = np.maximum(ys, 0.0), np.maximum(xs, 0.0)
    y_low, x_low = ys.astype(np.int64), xs.astype(np.int64)
    y_edge, x_edge = y_low >= height - 1, x_low >= width - 1
    y_low = np.where(y_edge, height - 1, y_low)
    x_low = np.where(x_edge, width - 1, x_low)
    y_high = np.where(y_edge, y_low, y_low + 1)
    x_high = np.where(x_edge, x_low, x_low + 1)
    ly = np.where(y_edge, 0.0, ys - y_low)
    lx = np.where(x_edge, 0.0, xs - x_low)
    hy, hx = 1.0 - ly, 1.0 - lx
    pos = np.stack([y_low * width + x_low, y_low * width + x_high,
                    y_high * width + x_low, y_high * width + x_high])  # fmt: skip
    weights = np.stack([hy * hx, hy * lx, ly * hx, ly * lx])
    pos = np.where(outside, 0, pos)
    weights = np.where(outside, 0.0, weights)
    return pos.reshape(4, -1), weights.reshape(4, -1), gh * gw


@onnx_op("RoiAlign")
def roi_align(ctx: OpContext, x, rois, batch_indices):
    mode = ctx.attr("mode", "avg")
    if mode not in ("avg", "max"):
        raise ctx.error(f"mode must be avg or max, got {mode!r}")
    out_h, out_w = ctx.attr("output_height", 1), ctx.attr("output_width", 1)
    ratio, scale = ctx.attr("sampling_ratio", 0), ctx.attr("spatial_scale", 1.0)
    half_pixel = ctx.attr("coordinate_transformation_mode", "half_pixel") == "half_pixel"
    n, c, height, width = x.shape
    boxes = rois.detach().numpy().astype(np.float64).tolist()
    batches = [int(v) for v in batch_indices.detach().numpy().reshape(-1)]
    results = []
    for box, b in zip(boxes, batches):
        pos, weights, count = _roi_samples(
            box, scale, height, width, out_h, out_w, ratio, half_pixel
        )
        plane = x[b].reshape(c, height * width)
        picked = plane.index_select(1, ember.tensor(pos.reshape(-1))).reshape(c, 4, -1)
        weighted = picked * ember.tensor(weights, dtype=x.dtype)
        if mode == "avg":
            per_sample = weighted.sum(1).reshape(c, out_h, out_w, -1)
            results.append(per_sample.sum(-1) / max(count, 1))
        else:
            per_sample = ember.amax(weighted, 1).reshape(c, out_h, out_w, -1)
            results.append(ember.amax(per_sample, -1))
    if not results:
        return ember.zeros((0, c, out_h, out_w), dtype=x.dtype)
    return ember.stack(results, 0)


def _round_half_away(v: float) -> int:
    return int(math.floor(v + 0.5)) if v >= 0 else -int(math.floor(-v + 0.5))


@onnx_op("MaxRoiPool")
def max_roi_pool(ctx: OpContext, x, rois):
    """Max over the ``pooled_shape`` bins of each box ``[batch, x1, y1, x2, y2]`` (rounded to
    pixels after ``spatial_scale``); an empty bin gives 0."""
    pooled = ctx.attr("pooled_shape")
    if not pooled or len(pooled) != 2:
        raise ctx.error(f"pooled_shape must hold two ints, got {pooled}")
    out_h, out_w = pooled
    scale = ctx.attr("spatial_scale", 1.0)
    height, width = x.shape[2], x.shape[3]
    results = []
    for b, *box in rois.detach().to(ember.float64).numpy().tolist():
        x1, y1, x2, y2 = (_round_half_away(v * scale) for v in box)
        roi_h, roi_w = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        rows = []
        for ph in range(out_h):
            h0 = min(max(math.floor(ph * roi_h / out_h) + y1, 0), height)
            h1 = min(max(math.ceil((ph + 1) * roi_h / out_h) + y1, 0), height)
            cells = []
            for pw in range(out_w):
                w0 = min(max(math.floor(pw * roi_w / out_w) + x1, 0), width)
                w1 = min(max(math.ceil((pw + 1) * roi_w / out_w) + x1, 0), width)
                if h1 <= h0 or w1 <= w0:
                    cells.append(ember.zeros(x.shape[1], dtype=x.dtype))
                else:
                    cells.append(ember.amax(x[int(b), :, h0:h1, w0:w1], (1, 2)))
            rows.append(ember.stack(cells, -1))
        results.append(ember.stack(rows, -2))
    if not results:
        return ember.zeros((0, x.shape[1], out_h, out_w), dtype=x.dtype)
    return ember.stack(results, 0)


# ---------------------------------------------------------------------------------------------
# NonMaxSuppression
# ---------------------------------------------------------------------------------------------
def _corners(boxes, center: bool):
    """``(y1, x1, y2, x2)`` with ``y1 <= y2`` and ``x1 <= x2`` for each box."""
    if center:
        xc, yc, w, h = (boxes[..., i] for i in range(4))
        return yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2
    a, b, c, d = (boxes[..., i] for i in range(4))
    return ember.minimum(a, c), ember.minimum(b, d), ember.maximum(a, c), ember.maximum(b, d)


@onnx_op("NonMaxSuppression")
def non_max_suppression(ctx: OpContext, boxes, scores, max_boxes=None, iou=None, min_score=None):
    """Greedy selection per (batch, class): highest score first, dropping boxes whose IoU with
    a kept box exceeds ``iou_threshold``; returns ``(count, 3)`` [batch, class, box] indices."""
    limit = int(scalar(max_boxes)) if max_boxes is not None else 0
    threshold = float(scalar(iou)) if iou is not None else 0.0
    floor_score = float(scalar(min_score)) if min_score is not None else None
    if limit <= 0:
        return ember.zeros((0, 3), dtype=ember.int64)
    y1, x1, y2, x2 = _corners(boxes.to(ember.float64), bool(ctx.attr("center_point_box", 0)))
    area = (y2 - y1) * (x2 - x1)  # (B, N)
    iy = ember.minimum(y2.unsqueeze(2), y2.unsqueeze(1)) - ember.maximum(
        y1.unsqueeze(2), y1.unsqueeze(1)
    )
    ix = ember.minimum(x2.unsqueeze(2), x2.unsqueeze(1)) - ember.maximum(
        x1.unsqueeze(2), x1.unsqueeze(1)
    )
    inter = ember.clamp(iy, min=0.0) * ember.clamp(ix, min=0.0)
    union = area.unsqueeze(2) + area.unsqueeze(1) - inter
    overlap = ember.where(union > 0, inter / ember.where(union > 0, union, 1.0), 0.0)
    overlap_rows = overlap.numpy().tolist()
    score_rows = scores.detach().to(ember.float64).numpy().tolist()
    picked = []
    for b, per_class in enumerate(score_rows):
        for cls, row in enumerate(per_class):
            order = sorted(range(len(row)), key=lambda i: -row[i])
            kept: list[int] = []
            for i in order:
                if len(kept) >= limit or (floor_score is not None and row[i] <= floor_score):
                    break
                if all(overlap_rows[b][i][j] <= threshold for j in kept):
                    kept.append(i)
            picked += [[b, cls, i] for i in kept]
    return ember.tensor(picked, dtype=ember.int64).reshape(-1, 3)
