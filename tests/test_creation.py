"""Tensor factories, ``ember.tensor`` inference, Tensor.new_*, fill_/zero_ (PyTorch as oracle)."""

import numpy as np
import pytest

import ember

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def E(name):
    return getattr(ember, name)


def T(name):
    return getattr(torch, name)


def same(e, t):
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype).replace("ember.", "") == str(t.dtype).replace("torch.", "")
    np.testing.assert_array_equal(e.numpy(), t.numpy())


# -- ember.tensor inference ------------------------------------------------------------------
INFER_CASES = {
    "floats": lambda m: [1.0, 2.0],
    "ints": lambda m: [[1, 2], [3, 4]],
    "bools": lambda m: [True, False],
    "bool_int": lambda m: [True, 2],
    "bool_float": lambda m: [True, 2.5],
    "int_float": lambda m: [1, 2.5],
    "scalar_float": lambda m: 3.0,
    "scalar_int": lambda m: 3,
    "scalar_bool": lambda m: True,
    "empty": lambda m: [],
    "empty_nested": lambda m: [[], []],
    "tuple": lambda m: (1, 2.0),
    "np_float64": lambda m: np.array([1.0, 2.0]),
    "np_float16": lambda m: np.array([1.0], dtype=np.float16),
    "np_int32": lambda m: np.array([1, 2], dtype=np.int32),
    "np_uint8": lambda m: np.array([1, 2], dtype=np.uint8),
    "np_bool": lambda m: np.array([True]),
    "np_scalar_f64": lambda m: np.float64(1.5),
    "np_scalar_i32": lambda m: np.int32(4),
    "list_np_f64": lambda m: [np.float64(1.0), 2.0],
    "list_np_i32": lambda m: [np.int32(1), np.int32(2)],
    "list_np_arrays": lambda m: [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
    "list_tensors_f32": lambda m: [m.tensor(1.0), m.tensor(2.0)],
    "list_tensors_f64": lambda m: [m.tensor(1.0, dtype=m.float64), m.tensor(2.0, dtype=m.float64)],
    "list_tensors_i32": lambda m: [m.tensor(1, dtype=m.int32), m.tensor(2, dtype=m.int32)],
    "tensor_and_int": lambda m: [m.tensor(1.5, dtype=m.float64), 2],
    "nested_tensors": lambda m: [[m.tensor(1), m.tensor(2)], [m.tensor(3), m.tensor(4)]],
    "scalar_tensor": lambda m: m.tensor(3.0),
    "tensor_int16": lambda m: m.tensor([1, 2], dtype=m.int16),
}


@requires_torch
@pytest.mark.parametrize("case", sorted(INFER_CASES))
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_tensor_inference_matches_torch(case):
    make = INFER_CASES[case]
    same(ember.tensor(make(ember)), torch.tensor(make(torch)))


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_explicit_dtype(dtype):
    data = [[0, 1.5], [-2, 3]] if dtype not in ("uint8", "bool") else [[0, 1], [2, 3]]
    same(ember.tensor(data, dtype=E(dtype)), torch.tensor(data, dtype=T(dtype)))


def test_tensor_float64_array_keeps_dtype_and_copies():
    a = np.arange(3.0)
    t = ember.tensor(a)
    assert t.dtype is ember.float64
    a[0] = 100
    assert t.tolist()[0] == 0.0


def test_tensor_default_dtype_follows_set_default_dtype():
    old = ember.get_default_dtype()
    try:
        ember.set_default_dtype(ember.float64)
        assert ember.tensor([1.0]).dtype is ember.float64
        assert ember.tensor([]).dtype is ember.float64
        assert ember.linspace(0, 1, 3).dtype is ember.float64
    finally:
        ember.set_default_dtype(old)


def test_tensor_empty_list():
    t = ember.tensor([])
    assert t.shape == (0,) and t.dtype is ember.float32


def test_tensor_requires_grad():
    t = ember.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2], requires_grad=True)


def test_tensor_from_tensor_is_detached_copy():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor(x)
    assert not y.requires_grad
    y.numpy()[0] = 5.0
    assert x.tolist()[0] == 1.0


def test_tensor_list_of_vectors():
    t = ember.tensor([ember.tensor([1, 2]), ember.tensor([3, 4])])
    assert t.shape == (2, 2) and t.dtype is ember.int64


@requires_torch
def test_tensor_ragged_error_like_torch():
    with pytest.raises(ValueError, match=r"expected sequence of length 2 at dim 1 \(got 1\)"):
        ember.tensor([[1, 2], [3]])
    with pytest.raises(ValueError, match="expected sequence of length 2 at dim 1"):
        torch.tensor([[1, 2], [3]])


