"""Fused recurrent cells: the LSTM cell update as one primitive (with a NumPy backward).

An eager LSTM step written with separate ops records about fifteen graph nodes per time step;
for the small per-step tensors of an RNN the Python overhead of those nodes dominates. The
``lstm_cell`` primitive takes the pre-activation gates (``x W_ih^T + h W_hh^T + b``, gate order
i, f, g, o as in PyTorch) and the previous cell state, and returns ``(h, c)``; its backward is the
``lstm_cell_backward`` primitive. Double backward through the fused cell is not supported (as
with cuDNN's fused RNNs in PyTorch); it raises a clear error.

Example:
    >>> import ember
    >>> from ember.ops.rnn_kernels import lstm_cell
    >>> h, c = lstm_cell(ember.zeros(1, 8), ember.ones(1, 2))
    >>> h
    tensor([[0.2311, 0.2311]])
"""

from __future__ import annotations

import numpy as np

from .._dispatch import apply
from ..registry import ShapeError, Spec, primitive
from ..tensor import Tensor

__all__ = ["lstm_cell"]


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
