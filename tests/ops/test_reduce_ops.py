"""Reductions, scans and statistics through the OpInfo table (see tests/opinfo.py)."""

import math

import numpy as np
import pytest

import ember
from opinfo import ErrorCase, OpInfo, Sample, make_op_tests, rand, requires_torch, torch

X23 = rand(2, 3, 4)
X34 = rand(3, 4, seed=1)
V5 = rand(5, seed=2)
S0 = np.asarray(rand(1, seed=4)[0])


def red_samples(full=True):
    """Samples for ``op(x, dim, keepdim)``-style reductions, passed as kwargs."""
    out = [
        Sample((X34,), {"dim": 1}, name="dim1"),
        Sample((X34,), {"dim": -2, "keepdim": True}, name="neg_keepdim"),
        Sample((X23,), {"dim": (0, 2)}, name="tuple"),
        Sample((X23,), {"dim": (-1, 0), "keepdim": True}, name="tuple_keepdim"),
        Sample((V5,), {"dim": 0}, name="1d"),
        Sample((S0,), {"dim": 0}, name="0d_dim"),
    ]
    if full:
        out += [Sample((X34,), name="all"), Sample((S0,), name="0d")]
    return out


def one_dim(samples):
    return [s for s in samples if not isinstance(s.kwargs.get("dim"), tuple)]


def dim_err(name, op=None, x=None):
    return ErrorCase(
        (rand(2, 3) if x is None else x,),
        {"dim": 2},
        exc=IndexError,
        match=f"{op or name}: dimension out of range",
    )


def R(name, ref, samples, torch_name=None, **kw):
    tname = torch_name or name
    return OpInfo(
        name,
        lambda x, **k: getattr(ember, name)(x, **k),
        samples,
        ref=ref,
        torch_ref=lambda t, x, _n=tname, **k: getattr(t, _n)(x, **k),
        **kw,
    )


def _np_kw(fn):
    """A NumPy reference taking torch-style ``dim``/``keepdim`` kwargs."""

    def ref(x, dim=None, keepdim=False):
        axis = tuple(dim) if isinstance(dim, tuple) else dim
        if x.ndim == 0:
            axis = None
        return fn(x, axis=axis, keepdims=keepdim)

    return ref


def _np_var(correction):
    def ref(x, dim=None, keepdim=False, **_):
        axis = None if x.ndim == 0 or dim is None else dim
        return np.var(x, axis=axis, keepdims=keepdim, ddof=correction)

    return ref


def _np_logsumexp(x, dim=None, keepdim=False):
    axis = None if x.ndim == 0 or dim is None else dim
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def _np_norm(p):
    def ref(x, dim=None, keepdim=False):
        axis = None if x.ndim == 0 or dim is None else dim
        a = np.abs(x)
        if p == math.inf:
            return np.max(a, axis=axis, keepdims=keepdim)
        if p == -math.inf:
            return np.min(a, axis=axis, keepdims=keepdim)
        if p == 0:
            return np.sum(x != 0, axis=axis, keepdims=keepdim).astype(x.dtype)
        return np.sum(a**p, axis=axis, keepdims=keepdim) ** (1 / p)

    return ref


def _np_select(fn, argfn):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            return fn(x)
        if x.ndim == 0:
            return x, np.asarray(0)
        idx = argfn(x, axis=dim, keepdims=True)
        v = np.take_along_axis(x, idx, dim)
        if not keepdim:
            v, idx = np.squeeze(v, dim), np.squeeze(idx, dim)
        return v, idx

    return ref


