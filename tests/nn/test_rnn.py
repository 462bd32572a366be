"""Recurrent layers against PyTorch: torch's initialised weights are copied into ember by
state_dict key, then outputs, final states and gradients w.r.t. the input, the initial states
and every parameter are compared (float32, rtol/atol 1e-5 unless noted)."""

import itertools

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from opinfo import requires_torch, torch

pytestmark = requires_torch
RTOL = ATOL = 1e-5


def _np(t):
    if isinstance(t, ember.Tensor):
        return t.detach().numpy()
    return t.detach().numpy()


def close(a, b, what, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol, err_msg=what)


def twin(tcls, ecls, *args, **kwargs):
    """A torch module and an ember module with the same (torch-initialised) weights."""
    torch.manual_seed(0)
    tm = tcls(*args, **kwargs)
    em = ecls(*args, **kwargs)
    assert sorted(tm.state_dict()) == sorted(em.state_dict())
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, em


def leaves(seed, *shapes):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    te = [torch.tensor(a, requires_grad=True) for a in arrays]
    ee = [ember.tensor(a, requires_grad=True) for a in arrays]
    return te, ee


def flat(out):
    """Flatten nested (output, (h, c)) structures into a list of tensors."""
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in flat(o)]
    if hasattr(out, "batch_sizes"):
        return [out.data]
    return [out]


def check_backward(t_outs, e_outs, t_leaves, e_leaves, tm, em, seed=1):
    """Backprop the same random cotangents and compare all gradients."""
    rng = np.random.default_rng(seed)
    t_loss, e_loss = 0, 0
    for t_o, e_o in zip(t_outs, e_outs):
        w = rng.standard_normal(tuple(t_o.shape)).astype(np.float32)
        t_loss = t_loss + (t_o * torch.tensor(w)).sum()
        e_loss = e_loss + (e_o * ember.tensor(w)).sum()
    t_loss.backward()
    e_loss.backward()
    for i, (t, e) in enumerate(zip(t_leaves, e_leaves)):
        close(e.grad, t.grad, f"grad of input {i}")
    e_params = dict(em.named_parameters())
    for name, p in tm.named_parameters():
        close(e_params[name].grad, p.grad, f"grad of {name}")


MODES = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {}),
    ("LSTM", {"proj_size": 3}),
    ("GRU", {}),
]
OPTIONS = [
    {},
    {"num_layers": 2, "bidirectional": True},
    {"num_layers": 2, "batch_first": True, "bias": False},
    {"num_layers": 3, "dropout": 0.3},  # compared in eval mode
    {"bidirectional": True, "batch_first": True},
]


def _ids(items):
    return ["-".join(f"{k}={v}" for k, v in d.items()) or "default" for d in items]


