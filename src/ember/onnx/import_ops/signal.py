"""Signal-processing ONNX ops: DFT, STFT, MelWeightMatrix.

Complex values are a trailing axis of size 2 (real, imaginary); a real input has a trailing
axis of size 1. Transforms multiply by cosine/sine matrices that depend only on the transform
length (constants), so gradients flow through ``matmul``.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("DFT", "", 20, "", {}, 1)
    >>> spectrum = find_handler("DFT", 20)(ctx, ember.tensor([[[0.0], [1.0], [0.0], [0.0]]]))
    >>> spectrum.shape  # (batch, frequencies, real/imaginary)
    ember.Size([1, 4, 2])
    >>> ember.allclose(spectrum[0], ember.tensor([[1.0, 0.0], [0.0, -1.0], [-1.0, 0.0], [0.0, 1.0]]),
    ...                atol=1e-6)  # exp(-2 pi i k / 4)
    True
"""

from __future__ import annotations

import math

import numpy as np

import ember

from ._registry import OpContext, onnx_op
from ._util import norm_axis, scalar
from ._values import elem_type_dtype


def _fit(x, length: int):
    """``x`` truncated or zero-padded to ``length`` along its last axis."""
    n = x.shape[-1]
    if n >= length:
        return x.narrow(-1, 0, length)
    return ember.pad(x, (0, length - n))


def _trig(n: int, length: int, k: int, dtype):
    """``cos`` and ``sin`` of ``2 pi k n / length`` as ``(n, k)`` constants."""
    angle = 2 * np.pi * np.outer(np.arange(n), np.arange(k)) / length
    return ember.tensor(np.cos(angle), dtype=dtype), ember.tensor(np.sin(angle), dtype=dtype)


def _transform(re, im, length: int, inverse: bool, onesided: bool):
    """DFT along the last axis of (re, im) (im may be None): returns (re, im)."""
    if inverse and onesided:  # Hermitian half spectrum -> real signal of ``length``
        half = length // 2 + 1
        re = _fit(re, half)
        im = _fit(im, half) if im is not None else None
        weight = np.full(half, 2.0)
        weight[0] = 1.0
        if length % 2 == 0:
            weight[-1] = 1.0
        cos, sin = _trig(half, length, length, re.dtype)
        w = ember.tensor(weight.reshape(-1, 1) / length, dtype=re.dtype)
        out = ember.matmul(re, cos * w)
        if im is not None:
            out = out - ember.matmul(im, sin * w)
        return out, None
    re = _fit(re, length)
    im = _fit(im, length) if im is not None else None
    k = length // 2 + 1 if onesided else length
    cos, sin = _trig(length, length, k, re.dtype)
    sign = 1.0 if inverse else -1.0
    out_re = ember.matmul(re, cos)
    out_im = ember.matmul(re, sin) * sign
    if im is not None:
        out_re = out_re - ember.matmul(im, sin) * sign
        out_im = out_im + ember.matmul(im, cos)
    if inverse:
        out_re, out_im = out_re / length, out_im / length
    return out_re, out_im


def _dft(ctx: OpContext, x, length, axis: int):
    rank = x.dim()
    axis = norm_axis(ctx, axis, rank)
    if axis == rank - 1:
        raise ctx.error("axis cannot be the last (real/imaginary) axis")
    inverse, onesided = bool(ctx.attr("inverse", 0)), bool(ctx.attr("onesided", 0))
    if x.shape[-1] not in (1, 2):
        raise ctx.error(f"the last axis must have size 1 (real) or 2 (complex), got {x.shape}")
    n = x.shape[axis]
    if length is None:
        length = 2 * (n - 1) if inverse and onesided else n
    re = x[..., 0].movedim(axis, -1)
    im = x[..., 1].movedim(axis, -1) if x.shape[-1] == 2 else None
    out_re, out_im = _transform(re, im, length, inverse, onesided)
    if out_im is None:
        return out_re.movedim(-1, axis).unsqueeze(-1)
    return ember.stack([out_re.movedim(-1, axis), out_im.movedim(-1, axis)], -1)


@onnx_op("DFT", since=17)
def dft_v17(ctx: OpContext, x, dft_length=None):
    length = int(scalar(dft_length)) if dft_length is not None else None
    return _dft(ctx, x, length, ctx.attr("axis", 1))


@onnx_op("DFT", since=20)
def dft(ctx: OpContext, x, dft_length=None, axis=None):
    length = int(scalar(dft_length)) if dft_length is not None else None
    return _dft(ctx, x, length, int(scalar(axis)) if axis is not None else -2)


@onnx_op("STFT")
def stft(ctx: OpContext, signal, frame_step, window=None, frame_length=None):
    """Windowed DFTs of frames ``[f * step, f * step + frame_length)``: (batch, frames, k, 2)."""
    step = int(scalar(frame_step))
    if frame_length is not None:
        size = int(scalar(frame_length))
    elif window is not None:
        size = window.shape[0]
    else:
        raise ctx.error("needs a window or a frame_length")
    length = signal.shape[1]
    frames = (length - size) // step + 1
    if frames <= 0:
        raise ctx.error(f"the signal of length {length} is shorter than a frame ({size})")
    picks = (np.arange(frames)[:, None] * step + np.arange(size)[None, :]).reshape(-1)
    framed = signal.index_select(1, ember.tensor(picks)).reshape(
        signal.shape[0], frames, size, signal.shape[-1]
    )
    if window is not None:
        framed = framed * window.reshape(1, 1, size, 1)
    re = framed[..., 0]
    im = framed[..., 1] if signal.shape[-1] == 2 else None
    out_re, out_im = _transform(re, im, size, False, bool(ctx.attr("onesided", 1)))
    return ember.stack([out_re, out_im], -1)


@onnx_op("MelWeightMatrix")
def mel_weight_matrix(ctx: OpContext, num_mel_bins, dft_length, sample_rate, lower, upper):
    """Triangular mel filters (peak 1.0) over ``dft_length // 2 + 1`` spectrogram bins.

    Every input is a scalar that fixes the matrix; it is built in Python and returned as a
    constant tensor.
    """
    bins, length = int(scalar(num_mel_bins)), int(scalar(dft_length))
    rate, lo_hz, hi_hz = scalar(sample_rate), scalar(lower), scalar(upper)
    to_mel = lambda f: 2595 * math.log10(1 + f / 700)  # noqa: E731
    lo_mel, hi_mel = to_mel(lo_hz), to_mel(hi_hz)
    step = (hi_mel - lo_mel) / (bins + 2)
    edges = []
    for i in range(bins + 2):
        hz = 700 * (10 ** ((i * step + lo_mel) / 2595) - 1)
        edges.append(int(((length + 1) * hz) // rate))
    out = np.zeros((length // 2 + 1, bins))
    for i in range(bins):
        left, center, right = edges[i : i + 3]
        if center == left:
            out[center, i] = 1.0
        else:
            for j in range(left, center + 1):
                out[j, i] = (j - left) / (center - left)
        for j in range(center, right):
            out[j, i] = (right - j) / (right - center)
    dtype = elem_type_dtype(ctx.attr("output_datatype", 1), f"{ctx.describe()} output_datatype")
    return ember.tensor(out).to(dtype)
