"""Fused primitives for neural-network ops, where fusing measurably matters or numerics need it.

* ``softmax`` / ``log_softmax`` along one axis: one NumPy pass each way instead of five ops;
  ``softmax_backward`` (``scale * y * (g - sum(g * y))``) is softmax's vjp and the attention
  scores' gradient in one primitive (three passes instead of four ops and their temporaries).
* ``standardize``: ``(x - mean) * rstd`` over some axes, also returning ``mean`` and ``rstd``
  (the shared core of layer_norm, batch_norm, group_norm and instance_norm).
* ``ctc_loss``: the CTC alpha/beta recursions in NumPy, vectorised over the batch.
* ``cross_entropy`` on ``(N, C)`` logits and class indices (weight, ignore_index,
  label_smoothing, reduction), with ``cross_entropy_backward`` as its own primitive so that the
  backward pass is one NumPy kernel and still differentiable (double backward).

Every vjp is written in ember ops, so grad-of-grad works. The public wrappers live in
``ember.nn.functional``; ``softmax`` and ``log_softmax`` are also ``Tensor`` methods.

Example:
    >>> import ember
    >>> from ember.ops.nn_kernels import softmax
    >>> softmax(ember.tensor([0.0, 0.6931472]), 0)
    tensor([0.3333, 0.6667])
"""

from __future__ import annotations

import numpy as np

from .. import _dispatch
from .. import dtypes as _dt
from .._dispatch import apply
from ..registry import ShapeError, Spec, primitive
from ..tensor import Tensor, tensor_method
from . import _parallel as _par
from . import elementwise as _ew
from ._blas import sum_last
from ._helpers import float_dtype, grad_is_live, to_tensor, wrap_dim
from .reduce import mean as _mean
from .reduce import sum as _sum

__all__ = [
    "softmax",
    "log_softmax",
    "softmax_backward",
    "standardize",
    "cross_entropy_indices",
    "ctc_nll",
]


# ---------------------------------------------------------------------------------------------
# softmax / log_softmax
# ---------------------------------------------------------------------------------------------
def _axis_rule(name):
    def rule(x: Spec, *, axis) -> Spec:
        if not x.dtype.is_floating_point:
            raise TypeError(f"{name}: expected a floating point input, got {x.dtype}")
        if not 0 <= axis < max(len(x.shape), 1):
            raise ShapeError(f"{name}: axis {axis} out of range for shape {tuple(x.shape)}")
        return x

    return rule


def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    m[~np.isfinite(m)] = 0  # rows of -inf stay -inf (exp gives 0) instead of becoming nan
    return x - m


@primitive("softmax", _axis_rule("softmax"), saves_outputs=True)
def _softmax(x, *, axis):
    """``exp(x) / sum(exp(x))`` along ``axis``, computed from ``x - max``."""
    if x.size == 0:
        return x.copy()
    if axis == x.ndim - 1 and x.flags.c_contiguous:
        out = np.empty_like(x)
        xr, orows = x.reshape(-1, x.shape[-1]), out.reshape(-1, x.shape[-1])

        def rows(lo, hi):
            e = orows[lo:hi]
            np.exp(_shifted(xr[lo:hi], 1), out=e)
            with np.errstate(invalid="ignore"):  # a row of -inf gives nan, as in PyTorch
                e /= sum_last(e)

        _par.for_rows(rows, xr.shape[0], 6 * xr.shape[1], blas=True)
        return out
    e = np.exp(_shifted(x, axis))
    with np.errstate(invalid="ignore"):
        e /= e.sum(axis=axis, keepdims=True)
    return e


@_softmax.defvjp
def _(ctx, g):
    y, axis = ctx.outputs[0], ctx.attrs["axis"]
    if _dispatch.is_traced():  # tracers see ops every backend lowers
        gy = g * y
        return (gy - y * _sum(gy, dim=axis, keepdim=True),)
    return (apply(_softmax_backward, g, y, axis=axis, scale=1.0),)


