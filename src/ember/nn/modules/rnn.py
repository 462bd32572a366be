"""Recurrent layers: RNN, LSTM, GRU and their single-step cells, with PyTorch's weights.

Parameters are named and laid out exactly as in PyTorch (``weight_ih_l0``, ``weight_hh_l0``,
``bias_ih_l0``, ``bias_hh_l0``, ``weight_hr_l0`` for LSTM projections, ``..._reverse`` for the
backward direction; gates stacked in the order i, f, g, o for LSTM and r, z, n for GRU), so a
converted ``torch`` state_dict loads unchanged. Every parameter starts as
``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``, PyTorch's default.

The input projection of a whole sequence is one matrix product per layer and direction;
only the hidden-to-hidden product and the gate arithmetic run per time step. For an LSTM on a
padded batch without ``proj_size`` the whole recurrence of a layer and direction is one fused
primitive (:func:`~ember.ops.rnn_kernels.lstm_sequence`, backward included; it does not support
double backward); packed input and projections use the per-step path. Inputs may be
``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``), unbatched ``(L, H_in)``, or a
:class:`~ember.nn.utils.rnn.PackedSequence`.

Example:
    >>> import ember
    >>> from ember import nn
    >>> lstm = nn.LSTM(input_size=3, hidden_size=5, num_layers=2, batch_first=True)
    >>> out, (h, c) = lstm(ember.ones(4, 7, 3))
    >>> out.shape, h.shape, c.shape
    (ember.Size([4, 7, 5]), ember.Size([2, 4, 5]), ember.Size([2, 4, 5]))
"""

from __future__ import annotations

import math
import numbers
import warnings

from ...tensor import Tensor
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _empty(*shape, dtype=None) -> Tensor:
    from ...ops.creation import empty

    return empty(*shape, dtype=dtype)


