"""Native (C) kernels in eager mode (ember.ops._native): for each primitive, results and
gradients with the kernels on equal those with them off (the NumPy forwards) within float
rounding, in float32 and float64, on odd shapes and attributes; PyTorch agrees; and every
fallback (no compiler, the switch, unsupported dtypes/attributes/ranks, bad inputs) runs the
NumPy forward."""

import os
import subprocess
import sys

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.compiler.codegen import native
from ember.compiler.codegen.c_build import toolchain
from ember.ops import _native
from ember.registry import REGISTRY, load_all_primitives

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(toolchain() is None, reason="no C compiler")

load_all_primitives()


_THREADED = native._Threaded


class _Counting(_THREADED):
    """The eager runner, counting how often a native kernel ran."""

    calls = 0

    @staticmethod
    def rows(fn, n, work_per_row, *, blas=False):
        _Counting.calls += 1
        return _THREADED.rows(fn, n, work_per_row, blas=blas)


@pytest.fixture
def counted(monkeypatch):
    """Native kernels on; yields a function giving the number of native calls so far."""
    monkeypatch.setattr(native, "_Threaded", _Counting)
    previous = ember.set_native_kernels(True)
    _Counting.calls = 0
    yield lambda: _Counting.calls
    ember.set_native_kernels(previous)


def _arrays(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _run(fn, arrays, extra, enabled: bool, grad: bool = True):
    """fn's outputs and the gradients of a weighted sum of them, with native kernels on/off."""
    previous = ember.set_native_kernels(enabled)
    try:
        ts = [ember.tensor(a, requires_grad=grad) for a in arrays]
        out = fn(*ts, *extra)
        outs = out if isinstance(out, tuple) else (out,)
        res = [o.detach().numpy().copy() for o in outs]
        if grad:
            rng = np.random.default_rng(7)
            loss = sum(
                (o * ember.tensor(rng.standard_normal(tuple(o.shape)).astype(res[0].dtype))).sum()
                for o in outs
                if o.is_floating_point()
            )
            loss.backward()
            res += [t.grad.numpy().copy() for t in ts if t.grad is not None]
        return res
    finally:
        ember.set_native_kernels(previous)


def _close(a, b, dtype):
    eps = np.finfo(dtype).eps
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        scale = max(float(np.max(np.abs(y))), 1.0) if y.size else 1.0
        np.testing.assert_allclose(x, y, rtol=64 * eps, atol=64 * eps * scale)


def _labels(n, c, seed=0, ignore=None):
    t = np.random.default_rng(seed).integers(0, c, n)
    if ignore is not None:
        t[::3] = ignore
    return ember.tensor(t)


def _conv(stride=1, padding=0, dilation=1):
    return lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)


def _tconv(stride=1, padding=0, output_padding=0):
    return lambda x, w: F.conv_transpose2d(
        x, w, stride=stride, padding=padding, output_padding=output_padding
    )


def _attn(causal, scale=None):
    return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)