def _softmax_bwd_rule(g: Spec, y: Spec, *, axis, scale) -> Spec:
    if tuple(g.shape) != tuple(y.shape) or g.dtype is not y.dtype:
        raise ShapeError(
            f"softmax_backward: grad {tuple(g.shape)} {g.dtype} vs output {tuple(y.shape)} "
            f"{y.dtype}"
        )
    if not 0 <= axis < max(len(y.shape), 1):
        raise ShapeError(f"softmax_backward: axis {axis} out of range for shape {tuple(y.shape)}")
    return y


@primitive("softmax_backward", _softmax_bwd_rule, saves_inputs=True)
def _softmax_backward(g, y, *, axis, scale):
    """``scale * y * (g - sum(g * y))`` along ``axis``: the vjp of a softmax with output ``y``
    (scaled, for attention scores), in three passes instead of four ops and their temporaries."""
    if g.shape != y.shape:
        raise ValueError("shape mismatch")  # the rule's message names both
    if axis != y.ndim - 1 or not (g.flags.c_contiguous and y.flags.c_contiguous):
        total = np.multiply(g, y).sum(axis=axis, keepdims=True)
        out = np.subtract(g, total)
        out *= y
        if scale != 1.0:
            out *= y.dtype.type(scale)
        return out
    n = y.shape[-1] if y.ndim else 1
    out = np.empty_like(y)
    g2, y2, o2 = g.reshape(-1, n), y.reshape(-1, n), out.reshape(-1, n)

    def rows(lo, hi):
        o = o2[lo:hi]
        np.multiply(g2[lo:hi], y2[lo:hi], out=o)
        np.subtract(g2[lo:hi], sum_last(o), out=o)
        o *= y2[lo:hi]
        if scale != 1.0:
            o *= y.dtype.type(scale)

    _par.for_rows(rows, g2.shape[0], 5 * n, blas=True)
    return out


@_softmax_backward.defvjp
def _(ctx, h):
    g, y = ctx.inputs
    axis, scale = ctx.attrs["axis"], ctx.attrs["scale"]
    need = ctx.needs_input_grad
    gg = apply(_softmax_backward, h, y, axis=axis, scale=scale) if need[0] else None
    gy = None
    if need[1]:  # d/dy of scale * y * (g - <g, y>): scale * (h * (g - <g, y>) - g * <h, y>)
        gy = h * (g - _sum(g * y, dim=axis, keepdim=True)) - g * _sum(h * y, dim=axis, keepdim=True)
        gy = gy * scale if scale != 1.0 else gy
    return (gg, gy)


def softmax_backward(grad: Tensor, output: Tensor, dim: int, scale: float = 1.0) -> Tensor:
    """The gradient of ``softmax`` along ``dim`` for its ``output``, times ``scale``.

    Example:
        >>> import ember
        >>> from ember.ops.nn_kernels import softmax_backward
        >>> softmax_backward(ember.tensor([1.0, 0.0]), ember.tensor([0.5, 0.5]), 0)
        tensor([ 0.2500, -0.2500])
    """
    g, y = to_tensor(grad), to_tensor(output)
    axis = wrap_dim("softmax_backward", dim, y._data.ndim)
    if _dispatch.is_traced():  # tracers see ops every backend lowers
        # the primitive's checks first: traced calls refuse what eager calls refuse
        _softmax_bwd_rule(Spec(g.shape, g.dtype), Spec(y.shape, y.dtype), axis=axis, scale=scale)
        gy = g * y
        out = gy - y * _sum(gy, dim=axis, keepdim=True)
        return out * scale if scale != 1.0 else out
    return apply(_softmax_backward, g, y, axis=axis, scale=float(scale))


@primitive("log_softmax", _axis_rule("log_softmax"), saves_outputs=True)
def _log_softmax(x, *, axis):
    """``x - logsumexp(x)`` along ``axis``."""
    if x.size == 0:
        return x.copy()
    s = _shifted(x, axis)
    e = np.exp(s)
    s -= np.log(sum_last(e) if axis == x.ndim - 1 else e.sum(axis=axis, keepdims=True))
    return s


@_log_softmax.defvjp
def _(ctx, g):
    return (apply(_log_softmax_backward, g, ctx.outputs[0], **ctx.attrs),)


