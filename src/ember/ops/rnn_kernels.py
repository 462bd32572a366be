"""Fused recurrent kernels: the LSTM cell update, and a whole LSTM layer, as primitives.

An eager LSTM step written with separate ops records about fifteen graph nodes per time step;
for the small per-step tensors of an RNN the Python overhead of those nodes dominates. The
``lstm_cell`` primitive takes the pre-activation gates (``x W_ih^T + h W_hh^T + b``, gate order
i, f, g, o as in PyTorch) and the previous cell state, and returns ``(h, c)``; its backward is the
``lstm_cell_backward`` primitive. Double backward through the fused cell is not supported (as
with cuDNN's fused RNNs in PyTorch); it raises a clear error.

Even one fused cell per time step leaves a few graph nodes (and their Python overhead) per step.
``lstm_sequence`` runs one layer in one direction over a whole padded sequence in a single
primitive: it takes the input projection of every step ``xg`` (``(T, B, 4H)``, both biases folded
in), the initial state ``h0, c0`` (``(B, H)``) and ``w_hh`` (``(4H, H)``), and returns all hidden
states ``hs`` (``(T, B, H)``), the final ``h_T, c_T`` and two internal outputs that its backward
reads (the gate activations and the cell state of every step; ignore them). Its backward
``lstm_sequence_backward`` is backpropagation through time in NumPy: one ``(B, 4H) @ (4H, H)``
product per step and a single product for the gradient of ``w_hh``. Double backward through it
raises ``NotImplementedError``; the per-step path (``lstm_cell``) supports it.

Example:
    >>> import ember
    >>> from ember.ops.rnn_kernels import lstm_cell
    >>> h, c = lstm_cell(ember.zeros(1, 8), ember.ones(1, 2))
    >>> h
    tensor([[0.2311, 0.2311]])
    >>> from ember.ops.rnn_kernels import lstm_sequence
    >>> hs, h, c = lstm_sequence(ember.zeros(3, 1, 8), ember.zeros(1, 2), ember.ones(1, 2),
    ...                          ember.zeros(8, 2))
    >>> hs.shape, h.shape, c.shape
    (ember.Size([3, 1, 2]), ember.Size([1, 2]), ember.Size([1, 2]))
    >>> c
    tensor([[0.1250, 0.1250]])
"""

from __future__ import annotations

import numpy as np

from .._dispatch import apply
from ..registry import ShapeError, Spec, primitive
from ..tensor import Tensor

__all__ = ["lstm_cell", "lstm_sequence"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _split(gates: np.ndarray):
    hidden = gates.shape[-1] // 4
    return (gates[..., k * hidden : (k + 1) * hidden] for k in range(4))


def _cell_rule(gates: Spec, c: Spec) -> tuple:
    if gates.shape[-1] != 4 * c.shape[-1] or gates.shape[:-1] != c.shape[:-1]:
        raise ShapeError(
            f"lstm_cell: gates of shape {tuple(gates.shape)} need 4x the hidden size of the cell "
            f"state {tuple(c.shape)}"
        )
    return (c, c)


@primitive("lstm_cell", _cell_rule, num_outputs=2, saves_inputs=True, saves_outputs=(1,))
def _lstm_cell(gates, c):
    """LSTM update: ``c' = sig(f) c + sig(i) tanh(g)``, ``h' = sig(o) tanh(c')``."""
    i, f, g, o = _split(gates)
    c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c_new), c_new


def _backward_rule(gates: Spec, c: Spec, c_new: Spec, gh: Spec, gc: Spec) -> tuple:
    return (gates, c)


@primitive("lstm_cell_backward", _backward_rule, num_outputs=2)
def _lstm_cell_backward(gates, c, c_new, gh, gc):
    """Gradients of ``lstm_cell`` with respect to the gates and the previous cell state."""
    i, f, g, o = _split(gates)
    si, sf, so, tg = _sigmoid(i), _sigmoid(f), _sigmoid(o), np.tanh(g)
    tc = np.tanh(c_new)
    dc = gc + gh * so * (1 - tc * tc)
    out = np.empty_like(gates)
    di, df, dg, do = _split(out)
    di[...] = dc * tg * si * (1 - si)
    df[...] = dc * c * sf * (1 - sf)
    dg[...] = dc * si * (1 - tg * tg)
    do[...] = gh * tc * so * (1 - so)
    return out, dc * sf


