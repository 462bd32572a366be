"""The stride-1 gradient of a convolution in its input, on the padded grid ("flat shift").

Lay a padded ``(C, N, *P)`` array out channel-major and flatten each channel to length
``L = N * prod(P)``: the output position whose window starts at flat index ``p`` reads, for
kernel offset ``k``, the pixel ``p + off[k]``, with ``off[k]`` a constant
(``sum_i k_i * dilation_i * row_stride_i``). So the transposed convolution is one GEMM from the
output gradient (placed on the padded grid) to the columns ``(C, K, L)``, followed by one
shifted add of whole contiguous rows per kernel offset, instead of the window scatter's
strided adds with 14-element runs. Measured on the CNN benchmark's 32 -> 64 channel 3x3
conv at batch 64 (one thread): 14.2 -> 11.2 ms. ``conv_kernels`` uses it for every stride-1
``conv_input_grad``. (The same layout for the forward and the weight gradient was measured
too: the GEMM over the padded grid is ~30% larger than the gather it saves, a wash, so those
keep the window views.)

Example:
    >>> import numpy as np
    >>> from ember.ops.conv_shift import conv_input_grad
    >>> g = np.ones((1, 1, 3, 3), np.float32); w = np.ones((1, 1, 3, 3), np.float32)
    >>> conv_input_grad(g, w, (3, 3), ((1, 1), (1, 1)), (1, 1), 1, 16 << 20)[0, 0]
    array([[4., 6., 4.],
           [6., 9., 6.],
           [4., 6., 4.]], dtype=float32)
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from . import _parallel as _par

__all__ = ["conv_input_grad"]


def _geometry(size, kernel, padding, dilation):
    """Padded sizes, output sizes, flat row strides of the padded layout, kernel offsets."""
    nd = len(size)
    out = tuple(
        size[i] + padding[i][0] + padding[i][1] - dilation[i] * (kernel[i] - 1) for i in range(nd)
    )
    padded = tuple(
        max(size[i] + padding[i][0] + padding[i][1], out[i] + dilation[i] * (kernel[i] - 1))
        for i in range(nd)
    )
    rows = tuple(math.prod(padded[i + 1 :]) for i in range(nd))
    offsets = [
        sum(k[i] * dilation[i] * rows[i] for i in range(nd))
        for k in itertools.product(*(range(kk) for kk in kernel))
    ]
    return out, padded, offsets


def _to_padded_channels(x, padding, padded, dtype=None) -> np.ndarray:
    """``(N, C, *S)`` -> ``(C, N, *padded)`` with zeros around (a new C-contiguous array)."""
    n, c = x.shape[:2]
    xt = np.zeros((c, n) + tuple(padded), dtype or x.dtype)
    inner = tuple(slice(lo, lo + s) for (lo, _), s in zip(padding, x.shape[2:]))
    xt[(slice(None), slice(None)) + inner] = x.transpose((1, 0) + tuple(range(2, x.ndim)))
    return xt


def _batch_step(n: int, per_sample: int, chunk_bytes: int) -> int:
    return max(1, min(n, chunk_bytes // max(per_sample, 1)))


def conv_input_grad(g, w, size, padding, dilation, groups, chunk_bytes) -> np.ndarray:
    """Stride-1 transposed convolution: the gradient ``(N, C, *size)`` of ``conv`` in its
    input, for output gradient ``g (N, Co, *out)``."""
    kernel = w.shape[2:]
    n, co = g.shape[:2]
    c = w.shape[1] * groups
    _, padded, offsets = _geometry(size, kernel, padding, dilation)
    plane = math.prod(padded)
    kk = len(offsets)
    # (G, C/G*K, Co/G): the transposed weight of each group
    w_t = np.swapaxes(w.reshape(groups, co // groups, (c // groups) * kk), 1, 2)
    res = np.empty((n, c) + tuple(size), g.dtype)
    inner = (slice(None), slice(None)) + tuple(
        slice(lo, lo + s) for (lo, _), s in zip(padding, size)
    )

    def chunk(b, e):  # batch chunks run on ember's threads
        nb = e - b
        span = nb * plane - offsets[-1]
        # g sits in the top-left corner of the padded grid (its size may be below the full
        # output size when a transposed conv used output_padding): zeros elsewhere
        gt = _to_padded_channels(g[b:e], ((0, 0),) * len(size), padded).reshape(co, -1)
        if groups == 1:
            cols = _par.matmul(w_t[0], gt[:, :span])
        else:
            cols = np.matmul(w_t, gt[:, :span].reshape(groups, co // groups, span))
        cols = cols.reshape(c, kk, span)
        acc = np.zeros((c, nb * plane), g.dtype)
        for j, off in enumerate(offsets):
            acc[:, off : off + span] += cols[:, j]
        grid = acc.reshape((c, nb) + tuple(padded))
        res[b:e] = grid[inner].transpose((1, 0) + tuple(range(2, 2 + len(size))))

    step = _batch_step(n, c * kk * plane * g.itemsize, chunk_bytes)
    parts = -(-n // step)
    if 2.0 * n * plane * c * kk * co / groups >= _par.GEMM_MIN_FLOPS:
        parts = max(parts, min(_par.num_threads(), n))
    size_ = -(-n // parts)
    _par.map_parts(chunk, [(b, min(n, b + size_)) for b in range(0, n, size_)])
    return res
