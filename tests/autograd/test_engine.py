"""Autograd engine: accumulation, retain_graph, hooks, deep chains, double backward, Function."""

import numpy as np
import pytest

import ember

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def test_grad_accumulates_across_backward_calls():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_value_used_twice_gets_both_gradients():
    x = ember.tensor(3.0, requires_grad=True)
    y = x * x + x
    y.backward()
    assert x.grad.item() == pytest.approx(7.0)


def test_diamond_graph():
    x = ember.tensor([1.0, -2.0], requires_grad=True)
    a = x.exp()
    b = a * 2
    c = a * 3
    (b + c).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 5 * np.exp([1.0, -2.0]), rtol=1e-6)


def test_backward_twice_without_retain_graph_raises():
    x = ember.tensor([1.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = ember.tensor([1.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0]), rtol=1e-6)


def test_non_scalar_backward_needs_gradient():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(gradient=ember.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_gradient_shape_mismatch_is_reported():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(gradient=ember.ones(2))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.ones(2).sum().backward()


def test_deep_chain_has_no_recursion_limit():
    x = ember.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_double_backward():
    x = ember.tensor(2.0, requires_grad=True)
    y = x**4
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    (gg,) = ember.autograd.grad(g, x)
    assert g.item() == pytest.approx(32.0)
    assert gg.item() == pytest.approx(48.0)


def test_create_graph_backward_populates_differentiable_grad():
    x = ember.tensor(3.0, requires_grad=True)
    (x**3).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(18.0)


def test_autograd_grad_does_not_touch_grad_attribute():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ember.autograd.grad((x * x).sum(), x)
    assert x.grad is None
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])


def test_autograd_grad_unused_input():
    x = ember.tensor(1.0, requires_grad=True)
    z = ember.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="not have been used"):
        ember.autograd.grad(x * 2, [x, z])
    gx, gz = ember.autograd.grad(x * 2, [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0
    gx, gz = ember.autograd.grad(x * 2, [x, z], materialize_grads=True)
    assert gz.item() == 0.0


def test_autograd_grad_wrt_intermediate():
    x = ember.tensor(2.0, requires_grad=True)
    h = x * 3
    y = h * h
    (gh,) = ember.autograd.grad(y, h)
    assert gh.item() == pytest.approx(12.0)


def test_backward_inputs_restricts_accumulation():
    a = ember.tensor(1.0, requires_grad=True)
    b = ember.tensor(2.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 2.0 and b.grad is None


def test_leaf_and_grad_fn():
    x = ember.tensor([1.0], requires_grad=True)
    y = x * 2
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf and y.grad_fn.name() == "MulBackward0"
    assert ember.tensor([1.0]).is_leaf
    assert y.grad_fn.next_functions[0][0].name() == "AccumulateGrad"


def test_detach_shares_memory_and_cuts_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d.numpy()[0] = 5.0
    assert x.detach().numpy()[0] == 5.0


def test_grad_modes():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        assert not (x * 2).requires_grad
        with ember.enable_grad():
            assert (x * 2).requires_grad
    with ember.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ember.is_grad_enabled()
    with ember.inference_mode():
        assert not (x * 2).requires_grad
        assert ember.is_inference_mode_enabled()

    @ember.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert (x * 2).requires_grad


def test_tensor_hooks_modify_gradient_and_can_be_removed():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: g * 10)
    y = x * 2
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0])
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    h.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_retain_grad_on_intermediate():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])
    assert y.retains_grad


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2]).requires_grad_()


def test_inplace_on_leaf_requiring_grad_raises():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with ember.no_grad():
        x.add_(1)
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 2.0])


def test_modified_saved_tensor_raises():
    x = ember.ones(3, requires_grad=True)
    y = x.exp()
    z = y * 1
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward(retain_graph=True)
        (y.exp()).sum().backward()
    w = x * 2
    out = w.exp()  # exp saves its output; w is only its input
    w.mul_(2)  # so changing w afterwards does not break this backward
    out.sum().backward()


def test_version_counter():
    x = ember.zeros(3)
    v = x._version_number
    x.add_(1)
    x[0] = 5.0
    assert x._version_number == v + 2


def test_inplace_on_nonleaf_matches_chain_rule():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.mul_(x)  # y = 2x * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


class _Cube(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


class _SplitMax(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        idx = ember.tensor(int(np.argmax(x.detach().numpy())))
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(x)
        return x.max(), idx

    @staticmethod
    def backward(ctx, g, g_idx):
        (x,) = ctx.saved_tensors
        out = ember.zeros_like(x)
        out[int(np.argmax(x.detach().numpy()))] = g
        return out


def test_custom_function():
    x = ember.tensor([2.0, 3.0], requires_grad=True)
    y = _Cube.apply(x)
    assert y.grad_fn.name() == "_CubeBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0, 27.0])


def test_custom_function_gradcheck_and_double_backward():
    x = ember.tensor([0.5, -1.5], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(_Cube.apply, (x,))
    assert ember.autograd.gradgradcheck(_Cube.apply, (x,))


def test_custom_function_non_differentiable_output():
    x = ember.tensor([1.0, 5.0, 2.0], requires_grad=True)
    m, idx = _SplitMax.apply(x)
    assert not idx.requires_grad and m.requires_grad
    m.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 0.0])


def test_custom_function_wrong_gradient_shape():
    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return ember.ones(5)

    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="invalid gradient"):
        Bad.apply(x).sum().backward()


def test_custom_function_saved_tensor_modified():
    x = ember.ones(3, requires_grad=True)
    h = x * 1
    y = _Cube.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_gradcheck_detects_wrong_gradient():
    class Wrong(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = ember.ones(2, dtype=ember.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        ember.autograd.gradcheck(Wrong.apply, (x,))
    assert not ember.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False)


@requires_torch
def test_polynomial_fit_matches_pytorch():
    """The classic PyTorch tutorial program, run unchanged on ember and on torch."""

    def program(lib):
        lib.manual_seed(0)
        x = lib.linspace(-3.14159, 3.14159, 200)
        y = lib.sin(x)
        a = lib.tensor(0.1, requires_grad=True)
        b = lib.tensor(-0.2, requires_grad=True)
        c = lib.tensor(0.05, requires_grad=True)
        d = lib.tensor(0.3, requires_grad=True)
        lr = 1e-6
        for _ in range(200):
            y_pred = a + b * x + c * x**2 + d * x**3
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with lib.no_grad():
                for p in (a, b, c, d):
                    p -= lr * p.grad
                    p.grad = None
        return [p.item() for p in (a, b, c, d)], loss.item()

    ours, loss = program(ember)
    theirs, tloss = program(torch)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    assert loss == pytest.approx(tloss, rel=1e-4)