def _zeros(*shape, dtype=None) -> Tensor:
    from ...ops.creation import zeros

    return zeros(*shape, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# one time step of each cell, given the input projection ``xg = x @ W_ih^T + b`` of that step
# ---------------------------------------------------------------------------------------------
def _rnn_step(act):
    def step(xg, state, w_hh_t, b_hh, w_hr_t):
        from ...ops.linalg import matmul

        pre = xg + matmul(state[0], w_hh_t)
        if b_hh is not None:
            pre = pre + b_hh
        return (act(pre),)

    return step


def _lstm_step(xg, state, w_hh_t, b_hh, w_hr_t):
    from ...ops.linalg import matmul
    from ...ops.rnn_kernels import lstm_cell

    h, c = state
    gates = xg + matmul(h, w_hh_t)
    if b_hh is not None:
        gates = gates + b_hh
    h, c = lstm_cell(gates, c)
    if w_hr_t is not None:
        h = matmul(h, w_hr_t)
    return (h, c)


def _gru_step(xg, state, w_hh_t, b_hh, w_hr_t):
    from ...ops.elementwise import sigmoid, tanh
    from ...ops.linalg import matmul

    (h,) = state
    hg = matmul(h, w_hh_t)
    if b_hh is not None:
        hg = hg + b_hh
    xr, xz, xn = xg.chunk(3, dim=-1)
    hr, hz, hn = hg.chunk(3, dim=-1)
    r = sigmoid(xr + hr)
    z = sigmoid(xz + hz)
    n = tanh(xn + r * hn)
    return (n + z * (h - n),)


def _step_fn(mode: str):
    from ...ops.elementwise import relu, tanh

    if mode == "LSTM":
        return _lstm_step
    if mode == "GRU":
        return _gru_step
    return _rnn_step(tanh if mode == "RNN_TANH" else relu)


# ---------------------------------------------------------------------------------------------
# one layer, one direction, over a whole (padded or packed) sequence
# ---------------------------------------------------------------------------------------------
def _run_direction(step, xg_steps, state, weights, sizes, reverse):
    """Run ``step`` over the per-time-step input projections ``xg_steps``.

    ``sizes`` is None for a padded batch, else the packed batch size of each step
    (non-increasing). Returns the per-step outputs and the final state (full batch).
    """
    from ...ops.movement import cat

    w_hh_t, b_hh, w_hr_t = weights
    order = range(len(xg_steps) - 1, -1, -1) if reverse else range(len(xg_steps))
    outs = [None] * len(xg_steps)
    if sizes is None:
        for t in order:
            state = step(xg_steps[t], state, w_hh_t, b_hh, w_hr_t)
            outs[t] = state[0]
        return outs, state
    full = state
    if reverse:  # the batch grows as we walk back: new rows start from the initial state
        cur = tuple(s[: sizes[-1]] for s in full)
        for t in order:
            bs = sizes[t]
            if bs > cur[0].shape[0]:
                cur = tuple(cat([c, s[c.shape[0] : bs]]) for c, s in zip(cur, full))
            cur = step(xg_steps[t], cur, w_hh_t, b_hh, w_hr_t)
            outs[t] = cur[0]
        return outs, cur
    cur = tuple(s[: sizes[0]] for s in full)
    finished = []  # final states of sequences that ended, later-ending (lower rows) last
    for t in order:
        bs = sizes[t]
        if bs < cur[0].shape[0]:
            finished.append(tuple(c[bs:] for c in cur))
            cur = tuple(c[:bs] for c in cur)
        cur = step(xg_steps[t], cur, w_hh_t, b_hh, w_hr_t)
        outs[t] = cur[0]
    if finished:
        parts = [cur] + finished[::-1]
        cur = tuple(cat([p[k] for p in parts]) for k in range(len(cur)))
    return outs, cur


class RNNBase(Module):
    """Base class of :class:`RNN`, :class:`LSTM` and :class:`GRU` (``mode`` is ``"RNN_TANH"``,
    ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``)."""

    #: run a padded LSTM without projections through the fused ``lstm_sequence`` kernel (set
    #: False on an instance to force the per-step path that packed input and projections use)
    _fused = True

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f"{name}: unrecognized RNN mode {mode!r}")
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout should be a number in range [0, 1], got {dropout}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1], got {dropout}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                stacklevel=3,
            )
        for arg, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{name}: {arg} should be of type bool, got {type(value).__name__}")
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int):
                raise TypeError(f"{name}: {arg} should be of type int, got {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name}: {arg} must be greater than zero, got {value}")
        if num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be greater than zero, got {num_layers}")
        if proj_size < 0:
            raise ValueError(
                f"{name}: proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError(
                f"{name}: proj_size has to be smaller than hidden_size, got {proj_size} >= "
                f"{hidden_size}"
            )
        if proj_size and mode != "LSTM":
            raise ValueError(
                f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU"
            )
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_in = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [
                    ("weight_ih_l{}{}", (gate_size, layer_in)),
                    ("weight_hh_l{}{}", (gate_size, real_hidden)),
                ]
                if bias:
                    shapes += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr_l{}{}", (proj_size, hidden_size))]
                names = []
                for pattern, shape in shapes:
                    pname = pattern.format(layer, suffix)
                    setattr(self, pname, Parameter(_empty(*shape, dtype=dtype)))
                    names.append(pname)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction, in PyTorch's order."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """No-op (PyTorch compacts cuDNN weights here)."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- forward ---------------------------------------------------------------------------
    def _state_sizes(self) -> list[int]:
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        return [real_hidden, self.hidden_size] if self.mode == "LSTM" else [real_hidden]

    def forward(self, input, hx=None):
        """Run the layers over ``input``; returns ``(output, h_n)`` (``(output, (h_n, c_n))``
        for LSTM)."""
        from ...ops.movement import stack
        from ..utils.rnn import PackedSequence

        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        is_lstm = self.mode == "LSTM"
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            sizes = [int(b) for b in batch_sizes.tolist()]
            batch = sizes[0]
            x = data
            if x.dim() != 2:
                raise RuntimeError(
                    f"{name}: packed input data must have 2 dimensions, got {x.dim()}"
                )
            batched = True
        else:
            sizes = sorted_indices = unsorted_indices = None
            x = input
            if not isinstance(x, Tensor):
                raise TypeError(f"{name}: input must be a Tensor or PackedSequence, got {type(x)}")
            if x.dim() not in (2, 3):
                raise ValueError(
                    f"{name}: Expected input to be 2D or 3D, got {x.dim()}D tensor of shape "
                    f"{tuple(x.shape)}"
                )
            batched = x.dim() == 3
            if not batched:
                x = x.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
            batch = x.shape[1]
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {x.shape[-1]} (input shape {tuple(x.shape)})"
            )
        if x.dtype != self._flat_weights[0].dtype:
            raise ValueError(
                f"{name}: input dtype ({x.dtype}) does not match weight dtype "
                f"({self._flat_weights[0].dtype})"
            )
        states = self._initial_states(hx, batch, batched, x.dtype, sorted_indices, is_lstm)
        out, finals = self._run(x, states, sizes)
        if packed:
            output = PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices)
        else:
            output = out
            if not batched:
                output = output.squeeze(1)
            elif self.batch_first:
                output = output.transpose(0, 1)
        finals = [stack(f, 0) for f in finals]
        if unsorted_indices is not None:
            finals = [f.index_select(1, unsorted_indices) for f in finals]
        if not batched:
            finals = [f.squeeze(1) for f in finals]
        return output, (tuple(finals) if is_lstm else finals[0])

    def _initial_states(self, hx, batch, batched, dtype, sorted_indices, is_lstm) -> list:
        name = type(self).__name__
        num_directions = 2 if self.bidirectional else 1
        n = self.num_layers * num_directions
        sizes = self._state_sizes()
        if hx is None:
            return [_zeros(n, batch, s, dtype=dtype) for s in sizes]
        hs = list(hx) if is_lstm else [hx]
        if is_lstm and (not isinstance(hx, (tuple, list)) or len(hs) != 2):
            raise RuntimeError(f"{name}: hx must be a tuple (h_0, c_0)")
        if not is_lstm and not isinstance(hx, Tensor):
            raise RuntimeError(f"{name}: hx must be a Tensor, got {type(hx).__name__}")
        out = []
        for what, h, s in zip(("h_0", "c_0"), hs, sizes):
            expected_dim = 3 if batched else 2
            if h.dim() != expected_dim:
                raise RuntimeError(
                    f"{name}: for {'batched 3-D' if batched else 'unbatched 2-D'} input, {what} "
                    f"should also be {expected_dim}-D but got {h.dim()}-D tensor"
                )
            if not batched:
                h = h.unsqueeze(1)
            if tuple(h.shape) != (n, batch, s):
                raise RuntimeError(
                    f"{name}: Expected hidden size {(n, batch, s)}, got {list(h.shape)} for {what}"
                )
            if sorted_indices is not None:
                h = h.index_select(1, sorted_indices)
            out.append(h)
        return out

    def _run(self, x, states, sizes):
        from ...ops.movement import cat, stack
        from ...ops.rnn_kernels import lstm_sequence
        from ..functional.dropout import dropout
        from ..functional.linear import linear

        step = _step_fn(self.mode)
        # a padded LSTM without projections runs each layer and direction as one fused primitive
        fused = self.mode == "LSTM" and sizes is None and not self.proj_size and self._fused
        num_directions = 2 if self.bidirectional else 1
        nstate = len(states)
        finals = [[] for _ in range(nstate)]
        layer_in = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                idx = layer * num_directions + direction
                suffix = "_reverse" if direction else ""
                w_ih = getattr(self, f"weight_ih_l{layer}{suffix}")
                w_hh = getattr(self, f"weight_hh_l{layer}{suffix}")
                b_ih = getattr(self, f"bias_ih_l{layer}{suffix}") if self.bias else None
                b_hh = getattr(self, f"bias_hh_l{layer}{suffix}") if self.bias else None
                w_hr = getattr(self, f"weight_hr_l{layer}{suffix}") if self.proj_size else None
                if b_hh is not None and self.mode != "GRU":
                    # both biases are plain additions: fold them into the input projection
                    xg = linear(layer_in, w_ih, b_ih + b_hh)
                    b_step = None
                else:
                    xg = linear(layer_in, w_ih, b_ih)
                    b_step = b_hh
                state = tuple(s[idx] for s in states)
                if fused:
                    hs, h_n, c_n = lstm_sequence(
                        xg, state[0], state[1], w_hh, reverse=direction == 1
                    )
                    outputs.append(hs)
                    finals[0].append(h_n)
                    finals[1].append(c_n)
                    continue
                steps = xg.split(sizes, 0) if sizes is not None else xg.unbind(0)
                weights = (w_hh.t(), b_step, w_hr.t() if w_hr is not None else None)
                outs, final = _run_direction(step, steps, state, weights, sizes, direction == 1)
                outputs.append(cat(outs, 0) if sizes is not None else stack(outs, 0))
                for k in range(nstate):
                    finals[k].append(final[k])
            layer_in = outputs[0] if num_directions == 1 else cat(outputs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = dropout(layer_in, self.dropout, training=True)
        return layer_in, finals


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, ``act`` is tanh or
    relu (``nonlinearity``).

    Example:
        >>> import ember
        >>> rnn = ember.nn.RNN(3, 4, num_layers=2, bidirectional=True)
        >>> out, h = rnn(ember.ones(6, 2, 3))
        >>> out.shape, h.shape
        (ember.Size([6, 2, 8]), ember.Size([4, 2, 4]))
    """

    def __init__(self, *args, **kwargs):
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if len(args) > 3:
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"RNN: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'"
            )
        self.nonlinearity = nonlinearity
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory, gates ``i, f, g, o``; with ``proj_size > 0`` the hidden state
    is projected by ``weight_hr`` (``h_t = (o * tanh(c_t)) W_hr^T``).

    Example:
        >>> import ember
        >>> lstm = ember.nn.LSTM(3, 4, proj_size=2)
        >>> out, (h, c) = lstm(ember.ones(5, 3))  # unbatched (L, H_in)
        >>> out.shape, h.shape, c.shape
        (ember.Size([5, 2]), ember.Size([1, 2]), ember.Size([1, 4]))
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit, gates ``r, z, n``:
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    Example:
        >>> import ember
        >>> gru = ember.nn.GRU(3, 4, batch_first=True)
        >>> out, h = gru(ember.ones(2, 5, 3))
        >>> out.shape, h.shape
        (ember.Size([2, 5, 4]), ember.Size([1, 2, 4]))
    """

    def __init__(self, *args, **kwargs):
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """Base class of the single-step cells: ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh`` with ``num_chunks`` gates."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(_empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(_empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx, nstate: int):
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.dim() not in (1, 2):
            raise ValueError(
                f"{name}: Expected input to be 1D or 2D, got "
                f"{getattr(input, 'shape', type(input).__name__)}"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input has inconsistent input_size: got {input.shape[-1]} expected "
                f"{self.input_size} (input shape {tuple(input.shape)})"
            )
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            zero = _zeros(x.shape[0], self.hidden_size, dtype=x.dtype)
            return x, (zero,) * nstate, batched
        hs = tuple(hx) if nstate == 2 else (hx,)
        out = []
        for h in hs:
            if h.dim() != input.dim():
                raise RuntimeError(
                    f"{name}: Expected hidden to be {input.dim()}D for "
                    f"{'batched' if batched else 'unbatched'} input, got {h.dim()}D"
                )
            h = h if batched else h.unsqueeze(0)
            if tuple(h.shape) != (x.shape[0], self.hidden_size):
                raise RuntimeError(
                    f"{name}: hidden of shape {tuple(h.shape)} does not match "
                    f"(batch, hidden_size) = {(x.shape[0], self.hidden_size)}"
                )
            out.append(h)
        return x, tuple(out), batched

    def _step(self, step, x, state, fold_bias: bool):
        from ..functional.linear import linear

        b_ih, b_hh = self.bias_ih, self.bias_hh
        if fold_bias and b_hh is not None:
            xg, b_step = linear(x, self.weight_ih, b_ih + b_hh), None
        else:
            xg, b_step = linear(x, self.weight_ih, b_ih), b_hh
        return step(xg, state, self.weight_hh.t(), b_step, None)


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Example:
        >>> import ember
        >>> cell = ember.nn.RNNCell(3, 4, nonlinearity="relu")
        >>> cell(ember.ones(2, 3)).shape
        ember.Size([2, 4])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity: {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, 1, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, state, batched = self._prepare(input, hx, 1)
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        (h,) = self._step(_step_fn(mode), x, state, True)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``.

    Example:
        >>> import ember
        >>> cell = ember.nn.LSTMCell(3, 4)
        >>> h, c = cell(ember.ones(2, 3))
        >>> h.shape, c.shape
        (ember.Size([2, 4]), ember.Size([2, 4]))
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__(input_size, hidden_size, bias, 4, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple[Tensor, Tensor]:
        x, state, batched = self._prepare(input, hx, 2)
        h, c = self._step(_lstm_step, x, state, True)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n).

    Example:
        >>> import ember
        >>> cell = ember.nn.GRUCell(3, 4)
        >>> cell(ember.ones(3)).shape
        ember.Size([4])
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__(input_size, hidden_size, bias, 3, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, state, batched = self._prepare(input, hx, 1)
        (h,) = self._step(_gru_step, x, state, False)
        return h if batched else h.squeeze(0)
