"""ember.utils.summary.summary: rows, shapes, counts, memory, and no side effects."""

import numpy as np
import pytest

import ember
from ember import nn
from ember.utils.summary import ModelSummary, summary


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5))
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        return self.out(self.seq(x))


class TwoInTwoOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 5)
        self.b = nn.Linear(2, 5)
        self.scale = nn.Parameter(ember.ones(5))

    def forward(self, x, y):
        h = self.a(x) + self.b(y)
        return h * self.scale, {"sum": h.sum(dim=1)}


def test_nested_rows_shapes_and_counts():
    model = Block()
    s = summary(model, ember.zeros(2, 4))
    assert isinstance(s, ModelSummary) and isinstance(s, str)
    rows = [(r.name, r.type_name, r.output_shape, r.params) for r in s.layers]
    assert rows == [
        ("seq.0", "Linear", "(2, 8)", 40),
        ("seq.1", "BatchNorm1d", "(2, 8)", 16),
        ("seq.2", "ReLU", "(2, 8)", 0),
        ("seq.3", "Dropout", "(2, 8)", 0),
        ("out", "Linear", "(2, 3)", 27),
    ]
    assert s.total_params == 83 == sum(p.numel() for p in model.parameters())
    assert s.trainable_params == 83 and s.non_trainable_params == 0
    assert s.param_bytes == 83 * 4
    assert s.buffer_bytes == sum(b.nbytes for b in model.buffers())
    assert s.activation_bytes == (4 * 2 * 8 + 2 * 3) * 4
    assert s.input_bytes == 2 * 4 * 4
    for text in ["seq.0 (Linear)", "(2, 8)", "Total params: 83", "Trainable params: 83",
                 "Non-trainable params: 0", "Params size (MB)", "Forward activations (MB)",
                 "Estimated total size (MB)"]:  # fmt: skip
        assert text in s, text


def test_no_side_effects():
    model = Block()
    model.train()
    model.seq[1].eval()  # a mixed state must be restored exactly
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    summary(model, input_size=(5, 4))
    assert model.training and model.seq[0].training and not model.seq[1].training
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])  # BN running stats untouched
    assert not model.seq[0]._forward_hooks  # hooks removed


def test_multiple_inputs_outputs_and_own_params():
    model = TwoInTwoOut()
    s = summary(model, (ember.zeros(4, 3), ember.zeros(4, 2)))
    names = [r.name for r in s.layers]
    assert names == ["TwoInTwoOut", "a", "b"]  # the root owns `scale`
    root = s.layers[0]
    assert root.params == 5
    assert root.output_shape == "[(4, 5), {sum: (4)}]"
    assert s.total_params == 5 + 20 + 15
    s2 = summary(model, input_size=[(1, 3), (1, 2)])
    assert s2.layers[1].output_shape == "(1, 5)"
    s3 = summary(model, {"x": ember.zeros(1, 3), "y": ember.zeros(1, 2)})
    assert s3.layers[2].output_shape == "(1, 5)"


def test_non_trainable_shared_and_repeated():
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, nn.Tanh(), lin)  # shared: counted once, called twice
    model[0].bias.requires_grad_(False)
    s = summary(model, ember.zeros(1, 3))
    assert s.total_params == 12
    assert s.trainable_params == 9 and s.non_trainable_params == 3
    assert "x2" in s


def test_without_inputs_and_dtypes():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 2))
    s = summary(model)
    assert all(r.output_shape is None for r in s.layers) and "--" in s
    assert s.total_params == 40 + 10
    s = summary(model, input_size=(2, 7), dtypes=[ember.int64])
    assert [r.output_shape for r in s.layers] == ["(2, 7, 4)", "(2, 7, 2)"]


def test_print_fn_and_rnn_outputs():
    seen = []
    model = nn.LSTM(4, 6, batch_first=True)
    s = summary(model, ember.zeros(2, 5, 4), print_fn=seen.append)
    assert seen == [s]
    assert s.layers[0].output_shape == "[(2, 5, 6), [(1, 2, 6), (1, 2, 6)]]"


def test_errors_propagate_and_restore():
    model = nn.Sequential(nn.Linear(4, 2))
    model.train()
    with pytest.raises(Exception):
        summary(model, ember.zeros(1, 5))
    assert model.training and not model[0]._forward_hooks