@pytest.mark.parametrize("with_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("options", OPTIONS, ids=_ids(OPTIONS))
@pytest.mark.parametrize("mode", MODES, ids=[m + _ids([k])[0] for m, k in MODES])
def test_layer_matches_torch(mode, options, with_hx):
    name, kw = mode
    h_in, hidden, seq, batch = 4, 6, 5, 3
    tm, em = twin(getattr(torch.nn, name), getattr(nn, name), h_in, hidden, **kw, **options)
    if options.get("dropout"):
        tm.eval(), em.eval()
    d = 2 if options.get("bidirectional") else 1
    layers = options.get("num_layers", 1)
    x_shape = (batch, seq, h_in) if options.get("batch_first") else (seq, batch, h_in)
    h_out = kw.get("proj_size", hidden)
    shapes = [x_shape]
    if with_hx:
        shapes.append((layers * d, batch, h_out))
        if name == "LSTM":
            shapes.append((layers * d, batch, hidden))
    t_in, e_in = leaves(2, *shapes)
    t_hx = e_hx = None
    if with_hx:
        t_hx = tuple(t_in[1:]) if name == "LSTM" else t_in[1]
        e_hx = tuple(e_in[1:]) if name == "LSTM" else e_in[1]
    t_out, e_out = flat(tm(t_in[0], t_hx)), flat(em(e_in[0], e_hx))
    assert [tuple(o.shape) for o in e_out] == [tuple(o.shape) for o in t_out]
    for i, (e, t) in enumerate(zip(e_out, t_out)):
        close(e, t, f"output {i}")
    check_backward(t_out, e_out, t_in, e_in, tm, em)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched(name):
    tm, em = twin(getattr(torch.nn, name), getattr(nn, name), 3, 4, num_layers=2)
    hshape = [(2, 4)] * (2 if name == "LSTM" else 1)
    t_in, e_in = leaves(3, (6, 3), *hshape)
    t_hx = tuple(t_in[1:]) if name == "LSTM" else t_in[1]
    e_hx = tuple(e_in[1:]) if name == "LSTM" else e_in[1]
    t_out, e_out = flat(tm(t_in[0], t_hx)), flat(em(e_in[0], e_hx))
    for i, (e, t) in enumerate(zip(e_out, t_out)):
        assert tuple(e.shape) == tuple(t.shape)
        close(e, t, f"output {i}")
    check_backward(t_out, e_out, t_in, e_in, tm, em)


@pytest.mark.parametrize(
    "name,kw",
    [("RNN", {}), ("LSTM", {}), ("LSTM", {"proj_size": 2}), ("GRU", {})],
    ids=["RNN", "LSTM", "LSTM-proj", "GRU"],
)
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequence(name, kw, enforce_sorted):
    tm, em = twin(
        getattr(torch.nn, name), getattr(nn, name), 3, 4, num_layers=2, bidirectional=True, **kw
    )
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    t_in, e_in = leaves(4, (5, 4, 3))
    t_packed = torch.nn.utils.rnn.pack_padded_sequence(
        t_in[0], torch.tensor(lengths), enforce_sorted=enforce_sorted
    )
    e_packed = pack_padded_sequence(e_in[0], ember.tensor(lengths), enforce_sorted=enforce_sorted)
    t_po, t_h = tm(t_packed)
    e_po, e_h = em(e_packed)
    close(e_po.data, t_po.data, "packed output data")
    np.testing.assert_array_equal(e_po.batch_sizes.numpy(), t_po.batch_sizes.numpy())
    t_pad, _ = torch.nn.utils.rnn.pad_packed_sequence(t_po)
    e_pad, _ = pad_packed_sequence(e_po)
    t_out, e_out = [t_pad] + flat(t_h), [e_pad] + flat(e_h)
    for i, (e, t) in enumerate(zip(e_out, t_out)):
        close(e, t, f"output {i}")
    check_backward(t_out, e_out, t_in, e_in, tm, em)


CELLS = [
    ("RNNCell", {}),
    ("RNNCell", {"nonlinearity": "relu"}),
    ("RNNCell", {"bias": False}),
    ("LSTMCell", {}),
    ("LSTMCell", {"bias": False}),
    ("GRUCell", {}),
    ("GRUCell", {"bias": False}),
]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("name,kw", CELLS, ids=[n + _ids([k])[0] for n, k in CELLS])
def test_cell_matches_torch(name, kw, with_hx, batched):
    tm, em = twin(getattr(torch.nn, name), getattr(nn, name), 3, 5, **kw)
    lead = (4,) if batched else ()
    shapes = [lead + (3,)]
    if with_hx:
        shapes += [lead + (5,)] * (2 if name == "LSTMCell" else 1)
    t_in, e_in = leaves(5, *shapes)
    t_hx = e_hx = None
    if with_hx:
        t_hx = tuple(t_in[1:]) if name == "LSTMCell" else t_in[1]
        e_hx = tuple(e_in[1:]) if name == "LSTMCell" else e_in[1]
    t_out, e_out = flat(tm(t_in[0], t_hx)), flat(em(e_in[0], e_hx))
    for i, (e, t) in enumerate(zip(e_out, t_out)):
        assert tuple(e.shape) == tuple(t.shape)
        close(e, t, f"output {i}")
    check_backward(t_out, e_out, t_in, e_in, tm, em)


def test_lstm_cell_gradcheck():
    ember.manual_seed(0)
    cell = nn.LSTMCell(2, 3).double()
    x = ember.randn(2, 2, dtype=ember.float64, requires_grad=True)
    h = ember.randn(2, 3, dtype=ember.float64, requires_grad=True)
    c = ember.randn(2, 3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, h, c: cell(x, (h, c)), (x, h, c))


def test_gru_gradcheck():
    ember.manual_seed(1)
    gru = nn.GRU(2, 3, bidirectional=True).double()
    x = ember.randn(3, 2, 2, dtype=ember.float64, requires_grad=True)
    h = ember.randn(2, 2, 3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, h: gru(x, h)[0], (x, h))


def test_state_dict_names_and_init_range():
    lstm = nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=4)
    t_lstm = torch.nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=4)
    assert list(lstm.state_dict()) == list(t_lstm.state_dict())
    for k, v in lstm.state_dict().items():
        assert tuple(v.shape) == tuple(t_lstm.state_dict()[k].shape), k
        assert float(v.abs().max()) <= 1 / np.sqrt(8)
    assert repr(lstm) == repr(t_lstm)
    assert repr(nn.GRUCell(2, 3, bias=False)) == repr(torch.nn.GRUCell(2, 3, bias=False))
    assert repr(nn.RNN(2, 3, nonlinearity="relu", batch_first=True)) == repr(
        torch.nn.RNN(2, 3, nonlinearity="relu", batch_first=True)
    )
    assert len(lstm.all_weights) == 4 and len(lstm.all_weights[0]) == 5


def test_dropout_between_layers_in_training():
    ember.manual_seed(0)
    rnn = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = ember.randn(5, 2, 3)
    a, _ = rnn(x)
    b, _ = rnn(x)
    assert not np.allclose(_np(a), _np(b))  # a fresh mask each call
    rnn.eval()
    c, _ = rnn(x)
    d, _ = rnn(x)
    np.testing.assert_array_equal(_np(c), _np(d))


def test_errors_name_layer_and_shapes():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match=r"LSTM: input.size\(-1\) must be equal to input_size"):
        lstm(ember.ones(5, 2, 7))
    with pytest.raises(RuntimeError, match=r"LSTM: Expected hidden size \(1, 2, 4\)"):
        lstm(ember.ones(5, 2, 3), (ember.zeros(1, 3, 4), ember.zeros(1, 3, 4)))
    with pytest.raises(ValueError, match="GRU: Expected input to be 2D or 3D"):
        nn.GRU(3, 4)(ember.ones(3))
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(RuntimeError, match="RNNCell: input has inconsistent input_size"):
        nn.RNNCell(3, 4)(ember.ones(2, 5))
    with pytest.raises(ValueError, match="RNN: unknown nonlinearity"):
        nn.RNN(3, 4, nonlinearity="gelu")


def test_load_torch_checkpoint_all_combinations():
    # every (mode, layers, directions, bias) loads strictly from torch's state_dict
    for name, layers, bidi, bias in itertools.product(
        ["RNN", "LSTM", "GRU"], [1, 2], [False, True], [False, True]
    ):
        t = getattr(torch.nn, name)(2, 3, num_layers=layers, bidirectional=bidi, bias=bias)
        e = getattr(nn, name)(2, 3, num_layers=layers, bidirectional=bidi, bias=bias)
        sd = {k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()}
        result = e.load_state_dict(sd)
        assert not result.missing_keys and not result.unexpected_keys
