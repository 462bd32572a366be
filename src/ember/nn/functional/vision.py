"""Vision helpers: ``interpolate``, ``pixel_shuffle`` / ``pixel_unshuffle``, ``unfold`` / ``fold``.

Resizing is separable: along each spatial dimension the output is a weighted sum of a few
``index_select`` taps (1 for nearest, 2 for linear, 4 for bicubic), with PyTorch's
source-coordinate rules (``align_corners``, explicit ``scale_factor``). Gradients and
grad-of-grad come from the ops it is composed of.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.interpolate(ember.tensor([[[1.0, 2.0]]]), scale_factor=2, mode="nearest")
    tensor([[[1., 1., 2., 2.]]])
    >>> F.interpolate(ember.tensor([[[1.0, 2.0]]]), size=3, mode="linear", align_corners=True)
    tensor([[[1.0000, 1.5000, 2.0000]]])
"""

from __future__ import annotations

import math

import numpy as np

from ...ops import conv_kernels as _k
from ...tensor import Tensor
from .conv import _ntuple

__all__ = ["interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle", "unfold", "fold"]

_LINEAR = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")


def _taps(mode: str, size: int, out: int, scale, align_corners: bool) -> list:
    """``[(indices, weights or None), ...]``: output = sum of weights * input[indices]."""
    dst = np.arange(out, dtype=np.float64)
    if mode in ("nearest", "nearest-exact"):
        # PyTorch computes nearest source indices in float32
        ratio = np.float32(1.0 / scale if scale else size / out)
        shift = np.float32(0.5 if mode == "nearest-exact" else 0.0)
        src = np.floor((dst.astype(np.float32) + shift) * ratio)
        return [(np.minimum(src.astype(np.int64), size - 1), None)]
    if align_corners:
        ratio = (size - 1) / (out - 1) if out > 1 else 0.0
        src = dst * ratio
    else:
        ratio = 1.0 / scale if scale else size / out
        src = (dst + 0.5) * ratio - 0.5
    if mode == "bicubic":
        i0 = np.floor(src)
        t = src - i0
        a = -0.75

        def near(z):  # |z| <= 1
            return ((a + 2) * z - (a + 3)) * z * z + 1

        def far(z):  # 1 < |z| < 2
            return ((a * z - 5 * a) * z + 8 * a) * z - 4 * a

        weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
        return [
            (np.clip(i0.astype(np.int64) - 1 + j, 0, size - 1), w) for j, w in enumerate(weights)
        ]
    src = np.maximum(src, 0.0)
    i0 = np.floor(src).astype(np.int64)
    i0 = np.minimum(i0, size - 1)
    i1 = np.minimum(i0 + 1, size - 1)
    l1 = src - i0
    return [(i0, 1.0 - l1), (i1, l1)]