def _lsm_bwd_rule(g: Spec, y: Spec, *, axis) -> Spec:
    if tuple(g.shape) != tuple(y.shape):
        raise ShapeError(f"log_softmax_backward: grad {tuple(g.shape)} vs output {tuple(y.shape)}")
    return y


@primitive("log_softmax_backward", _lsm_bwd_rule, saves_inputs=True)
def _log_softmax_backward(g, y, *, axis):
    """``g - exp(y) * sum(g)`` along ``axis``: one NumPy pass for the log_softmax vjp."""
    e = np.exp(y)
    e *= g.sum(axis=axis, keepdims=True)
    np.subtract(g, e, out=e)
    return e


@_log_softmax_backward.defvjp
def _(ctx, h):
    g, y = ctx.inputs
    axis = ctx.attrs["axis"]
    p = _ew.exp(y)
    gg = h - _sum(h * p, dim=axis, keepdim=True) if ctx.needs_input_grad[0] else None
    gy = -(h * p * _sum(g, dim=axis, keepdim=True)) if ctx.needs_input_grad[1] else None
    return (gg, gy)


def _prepare(name: str, input, dim: int, dtype) -> tuple:
    x = to_tensor(input)
    if dtype is not None:
        x = _ew.cast(x, _dt.as_dtype(dtype))
    fd = float_dtype(_dt.from_numpy_dtype(x._data.dtype))
    if x._data.dtype != fd.np:
        x = _ew.cast(x, fd)
    return x, wrap_dim(name, dim, x._data.ndim)


def _along(prim, name, input, dim, dtype) -> Tensor:
    x, axis = _prepare(name, input, dim, dtype)
    if x._data.ndim == 0:
        from .movement import reshape

        return reshape(apply(prim, reshape(x, (1,)), axis=0), ())
    return apply(prim, x, axis=axis)


@tensor_method()
def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """Softmax along ``dim`` (one fused primitive; ``dtype`` casts the input first).

    Example:
        >>> import ember
        >>> ember.tensor([[1.0, 1.0], [0.0, 1000.0]]).softmax(1)
        tensor([[0.5000, 0.5000],
                [0.0000, 1.0000]])
    """
    return _along(_softmax, "softmax", input, dim, dtype)


@tensor_method()
def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """Log-softmax along ``dim`` (one fused primitive, stable for large inputs).

    Example:
        >>> import ember
        >>> ember.tensor([0.0, 1000.0]).log_softmax(0)
        tensor([-1000.,     0.])
    """
    return _along(_log_softmax, "log_softmax", input, dim, dtype)


# ---------------------------------------------------------------------------------------------
# standardize: the normalisation core of layer/batch/group/instance norm
# ---------------------------------------------------------------------------------------------
def _stat_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _standardize_rule(x: Spec, *, axes, eps):
    if not x.dtype.is_floating_point:
        raise TypeError(f"standardize: expected a floating point input, got {x.dtype}")
    if any(not 0 <= a < len(x.shape) for a in axes):
        raise ShapeError(f"standardize: axes {axes} out of range for shape {tuple(x.shape)}")
    stat = Spec(_stat_shape(tuple(x.shape), axes), x.dtype)
    return (Spec(tuple(x.shape), x.dtype), stat, stat)


@primitive("standardize", _standardize_rule, saves_outputs=True, num_outputs=3)
def _standardize(x, *, axes, eps):
    """``((x - mean) * rstd, mean, rstd)`` with biased variance over ``axes``."""
    mean = x.mean(axis=axes, keepdims=True, dtype=x.dtype)
    xc = x - mean
    var = np.mean(np.square(xc), axis=axes, keepdims=True, dtype=x.dtype)
    rstd = np.reciprocal(np.sqrt(var + x.dtype.type(eps)))
    xc *= rstd
    return xc, mean, rstd


_live = grad_is_live  # False for the zero gradients the engine fills in for unused outputs


@_standardize.defvjp
def _(ctx, gy, gmean, grstd):
    xhat, _, rstd = ctx.outputs
    axes = ctx.attrs["axes"]
    shape = ctx.in_meta[0][0]
    count = int(np.prod([shape[a] for a in axes])) if axes else 1
    gx = rstd * (
        gy - _mean(gy, dim=axes, keepdim=True) - xhat * _mean(gy * xhat, dim=axes, keepdim=True)
    )
    if _live(gmean):
        gx = gx + gmean * (1.0 / count)
    if _live(grstd):
        gx = gx - grstd * rstd * rstd * xhat * (1.0 / count)
    return (gx,)


