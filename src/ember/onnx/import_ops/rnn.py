"""Recurrent ONNX ops: RNN, GRU, LSTM (forward/reverse/bidirectional, ``sequence_lens``,
peepholes, ``clip``, custom activations, ``layout`` 0 and 1).

The input projection of all time steps is one matmul; the recurrence is a Python loop over
time steps of ember ops, so the whole thing is differentiable.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("RNN", "", 14, "", {"hidden_size": 1}, 2)
    >>> y, h = find_handler("RNN", 14)(ctx, ember.ones(2, 1, 1), ember.ones(1, 1, 1),
    ...                                 ember.zeros(1, 1, 1))
    >>> y.shape, h
    (ember.Size([2, 1, 1, 1]), tensor([[[0.7616]]]))
"""

from __future__ import annotations

import ember

from ._registry import OpContext, onnx_op
from ._util import const


def _activation(ctx: OpContext, name: str, alpha, beta):
    """The ONNX RNN activation ``name`` as a function of one tensor."""
    key = name.lower()
    if key == "sigmoid":
        return ember.sigmoid
    if key == "tanh":
        return ember.tanh
    if key == "relu":
        return ember.relu
    if key == "softsign":
        return lambda x: x / (x.abs() + 1.0)
    if key == "softplus":
        return ember.softplus
    if key == "affine":
        return lambda x: x * alpha + beta
    if key == "leakyrelu":
        return lambda x: ember.where(x >= 0, x, x * (0.01 if alpha is None else alpha))
    if key == "thresholdedrelu":
        return lambda x: ember.where(x > (1.0 if alpha is None else alpha), x, x * 0.0)
    if key == "scaledtanh":
        return lambda x: ember.tanh(x * beta) * alpha
    if key == "hardsigmoid":
        a, b = (0.2 if alpha is None else alpha), (0.5 if beta is None else beta)
        return lambda x: ember.clamp(x * a + b, 0.0, 1.0)
    if key == "elu":
        a = 1.0 if alpha is None else alpha
        return lambda x: ember.where(x > 0, x, (ember.exp(x) - 1.0) * a)
    raise ctx.unsupported(f"activation {name!r}")


_NEEDS_ALPHA = {"affine", "leakyrelu", "thresholdedrelu", "scaledtanh", "hardsigmoid", "elu"}
_NEEDS_BETA = {"affine", "scaledtanh", "hardsigmoid"}


def _activations(ctx: OpContext, defaults: list[str], num_directions: int) -> list[list]:
    """Per direction, the list of activation functions (ONNX order of the op)."""
    names = ctx.attr("activations") or defaults * num_directions
    if len(names) == len(defaults) and num_directions == 2:
        names = names * 2
    alphas = list(ctx.attr("activation_alpha") or [])
    betas = list(ctx.attr("activation_beta") or [])
    fns = []
    for name in names:
        key = name.lower()
        alpha = alphas.pop(0) if key in _NEEDS_ALPHA and alphas else None
        beta = betas.pop(0) if key in _NEEDS_BETA and betas else None
        fns.append(_activation(ctx, name, alpha, beta))
    k = len(defaults)
    return [fns[d * k : (d + 1) * k] for d in range(num_directions)]


class _Recurrence:
    """What the three ops share: shapes, directions, masking by sequence length, outputs."""

    def __init__(self, ctx: OpContext, x, w, gates: int):
        self.ctx = ctx
        self.layout = ctx.attr("layout", 0)
        self.x = x.transpose(0, 1) if self.layout else x  # (T, B, I)
        direction = ctx.attr("direction", "forward")
        if direction not in ("forward", "reverse", "bidirectional"):
            raise ctx.error(f"direction must be forward, reverse or bidirectional: {direction!r}")
        self.directions = ["forward", "reverse"] if direction == "bidirectional" else [direction]
        self.hidden = ctx.attr("hidden_size") or w.shape[1] // gates
        self.gates = gates
        self.clip = ctx.attr("clip")
        self.steps, self.batch = self.x.shape[0], self.x.shape[1]

    def initial(self, value, d: int):
        if value is None:
            return ember.zeros(self.batch, self.hidden, dtype=self.x.dtype)
        value = value.transpose(0, 1) if self.layout else value
        return value[d]

    def clipped(self, v):
        return v if self.clip is None else ember.clamp(v, -self.clip, self.clip)

    def masks(self, sequence_lens):
        if sequence_lens is None:
            return None
        lens = sequence_lens.to(ember.int64).reshape(-1, 1)
        return [lens > t for t in range(self.steps)]

    def order(self, d: int):
        forward = range(self.steps)
        return reversed(forward) if self.directions[d] == "reverse" else forward

    def projected(self, w, b, d: int):
        """``X @ W^T + Wb + Rb`` for every step at once: (T, B, gates * H)."""
        out = ember.matmul(self.x, w[d].t())
        if b is not None:
            g = self.gates * self.hidden
            out = out + b[d, :g] + b[d, g:]
        return out

    def outputs(self, ys_per_dir: list, finals: list[list]):
        """``Y`` and the final states in the op's layout."""
        y = ember.stack([ember.stack(ys, 0) for ys in ys_per_dir], 1)  # (T, D, B, H)
        states = [ember.stack(list(f), 0) for f in zip(*finals)]  # each (D, B, H)
        if self.layout:
            y = y.permute(2, 0, 1, 3)
            states = [s.transpose(0, 1) for s in states]
        return (y, *states)