def test_tensor_bad_data_errors():
    with pytest.raises(TypeError, match="str"):
        ember.tensor(["a", "b"])
    with pytest.raises(TypeError):
        ember.tensor([None])
    with pytest.raises(TypeError):
        ember.tensor({"a": 1})
    with pytest.raises(TypeError, match="unsupported dtype"):
        ember.tensor([1.0], dtype="floaty")
    with pytest.raises(TypeError, match="unsupported dtype"):
        ember.zeros(2, dtype="nope")


# -- zeros/ones/full/empty and *_like ----------------------------------------------------------
def test_negative_sizes_error():
    for fn in (ember.zeros, ember.ones, ember.empty):
        with pytest.raises(RuntimeError, match="negative dimension"):
            fn(2, -1)
    with pytest.raises(RuntimeError, match="negative dimension"):
        ember.full((-2,), 1.0)
    with pytest.raises(RuntimeError, match="negative dimension"):
        ember.eye(-1)
    with pytest.raises(TypeError, match="sequence of ints"):
        ember.zeros(2.5)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
def test_like_dtype_inference(name, dtype):
    e_in, t_in = ember.zeros(2, 3, dtype=E(dtype)), torch.zeros(2, 3, dtype=T(dtype))
    e, t = getattr(ember, name)(e_in), getattr(torch, name)(t_in)
    if name == "empty_like":
        assert e.shape == tuple(t.shape) and str(e.dtype)[6:] == str(t.dtype)[6:]
    else:
        same(e, t)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fill", [0, 1, 2.7, True])
def test_full_like_matches_torch(dtype, fill):
    e = ember.full_like(ember.zeros(3, dtype=E(dtype)), fill)
    t = torch.full_like(torch.zeros(3, dtype=T(dtype)), fill)
    same(e, t)


def test_like_kwargs():
    x = ember.zeros(2, dtype=ember.int32)
    y = ember.ones_like(x, dtype=ember.float64, requires_grad=True)
    assert y.dtype is ember.float64 and y.requires_grad and y.is_leaf
    assert ember.full_like(x, 3, dtype=ember.float32).tolist() == [3.0, 3.0]
    assert ember.zeros_like(ember.tensor(5.0)).shape == ()
    with pytest.raises(TypeError, match="Tensor"):
        ember.zeros_like([1, 2])
    with pytest.raises(RuntimeError, match="overflow"):
        ember.full_like(ember.zeros(2, dtype=ember.int8), 1000)


# -- ranges -----------------------------------------------------------------------------------
RANGE_CASES = [
    (0, 1, 5),
    (0, 1, 7),
    (-3.3, 7.1, 100),
    (1e-3, 5, 33),
    (5, -5, 11),
    (2, 2, 1),
    (0, 1, 0),
    (0, 10, 5),
    (-2.5, 3.7, 9),
    (1, 100, 1000),
]


@requires_torch
@pytest.mark.parametrize("args", RANGE_CASES)
@pytest.mark.parametrize("dtype", [None, "float32", "float64", "float16", "int64", "int32"])
def test_linspace_matches_torch(args, dtype):
    kw = {} if dtype is None else {"dtype": E(dtype)}
    tkw = {} if dtype is None else {"dtype": T(dtype)}
    e, t = ember.linspace(*args, **kw), torch.linspace(*args, **tkw)
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype)[6:] == str(t.dtype)[6:]
    if dtype is None or dtype.startswith("float"):
        tol = {"float16": 2e-3}.get(dtype, 1e-6)
        np.testing.assert_allclose(
            e.numpy().astype(float), t.numpy().astype(float), rtol=tol, atol=tol
        )
        if len(e):
            assert e.tolist()[0] == t.tolist()[0] and e.tolist()[-1] == t.tolist()[-1]
    else:
        np.testing.assert_array_equal(e.numpy(), t.numpy())


@requires_torch
@pytest.mark.parametrize("args", RANGE_CASES[:8])
@pytest.mark.parametrize("base", [10.0, 2.0])
@pytest.mark.parametrize("dtype", [None, "float64", "int64"])
def test_logspace_matches_torch(args, base, dtype):
    kw = {} if dtype is None else {"dtype": E(dtype)}
    tkw = {} if dtype is None else {"dtype": T(dtype)}
    e, t = ember.logspace(*args, base=base, **kw), torch.logspace(*args, base=base, **tkw)
    assert str(e.dtype)[6:] == str(t.dtype)[6:]
    if dtype == "int64":
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    else:
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=2e-6)


def test_linspace_errors_and_tensor_args():
    with pytest.raises(RuntimeError, match="non-negative"):
        ember.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="steps"):
        ember.linspace(0, 1, 2.5)
    assert ember.linspace(ember.tensor(0.0), ember.tensor(1.0), 3).tolist() == [0.0, 0.5, 1.0]
    x = ember.linspace(0, 1, 3, requires_grad=True)
    assert x.requires_grad and x.is_leaf