def standardize(input: Tensor, dims, eps: float) -> tuple:
    """``((x - mean) / sqrt(var + eps), mean, rstd)`` over ``dims`` (biased variance).

    Example:
        >>> import ember
        >>> y, mean, rstd = standardize(ember.tensor([[1.0, 3.0]]), (1,), 0.0)
        >>> y, mean
        (tensor([[-1.,  1.]]), tensor([[2.]]))
    """
    x = to_tensor(input)
    if not x.is_floating_point():
        x = _ew.cast(x, _dt.get_default_dtype())
    axes = tuple(sorted(wrap_dim("standardize", d, x._data.ndim) for d in dims))
    return apply(_standardize, x, axes=axes, eps=float(eps))


# ---------------------------------------------------------------------------------------------
# cross_entropy on (N, C) logits and class indices
# ---------------------------------------------------------------------------------------------
def _ce_rule(name):
    def rule(x: Spec, t: Spec, *rest: Spec, ignore_index, smoothing, reduction):
        if len(x.shape) != 2:
            raise ShapeError(f"{name}: expected (N, C) logits, got shape {tuple(x.shape)}")
        if not x.dtype.is_floating_point:
            raise TypeError(f"{name}: expected floating point logits, got {x.dtype}")
        if t.dtype.is_floating_point or t.dtype is _dt.bool or tuple(t.shape) != x.shape[:1]:
            raise ShapeError(
                f"{name}: input of shape {tuple(x.shape)} and target of shape {tuple(t.shape)} "
                "(expected an integer target of shape (N,))"
            )
        if name == "cross_entropy_backward":
            return Spec(tuple(x.shape), x.dtype)
        return Spec(x.shape[:1] if reduction == "none" else (), x.dtype)

    return rule


def _ce_constants(x_shape, t, w, dtype, ignore_index, smoothing, reduction):
    """Per-row target weights, their total, and the class-index view of the target."""
    n, c = x_shape
    mask = t != ignore_index
    tc = np.where(mask, t, 0)
    bad = mask & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(
            f"cross_entropy: target {int(t[bad][0])} is out of bounds for {c} classes "
            f"(valid class indices are 0..{c - 1}, ignore_index={ignore_index})"
        )
    wt = (w[tc] if w is not None else np.ones(n, dtype)) * mask
    denom = wt.sum(dtype=dtype)
    return mask, tc, wt.astype(dtype, copy=False), denom


@primitive("cross_entropy", _ce_rule("cross_entropy"), saves_inputs=True)
def _cross_entropy(x, t, w=None, *, ignore_index, smoothing, reduction):
    """Softmax cross entropy of ``(N, C)`` logits against class indices."""
    n, c = x.shape
    mask, tc, wt, denom = _ce_constants(x.shape, t, w, x.dtype, ignore_index, smoothing, reduction)
    if not smoothing and x.flags.c_contiguous:  # rows split over ember's threads
        lse, picked = np.empty(n, x.dtype), np.empty(n, x.dtype)

        def rows(lo, hi):
            s = _shifted(x[lo:hi], 1)
            picked[lo:hi] = s[np.arange(hi - lo), tc[lo:hi]]
            np.exp(s, out=s)
            np.log(sum_last(s, keepdims=False), out=lse[lo:hi])

        _par.for_rows(rows, n, 5 * c, blas=True)
        loss = (lse - picked) * wt
        if reduction == "none":
            return loss.astype(x.dtype, copy=False)
        total = loss.sum(dtype=x.dtype)
        return np.asarray(total / denom if reduction == "mean" else total, dtype=x.dtype)
    s = _shifted(x, 1)
    lse = np.log(sum_last(np.exp(s), keepdims=False))
    rows = np.arange(n)
    loss = (lse - s[rows, tc]) * wt
    if smoothing:
        logp_sum = (s * w).sum(axis=1) - lse * w.sum() if w is not None else s.sum(1) - lse * c
        loss = (1 - smoothing) * loss - (smoothing / c) * logp_sum * mask
    if reduction == "none":
        return loss.astype(x.dtype, copy=False)
    total = loss.sum(dtype=x.dtype)
    return np.asarray(total / denom if reduction == "mean" else total, dtype=x.dtype)


