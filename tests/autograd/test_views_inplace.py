"""Views, version counters and in-place ops under autograd, compared with PyTorch."""

import numpy as np
import pytest

import ember

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def _rand(*shape, seed=0):
    return np.random.default_rng([seed, *shape]).uniform(-2, 2, shape)


# ---------------------------------------------------------------------------------------------
# memory sharing and version counters
# ---------------------------------------------------------------------------------------------
def test_writes_through_views_show_in_base():
    x = ember.zeros(3, 4)
    x[1].fill_(1.0)
    x[:, 2:].add_(10.0)
    x.t()[0].sub_(5.0)
    x.diagonal().mul_(0.0)
    x.view(12)[-1] = 7.0
    expect = np.zeros((3, 4))
    expect[1] += 1
    expect[:, 2:] += 10
    expect[:, 0] -= 5
    np.fill_diagonal(expect, 0)
    expect.reshape(-1)[-1] = 7
    np.testing.assert_array_equal(x.numpy(), expect)


def test_writes_to_base_show_in_views():
    x = ember.zeros(2, 3)
    v = x[1, 1:]
    x.add_(1.0)
    assert v.tolist() == [1.0, 1.0]


def test_version_counter_shared_and_bumped():
    x = ember.zeros(4)
    v = x[1:3]
    w = v.view(2, 1)
    assert x._version_number == v._version_number == w._version_number == 0
    w.add_(1)
    assert x._version_number == v._version_number == 1
    x[0] = 5.0
    assert w._version_number == 2
    _ = x + 1  # out-of-place ops leave the counter alone
    assert x._version_number == 2
    c = x.clone()
    assert c._version_number == 0


def test_view_on_incompatible_strides_raises():
    x = ember.zeros(2, 3).t()
    with pytest.raises(RuntimeError, match="view: size .* is not compatible with input tensor"):
        x.view(6)
    x.reshape(6)  # reshape copies instead


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------
def test_inplace_on_leaf_requiring_grad_raises():
    w = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w[0] = 2.0
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[1:].mul_(2)
    with ember.no_grad():
        w.add_(1)  # allowed without grad recording
        w[0] = 0.0
    assert w.tolist() == [0.0, 2.0, 2.0]


def test_modified_saved_tensor_raises():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # exp saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modified_saved_input_through_view_raises():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    z = y * y  # mul saves y
    y[1:].mul_(2)  # a write through a view of y bumps y's version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_modifying_what_backward_does_not_need_is_fine():
    # as in PyTorch: sort's vjp needs only the indices, index/gather's only the index tensors
    x = ember.tensor([3.0, 1.0, 2.0], requires_grad=True)
    v, _ = x.sort()
    v.mul_(2)
    v.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    x.grad = None
    y = x * 1
    z = y[[0, 2]] + y.gather(0, ember.tensor([1, 1]))
    y.add_(1)
    z.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 1.0]


def test_modified_index_tensor_raises():
    x = ember.tensor([3.0, 1.0, 2.0], requires_grad=True)
    i = ember.tensor([0, 2])
    z = x[i]
    i.add_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# ---------------------------------------------------------------------------------------------
# gradients of in-place ops on views, against torch
# ---------------------------------------------------------------------------------------------
def _scenario_view_mul(lib, x, w):
    y = x * 1
    y[:, 1].mul_(2)
    return (y * y).sum()


def _scenario_transpose_add(lib, x, w):
    y = x.clone()
    y.t()[1:].add_(w[: y.shape[1] - 1, None] * 1)
    return (y.sin() * 3).sum()


def _scenario_view_chain_exp(lib, x, w):
    y = x * 2
    v = y[1:].transpose(0, 1)[0]
    v.exp_()
    return (y * w[0]).sum() + v.sum()


def _scenario_diagonal(lib, x, w):
    y = x[:, :3] * 1
    y.diagonal().mul_(w[:3])
    return (y**2).sum()


def _scenario_base_changed_then_view_used(lib, x, w):
    y = x * 1
    v = y[0]
    y.mul_(w[0])
    return (v * v).sum()


def _scenario_slice_iadd(lib, x, w):
    y = x * 1
    y[:, :2] += 1
    y[1:, 1:] *= w[1]
    return (y * y).sum()


def _scenario_setitem_row(lib, x, w):
    y = x.clone()
    y[0] = w * 2
    return (y * y).sum()


def _scenario_setitem_advanced(lib, x, w):
    y = x.clone()
    y[[2, 0], 1:3] = w[:2] * w[2]
    return (y.exp()).sum()


