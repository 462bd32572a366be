"""The fused LSTM sequence kernel (``ember.ops.rnn_kernels.lstm_sequence``) that nn.LSTM uses
for padded input without projections: numerical gradients, agreement with the per-step path
(``lstm_cell`` per time step) and with PyTorch, and the double-backward error."""

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import gradcheck
from ember.ops.rnn_kernels import lstm_cell, lstm_sequence
from opinfo import requires_torch, torch


def _leaves(seed, *shapes, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [ember.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("steps", [1, 4])
def test_gradcheck(reverse, steps):
    batch, hidden = 2, 3
    args = _leaves(
        0, (steps, batch, 4 * hidden), (batch, hidden), (batch, hidden), (4 * hidden, hidden)
    )

    def fn(xg, h0, c0, w_hh):
        return lstm_sequence(xg, h0, c0, w_hh, reverse=reverse)

    assert gradcheck(fn, tuple(args))


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_matches_lstm_cell_steps(reverse):
    steps, batch, hidden = 5, 3, 4
    xg, h0, c0, w = _leaves(
        1, (steps, batch, 4 * hidden), (batch, hidden), (batch, hidden), (4 * hidden, hidden)
    )
    hs, h_n, c_n = lstm_sequence(xg, h0, c0, w, reverse=reverse)
    h, c, outs = h0, c0, [None] * steps
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        h, c = lstm_cell(xg[t] + h.matmul(w.t()), c)
        outs[t] = h
    ref = (ember.stack(outs, 0), h, c)
    for got, want in zip((hs, h_n, c_n), ref):
        np.testing.assert_allclose(
            got.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12
        )
    rng = np.random.default_rng(2)
    cot = [ember.tensor(rng.standard_normal(tuple(o.shape))) for o in ref]
    grads = ember.autograd.grad(
        sum((o * g).sum() for o, g in zip((hs, h_n, c_n), cot)), [xg, h0, c0, w]
    )
    want = ember.autograd.grad(sum((o * g).sum() for o, g in zip(ref, cot)), [xg, h0, c0, w])
    for name, a, b in zip(("xg", "h0", "c0", "w_hh"), grads, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_empty_sequence_passes_state_through():
    xg, h0, c0, w = _leaves(3, (0, 2, 8), (2, 2), (2, 2), (8, 2))
    hs, h_n, c_n = lstm_sequence(xg, h0, c0, w)
    assert tuple(hs.shape) == (0, 2, 2)
    np.testing.assert_array_equal(h_n.detach().numpy(), h0.detach().numpy())
    (h_n.sum() + 2 * c_n.sum()).backward()
    np.testing.assert_array_equal(h0.grad.numpy(), np.ones((2, 2)))
    np.testing.assert_array_equal(c0.grad.numpy(), np.full((2, 2), 2.0))
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((8, 2)))


def test_shape_error():
    with pytest.raises(ValueError, match="lstm_sequence"):
        lstm_sequence(ember.zeros(3, 2, 8), ember.zeros(2, 3), ember.zeros(2, 3), ember.zeros(8, 3))


def _run_lstm(lstm, x, hx):
    out, (h, c) = lstm(x, hx)
    rng = np.random.default_rng(5)
    loss = sum(
        (
            o * ember.tensor(rng.standard_normal(tuple(o.shape)).astype(o.detach().numpy().dtype))
        ).sum()
        for o in (out, h, c)
    )
    loss.backward()
    return [out, h, c], {n: p.grad for n, p in lstm.named_parameters()}


@pytest.mark.parametrize("batch_first", [False, True])
def test_module_matches_per_step_path(batch_first):
    kw = dict(num_layers=2, bidirectional=True, batch_first=batch_first, dtype=ember.float64)
    ember.manual_seed(0)
    fused = nn.LSTM(3, 5, **kw)
    step = nn.LSTM(3, 5, **kw)
    step.load_state_dict(fused.state_dict())
    step._fused = False
    shape = (4, 6, 3) if batch_first else (6, 4, 3)
    x1, h1, c1 = _leaves(4, shape, (4, 4, 5), (4, 4, 5))
    x2, h2, c2 = (ember.tensor(t.detach().numpy(), requires_grad=True) for t in (x1, h1, c1))
    outs1, grads1 = _run_lstm(fused, x1, (h1, c1))
    outs2, grads2 = _run_lstm(step, x2, (h2, c2))
    for a, b in zip(outs1, outs2):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    for a, b in zip((x1, h1, c1), (x2, h2, c2)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name in grads1:
        np.testing.assert_allclose(
            grads1[name].numpy(), grads2[name].numpy(), rtol=1e-10, atol=1e-12, err_msg=name
        )


@requires_torch
@pytest.mark.parametrize("with_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_module_matches_torch(batch_first, with_hx):
    torch.manual_seed(0)
    tm = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True, dropout=0.0, batch_first=batch_first)
    em = nn.LSTM(4, 6, num_layers=2, bidirectional=True, dropout=0.0, batch_first=batch_first)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(6)
    shapes = [(3, 7, 4) if batch_first else (7, 3, 4)] + [(4, 3, 6)] * 2 * with_hx
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    e_in = [ember.tensor(a, requires_grad=True) for a in arrays]
    t_out, (t_h, t_c) = tm(t_in[0], tuple(t_in[1:]) if with_hx else None)
    e_out, (e_h, e_c) = em(e_in[0], tuple(e_in[1:]) if with_hx else None)
    t_loss = e_loss = 0
    for t_o, e_o in zip((t_out, t_h, t_c), (e_out, e_h, e_c)):
        np.testing.assert_allclose(e_o.detach().numpy(), t_o.detach().numpy(), rtol=1e-5, atol=1e-5)
        w = rng.standard_normal(tuple(t_o.shape)).astype(np.float32)
        t_loss = t_loss + (t_o * torch.tensor(w)).sum()
        e_loss = e_loss + (e_o * ember.tensor(w)).sum()
    t_loss.backward()
    e_loss.backward()
    for t, e in zip(t_in, e_in):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)
    e_params = dict(em.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(
            e_params[name].grad.numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=name
        )


def test_double_backward_raises():
    xg, h0, c0, w = _leaves(7, (3, 2, 8), (2, 2), (2, 2), (8, 2))
    hs, _, _ = lstm_sequence(xg, h0, c0, w)
    (g,) = ember.autograd.grad((hs * hs).sum(), [xg], create_graph=True)
    with pytest.raises(NotImplementedError, match="lstm_sequence: double backward"):
        g.sum().backward()


def test_module_double_backward_raises():
    lstm = nn.LSTM(3, 4, batch_first=True)
    x = ember.randn(2, 5, 3, requires_grad=True)
    out, _ = lstm(x)
    (g,) = ember.autograd.grad(out.pow(2).sum(), [x], create_graph=True)
    with pytest.raises(NotImplementedError, match="double backward"):
        g.pow(2).sum().backward()


def test_lstm_cell_double_backward_raises():
    gates, c = _leaves(8, (2, 8), (2, 2))
    h, _ = lstm_cell(gates, c)
    (g,) = ember.autograd.grad((h * h).sum(), [gates], create_graph=True)
    with pytest.raises(NotImplementedError, match="lstm_cell: double backward"):
        g.sum().backward()


def test_outputs_may_be_modified_in_place():
    # the kernel saves only internal arrays, so in-place ops on the outputs keep backward valid
    xg, h0, c0, w = _leaves(9, (3, 2, 8), (2, 2), (2, 2), (8, 2))
    hs, h_n, c_n = lstm_sequence(xg, h0, c0, w)
    ref = ember.autograd.grad(hs.sum() + h_n.sum() + c_n.sum(), [xg, w], retain_graph=True)
    hs.mul_(1.0)
    h_n.add_(0.0)
    c_n.add_(0.0)
    got = ember.autograd.grad(hs.sum() + h_n.sum() + c_n.sum(), [xg, w])
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