@primitive("cross_entropy_backward", _ce_rule("cross_entropy_backward"), saves_inputs=True)
def _cross_entropy_backward(x, t, *rest, ignore_index, smoothing, reduction):
    """Gradient of ``cross_entropy`` w.r.t. the logits: ``scale * (r * softmax(x) - A)``."""
    w, g = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
    n, c = x.shape
    mask, tc, wt, denom = _ce_constants(x.shape, t, w, x.dtype, ignore_index, smoothing, reduction)
    scale = g if reduction == "none" else np.full(n, g / denom if reduction == "mean" else g)
    scale = scale.astype(x.dtype, copy=False)
    row_total = (1 - smoothing) * wt
    if smoothing:
        row_total = row_total + (smoothing / c) * (w.sum() if w is not None else c) * mask
    row_total = row_total * scale
    picked = (1 - smoothing) * wt * scale
    p = np.empty_like(x)

    def rows(lo, hi):  # rows split over ember's threads
        pr = p[lo:hi]
        np.exp(_shifted(x[lo:hi], 1), out=pr)
        pr *= (row_total[lo:hi] / sum_last(pr, keepdims=False))[:, None]
        pr[np.arange(hi - lo), tc[lo:hi]] -= picked[lo:hi]

    _par.for_rows(rows, n, 5 * c, blas=True)
    if smoothing:
        p -= (smoothing / c) * (mask * scale)[:, None] * (w[None, :] if w is not None else 1)
    return p


@_cross_entropy.defvjp
def _(ctx, g):
    ins = ctx.inputs
    gx = apply(_cross_entropy_backward, *ins, g, **ctx.attrs) if ctx.needs_input_grad[0] else None
    return (gx,) + (None,) * (len(ins) - 1)


@_cross_entropy_backward.defvjp
def _(ctx, h):
    ins = ctx.inputs
    x, t, g = ins[0], ins[1], ins[-1]
    w = ins[2]._data if len(ins) == 4 else None
    a = ctx.attrs
    eps, red = a["smoothing"], a["reduction"]
    n, c = x.shape
    mask, tc, wt, denom = _ce_constants(
        tuple(x.shape), t._data, w, x._data.dtype, a["ignore_index"], eps, red
    )
    # constants: gx = scale * (r * p - A) with A the (smoothed, weighted) target distribution
    amat = np.zeros((n, c), x._data.dtype)
    amat[np.arange(n), tc] = (1 - eps) * wt
    if eps:
        amat += (eps / c) * mask[:, None] * (w[None, :] if w is not None else 1)
    r = Tensor._wrap(amat.sum(axis=1, keepdims=True))
    amat = Tensor._wrap(amat)
    p = softmax(x, 1)
    if red == "none":
        scale = g.reshape(n, 1)
    else:
        scale = g / Tensor._wrap(np.asarray(denom, x._data.dtype)) if red == "mean" else g
    gx = gg = None
    if ctx.needs_input_grad[0]:
        hs = h * scale * r
        gx = p * (hs - _sum(hs * p, dim=1, keepdim=True))
    if ctx.needs_input_grad[-1]:
        q = _sum(h * (r * p - amat), dim=1)
        if red == "none":
            gg = q
        else:
            gg = _sum(q)
            if red == "mean":
                gg = gg / Tensor._wrap(np.asarray(denom, x._data.dtype))
    return (gx,) + (None,) * (len(ins) - 2) + (gg,)