def _scenario_setitem_through_view(lib, x, w):
    y = x * 1
    v = y[1:]
    v[0, [0, 2]] = w[:2]
    v[v > 0.5] = 0.0
    return (y * y).sum() + (v**3).sum()


def _scenario_setitem_mask_tensor(lib, x, w):
    y = x * 1
    y[x > 0] = w[0]
    return (y * y).sum()


def _scenario_setitem_on_no_grad_tensor(lib, x, w):
    y = lib.zeros(3, 4, dtype=x.dtype)
    y[1, :] = w
    y[:, 0] = x[:, 0]
    return (y * y).sum()


def _scenario_scatter_inplace(lib, x, w):
    y = x * 1
    idx = lib.tensor([[2, 0, 1, 0]])
    y.scatter_(0, idx, w[None, :])
    return (y * y).sum()


def _scenario_rows_inplace(lib, x, w):
    y = x * 1
    a, b, c = y[0], y[1], y[2]
    b.add_(w)
    return (y * y).sum() + (a * c).sum()


SCENARIOS = [
    _scenario_view_mul,
    _scenario_transpose_add,
    _scenario_view_chain_exp,
    _scenario_diagonal,
    _scenario_base_changed_then_view_used,
    _scenario_slice_iadd,
    _scenario_setitem_row,
    _scenario_setitem_advanced,
    _scenario_setitem_through_view,
    _scenario_setitem_mask_tensor,
    _scenario_setitem_on_no_grad_tensor,
    _scenario_scatter_inplace,
    _scenario_rows_inplace,
]


@requires_torch
@pytest.mark.parametrize("fn", SCENARIOS, ids=[f.__name__[10:] for f in SCENARIOS])
def test_inplace_grads_match_torch(fn):
    x, w = _rand(3, 4), _rand(4, seed=1)
    ex, ew = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    le, lt = fn(ember, ex, ew), fn(torch, tx, tw)
    np.testing.assert_allclose(le.item(), lt.item(), rtol=1e-10)
    le.backward()
    lt.backward()
    for e, t in ((ex, tx), (ew, tw)):
        if t.grad is None:
            assert e.grad is None or not np.any(e.grad.numpy())
        else:
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fn", SCENARIOS, ids=[f.__name__[10:] for f in SCENARIOS])
def test_inplace_gradcheck(fn):
    x = ember.tensor(_rand(3, 4), requires_grad=True)
    w = ember.tensor(_rand(4, seed=1), requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: fn(ember, a, b), (x, w))


@pytest.mark.parametrize(
    "fn",
    [_scenario_view_mul, _scenario_setitem_advanced, _scenario_diagonal, _scenario_slice_iadd],
    ids=["view_mul", "setitem_advanced", "diagonal", "slice_iadd"],
)
def test_inplace_gradgradcheck(fn):
    x = ember.tensor(_rand(3, 4), requires_grad=True)
    w = ember.tensor(_rand(4, seed=1), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda a, b: fn(ember, a, b), (x, w))


def test_setitem_grad_example_from_docs():
    x = ember.ones(3, 4, requires_grad=True)
    w = ember.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x.clone()
    y[0] = w * 2
    y.sum().backward()
    assert x.grad.tolist() == [[0.0] * 4, [1.0] * 4, [1.0] * 4]
    assert w.grad.tolist() == [2.0] * 4


def test_view_grad_fn_refreshes_after_base_inplace():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    v = y[:1]
    old = v.grad_fn
    y.mul_(3)
    assert v.grad_fn is not old  # the view now reads the updated base
    v.sum().backward()
    assert x.grad.tolist() == [3.0, 0.0]


def test_inplace_on_view_makes_no_grad_base_require_grad():
    w = ember.tensor([2.0], requires_grad=True)
    y = ember.zeros(3)
    y[1:2].mul_(0).add_(w)
    assert y.requires_grad and not y.is_leaf
    (y * y).sum().backward()
    assert w.grad.tolist() == [4.0]


def test_inplace_on_unbind_output_gradcheck():
    # PyTorch refuses in-place writes to unbind() outputs; ember allows them and stays correct
    def fn(x, w):
        y = x * 1
        a, b, c = y.unbind(0)
        b.add_(w)
        return (y * y).sum() + (a * c).sum()

    x = ember.tensor(_rand(3, 4), requires_grad=True)
    w = ember.tensor(_rand(4, seed=1), requires_grad=True)
    assert ember.autograd.gradcheck(fn, (x, w))
