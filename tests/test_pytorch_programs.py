"""Typical PyTorch tensor/autograd programs run unchanged on ember and give PyTorch's numbers.

Each program takes the library module (``ember`` or ``torch``) as ``lib``: the body is plain
PyTorch code, so running it on ember is the same as ``import ember as torch``.
"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _run_both(program):
    return program(ember), program(torch)


def _close(a, b, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(
        np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol
    )


def test_tensor_basics_program():
    def program(lib):
        x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        y = lib.arange(6, dtype=lib.float32).reshape(2, 3)
        z = (x * y + 1).t() @ lib.ones(2, 4)
        stats = [z.sum().item(), z.mean().item(), z.max().item(), x.std().item()]
        idx = lib.argmax(x, dim=1).tolist()
        stacked = lib.cat([x, y], dim=0).shape
        masked = x[x > 2.5].tolist()
        x[0, 0] = 10.0
        return stats, idx, list(stacked), masked, x.tolist(), str(x.dtype).split(".")[-1]

    ours, theirs = _run_both(program)
    _close(ours[0], theirs[0])
    assert ours[1:] == theirs[1:]


def test_logistic_regression_program():
    data = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    target = (data @ np.array([1.5, -2.0, 0.5], np.float32) > 0).astype(np.float32)

    def program(lib):
        X = lib.tensor(data)
        y = lib.tensor(target)
        w = lib.zeros(3, requires_grad=True)
        b = lib.zeros(1, requires_grad=True)
        losses = []
        for _ in range(50):
            p = lib.sigmoid(X @ w + b)
            loss = -(y * lib.log(p) + (1 - y) * lib.log(1 - p)).mean()
            loss.backward()
            with lib.no_grad():
                w -= 0.5 * w.grad
                b -= 0.5 * b.grad
                w.grad.zero_()
                b.grad.zero_()
            losses.append(loss.item())
        return losses, w.detach().numpy().copy(), b.detach().numpy().copy()

    ours, theirs = _run_both(program)
    for a, b in zip(ours, theirs):
        _close(a, b, rtol=1e-4, atol=1e-5)


def test_custom_function_program():
    def program(lib):
        class MyReLU(lib.autograd.Function):
            @staticmethod
            def forward(ctx, inp):
                ctx.save_for_backward(inp)
                return inp.clamp(min=0)

            @staticmethod
            def backward(ctx, grad_output):
                (inp,) = ctx.saved_tensors
                grad_input = grad_output.clone()
                grad_input[inp < 0] = 0
                return grad_input

        x = lib.tensor([-1.0, 0.5, 2.0, -3.0], requires_grad=True)
        y = (MyReLU.apply(x) * lib.tensor([1.0, 2.0, 3.0, 4.0])).sum()
        y.backward()
        return y.item(), x.grad.tolist()

    assert _run_both(program)[0] == _run_both(program)[1]


def test_higher_order_gradients_program():
    def program(lib):
        x = lib.tensor([0.3, -1.2, 2.0], requires_grad=True)
        y = (lib.tanh(x) * x**2).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        return g.detach().numpy().copy(), h.numpy().copy()

    ours, theirs = _run_both(program)
    _close(ours[0], theirs[0])
    _close(ours[1], theirs[1], rtol=1e-4)