def cross_entropy_indices(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Tensor:
    """Fused cross entropy of ``(N, C)`` logits and ``(N,)`` class indices (no checks beyond the
    primitive's); ``ember.nn.functional.cross_entropy`` is the public entry point.

    Example:
        >>> import ember
        >>> cross_entropy_indices(ember.zeros(2, 4), ember.tensor([1, 3]))
        tensor(1.3863)
    """
    ins = (input, target) if weight is None else (input, target, weight)
    return apply(
        _cross_entropy,
        *ins,
        ignore_index=int(ignore_index),
        smoothing=float(label_smoothing),
        reduction=reduction,
    )


# ---------------------------------------------------------------------------------------------
# CTC: alpha/beta recursions in log space, vectorised over the batch
# ---------------------------------------------------------------------------------------------
def _ctc_rule(name):
    def rule(lp: Spec, tg: Spec, *rest: Spec, input_lengths, target_lengths, blank, zero_infinity):
        if len(lp.shape) != 3:
            raise ShapeError(f"{name}: expected (T, N, C) log_probs, got shape {tuple(lp.shape)}")
        t, n, c = lp.shape
        if len(tg.shape) != 2 or tg.shape[0] != n:
            raise ShapeError(
                f"{name}: targets of shape {tuple(tg.shape)} do not match batch size {n}"
            )
        if len(input_lengths) != n or len(target_lengths) != n:
            raise ShapeError(f"{name}: expected {n} input and target lengths")
        if name == "ctc_loss_backward":
            return Spec(tuple(lp.shape), lp.dtype)
        return Spec((n,), lp.dtype)

    return rule


def _logsumexp3(a, b, c):
    m = np.maximum(np.maximum(a, b), c)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - safe) + np.exp(b - safe) + np.exp(c - safe)) + safe