def _np_median(x, dim=None, keepdim=False):
    if dim is None:
        flat = np.sort(x.reshape(-1))
        return flat[(flat.size - 1) // 2]
    if x.ndim == 0:
        return x, np.asarray(0)
    n = x.shape[dim]
    idx = np.take(np.argsort(x, axis=dim), [(n - 1) // 2], axis=dim)
    v = np.take_along_axis(x, idx, dim)
    if not keepdim:
        v, idx = np.squeeze(v, dim), np.squeeze(idx, dim)
    return v, idx


def _cum(fn):
    def ref(x, dim):
        return fn(x, axis=dim) if x.ndim else x

    return ref


# inputs with zeros for prod/cumprod gradients
ZERO1 = np.array([[1.5, 0.0, -2.0], [0.5, 0.7, 1.2]])
ZERO2 = np.array([[0.0, 0.0, 2.0], [1.1, -0.3, 0.0]])
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])

OPS = [
    R(
        "sum",
        _np_kw(np.sum),
        red_samples(),
        errors=[
            dim_err("sum"),
            ErrorCase(
                (rand(2, 3),),
                {"dim": (0, 0)},
                exc=RuntimeError,
                match="sum: dim \\(0, 0\\) appears multiple times",
            ),
        ],
    ),
    R(
        "mean",
        _np_kw(np.mean),
        red_samples(),
        errors=[
            dim_err("mean"),
            ErrorCase(
                (np.arange(3),),
                exc=RuntimeError,
                match="mean\\(\\): could not infer output dtype.*Got: Long",
            ),
        ],
    ),
    R("nansum", _np_kw(np.nansum), red_samples()),
    R("prod", _np_kw(np.prod), one_dim(red_samples()), errors=[dim_err("prod")]),
    OpInfo(
        "prod_zeros",
        lambda x, **k: ember.prod(x, **k),
        [
            Sample((ZERO1,), name="one_zero"),
            Sample((ZERO1,), {"dim": 1}, name="dim_one_zero"),
            Sample((ZERO2,), {"dim": 1}, name="dim_two_zeros"),
            Sample((ZERO2,), name="many"),
        ],
        ref=_np_kw(np.prod),
        torch_ref=lambda t, x, **k: t.prod(x, **k),
        gradgrad=False,
    ),
    R(
        "amax",
        _np_kw(np.max),
        red_samples(),
        errors=[
            dim_err("amax"),
            ErrorCase(
                (np.zeros((0, 3)),),
                {"dim": 0},
                exc=IndexError,
                match="amax: cannot reduce over dimension 0 of size 0",
            ),
        ],
    ),
    R("amin", _np_kw(np.min), red_samples(), errors=[dim_err("amin")]),
    OpInfo(
        "amax_ties",
        lambda x, **k: ember.amax(x, **k),
        [Sample((TIES,), name="all"), Sample((TIES,), {"dim": 1}, name="dim")],
        ref=_np_kw(np.max),
        torch_ref=lambda t, x, **k: t.amax(x, **k),
        gradcheck=False,
    ),
    OpInfo(
        "max",
        lambda x, **k: ember.max(x, **k),
        one_dim(red_samples()),
        ref=_np_select(np.max, np.argmax),
        torch_ref=lambda t, x, **k: t.max(x, **k),
        errors=[
            dim_err("max"),
            ErrorCase(
                (np.zeros((0, 3)),), exc=IndexError, match="max\\(\\): Expected reduction dim"
            ),
        ],
    ),
    OpInfo(
        "min",
        lambda x, **k: ember.min(x, **k),
        one_dim(red_samples()),
        ref=_np_select(np.min, np.argmin),
        torch_ref=lambda t, x, **k: t.min(x, **k),
        errors=[dim_err("min")],
    ),
    OpInfo(
        "max_ties",
        lambda x, **k: x.max(**k),
        [Sample((TIES,), name="all"), Sample((TIES,), {"dim": 1}, name="dim")],
        torch_ref=lambda t, x, **k: x.max(**k),
        gradcheck=False,
    ),
    OpInfo(
        "max_other",
        lambda a, b: a.max(b),
        [Sample((X34, rand(4, seed=9)))],
        ref=np.maximum,
        torch_ref=lambda t, a, b: a.max(b),
    ),
    OpInfo(
        "min_other",
        lambda a, b: ember.min(a, b),
        [Sample((X34, rand(3, 1, seed=9)))],
        ref=np.minimum,
        torch_ref=lambda t, a, b: t.min(a, b),
    ),
    R("argmax", _np_kw(np.argmax), one_dim(red_samples()), grad=False, errors=[dim_err("argmax")]),
    R("argmin", _np_kw(np.argmin), one_dim(red_samples()), grad=False),
    OpInfo(
        "argmax_keepdim_none",
        lambda x: ember.argmax(x, keepdim=True),
        [Sample((X34,))],
        torch_ref=lambda t, x: t.argmax(x, keepdim=True),
        grad=False,
    ),
    R("all", _np_kw(np.all), red_samples(), grad=False, errors=[dim_err("all")]),
    R("any", _np_kw(np.any), red_samples(), grad=False),
    OpInfo(
        "all_any_bool",
        lambda x: (x.all(), x.any(dim=1), ember.all(x, dim=0, keepdim=True)),
        [Sample((X34 > 0,)), Sample((np.array([[1, 0], [2, 3]], dtype=np.uint8),), name="uint8")],
        torch_ref=lambda t, x: (x.all(), x.any(dim=1), t.all(x, dim=0, keepdim=True)),
        grad=False,
    ),
    OpInfo(
        "count_nonzero",
        lambda x, **k: ember.count_nonzero(x, **k),
        [
            Sample((np.round(X34),)),
            Sample((np.round(X23),), {"dim": (0, 2)}, name="tuple"),
            Sample((np.round(X34),), {"dim": -1}, name="neg"),
        ],
        ref=lambda x, dim=None: np.count_nonzero(x, axis=dim),
        torch_ref=lambda t, x, **k: t.count_nonzero(x, **k),
        grad=False,
    ),
    OpInfo(
        "cumsum",
        lambda x, dim: ember.cumsum(x, dim),
        [
            Sample((X34, 1)),
            Sample((X23, -3), name="neg"),
            Sample((V5, 0), name="1d"),
            Sample((S0, 0), name="0d"),
        ],
        ref=_cum(np.cumsum),
        torch_ref=lambda t, x, dim: t.cumsum(x, dim),
        errors=[ErrorCase((rand(2, 3), 2), exc=IndexError, match="cumsum: dimension out of range")],
    ),
    OpInfo(
        "cumprod",
        lambda x, dim: ember.cumprod(x, dim),
        [
            Sample((X34, 1)),
            Sample((X23, -3), name="neg"),
            Sample((V5, 0), name="1d"),
            Sample((S0, 0), name="0d"),
        ],
        ref=_cum(np.cumprod),
        torch_ref=lambda t, x, dim: t.cumprod(x, dim),
    ),
    OpInfo(
        "cumprod_zeros",
        lambda x, dim: ember.cumprod(x, dim),
        [Sample((ZERO1, 1)), Sample((ZERO2, 1), name="two_zeros"), Sample((ZERO2, 0), name="dim0")],
        ref=_cum(np.cumprod),
        torch_ref=lambda t, x, dim: t.cumprod(x, dim),
    ),
    OpInfo(
        "logsumexp",
        lambda x, **k: ember.logsumexp(x, **k),
        [s for s in red_samples(full=False)],
        ref=_np_logsumexp,
        torch_ref=lambda t, x, **k: t.logsumexp(x, **k),
    ),
    OpInfo(
        "logsumexp_large",
        lambda x: ember.logsumexp(x, dim=1),
        [Sample((rand(3, 4, low=500, high=1000),))],
        ref=lambda x: _np_logsumexp(x, 1),
        torch_ref=lambda t, x: t.logsumexp(x, dim=1),
        gradcheck=False,
    ),
    OpInfo(
        "var",
        lambda x, **k: ember.var(x, **k),
        [s for s in red_samples() if "0d" not in s.name],
        ref=_np_var(1),
        torch_ref=lambda t, x, **k: t.var(x, **k),
        errors=[
            dim_err("var"),
            ErrorCase(
                (np.arange(3),), exc=RuntimeError, match="std and var only support floating point"
            ),
        ],
    ),
    OpInfo(
        "var_correction0",
        lambda x, **k: x.var(**k, correction=0),
        [s for s in red_samples() if s.name != "0d_dim" and s.name != "0d"],
        ref=_np_var(0),
        torch_ref=lambda t, x, **k: x.var(**k, correction=0),
    ),
    OpInfo(
        "var_unbiased_false",
        lambda x: x.var(1, False, True),
        [Sample((X34,))],
        ref=lambda x: np.var(x, axis=1, keepdims=True),
        torch_ref=lambda t, x: x.var(1, False, True),
    ),
    OpInfo(
        "var_legacy_bool",
        lambda x: x.var(False),
        [Sample((X34,))],
        ref=lambda x: np.var(x),
        torch_ref=lambda t, x: x.var(False),
    ),
    OpInfo(
        "std",
        lambda x, **k: ember.std(x, **k),
        [s for s in red_samples() if "0d" not in s.name],
        ref=lambda x, dim=None, keepdim=False: np.sqrt(_np_var(1)(x, dim, keepdim)),
        torch_ref=lambda t, x, **k: t.std(x, **k),
    ),
    OpInfo(
        "var_mean",
        lambda x, **k: ember.var_mean(x, **k),
        [
            Sample((X34,), {"dim": 1}),
            Sample((X23,), {"dim": (0, 2), "keepdim": True}, name="tuple"),
        ],
        torch_ref=lambda t, x, **k: t.var_mean(x, **k),
    ),
    OpInfo(
        "std_mean",
        lambda x, **k: ember.std_mean(x, **k, correction=0),
        [Sample((X34,), {"dim": 0}), Sample((X34,), name="all")],
        torch_ref=lambda t, x, **k: t.std_mean(x, **k, correction=0),
    ),
    OpInfo(
        "median",
        lambda x, **k: ember.median(x, **k),
        [
            Sample((X34,), name="all"),
            Sample((V5[:4],), name="even"),
            Sample((X34,), {"dim": 1}),
            Sample((X23,), {"dim": -2, "keepdim": True}, name="neg"),
            Sample((S0,), {"dim": 0}, name="0d"),
        ],
        ref=_np_median,
        torch_ref=lambda t, x, **k: t.median(x, **k),
        errors=[dim_err("median")],
    ),
    OpInfo(
        "median_ties",
        lambda x: x.median(),
        [Sample((np.array([1.0, 2.0, 2.0, 3.0, 2.0]),))],
        torch_ref=lambda t, x: x.median(),
        gradcheck=False,
    ),
    OpInfo(
        "aminmax",
        lambda x, **k: ember.aminmax(x, **k),
        [Sample((X34,)), Sample((X34,), {"dim": 1, "keepdim": True}, name="dim")],
        torch_ref=lambda t, x, **k: t.aminmax(x, **k),
        gradcheck=False,
    ),
]

NORMS = [
    OpInfo(
        f"norm_p{p}",
        lambda x, _p=p, **k: x.norm(_p, **k),
        [s for s in red_samples() if "0d" not in s.name],
        ref=_np_norm(p),
        torch_ref=lambda t, x, _p=p, **k: x.norm(_p, **k),
        errors=[ErrorCase((np.arange(3),), exc=RuntimeError, match="Expected a floating point")],
    )
    for p in (1, 2, 3, 0.5, math.inf, -math.inf)
] + [
    OpInfo(
        "norm_default",
        lambda x, **k: x.norm(**k),
        [Sample((X34,)), Sample((X23,), {"dim": (1, 2)}, name="fro_dims")],
        ref=_np_norm(2),
        torch_ref=lambda t, x, **k: x.norm(**k),
    ),
    OpInfo(
        "norm_p0",
        lambda x: x.norm(0, dim=1),
        [Sample((np.round(X34),))],
        ref=lambda x: _np_norm(0)(x, 1),
        torch_ref=lambda t, x: x.norm(0, dim=1),
    ),
    OpInfo(
        "norm_zero_row",
        lambda x: x.norm(dim=1),
        [Sample((np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]]),))],
        torch_ref=lambda t, x: x.norm(dim=1),
        gradcheck=False,
    ),
]