def _resize_dim(x: Tensor, dim: int, taps: list) -> Tensor:
    import ember

    shape = [1] * x.dim()
    shape[dim] = -1
    out = None
    for idx, w in taps:
        term = ember.index_select(x, dim, ember.from_numpy(idx))
        if w is not None:
            term = term * ember.from_numpy(w.astype(x._data.dtype).reshape(shape))
        out = term if out is None else out + term
    return out


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dimensions of ``input (N, C, *spatial)``.

    ``mode`` is ``"nearest"``, ``"nearest-exact"``, ``"linear"`` (3-D input), ``"bilinear"``
    / ``"bicubic"`` (4-D), ``"trilinear"`` (5-D) or ``"area"``. Give exactly one of ``size`` and
    ``scale_factor``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.interpolate(ember.ones(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        ember.Size([1, 3, 8, 8])
    """
    if mode not in _MODES:
        raise ValueError(f"interpolate: unknown mode {mode!r}; expected one of {', '.join(_MODES)}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    nd = input.dim() - 2
    if nd < 1:
        raise ValueError(
            f"interpolate: expected an input with a batch, a channel and at least one spatial "
            f"dimension, got shape {tuple(input.shape)}"
        )
    if mode in _LINEAR:
        if _LINEAR[mode] != nd:
            raise ValueError(
                f"interpolate: got {nd + 2}D input, but {mode} mode needs {_LINEAR[mode] + 2}D input"
            )
        align_corners = bool(align_corners)
    elif align_corners is not None:
        raise ValueError(
            "interpolate: align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "interpolate: only one of size or scale_factor should be defined"
            if size is not None
            else "interpolate: either size or scale_factor should be defined"
        )
    spatial = tuple(input.shape[2:])
    if size is not None:
        out = _ntuple("interpolate", "size", size, nd)
        scales = (None,) * nd
    else:
        if isinstance(scale_factor, (list, tuple)) and len(scale_factor) != nd:
            raise ValueError(
                f"interpolate: scale_factor shape must match input shape. Input is {nd}D, "
                f"scale_factor size is {len(scale_factor)}"
            )
        sf = (
            tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * nd
        )
        sf = tuple(float(s) for s in sf)
        out = tuple(int(math.floor(spatial[i] * sf[i])) for i in range(nd))
        scales = (None,) * nd if recompute_scale_factor else sf
    if any(o <= 0 for o in out):
        raise ValueError(f"interpolate: output size {out} must be positive")
    if mode == "area":
        from .pooling import _adaptive_avg_dim

        x = input
        for i in range(nd):
            x = _adaptive_avg_dim(x, 2 + i, out[i])
        return x
    if not input.dtype.is_floating_point and mode not in ("nearest", "nearest-exact"):
        raise TypeError(
            f"interpolate: {mode} mode expects a floating-point input, got {input.dtype}"
        )
    x = input
    for i in range(nd):
        if out[i] == spatial[i] and scales[i] in (None, 1.0):
            continue
        x = _resize_dim(x, 2 + i, _taps(mode, spatial[i], out[i], scales[i], align_corners))
    return x


def upsample(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Deprecated alias of :func:`interpolate` (kept for PyTorch compatibility).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.upsample(ember.ones(1, 1, 2), scale_factor=2).shape
        ember.Size([1, 1, 4])
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``(*, C*r^2, H, W)`` -> ``(*, C, H*r, W*r)`` (sub-pixel convolution upsampling).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.pixel_shuffle(ember.arange(4.0).reshape(1, 4, 1, 1), 2)
        tensor([[[[0., 1.],
                  [2., 3.]]]])
    """
    r = int(upscale_factor)
    if input.dim() < 3:
        raise ValueError(
            f"pixel_shuffle: expected an input with at least 3 dimensions, got shape "
            f"{tuple(input.shape)}"
        )
    *lead, c, h, w = input.shape
    if r <= 0 or c % (r * r):
        raise ValueError(
            f"pixel_shuffle: the channel dimension of input of shape {tuple(input.shape)} must be "
            f"divisible by upscale_factor squared ({r}^2)"
        )
    nl = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``(*, C, H*r, W*r)`` -> ``(*, C*r^2, H, W)`` (the inverse of :func:`pixel_shuffle`).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.pixel_unshuffle(ember.ones(1, 2, 4, 6), 2).shape
        ember.Size([1, 8, 2, 3])
    """
    r = int(downscale_factor)
    if input.dim() < 3:
        raise ValueError(
            f"pixel_unshuffle: expected an input with at least 3 dimensions, got shape "
            f"{tuple(input.shape)}"
        )
    *lead, c, h, w = input.shape
    if r <= 0 or h % r or w % r:
        raise ValueError(
            f"pixel_unshuffle: the height and width of input of shape {tuple(input.shape)} must "
            f"be divisible by downscale_factor ({r})"
        )
    nl = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks (im2col): ``(N, C, H, W)`` -> ``(N, C*kH*kW, L)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.unfold(ember.ones(2, 3, 5, 5), kernel_size=3).shape
        ember.Size([2, 27, 9])
    """
    if input.dim() not in (3, 4):
        raise ValueError(
            f"unfold: expected 3D (unbatched) or 4D (batched) input, got shape {tuple(input.shape)}"
        )
    x = input.unsqueeze(0) if input.dim() == 3 else input
    p = _ntuple("unfold", "padding", padding, 2)
    out = _k.im2col(
        x,
        kernel=_ntuple("unfold", "kernel_size", kernel_size, 2),
        stride=_ntuple("unfold", "stride", stride, 2),
        padding=tuple((v, v) for v in p),
        dilation=_ntuple("unfold", "dilation", dilation, 2),
    )
    return out.squeeze(0) if input.dim() == 3 else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding local blocks into an image (col2im), the adjoint of :func:`unfold`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.fold(ember.ones(1, 4, 4), output_size=3, kernel_size=2)[0, 0]
        tensor([[1., 2., 1.],
                [2., 4., 2.],
                [1., 2., 1.]])
    """
    if input.dim() not in (2, 3):
        raise ValueError(
            f"fold: expected 2D (unbatched) or 3D (batched) input, got shape {tuple(input.shape)}"
        )
    x = input.unsqueeze(0) if input.dim() == 2 else input
    p = _ntuple("fold", "padding", padding, 2)
    out = _k.col2im(
        x,
        size=_ntuple("fold", "output_size", output_size, 2),
        kernel=_ntuple("fold", "kernel_size", kernel_size, 2),
        stride=_ntuple("fold", "stride", stride, 2),
        padding=tuple((v, v) for v in p),
        dilation=_ntuple("fold", "dilation", dilation, 2),
    )
    return out.squeeze(0) if input.dim() == 2 else out