def _ctc_tables(lp, tg, input_lengths, target_lengths, blank):
    tmax, n, c = lp.shape
    lens_in = np.asarray(input_lengths, np.int64)
    lens_tg = np.asarray(target_lengths, np.int64)
    s_max = tg.shape[1]
    ext = np.full((n, 2 * s_max + 1), blank, np.int64)
    ext[:, 1::2] = tg
    width = ext.shape[1]
    lp64 = lp.astype(np.float64)
    emit = np.take_along_axis(lp64, np.broadcast_to(ext[None], (tmax, n, width)), axis=2)
    skip = np.zeros((n, width), bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    ninf = -np.inf
    return lens_in, lens_tg, ext, emit, skip, ninf


def _ctc_alpha(emit, skip, lens_tg, ninf):
    tmax, n, width = emit.shape
    alpha = np.full((tmax, n, width), ninf)
    alpha[0, :, 0] = emit[0, :, 0]
    if width > 1:
        alpha[0, :, 1] = np.where(lens_tg > 0, emit[0, :, 1], ninf)
    pad = np.full((n, 2), ninf)
    for t in range(1, tmax):
        prev = np.concatenate([pad, alpha[t - 1]], axis=1)
        a1 = prev[:, 1:-1]
        a2 = np.where(skip, prev[:, :-2], ninf)
        alpha[t] = _logsumexp3(alpha[t - 1], a1, a2) + emit[t]
    return alpha


def _ctc_nll_np(alpha, lens_in, lens_tg):
    n = alpha.shape[1]
    rows = np.arange(n)
    last = alpha[lens_in - 1, rows]
    end = 2 * lens_tg
    a_end = last[rows, end]
    a_prev = np.where(end > 0, last[rows, np.maximum(end - 1, 0)], -np.inf)
    return -np.logaddexp(a_end, a_prev)


def _ctc_check(lp, tg, input_lengths, target_lengths, blank):
    tmax, n, c = lp.shape
    if not 0 <= blank < c:
        raise ValueError(f"ctc_loss: blank {blank} must be in [0, {c})")
    li, lt = np.asarray(input_lengths), np.asarray(target_lengths)
    if np.any(li > tmax) or np.any(li < 1):
        raise ValueError(f"ctc_loss: input_lengths {li.tolist()} must be in [1, {tmax}]")
    if np.any(lt > tg.shape[1]) or np.any(lt < 0):
        raise ValueError(f"ctc_loss: target_lengths {lt.tolist()} exceed the targets' length")


@primitive("ctc_loss", _ctc_rule("ctc_loss"), saves_inputs=True)
def _ctc_loss(lp, tg, *, input_lengths, target_lengths, blank, zero_infinity):
    """Per-sample CTC negative log likelihood of ``(T, N, C)`` log-probabilities."""
    _ctc_check(lp, tg, input_lengths, target_lengths, blank)
    lens_in, lens_tg, _, emit, skip, ninf = _ctc_tables(
        lp, tg, input_lengths, target_lengths, blank
    )
    nll = _ctc_nll_np(_ctc_alpha(emit, skip, lens_tg, ninf), lens_in, lens_tg)
    if zero_infinity:
        nll = np.where(np.isinf(nll), 0.0, nll)
    return nll.astype(lp.dtype)


@primitive("ctc_loss_backward", _ctc_rule("ctc_loss_backward"), saves_inputs=True)
def _ctc_loss_backward(lp, tg, g, *, input_lengths, target_lengths, blank, zero_infinity):
    """Gradient of the per-sample CTC loss w.r.t. the log-probabilities (times ``g``)."""
    lens_in, lens_tg, ext, emit, skip, ninf = _ctc_tables(
        lp, tg, input_lengths, target_lengths, blank
    )
    tmax, n, width = emit.shape
    alpha = _ctc_alpha(emit, skip, lens_tg, ninf)
    nll = _ctc_nll_np(alpha, lens_in, lens_tg)
    rows = np.arange(n)
    end = 2 * lens_tg
    beta = np.full((tmax, n, width), ninf)
    init = np.full((n, width), ninf)
    init[rows, end] = emit[lens_in - 1, rows, end]
    has_prev = end > 0
    init[rows[has_prev], end[has_prev] - 1] = emit[lens_in - 1, rows, end - 1][has_prev]
    skip_next = np.zeros((n, width), bool)
    skip_next[:, :-2] = skip[:, 2:]
    pad = np.full((n, 2), ninf)
    for t in range(tmax - 1, -1, -1):
        if t == tmax - 1:
            new = np.full((n, width), ninf)
        else:
            nxt = np.concatenate([beta[t + 1], pad], axis=1)
            b2 = np.where(skip_next, nxt[:, 2:], ninf)
            new = _logsumexp3(beta[t + 1], nxt[:, 1:-1], b2) + emit[t]
        at_end = (lens_in - 1 == t)[:, None]
        beyond = (t > lens_in - 1)[:, None]
        beta[t] = np.where(beyond, ninf, np.where(at_end, init, new))
    finite = np.isfinite(nll)
    with np.errstate(invalid="ignore", over="ignore"):
        post = np.exp(alpha + beta - emit + np.where(finite, nll, 0.0)[None, :, None])
    post = np.where(finite[None, :, None], np.nan_to_num(post), 0.0 if zero_infinity else np.nan)
    onehot = np.zeros((n, width, lp.shape[2]))
    onehot[rows[:, None], np.arange(width)[None, :], ext] = 1.0
    grad = -np.matmul(post.transpose(1, 0, 2), onehot).transpose(1, 0, 2)
    grad *= (np.arange(tmax)[:, None] < lens_in[None, :])[:, :, None]
    return (grad * g.astype(np.float64)[None, :, None]).astype(lp.dtype)


@_ctc_loss.defvjp
def _(ctx, g):
    lp, tg = ctx.inputs
    return (apply(_ctc_loss_backward, lp, tg, g, **ctx.attrs), None)


@_ctc_loss_backward.defvjp
def _(ctx, h):
    raise NotImplementedError("ctc_loss: double backward is not supported")


def ctc_nll(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths,
    target_lengths,
    blank: int = 0,
    zero_infinity: bool = False,
) -> Tensor:
    """Per-sample CTC loss of ``(T, N, C)`` log-probabilities and padded ``(N, S)`` targets.

    Example:
        >>> import ember
        >>> lp = ember.full((2, 1, 2), 0.5).log()
        >>> ctc_nll(lp, ember.tensor([[1]]), (2,), (1,))
        tensor([0.2877])
    """
    return apply(
        _ctc_loss,
        log_probs,
        targets,
        input_lengths=tuple(int(v) for v in input_lengths),
        target_lengths=tuple(int(v) for v in target_lengths),
        blank=int(blank),
        zero_infinity=bool(zero_infinity),
    )