# id, ember function, input shapes (all float, differentiated), extra args, native primitives
# expected, torch function (None: no PyTorch comparison)
CASES = [
    (
        "conv_pad1",
        _conv(padding=1),
        [(5, 3, 11, 9), (4, 3, 3, 3), (4,)],
        (),
        ("conv", "conv_weight_grad"),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1),
    ),
    (
        "conv_stride2_dilation2",
        _conv(stride=2, padding=(2, 1), dilation=2),
        [(3, 2, 13, 10), (5, 2, 3, 2), (5,)],
        (),
        ("conv", "conv_input_grad", "conv_weight_grad"),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=2, padding=(2, 1), dilation=2),
    ),
    (
        "conv_stride3_1x1",
        _conv(stride=(3, 2)),
        [(2, 4, 8, 7), (6, 4, 1, 1), (6,)],
        (),
        ("conv", "conv_input_grad", "conv_weight_grad"),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=(3, 2)),
    ),
    (
        "conv_same_even_kernel",
        lambda x, w, b: F.conv2d(x, w, b, padding="same"),
        [(2, 3, 7, 8), (2, 3, 4, 2), (2,)],
        (),
        ("conv", "conv_weight_grad"),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding="same"),
    ),
    (
        "conv_transpose_stride2",
        _tconv(stride=2, padding=1, output_padding=1),
        [(2, 3, 5, 6), (3, 4, 3, 3)],
        (),
        ("conv_input_grad", "conv", "conv_weight_grad"),
        lambda x, w: torch.nn.functional.conv_transpose2d(
            x, w, stride=2, padding=1, output_padding=1
        ),
    ),
    (
        "max_pool_2x2",
        lambda x: F.max_pool2d(x, 2),
        [(3, 4, 9, 8)],
        (),
        ("max_pool", "pool_scatter"),
        lambda x: torch.nn.functional.max_pool2d(x, 2),
    ),
    (
        "max_pool_overlap_pad_ceil",
        lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
        [(2, 3, 10, 7)],
        (),
        ("max_pool", "pool_scatter"),
        lambda x: torch.nn.functional.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
    ),
    (
        "max_pool_dilation_indices",
        lambda x: F.max_pool2d(x, (2, 3), stride=(1, 2), dilation=2, return_indices=True),
        [(2, 2, 9, 11)],
        (),
        ("max_pool", "pool_scatter"),
        lambda x: torch.nn.functional.max_pool2d(
            x, (2, 3), stride=(1, 2), dilation=2, return_indices=True
        ),
    ),
    (
        "softmax",
        lambda x: F.softmax(x, -1),
        [(3, 5, 37)],
        (),
        ("softmax", "softmax_backward"),
        lambda x: torch.softmax(x, -1),
    ),
    (
        "log_softmax",
        lambda x: F.log_softmax(x, -1),
        [(7, 130)],
        (),
        ("log_softmax", "log_softmax_backward"),
        lambda x: torch.log_softmax(x, -1),
    ),
    (
        "cross_entropy_mean_ignore",
        lambda x, t: F.cross_entropy(x, t, ignore_index=2),
        [(33, 11)],
        (_labels(33, 11, ignore=2),),
        ("cross_entropy", "cross_entropy_backward"),
        lambda x, t: torch.nn.functional.cross_entropy(x, t, ignore_index=2),
    ),
    (
        "cross_entropy_sum",
        lambda x, t: F.cross_entropy(x, t, reduction="sum"),
        [(17, 6)],
        (_labels(17, 6, seed=1),),
        ("cross_entropy", "cross_entropy_backward"),
        lambda x, t: torch.nn.functional.cross_entropy(x, t, reduction="sum"),
    ),
    (
        "cross_entropy_none_ignore_negative",
        lambda x, t: F.cross_entropy(x, t, reduction="none", ignore_index=-100),
        [(9, 4)],
        (_labels(9, 4, seed=2, ignore=-100),),
        ("cross_entropy", "cross_entropy_backward"),
        lambda x, t: torch.nn.functional.cross_entropy(x, t, reduction="none"),
    ),
    (
        "layer_norm_affine",
        lambda x, w, b: F.layer_norm(x, [6, 5], w, b, eps=1e-3),
        [(3, 4, 6, 5), (6, 5), (6, 5)],
        (),
        ("layer_norm", "layer_norm_backward"),
        lambda x, w, b: torch.nn.functional.layer_norm(x, [6, 5], w, b, eps=1e-3),
    ),
    (
        "layer_norm_plain",
        lambda x: F.layer_norm(x, [33]),
        [(4, 33)],
        (),
        ("standardize",),
        lambda x: torch.nn.functional.layer_norm(x, [33]),
    ),
    (
        "group_norm",
        lambda x, w, b: F.group_norm(x, 2, w, b),
        [(3, 4, 5, 3), (4,), (4,)],
        (),
        ("standardize",),
        lambda x, w, b: torch.nn.functional.group_norm(x, 2, w, b),
    ),
    (
        "attention_causal",
        _attn(True),
        [(2, 3, 7, 8), (2, 3, 7, 8), (2, 3, 7, 8)],
        (),
        ("attention_probs", "softmax_backward"),
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True),
    ),
    (
        "attention_rectangular",
        _attn(False, 0.3),
        [(2, 5, 4), (2, 9, 4), (2, 9, 3)],
        (),
        ("attention_probs", "softmax_backward"),
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=0.3),
    ),
    (
        "gelu",
        F.gelu,
        [(3, 1000)],
        (),
        ("gelu", "gelu_backward"),
        torch.nn.functional.gelu,
    ),
]

_IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_native_matches_numpy(case, dtype, counted):
    """Outputs and gradients, native kernels on vs off; the native path actually ran."""
    _, fn, shapes, extra, prims, _ = case
    arrays = _arrays(shapes, dtype)
    on = _run(fn, arrays, extra, True)
    ran = counted()
    gelu_f64 = prims[0] == "gelu" and dtype == np.float64  # float64 GELU stays NumPy
    assert (ran > 0) != gelu_f64
    if ran:
        for name in prims:
            assert REGISTRY[name].eager.__name__ == f"native_{name}"
    off = _run(fn, arrays, extra, False)
    assert counted() == ran  # switched off: no native call
    _close(on, off, dtype)


@pytest.mark.parametrize("case", [c for c in CASES if c[5] is not None], ids=_IDS)
def test_native_matches_torch(case, counted):
    """Native float64 results and gradients against PyTorch's."""
    _, fn, shapes, extra, _, torch_fn = case
    arrays = _arrays(shapes, np.float64, seed=3)
    ours = _run(fn, arrays, extra, True)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    textra = [torch.tensor(e.numpy()) for e in extra]
    out = torch_fn(*ts, *textra)
    outs = out if isinstance(out, tuple) else (out,)
    rng = np.random.default_rng(7)
    loss = sum(
        (o * torch.tensor(rng.standard_normal(tuple(o.shape)))).sum()
        for o in outs
        if o.is_floating_point()
    )
    loss.backward()
    ref = [o.detach().numpy() for o in outs] + [t.grad.numpy() for t in ts]
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b.astype(a.dtype), rtol=1e-9, atol=1e-10)


def test_double_backward_through_native_kernels(counted):
    """grad-of-grad (vjps calling the native primitives again) matches the NumPy path."""

    def second(enabled):
        previous = ember.set_native_kernels(enabled)
        try:
            x, w = (
                ember.tensor(a, requires_grad=True)
                for a in _arrays([(2, 3, 7, 6), (4, 3, 3, 3)], np.float64)
            )
            y = F.max_pool2d(F.conv2d(x, w, stride=2, padding=1), 2, ceil_mode=True)
            y = F.log_softmax(y.reshape(2, -1), -1)
            (gx, gw) = ember.autograd.grad(y.sum() + (y * y).sum(), (x, w), create_graph=True)
            (gx.square().sum() + gw.square().sum()).backward()
            return [gx.detach().numpy(), gw.detach().numpy(), x.grad.numpy(), w.grad.numpy()]
        finally:
            ember.set_native_kernels(previous)

    on = second(True)
    assert counted() > 0
    _close(on, second(False), np.float64)


# -- fallbacks --------------------------------------------------------------------------------
FALLBACKS = [
    ("softmax_not_last_axis", lambda x: F.softmax(x, 1), [(3, 5, 4)], np.float32, ()),
    ("softmax_float16", lambda x: F.softmax(x, -1), [(3, 5)], np.float16, ()),
    (
        "conv_groups",
        lambda x, w: F.conv2d(x, w, groups=2),
        [(2, 4, 6, 6), (4, 2, 3, 3)],
        np.float32,
        (),
    ),
    ("conv1d", lambda x, w: F.conv1d(x, w, padding=1), [(2, 3, 9), (4, 3, 3)], np.float64, ()),
    ("max_pool1d", lambda x: F.max_pool1d(x, 2), [(2, 3, 9)], np.float32, ()),
    ("max_pool_float16", lambda x: F.max_pool2d(x, 2), [(1, 2, 4, 4)], np.float16, ()),
    ("softmax_empty", lambda x: F.softmax(x, -1), [(0, 5)], np.float32, ()),
    (
        "cross_entropy_weight",
        lambda x, w, t: F.cross_entropy(x, t, weight=w.detach()),
        [(6, 4), (4,)],
        np.float32,
        (_labels(6, 4),),
    ),
    (
        "cross_entropy_smoothing",
        lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
        [(6, 4)],
        np.float64,
        (_labels(6, 4),),
    ),
    (
        "attention_mask",
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m.detach()),
        [(2, 4, 3), (2, 5, 3), (2, 5, 3), (4, 5)],
        np.float32,
        (),
    ),
    ("gelu_float64", F.gelu, [(4, 9)], np.float64, ()),
]


