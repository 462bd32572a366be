"""nn.Module semantics: registration, traversal, state_dict, modes, hooks, repr."""

from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.fc2 = nn.Linear(3, 2, bias=False)
        self.register_buffer("count", ember.zeros(()))
        self.register_buffer("scratch", ember.zeros(2), persistent=False)
        self.scale = nn.Parameter(ember.ones(1))

    def forward(self, x):
        return self.fc2(self.fc1(x).relu()) * self.scale


def test_registration_and_traversal():
    m = Block()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert [n for n, _ in m.named_buffers()] == ["count", "scratch"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "fc2"]
    assert [n for n, _ in m.named_children()] == ["fc1", "fc2"]
    assert len(list(m.parameters(recurse=False))) == 1


def test_state_dict_keys_and_persistence():
    m = Block()
    sd = m.state_dict()
    assert list(sd) == ["scale", "count", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert not sd["fc1.weight"].requires_grad
    assert m.state_dict(keep_vars=True)["fc1.weight"] is m.fc1.weight


def test_load_state_dict_strict_and_lenient():
    a, b = Block(), Block()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(b.fc1.weight.detach().numpy(), a.fc1.weight.detach().numpy())
    sd = a.state_dict()
    del sd["fc1.bias"]
    sd["extra"] = ember.zeros(1)
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "fc1.bias"'):
        b.load_state_dict(sd)
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc1.bias"] and res.unexpected_keys == ["extra"]
    sd = a.state_dict()
    sd["fc1.weight"] = ember.zeros(5, 5)
    with pytest.raises(RuntimeError, match="size mismatch for fc1.weight"):
        b.load_state_dict(sd)


def test_assignment_rules():
    m = Block()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        m.scale = ember.ones(1)
    m.scale = None
    assert "scale" not in dict(m.named_parameters())
    m.count = ember.ones(())
    assert m.state_dict()["count"].item() == 1.0
    del m.fc2
    assert [n for n, _ in m.named_children()] == ["fc1"]
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        m.nope  # noqa: B018

    class Early(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_train_eval_requires_grad_zero_grad_apply():
    m = Block()
    m.eval()
    assert not m.training and not m.fc1.training
    m.train()
    assert m.fc2.training
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_(True)
    m(ember.ones(2, 4)).sum().backward()
    assert m.fc1.weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert float(m.fc1.weight.grad.abs().sum()) == 0.0
    m.zero_grad()
    assert m.fc1.weight.grad is None
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Linear", "Block"]


def test_to_dtype():
    m = Block().to(ember.float64)
    assert m.fc1.weight.dtype is ember.float64 and isinstance(m.fc1.weight, nn.Parameter)
    assert m.count.dtype is ember.float64
    assert m(ember.ones(1, 4, dtype=ember.float64)).dtype is ember.float64


def test_forward_hooks_and_handles():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out) or out + 1)
    out = m(ember.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), m.bias.detach().numpy()[None] + 1, rtol=1e-6)
    h1.remove()
    h2.remove()
    out2 = m(ember.ones(1, 2))
    assert len(calls) == 1
    assert out2.shape == (1, 2)


def test_full_backward_hook_sees_module_gradients():
    torch = pytest.importorskip("torch")

    def run(lib):
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 2)
        with lib.no_grad():
            m.weight.copy_(lib.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]))
            m.bias.copy_(lib.tensor([0.1, -0.2]))
        seen = {}

        def hook(mod, gin, gout):
            seen["gin"] = gin[0].detach().numpy().copy()
            seen["gout"] = gout[0].detach().numpy().copy()
            return (gin[0] * 2,)

        m.register_full_backward_hook(hook)
        x = lib.tensor([[1.0, -1.0, 0.5]], requires_grad=True)
        (m(x) * lib.tensor([[1.0, 3.0]])).sum().backward()
        return seen, x.grad.numpy().copy()

    (ours, gx), (theirs, tgx) = run(ember), run(torch)
    np.testing.assert_allclose(ours["gout"], theirs["gout"])
    np.testing.assert_allclose(ours["gin"], theirs["gin"])
    np.testing.assert_allclose(gx, tgx)


def test_repr_matches_pytorch_style():
    net = nn.Sequential(OrderedDict(fc=nn.Linear(4, 3), act=nn.ReLU()))
    assert repr(net) == (
        "Sequential(\n  (fc): Linear(in_features=4, out_features=3, bias=True)\n  (act): ReLU()\n)"
    )


def test_containers():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.Linear(2, 1))
    assert isinstance(layers[-1], nn.Linear) and layers[-1].out_features == 1
    d = nn.ModuleDict({"a": nn.Linear(1, 1)})
    d["b"] = nn.Linear(1, 2)
    assert list(d.keys()) == ["a", "b"]
    pl = nn.ParameterList([nn.Parameter(ember.ones(2)), ember.zeros(3)])
    assert [p.shape for p in pl] == [(2,), (3,)] and isinstance(pl[1], nn.Parameter)
    pd = nn.ParameterDict({"w": ember.ones(2)})
    assert list(dict(pd.named_parameters())) == ["w"]
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    with pytest.raises(IndexError, match="out of range"):
        seq[5]


def test_shared_parameters_listed_once():
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(net.parameters())) == 2


def test_linear_matches_torch_default_init_distribution_and_forward():
    torch = pytest.importorskip("torch")
    m = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)
    w = m.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound and w.std() > bound / 2
    t = torch.nn.Linear(100, 50)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(w.copy()))
        t.bias.copy_(torch.from_numpy(m.bias.detach().numpy().copy()))
    x = np.random.default_rng(0).standard_normal((4, 100)).astype(np.float32)
    np.testing.assert_allclose(
        m(ember.tensor(x)).detach().numpy(),
        t(torch.tensor(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_lazy_linear_infers_in_features():
    m = nn.LazyLinear(3)
    out = m(ember.ones(2, 7))
    assert out.shape == (2, 3) and m.weight.shape == (3, 7) and type(m) is nn.Linear