@requires_torch
@pytest.mark.parametrize("nm", [(3, None), (2, 4), (4, 2), (0, None), (0, 3)])
@pytest.mark.parametrize("dtype", [None, "int64", "bool", "float64"])
def test_eye_matches_torch(nm, dtype):
    n, m = nm
    kw = {} if dtype is None else {"dtype": E(dtype)}
    tkw = {} if dtype is None else {"dtype": T(dtype)}
    e = ember.eye(n, **kw) if m is None else ember.eye(n, m, **kw)
    t = torch.eye(n, **tkw) if m is None else torch.eye(n, m, **tkw)
    same(e, t)


@requires_torch
@pytest.mark.parametrize(
    "rco",
    [(3, 4, 1), (3, 3, -1), (4, 2, 0), (0, 3, 0), (5, 5, -7), (3, 3, 5), (1, 1, 0), (6, 3, -2)],
)
def test_tri_indices_match_torch(rco):
    same(ember.tril_indices(*rco), torch.tril_indices(*rco))
    same(ember.triu_indices(*rco), torch.triu_indices(*rco))
    assert ember.tril_indices(3, 3, dtype=ember.int32).dtype is ember.int32


def test_arange_still_works():
    assert ember.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert ember.arange(0, 1, 0.25).dtype is ember.float32


# -- Tensor.new_* -----------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "int32", "bool", "float16"])
def test_new_methods_match_torch(dtype):
    e, t = ember.zeros(1, dtype=E(dtype)), torch.zeros(1, dtype=T(dtype))
    same(e.new_zeros(2, 3), t.new_zeros(2, 3))
    same(e.new_zeros((2, 3)), t.new_zeros((2, 3)))
    same(e.new_ones(4), t.new_ones(4))
    same(e.new_full((2,), 1), t.new_full((2,), 1))
    same(e.new_tensor([1, 0]), t.new_tensor([1, 0]))
    assert e.new_empty(2, 2).dtype is E(dtype)
    assert e.new_zeros(2, dtype=ember.int64).dtype is ember.int64


def test_new_tensor_options():
    x = ember.zeros(1, dtype=ember.int64)
    assert x.new_tensor([1.5]).tolist() == [1]
    y = ember.zeros(1).new_ones(2, requires_grad=True)
    assert y.requires_grad and y.is_leaf
    z = ember.zeros(1).new_tensor([1.0], dtype=ember.float64)
    assert z.dtype is ember.float64


# -- fill_ / zero_ ----------------------------------------------------------------------------
def test_fill_and_zero_values_and_version():
    x = ember.ones(3)
    v0 = x._version_value
    assert x.fill_(2.5) is x
    assert x.tolist() == [2.5, 2.5, 2.5] and x._version_value == v0 + 1
    x.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0] and x._version_value == v0 + 2
    i = ember.zeros(3, dtype=ember.int64).fill_(2.7)
    assert i.tolist() == [2, 2, 2] and i.dtype is ember.int64
    b = ember.zeros(2, dtype=ember.bool).fill_(1)
    assert b.tolist() == [True, True]


def test_fill_leaf_requires_grad_rules():
    w = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.fill_(0.0)
    with ember.no_grad():
        w.fill_(4.0)
        w.zero_()
    assert w.tolist() == [0.0, 0.0, 0.0] and w.requires_grad and w.is_leaf


@requires_torch
def test_fill_nonleaf_grad_matches_torch():
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.fill_(5.0)
        (y * x).sum().backward()
        return x.grad.numpy().copy(), y.requires_grad

    eg, er = run(ember)
    tg, tr = run(torch)
    np.testing.assert_allclose(eg, tg)
    assert er == tr


@requires_torch
def test_fill_with_tensor_value_gets_grad():
    def run(m):
        v = m.tensor(3.0, requires_grad=True)
        z = m.zeros(4)
        z.fill_(v)
        (z * m.arange(4.0)).sum().backward()
        return z.detach().numpy().copy(), v.grad.item()

    (ez, eg), (tz, tg) = run(ember), run(torch)
    np.testing.assert_allclose(ez, tz)
    assert eg == tg
    with pytest.raises(RuntimeError, match="0-dimension"):
        ember.zeros(2).fill_(ember.ones(2))


def test_fill_through_view_writes_base():
    x = ember.zeros(2, 3)
    try:
        row = x[0]
    except TypeError:  # pragma: no cover - indexing lives in another module
        pytest.skip("tensor indexing is not available")
    row.fill_(1.0)
    assert x.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