globals().update(make_op_tests(OPS + NORMS))


# ---------------------------------------------------------------------------------------------
# focused tests
# ---------------------------------------------------------------------------------------------
def test_max_dim_returns_namedtuple():
    x = ember.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    res = x.max(dim=1)
    assert isinstance(res, tuple) and type(res).__name__ == "max"
    values, indices = res
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert res.values is values and res.indices is indices
    assert indices.dtype == ember.int64
    mres = ember.min(x, 0, keepdim=True)
    assert type(mres).__name__ == "min" and mres.indices.shape == (1, 3)
    med = x.median(dim=1)
    assert type(med).__name__ == "median" and med.values.tolist() == [2.0, 3.0]
    assert med.indices.tolist() == [2, 2]


def test_max_full_is_tensor():
    x = ember.tensor([[1.0, 5.0], [2.0, 3.0]])
    assert isinstance(x.max(), ember.Tensor) and x.max().item() == 5.0
    assert x.min().item() == 1.0


def test_amax_ties_split_gradient_evenly():
    x = ember.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.amax(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = ember.tensor([4.0, 1.0, 4.0], requires_grad=True)
    y.max().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.5, 0.0, 0.5])


def test_max_dim_gradient_goes_to_selected_index():
    x = ember.tensor([[3.0, 3.0, 1.0]], requires_grad=True)
    x.max(dim=1).values.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 0.0, 0.0]])