@pytest.mark.parametrize("case", FALLBACKS, ids=[c[0] for c in FALLBACKS])
def test_unsupported_inputs_run_numpy(case, counted):
    """Inputs the C code does not handle run the NumPy forward: bit-identical results."""
    _, fn, shapes, dtype, extra = case
    arrays = _arrays(shapes, dtype)
    # (a masked attention's backward is softmax_backward, native again: forward only)
    grad = np.dtype(dtype) != np.float16 and case[0] != "attention_mask"
    on = _run(fn, arrays, extra, True, grad=grad)
    assert counted() == 0
    off = _run(fn, arrays, extra, False, grad=grad)
    for a, b in zip(on, off, strict=True):
        np.testing.assert_array_equal(a, b)


def test_errors_are_the_numpy_forwards(counted):
    """Malformed inputs reach the NumPy forward and raise its (explained) errors."""
    x = ember.randn(2, 3, 8, 8)
    for enabled in (True, False):
        ember.set_native_kernels(enabled)
        with pytest.raises(ValueError, match="channels"):
            F.conv2d(x, ember.randn(4, 2, 3, 3))
        with pytest.raises(IndexError, match="out of bounds"):
            F.cross_entropy(ember.randn(4, 3), ember.tensor([0, 1, 5, 2]))
    assert counted() == 0


def test_switch_restores_numpy_forwards():
    """set_native_kernels(False) puts every NumPy forward back; True re-resolves them."""
    previous = ember.set_native_kernels(False)
    try:
        assert not ember.native_kernels_enabled()
        for name in _native.NATIVE_PRIMITIVES:
            assert REGISTRY[name].eager is REGISTRY[name].forward
        ember.set_native_kernels(True)
        F.softmax(ember.randn(2, 3), -1)
        assert REGISTRY["softmax"].eager.__name__ == "native_softmax"
    finally:
        ember.set_native_kernels(previous)


def test_tables_agree():
    """The eager table names exactly the primitives the native module implements."""
    assert set(_native.NATIVE_PRIMITIVES) == set(native.EAGER_OPS)
    assert set(native.NATIVE_OPS) <= set(native.EAGER_OPS)


_PROBE = (
    "import sys, ember, ember.nn.functional as F\n"
    "from ember.registry import REGISTRY\n"
    "assert 'ember.compiler' not in sys.modules\n"
    "F.softmax(ember.randn(4, 8), -1)\n"
    "p = REGISTRY['softmax']\n"
    "print('native' if p.eager is not p.forward else 'numpy')\n"
)


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "native"),
        ({"EMBER_NO_CC": "1"}, "numpy"),
        ({"EMBER_NATIVE_KERNELS": "0"}, "numpy"),
    ],
    ids=["default", "no_compiler", "switched_off"],
)
def test_environment(env, expected, tmp_path):
    """A fresh process: ember's import does not load the compiler; ``EMBER_NO_CC=1`` and
    ``EMBER_NATIVE_KERNELS=0`` keep the NumPy forwards."""
    full = {k: v for k, v in os.environ.items() if k not in ("EMBER_NO_CC", "EMBER_NATIVE_KERNELS")}
    full.update(env)
    res = subprocess.run(
        [sys.executable, "-c", _PROBE], env=full, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == expected
