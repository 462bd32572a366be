"""The one-pass C updates of Adam/AdamW/SGD give the NumPy updates' bits exactly."""

import numpy as np
import pytest

import ember
from ember.optim import _fused

CASES = [
    ("Adam", {"lr": 1e-3}),
    ("Adam", {"lr": 0.3, "betas": (0.3, 0.5)}),  # lerp weight >= 0.5: the other formula
    ("Adam", {"lr": 1e-2, "weight_decay": 0.1}),
    ("Adam", {"lr": 1e-2, "amsgrad": True}),
    ("Adam", {"lr": 1e-2, "maximize": True, "eps": 1e-3}),
    ("Adam", {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 3e-4, "weight_decay": 0.1}),
    ("AdamW", {"lr": 3e-2, "amsgrad": True}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 1e-2}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-2}),
    ("SGD", {"lr": 0.05, "maximize": True}),
]


@pytest.fixture(scope="module")
def fused_ready():
    _fused.wait()
    if not _fused.available():
        pytest.skip("no working C compiler: the optimizers use their NumPy updates only")


def _train(name, kwargs, dtype, use_fused, monkeypatch, steps=5):
    rng = np.random.default_rng(0)
    shapes = [(37, 11), (11,), (3, 4, 5), ()]
    params = [
        ember.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes
    ]
    opt = getattr(ember.optim, name)(params, **kwargs)
    with monkeypatch.context() as m:
        if not use_fused:
            m.setattr(_fused, "adam", lambda *a, **k: False)
            m.setattr(_fused, "sgd", lambda *a, **k: False)
        for step in range(steps):
            for p in params:
                g = rng.standard_normal(p.shape).astype(dtype) * (10.0 ** (step - 2))
                if p.ndim == 2:
                    g[0] = 0.0  # exact zeros and a NaN-free tiny tail
                    g[1] = 1e-30
                p.grad = ember.tensor(g)
            opt.step()
    states = [
        {k: v.numpy().copy() for k, v in opt.state[p].items() if isinstance(v, ember.Tensor)}
        for p in params
    ]
    return [p.detach().numpy().copy() for p in params], states


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_fused_update_is_bit_identical(fused_ready, monkeypatch, name, kwargs, dtype):
    p_np, s_np = _train(name, kwargs, dtype, False, monkeypatch)
    p_c, s_c = _train(name, kwargs, dtype, True, monkeypatch)
    for a, b in zip(p_c, p_np):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(s_c, s_np):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_fused_update_is_used_and_falls_back(fused_ready):
    """Contiguous float parameters take the C path; a non-contiguous gradient falls back."""
    p = np.ones(6, np.float32)
    g = np.ones(12, np.float32)[::2]  # a strided view
    m, v = np.zeros(6, np.float32), np.zeros(6, np.float32)
    kw = dict(
        weight_decay=0.0,
        decoupled=False,
        decay=1.0,
        lerp_weight=0.1,
        beta2=0.999,
        bc2=0.03,
        eps=1e-8,
        neg_step_size=-0.01,
    )
    assert _fused.adam(p, np.ascontiguousarray(g), m, v, None, **kw)
    assert not _fused.adam(p, g, m, v, None, **kw)
    assert not _fused.adam(p.astype(np.float16), g.astype(np.float16), m, v, None, **kw)
    assert not _fused.adam(p, np.ones(5, np.float32), m, v, None, **kw)


def test_adam_matches_torch_with_fused_updates(fused_ready):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((8, 5)).astype(np.float32)
    grads = [rng.standard_normal((8, 5)).astype(np.float32) for _ in range(4)]
    e = ember.tensor(w0.copy(), requires_grad=True)
    t = torch.tensor(w0.copy(), requires_grad=True)
    eo = ember.optim.AdamW([e], lr=1e-2, weight_decay=0.1)
    to = torch.optim.AdamW([t], lr=1e-2, weight_decay=0.1)
    for g in grads:
        e.grad, t.grad = ember.tensor(g), torch.tensor(g)
        eo.step()
        to.step()
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-7)
