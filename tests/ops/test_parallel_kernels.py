"""Kernels split over ember's threads (ember.ops._parallel): the same results with one thread
and with two, on inputs large enough to be split, plus the pool's own behaviour."""

import threading

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import _parallel
from ember.ops.elementwise import gelu_backward
from ember.ops.nn_kernels import softmax_backward
from ember.ops.norm_kernels import layer_norm_backward

RNG = np.random.default_rng(0)


def _t(*shape, seed=0):
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _labels(n, c, seed=0):
    return ember.tensor(np.random.default_rng(seed).integers(0, c, n))


# name, function of tensors, its arguments (each large enough to be split on two threads)
CASES = [
    ("matmul_rows", lambda a, b: a @ b, (_t(1024, 128), _t(128, 96, seed=1))),
    ("matmul_cols", lambda a, b: a @ b, (_t(96, 128), _t(128, 1024, seed=1))),
    ("matmul_batched", lambda a, b: a @ b, (_t(16, 4, 64, 32), _t(16, 4, 32, 64, seed=1))),
    (  # attention's q @ k^T from one qkv tensor: stacks of views that do not fold
        "matmul_batched_views",
        lambda qkv: qkv[0] @ qkv[1].transpose(-1, -2),
        (_t(16, 64, 3, 4, 32).permute(2, 0, 3, 1, 4),),
    ),
    ("matmul_leading_one", lambda a, b: a @ b, (_t(1, 8, 64, 256), _t(1, 8, 256, 64, seed=1))),
    ("matmul_transposed", lambda a, b: a @ b.T, (_t(512, 128), _t(256, 128, seed=1))),
    ("linear", F.linear, (_t(8, 64, 128), _t(384, 128, seed=1), _t(384, seed=2))),
    ("gelu", F.gelu, (_t(16, 64, 512),)),
    ("gelu_backward", gelu_backward, (_t(16, 64, 512), _t(16, 64, 512, seed=1))),
    ("softmax", lambda x: F.softmax(x, -1), (_t(512, 512),)),
    (
        "softmax_backward",
        lambda g, y: softmax_backward(g, y, -1, 0.5),
        (_t(256, 512), _t(256, 512)),
    ),
    ("cross_entropy", F.cross_entropy, (_t(1024, 512), _labels(1024, 512))),
    (
        "cross_entropy_none",
        lambda x, y: F.cross_entropy(x, y, reduction="none"),
        (_t(1024, 512), _labels(1024, 512)),
    ),
    (
        "layer_norm",
        lambda x, w, b: F.layer_norm(x, (128,), w, b),
        (_t(16, 64, 128), _t(128), _t(128)),
    ),
    (
        "layer_norm_backward",
        lambda g, x, w: layer_norm_backward(g, x, w, 1, 1e-5),
        (_t(16, 64, 128), _t(16, 64, 128, seed=1), _t(128, seed=2)),
    ),
    (
        "attention",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        (_t(16, 4, 64, 32), _t(16, 4, 64, 32, seed=1), _t(16, 4, 64, 32, seed=2)),
    ),
    (
        "conv2d",
        lambda x, w: F.conv2d(x, w, padding=1),
        (_t(16, 8, 14, 14), _t(16, 8, 3, 3, seed=1)),
    ),
    ("relu", F.relu, (_t(8, 32, 64, 64),)),
    ("bias_add", lambda x, b: x + b, (_t(8, 32, 64, 64), _t(32, 1, 1, seed=1))),
    ("exp", ember.exp, (_t(512, 512),)),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2), (_t(32, 32, 28, 28),)),
]
GRADS = {"matmul_rows", "matmul_batched", "matmul_batched_views", "linear", "gelu", "softmax"}
GRADS |= {"layer_norm", "attention"}
GRADS |= {"conv2d", "relu", "bias_add", "max_pool2d"}