def _step_mask(mask, new, old, zero):
    if mask is None:
        return new, new
    return ember.where(mask, new, old), ember.where(mask, new, zero)


@onnx_op("RNN")
def rnn(ctx: OpContext, x, w, r, b=None, sequence_lens=None, initial_h=None):
    rec = _Recurrence(ctx, x, w, 1)
    acts = _activations(ctx, ["Tanh"], len(rec.directions))
    masks = rec.masks(sequence_lens)
    ys_all, finals = [], []
    for d in range(len(rec.directions)):
        f = acts[d][0]
        xw = rec.projected(w, b, d)
        h = rec.initial(initial_h, d)
        zero = ember.zeros_like(h)
        ys = [None] * rec.steps
        rt = r[d].t()
        for t in rec.order(d):
            new = f(rec.clipped(xw[t] + ember.matmul(h, rt)))
            h, ys[t] = _step_mask(masks[t] if masks else None, new, h, zero)
        ys_all.append(ys)
        finals.append([h])
    return rec.outputs(ys_all, finals)


@onnx_op("GRU")
def gru(ctx: OpContext, x, w, r, b=None, sequence_lens=None, initial_h=None):
    rec = _Recurrence(ctx, x, w, 3)
    hs = rec.hidden
    acts = _activations(ctx, ["Sigmoid", "Tanh"], len(rec.directions))
    masks = rec.masks(sequence_lens)
    before_reset = bool(ctx.attr("linear_before_reset", 0))
    ys_all, finals = [], []
    for d in range(len(rec.directions)):
        f, g = acts[d]
        xw = ember.matmul(rec.x, w[d].t())  # (T, B, 3H) in z, r, h order
        wb = b[d, : 3 * hs] if b is not None else None
        rb = b[d, 3 * hs :] if b is not None else None
        if wb is not None:
            xw = xw + wb
        h = rec.initial(initial_h, d)
        zero = ember.zeros_like(h)
        rz, rr, rh = r[d, :hs].t(), r[d, hs : 2 * hs].t(), r[d, 2 * hs :].t()
        ys = [None] * rec.steps
        for t in rec.order(d):
            xz, xr, xh = xw[t, :, :hs], xw[t, :, hs : 2 * hs], xw[t, :, 2 * hs :]
            hz, hr = ember.matmul(h, rz), ember.matmul(h, rr)
            if rb is not None:
                hz, hr = hz + rb[:hs], hr + rb[hs : 2 * hs]
            z = f(rec.clipped(xz + hz))
            reset = f(rec.clipped(xr + hr))
            rbh = rb[2 * hs :] if rb is not None else const(0, h)
            if before_reset:
                cand = g(rec.clipped(xh + reset * (ember.matmul(h, rh) + rbh)))
            else:
                cand = g(rec.clipped(xh + ember.matmul(reset * h, rh) + rbh))
            new = (1.0 - z) * cand + z * h
            h, ys[t] = _step_mask(masks[t] if masks else None, new, h, zero)
        ys_all.append(ys)
        finals.append([h])
    return rec.outputs(ys_all, finals)


@onnx_op("LSTM")
def lstm(
    ctx: OpContext,
    x,
    w,
    r,
    b=None,
    sequence_lens=None,
    initial_h=None,
    initial_c=None,
    p=None,
):
    rec = _Recurrence(ctx, x, w, 4)
    hs = rec.hidden
    acts = _activations(ctx, ["Sigmoid", "Tanh", "Tanh"], len(rec.directions))
    masks = rec.masks(sequence_lens)
    couple = bool(ctx.attr("input_forget", 0))
    ys_all, finals = [], []
    for d in range(len(rec.directions)):
        f, g, hfn = acts[d]
        xw = rec.projected(w, b, d)  # (T, B, 4H) in i, o, f, c order
        h, c = rec.initial(initial_h, d), rec.initial(initial_c, d)
        zero = ember.zeros_like(h)
        rt = r[d].t()
        pi, po, pf = (
            (p[d, :hs], p[d, hs : 2 * hs], p[d, 2 * hs :]) if p is not None else (None,) * 3
        )
        ys = [None] * rec.steps
        for t in rec.order(d):
            gates = xw[t] + ember.matmul(h, rt)
            gi, go, gf, gc = (gates[:, k * hs : (k + 1) * hs] for k in range(4))
            if pi is not None:
                gi, gf = gi + pi * c, gf + pf * c
            i_t = f(rec.clipped(gi))
            f_t = 1.0 - i_t if couple else f(rec.clipped(gf))
            c_new = f_t * c + i_t * g(rec.clipped(gc))
            if po is not None:
                go = go + po * c_new
            o_t = f(rec.clipped(go))
            h_new = o_t * hfn(c_new)
            mask = masks[t] if masks else None
            c = ember.where(mask, c_new, c) if mask is not None else c_new
            h, ys[t] = _step_mask(mask, h_new, h, zero)
        ys_all.append(ys)
        finals.append([h, c])
    return rec.outputs(ys_all, finals)