@_lstm_cell.defvjp
def _(ctx, gh, gc):
    gates, c = ctx.inputs
    c_new = ctx.outputs[1]
    d_gates, d_c = apply(_lstm_cell_backward, gates, c, c_new.detach(), gh, gc)
    return (d_gates, d_c)


def lstm_cell(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """The fused LSTM state update from pre-activation gates (i, f, g, o) and the cell state."""
    return apply(_lstm_cell, gates, c)


# ---------------------------------------------------------------------------------------------
# a whole layer (one direction) over a padded sequence
# ---------------------------------------------------------------------------------------------
def _sequence_rule(xg: Spec, h0: Spec, c0: Spec, w_hh: Spec, reverse: bool = False) -> tuple:
    if len(xg.shape) != 3 or len(h0.shape) != 2 or len(w_hh.shape) != 2:
        raise ShapeError(
            f"lstm_sequence: expected xg (T, B, 4H), h0 and c0 (B, H), w_hh (4H, H); got "
            f"{tuple(xg.shape)}, {tuple(h0.shape)}, {tuple(c0.shape)}, {tuple(w_hh.shape)}"
        )
    steps, batch, gates = xg.shape
    hidden = h0.shape[1]
    if (
        gates != 4 * hidden
        or tuple(h0.shape) != (batch, hidden)
        or tuple(c0.shape) != (batch, hidden)
        or tuple(w_hh.shape) != (gates, hidden)
    ):
        raise ShapeError(
            f"lstm_sequence: shapes do not fit xg (T, B, 4H), h0 and c0 (B, H), w_hh (4H, H): got "
            f"{tuple(xg.shape)}, {tuple(h0.shape)}, {tuple(c0.shape)}, {tuple(w_hh.shape)}"
        )
    seq = Spec((steps, batch, hidden), xg.dtype)
    return (seq, h0, c0, xg, seq)


@primitive(
    "lstm_sequence",
    _sequence_rule,
    num_outputs=5,
    saves_inputs=(1, 2, 3),
    saves_outputs=(3, 4),  # not hs: the caller may modify the outputs in place
)
def _lstm_sequence(xg, h0, c0, w_hh, reverse=False):
    """One LSTM layer and direction over ``T`` steps; returns ``hs, h_T, c_T`` and, for the
    backward, the gate activations (sig i, sig f, tanh g, sig o) and cell states of each step."""
    steps, batch, gates = xg.shape
    hidden = gates // 4
    h2, h3 = 2 * hidden, 3 * hidden
    dtype = np.result_type(xg, h0, c0, w_hh)
    # sigmoid(x) = (1 + tanh(x / 2)) / 2 (stable, no overflow): pre-scaling the sigmoid gates'
    # columns by 1/2 (exact in floating point) lets one tanh pass activate all four gates
    scale = np.full(gates, 0.5, dtype)
    scale[h2:h3] = 1
    xs = np.multiply(xg, scale, dtype=dtype)
    ws = np.multiply(w_hh.T, scale, dtype=dtype)
    hs = np.empty((steps, batch, hidden), dtype)
    acts = np.empty((steps, batch, gates), dtype)
    cs = np.empty((steps, batch, hidden), dtype)
    ig = np.empty((batch, hidden), dtype)
    h, c = h0.astype(dtype, copy=False), c0.astype(dtype, copy=False)
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        a = acts[t]
        np.matmul(h, ws, out=a)
        a += xs[t]
        np.tanh(a, out=a)
        for sig in (a[:, :h2], a[:, h3:]):
            sig *= 0.5
            sig += 0.5
        np.multiply(a[:, hidden:h2], c, out=cs[t])
        np.multiply(a[:, :hidden], a[:, h2:h3], out=ig)
        c = cs[t]
        c += ig
        h = hs[t]
        np.tanh(c, out=h)
        h *= a[:, h3:]
    return hs, np.array(h, dtype), np.array(c, dtype), acts, cs


def _sequence_backward_rule(h0, c0, w_hh, acts, cs, dhs, dh_t, dc_t, reverse=False) -> tuple:
    return (acts, h0, c0, w_hh)


@primitive("lstm_sequence_backward", _sequence_backward_rule, num_outputs=4)
def _lstm_sequence_backward(h0, c0, w_hh, acts, cs, dhs, dh_t, dc_t, reverse=False):
    """Backpropagation through time for ``lstm_sequence``: gradients of ``xg, h0, c0, w_hh``."""
    steps, batch, gates = acts.shape
    hidden = gates // 4
    h3 = 3 * hidden
    dtype = acts.dtype
    dxg = np.empty_like(acts)
    dh, dc = np.array(dh_t, dtype), np.array(dc_t, dtype)  # running grads of the state
    if steps == 0:
        return dxg, dh, dc, np.zeros_like(w_hh)
    # everything that does not depend on the incoming gradients, for all steps at once
    si, sf, tg, so = (acts[..., k * hidden : (k + 1) * hidden] for k in range(4))
    if reverse:
        c_prev = np.concatenate([cs[1:], c0[None]], 0)
    else:
        c_prev = np.concatenate([c0[None], cs[:-1]], 0)
    tc = np.tanh(cs)
    hs = tc * so  # the hidden states, recomputed as in the forward
    k_dc = so * (1 - tc * tc)  # dc += dh k_dc
    k_do = tc * so * (1 - so)  # do = dh k_do
    k_ifg = np.empty((steps, batch, 3, hidden), dtype)  # di, df, dg = dc k_ifg
    k_ifg[:, :, 0] = tg * si * (1 - si)
    k_ifg[:, :, 1] = c_prev * sf * (1 - sf)
    k_ifg[:, :, 2] = si * (1 - tg * tg)
    d_ifg = dxg.reshape(steps, batch, 4, hidden)[:, :, :3]
    tmp = np.empty((batch, hidden), dtype)
    for t in range(steps) if reverse else range(steps - 1, -1, -1):  # reverse of the forward
        dh += dhs[t]
        np.multiply(dh, k_do[t], out=dxg[t, :, h3:])
        np.multiply(dh, k_dc[t], out=tmp)
        dc += tmp
        np.multiply(dc[:, None], k_ifg[t], out=d_ifg[t])
        dc *= sf[t]
        np.matmul(dxg[t], w_hh, out=dh)
    if reverse:
        h_prev = np.concatenate([hs[1:], h0[None]], 0)
    else:
        h_prev = np.concatenate([h0[None], hs[:-1]], 0)
    dw = dxg.reshape(-1, gates).T @ h_prev.reshape(-1, hidden)
    return dxg, dh, dc, dw.astype(w_hh.dtype, copy=False)


@_lstm_sequence.defvjp
def _(ctx, dhs, dh_t, dc_t, _d_acts, _d_cs):
    _, h0, c0, w_hh = ctx.inputs
    _, _, _, acts, cs = ctx.outputs
    return apply(
        _lstm_sequence_backward,
        h0,
        c0,
        w_hh,
        acts.detach(),
        cs.detach(),
        dhs,
        dh_t,
        dc_t,
        **ctx.attrs,
    )


@_lstm_sequence_backward.defvjp
def _(ctx, *grads):
    raise NotImplementedError(
        "lstm_sequence: double backward (e.g. a gradient penalty through nn.LSTM) is not "
        "supported by the fused LSTM kernel, as with cuDNN's fused RNNs in PyTorch; write the "
        "recurrence with elementwise ops (sigmoid, tanh) if you need it"
    )


@_lstm_cell_backward.defvjp
def _(ctx, *grads):
    raise NotImplementedError(
        "lstm_cell: double backward (e.g. a gradient penalty through an LSTM) is not supported "
        "by the fused LSTM cell, as with cuDNN's fused RNNs in PyTorch; write the cell with "
        "elementwise ops (sigmoid, tanh) if you need it"
    )


def lstm_sequence(
    xg: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, reverse: bool = False
) -> tuple[Tensor, Tensor, Tensor]:
    """Run one LSTM layer in one direction over the input projections ``xg`` (``(T, B, 4H)``,
    gates i, f, g, o, biases included) from the state ``(h0, c0)``; returns ``(hs, h_T, c_T)``.

    With ``reverse=True`` the steps run from ``T - 1`` down to 0 (``hs`` stays in time order).
    Backward is fused too; double backward is not supported.
    """
    hs, h, c, _, _ = apply(_lstm_sequence, xg, h0, c0, w_hh, reverse=bool(reverse))
    return hs, h, c