def _outputs(res):
    return [r.numpy() for r in (res if isinstance(res, tuple) else (res,))]


@pytest.fixture
def threads():
    old = ember.get_num_threads()
    yield
    ember.set_num_threads(old)


@pytest.mark.parametrize("name,fn,args", CASES, ids=[c[0] for c in CASES])
def test_two_threads_match_one(threads, name, fn, args):
    ember.set_num_threads(1)
    one = _outputs(fn(*args))
    ember.set_num_threads(2)
    two = _outputs(fn(*args))
    assert _parallel._workers, "nothing ran on a worker thread"
    for a, b in zip(one, two):
        np.testing.assert_allclose(b, a, rtol=2e-5, atol=2e-6 * np.abs(a).max(), err_msg=name)


@pytest.mark.parametrize(
    "name,fn,args", [c for c in CASES if c[0] in GRADS], ids=[c[0] for c in CASES if c[0] in GRADS]
)
def test_two_threads_gradients_match_one(threads, name, fn, args):
    grads = []
    for n in (1, 2):
        ember.set_num_threads(n)
        leaves = [a.detach().requires_grad_() for a in args]
        out = fn(*leaves)
        out = out[0] if isinstance(out, tuple) else out
        (out * out).sum().backward()
        grads.append([x.grad.numpy() for x in leaves])
    for a, b in zip(*grads):  # float32 sums in another order: tolerance scaled to the values
        np.testing.assert_allclose(b, a, rtol=2e-5, atol=2e-6 * np.abs(a).max(), err_msg=name)


def test_parallel_matmul_restores_the_blas_thread_count(threads):
    ember.set_num_threads(2)
    before = ember.threads.blas_info()["num_threads"]
    _parallel.matmul(np.ones((1024, 256), np.float32), np.ones((256, 256), np.float32))
    assert ember.threads.blas_info()["num_threads"] == before


def test_run_parts_order_errors_and_reentry(threads):
    ember.set_num_threads(2)
    assert _parallel.run_parts(lambda lo, hi: (lo, hi), [(0, 1), (1, 2)]) == [(0, 1), (1, 2)]

    def fails(k):
        if k:
            raise ValueError(f"part {k} failed")
        return k

    with pytest.raises(ValueError, match="part 1 failed"):
        _parallel.run_parts(fails, [(0,), (1,)])
    # a part that itself asks for parallel work runs it inline (the pool is busy)
    inner = _parallel.run_parts(lambda: _parallel.run_parts(lambda k: k, [(1,), (2,)]), [(), ()])
    assert inner == [[1, 2], [1, 2]]


def test_concurrent_callers_get_correct_results(threads):
    ember.set_num_threads(2)
    a, b = _t(1024, 128), _t(128, 256, seed=1)
    want = a.numpy() @ b.numpy()
    errors = []

    def worker():
        for _ in range(5):
            got = (a @ b).numpy()
            if not np.allclose(got, want, rtol=1e-5, atol=1e-4):
                errors.append("mismatch")

    ts = [threading.Thread(target=worker) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: ember.optim.Adam(ps, lr=1e-2),
        lambda ps: ember.optim.AdamW(ps, lr=1e-2, amsgrad=True),
        lambda ps: ember.optim.SGD(ps, lr=1e-2, momentum=0.9),
    ],
    ids=["adam", "adamw_amsgrad", "sgd_momentum"],
)
def test_optimizer_steps_on_two_threads_match_one(threads, make):
    results = []
    for n in (1, 2):
        ember.set_num_threads(n)
        params = [_t(512, 256, seed=3).requires_grad_(), _t(300, seed=4).requires_grad_()]
        params += [_t(256, 512, seed=5).requires_grad_()]
        opt = make(params)
        for step in range(3):
            for k, p in enumerate(params):
                p.grad = _t(*p.shape, seed=10 * step + k)
            opt.step()
        results.append([p.detach().numpy().copy() for p in params])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