def test_prod_gradient_with_zero():
    x = ember.tensor([2.0, 0.0, 3.0], requires_grad=True)
    x.prod().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 6.0, 0.0])
    y = ember.tensor([0.0, 0.0, 3.0], requires_grad=True)
    y.prod().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 0.0, 0.0])


def test_cumprod_gradient_with_zero_is_finite():
    x = ember.tensor([2.0, 0.0, 3.0, 4.0], requires_grad=True)
    x.cumprod(0).sum().backward()
    # d/dx0 = 1 + 0 + ... ; exact: [1, 2 + 6 + 24, 0, 0]
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 32.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "dtype,expected",
    [("int32", "int64"), ("bool", "int64"), ("int64", "int64"), ("float32", "float32")],
)
def test_sum_prod_cumsum_dtypes(dtype, expected):
    x = ember.tensor([1, 0, 1]).to(getattr(ember, dtype))
    for fn in (ember.sum, ember.prod, lambda t: ember.cumsum(t, 0), lambda t: t.cumprod(0)):
        assert fn(x).dtype == getattr(ember, expected)
    assert x.amax().dtype == x.dtype and x.argmax().dtype == ember.int64


def test_mean_int_with_dtype():
    assert ember.mean(ember.tensor([1, 2]), dtype=ember.float64).item() == 1.5


def test_logsumexp_is_stable():
    x = ember.tensor([[1000.0, 1000.0], [-1000.0, -1000.0], [-math.inf, -math.inf]])
    out = ember.logsumexp(x, dim=1).numpy()
    np.testing.assert_allclose(out[:2], [1000 + math.log(2), -1000 + math.log(2)], rtol=1e-6)
    assert out[2] == -math.inf


def test_var_correction_and_unbiased_conflict():
    with pytest.raises(TypeError, match="var: pass either unbiased or correction"):
        ember.tensor([1.0, 2.0]).var(unbiased=True, correction=0)


def test_linalg_vector_norm_int_error_message():
    with pytest.raises(RuntimeError, match="linalg.vector_norm: Expected a floating point"):
        ember.linalg.vector_norm(ember.tensor([1, 2]))


@requires_torch
def test_norm_zero_vector_grad_is_zero_like_torch():
    x = ember.zeros(3, requires_grad=True)
    x.norm().backward()
    t = torch.zeros(3, requires_grad=True)
    t.norm().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
