"""fit(jit_compile=True) trains through compiled graphs and matches eager fit exactly."""

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.training import Model


def _data(n=150):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 1, 6, 6)).astype(np.float32)
    y = (x.reshape(n, -1).sum(1) > 0).astype(np.int64)
    return x, y


def _model():
    ember.manual_seed(0)
    net = nn.Sequential(
        # no conv bias: BatchNorm cancels it, so its true gradient is 0 and Adam would turn the
        # float32 rounding left in it (which differs with the summation order) into full steps
        nn.Conv2d(1, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(36, 2),
    )
    return Model(net)


@pytest.mark.parametrize("where", ["compile", "fit"])
def test_jit_compile_matches_eager(where):
    x, y = _data()
    histories = []
    for jit in (False, True):
        m = _model()
        m.compile(
            "adam",
            "cross_entropy",
            metrics=["accuracy"],
            lr=1e-2,
            jit_compile=jit and where == "compile",
        )
        kw = {"jit_compile": jit} if where == "fit" else {}
        h = m.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False, **kw)
        histories.append((h.history, m.state_dict()))
    (h0, s0), (h1, s1) = histories
    np.testing.assert_allclose(h1["loss"], h0["loss"], rtol=1e-6)
    np.testing.assert_allclose(h1["accuracy"], h0["accuracy"], rtol=1e-6)
    for k in s0:
        np.testing.assert_allclose(s1[k].numpy(), s0[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


def test_jit_compile_traces_once_per_batch_shape():
    x, y = _data(70)  # batches of 32, 32 and 6
    m = _model()
    m.compile("sgd", "cross_entropy", lr=0.1, jit_compile=True)
    m.fit(x, y, epochs=3, batch_size=32, verbose=0)
    assert m.train_function == m._compiled_train_step
    assert m.__dict__["_compiled_forward_loss"].traces == 2
