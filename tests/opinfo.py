"""OpInfo: one table entry per op drives every generic op test.

An ``OpInfo`` names the ember call, a NumPy reference, a PyTorch reference, sample inputs and
error inputs. ``make_op_tests(table)`` returns pytest test functions that check, for every
entry and sample:

* forward against NumPy (``ref``) and against PyTorch (``torch_ref``, when torch is installed);
* gradients against PyTorch on the same inputs and upstream gradient;
* ``gradcheck`` (float64 central differences) and optionally ``gradgradcheck``;
* non-contiguous inputs give the same result as contiguous ones;
* the output dtype for every dtype in ``dtypes`` matches PyTorch's (type promotion);
* every primitive the op ran has a shape/dtype rule that agrees with the real output;
* error inputs raise the documented exception with a message naming the op.

Samples are NumPy arrays (float64 for real-valued data) or Python scalars; the helper turns
arrays into tensors of the dtype under test. A sample argument that is not an array or scalar
(a list of arrays, say) passes through ``convert`` on the way to ember and to torch.

Usage in a family test file::

    OPS = [OpInfo("exp", lambda x: ember.exp(x), ref=np.exp, torch_ref=lambda t, x: t.exp(x),
                  samples=unary_samples())]
    globals().update(make_op_tests(OPS))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

import ember
from ember import _dispatch
from ember.registry import Spec

try:  # PyTorch is the oracle where installed
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


@dataclasses.dataclass
class Sample:
    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)
    name: str = ""


@dataclasses.dataclass
class ErrorCase:
    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)
    exc: type = Exception
    match: str = ""


@dataclasses.dataclass
class OpInfo:
    name: str
    op: Callable  # ember call on tensors / scalars
    samples: list  # list[Sample]
    ref: Callable | None = None  # NumPy reference on float64 arrays
    torch_ref: Callable | None = None  # (torch_module, *args, **kwargs) -> torch result
    grad: bool = True  # differentiable w.r.t. floating array arguments
    gradcheck: bool = True  # float64 central differences (off when the op rounds to float32)
    gradgrad: bool = True
    dtypes: tuple = ("float32", "float64")  # dtypes the forward is checked in (vs torch)
    errors: list = dataclasses.field(default_factory=list)  # list[ErrorCase]
    rtol: float = 1e-5
    atol: float = 1e-6
    grad_rtol: float = 1e-4
    grad_atol: float = 1e-5
    int_args: tuple = ()  # positions of array args that keep their integer dtype
    noncontiguous: bool = True
    convert: Callable | None = None  # for structured args: convert(arg, to_tensor) -> arg

    def __repr__(self) -> str:  # pytest ids
        return self.name


# ---------------------------------------------------------------------------------------------
# conversion helpers
# ---------------------------------------------------------------------------------------------
def _is_data(a) -> bool:
    return isinstance(a, np.ndarray)


def to_ember(info: OpInfo, sample: Sample, dtype: str, requires_grad=False, noncontig=False):
    def conv(i, a):
        if _is_data(a):
            arr = a if (i in info.int_args or a.dtype.kind in "biu") else a.astype(dtype)
            if noncontig and arr.ndim >= 1:
                arr = _noncontiguous(arr)
            t = ember.from_numpy(arr)
            if requires_grad and arr.dtype.kind == "f" and i not in info.int_args:
                t.requires_grad_(True)
            return t
        if info.convert is not None:
            return info.convert(a, lambda x: conv(i, x))
        return a

    return tuple(conv(i, a) for i, a in enumerate(sample.args))


def to_torch(info: OpInfo, sample: Sample, dtype: str, requires_grad=False):
    def conv(i, a):
        if _is_data(a):
            arr = a if (i in info.int_args or a.dtype.kind in "biu") else a.astype(dtype)
            t = torch.from_numpy(np.array(arr, order="C", copy=True))
            if requires_grad and arr.dtype.kind == "f" and i not in info.int_args:
                t.requires_grad_(True)
            return t
        if info.convert is not None:
            return info.convert(a, lambda x: conv(i, x))
        return a

    return tuple(conv(i, a) for i, a in enumerate(sample.args))


def _noncontiguous(arr: np.ndarray) -> np.ndarray:
    """The same values in a strided (non-contiguous) array."""
    big = np.empty(arr.shape + (2,), arr.dtype)
    big[..., 0] = arr
    return big[..., 0]


def _outputs(res) -> list:
    if isinstance(res, (tuple, list)):
        out = []
        for r in res:
            out.extend(_outputs(r))
        return out
    return [res]


def _np(x) -> np.ndarray:
    if isinstance(x, ember.Tensor):
        return x.detach().numpy()
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _ids(table):
    return [info.name for info in table]


def _sample_params(table):
    params = []
    for info in table:
        for k, s in enumerate(info.samples):
            params.append(pytest.param(info, s, id=f"{info.name}-{s.name or k}"))
    return params


def assert_close(actual, expected, rtol, atol, what: str) -> None:
    a, e = _np(actual), _np(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    if a.dtype.kind in "biu" or e.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        np.testing.assert_allclose(
            a.astype(np.float64),
            e.astype(np.float64),
            rtol=rtol,
            atol=atol,
            err_msg=what,
            equal_nan=True,
        )


# ---------------------------------------------------------------------------------------------
# the generic tests
# ---------------------------------------------------------------------------------------------
def make_op_tests(table: list) -> dict:
    """Build the generic test functions for a table of OpInfos (``globals().update(...)``)."""
    samples = _sample_params(table)
    grad_samples = [p for p in samples if p.values[0].grad]
    gc_samples = [p for p in grad_samples if p.values[0].gradcheck]
    gg_samples = [p for p in gc_samples if p.values[0].gradgrad]
    error_params = [
        pytest.param(info, e, id=f"{info.name}-{k}")
        for info in table
        for k, e in enumerate(info.errors)
    ]

    @pytest.mark.parametrize("info,sample", samples)
    def test_forward_numpy(info, sample):
        if info.ref is None:
            pytest.skip("no NumPy reference")
        res = _outputs(info.op(*to_ember(info, sample, "float64"), **sample.kwargs))
        ref = _outputs(info.ref(*sample.args, **sample.kwargs))
        assert len(res) == len(ref), f"{info.name}: {len(res)} outputs, reference {len(ref)}"
        for r, e in zip(res, ref):
            assert_close(r, e, 1e-7, 1e-9, f"{info.name} vs NumPy")

    @requires_torch
    @pytest.mark.parametrize("info,sample", samples)
    def test_forward_torch(info, sample):
        if info.torch_ref is None:
            pytest.skip("no PyTorch reference")
        for dtype in info.dtypes:
            res = _outputs(info.op(*to_ember(info, sample, dtype), **sample.kwargs))
            ref = _outputs(info.torch_ref(torch, *to_torch(info, sample, dtype), **sample.kwargs))
            assert len(res) == len(ref)
            for r, e in zip(res, ref):
                assert str(r.dtype).split(".")[-1] == str(e.dtype).split(".")[-1], (
                    f"{info.name}[{dtype}]: dtype {r.dtype} but PyTorch gives {e.dtype}"
                )
                tol = 1e-3 if dtype in ("float16", "bfloat16") else info.rtol
                assert_close(
                    r, e, tol, max(info.atol, tol * 1e-1), f"{info.name}[{dtype}] vs torch"
                )

    @requires_torch
    @pytest.mark.parametrize("info,sample", grad_samples)
    def test_grad_torch(info, sample):
        if info.torch_ref is None:
            pytest.skip("no PyTorch reference")
        ins = to_ember(info, sample, "float32", requires_grad=True)
        tins = to_torch(info, sample, "float32", requires_grad=True)
        outs = [o for o in _outputs(info.op(*ins, **sample.kwargs)) if o.requires_grad]
        touts = [
            o for o in _outputs(info.torch_ref(torch, *tins, **sample.kwargs)) if o.requires_grad
        ]
        assert len(outs) == len(touts), f"{info.name}: differentiable outputs differ from torch"
        if not outs:
            pytest.skip("no differentiable output")
        rng = np.random.default_rng(1)
        cots = [rng.standard_normal(o.shape).astype(np.float32) for o in outs]
        diff = [t for t in _leaves(ins) if t.requires_grad]
        tdiff = [t for t in _leaves(tins) if t.requires_grad]
        grads = ember.autograd.grad(outs, diff, [ember.tensor(c) for c in cots], allow_unused=True)
        tgrads = torch.autograd.grad(
            touts, tdiff, [torch.from_numpy(c) for c in cots], allow_unused=True
        )
        for k, (g, tg) in enumerate(zip(grads, tgrads)):
            if tg is None:
                assert g is None or not np.any(_np(g)), f"{info.name}: grad {k} should be zero"
                continue
            assert g is not None, f"{info.name}: no gradient for input {k}"
            assert_close(g, tg, info.grad_rtol, info.grad_atol, f"{info.name} grad {k} vs torch")

    @pytest.mark.parametrize("info,sample", gc_samples)
    def test_gradcheck(info, sample):
        ins = to_ember(info, sample, "float64", requires_grad=True)
        if not any(t.requires_grad for t in _leaves(ins)):
            pytest.skip("no floating inputs")
        assert ember.autograd.gradcheck(lambda *a: info.op(*a, **sample.kwargs), ins)

    @pytest.mark.parametrize("info,sample", gg_samples)
    def test_gradgradcheck(info, sample):
        ins = to_ember(info, sample, "float64", requires_grad=True)
        if not any(t.requires_grad for t in _leaves(ins)):
            pytest.skip("no floating inputs")
        if any(t.numel() > 12 for t in _leaves(ins)):
            pytest.skip("kept to small samples")
        assert ember.autograd.gradgradcheck(lambda *a: info.op(*a, **sample.kwargs), ins)

    @pytest.mark.parametrize("info,sample", samples)
    def test_noncontiguous(info, sample):
        if not info.noncontiguous:
            pytest.skip("op does not take strided inputs")
        a = _outputs(info.op(*to_ember(info, sample, "float32"), **sample.kwargs))
        b = _outputs(info.op(*to_ember(info, sample, "float32", noncontig=True), **sample.kwargs))
        for x, y in zip(a, b):
            assert_close(x, y, 1e-6, 1e-7, f"{info.name} non-contiguous")

    @pytest.mark.parametrize("info,sample", samples)
    def test_shape_rules(info, sample):
        calls = []

        def hook(prim, inputs, attrs, outputs):
            calls.append((prim, inputs, attrs, outputs))

        old = _dispatch.set_dispatch_hook(hook)
        try:
            info.op(*to_ember(info, sample, "float32"), **sample.kwargs)
        finally:
            _dispatch.set_dispatch_hook(old)
        for prim, inputs, attrs, outputs in calls:
            specs = [Spec(tuple(t.shape), t.dtype) for t in inputs]
            got = prim.rule(*specs, **attrs)
            got = got if isinstance(got, tuple) and not isinstance(got, Spec) else (got,)
            assert len(got) == len(outputs), f"{prim.name}: rule gives {len(got)} outputs"
            for spec, out in zip(got, outputs):
                assert tuple(spec.shape) == tuple(out.shape), (
                    f"{prim.name}: rule shape {spec.shape} != actual {tuple(out.shape)}"
                )
                assert spec.dtype is out.dtype, (
                    f"{prim.name}: rule dtype {spec.dtype} != actual {out.dtype}"
                )

    @pytest.mark.parametrize("info,case", error_params)
    def test_errors(info, case):
        args = to_ember(info, Sample(case.args, case.kwargs), "float32")
        with pytest.raises(case.exc, match=case.match):
            info.op(*args, **case.kwargs)

    return {
        "test_forward_numpy": test_forward_numpy,
        "test_forward_torch": test_forward_torch,
        "test_grad_torch": test_grad_torch,
        "test_gradcheck": test_gradcheck,
        "test_gradgradcheck": test_gradgradcheck,
        "test_noncontiguous": test_noncontiguous,
        "test_shape_rules": test_shape_rules,
        "test_errors": test_errors,
    }


def _leaves(args) -> list:
    out = []
    for a in args:
        if isinstance(a, (list, tuple)):
            out.extend(_leaves(a))
        elif isinstance(a, ember.Tensor) or (torch is not None and isinstance(a, torch.Tensor)):
            out.append(a)
    return out


# ---------------------------------------------------------------------------------------------
# sample generators
# ---------------------------------------------------------------------------------------------
def rand(*shape, low=-2.0, high=2.0, seed=0) -> np.ndarray:
    return np.random.default_rng([seed, *shape]).uniform(low, high, shape)


def unary_samples(low=-2.0, high=2.0) -> list:
    return [
        Sample((rand(3, 4, low=low, high=high),), name="2d"),
        Sample((rand(5, low=low, high=high, seed=3),), name="1d"),
        Sample((np.asarray(rand(1, low=low, high=high, seed=5)[0]),), name="0d"),
    ]


def binary_samples(low=-2.0, high=2.0, other_low=None, other_high=None) -> list:
    ol = low if other_low is None else other_low
    oh = high if other_high is None else other_high
    return [
        Sample((rand(3, 4, low=low, high=high), rand(3, 4, low=ol, high=oh, seed=7)), name="same"),
        Sample(
            (rand(2, 3, 4, low=low, high=high), rand(4, low=ol, high=oh, seed=8)), name="broadcast"
        ),
        Sample((rand(3, 1, low=low, high=high), rand(1, 4, low=ol, high=oh, seed=9)), name="outer"),
        Sample((rand(3, 4, low=low, high=high), 1.5 if ol > 0 or oh < 0 else 0.75), name="scalar"),
    ]
