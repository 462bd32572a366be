"""How a compiled graph uses threads (``options["threading"]``): ``"blas"`` leaves GEMMs to
BLAS's own threads, ``"split"`` splits GEMMs and the native window/row kernels over ember's
intra-op threads as eager mode does, ``"auto"`` picks ``"split"`` for graphs with
convolutions or pooling. Both give eager's results."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.compiler.codegen import c_build
from ember.compiler.executor import make_executor
from ember.ops import _parallel

sys.path.insert(0, str(Path(__file__).parent))
from test_passes import traced_graphs  # noqa: E402


@pytest.mark.parametrize(
    "name,expected", [("cnn", "split"), ("mlp", "blas"), ("gpt_block", "blas")]
)
def test_auto_threading_splits_graphs_with_windows(name, expected):
    for graph, _, _ in traced_graphs(name):  # the forward and the backward graph
        assert make_executor(graph, {"backend": "numpy"}).threading == expected


def test_threading_option_is_checked():
    graph = traced_graphs("mlp")[0][0]
    assert make_executor(graph, {"backend": "numpy", "threading": "split"}).threading == "split"
    with pytest.raises(ValueError, match=r"threading must be one of 'auto', 'blas', 'split'"):
        make_executor(graph, {"threading": "openmp"})


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 14 * 14, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.fc(x.reshape(x.shape[0], -1))


@pytest.fixture
def two_threads():
    old = ember.get_num_threads()
    ember.set_num_threads(2)
    yield
    ember.set_num_threads(old)


@pytest.mark.parametrize("threading", ["split", "blas"])
def test_both_threadings_give_eager_results(two_threads, monkeypatch, threading):
    if c_build.toolchain() is None:
        pytest.skip("no working C compiler (the native kernels are what gets split)")
    ember.manual_seed(0)
    model = _Net()
    rng = np.random.default_rng(0)
    x = ember.from_numpy(rng.standard_normal((96, 1, 28, 28)).astype(np.float32))
    y = ember.from_numpy(rng.integers(0, 10, 96))

    def loss_fn(inp):
        return F.cross_entropy(model(inp), y)

    model.zero_grad()
    eager_loss = loss_fn(x)
    eager_loss.backward()
    eager = [p.grad.numpy().copy() for p in model.parameters()]

    splits = []
    run_parts = _parallel.run_parts

    def counting(fn, parts):
        splits.append(len(parts))
        return run_parts(fn, parts)

    monkeypatch.setattr(_parallel, "run_parts", counting)
    compiled = ember.compile(loss_fn, options={"threading": threading})
    for _ in range(2):
        model.zero_grad()
        splits.clear()
        loss = compiled(x)
        loss.backward()
        np.testing.assert_allclose(loss.item(), eager_loss.item(), rtol=1e-5)
        for p, g in zip(model.parameters(), eager):
            np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-4, atol=1e-5 * np.abs(g).max())
    if threading == "split":
        assert max(splits, default=0) >= 2, "nothing was split over the threads"
