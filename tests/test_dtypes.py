"""dtypes and PyTorch's type-promotion rules, checked pair by pair against torch."""

import itertools

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
if ember.bfloat16 is not None:
    NAMES.append("bfloat16")


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_promote_types_matches_torch(a, b):
    ours = ember.promote_types(getattr(ember, a), getattr(ember, b))
    theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert ours.name == str(theirs).split(".")[-1]


def _make(lib, name, ndim):
    d = getattr(lib, name)
    return lib.ones((2,) if ndim else (), dtype=d)


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
@pytest.mark.parametrize("dims", [(1, 0), (0, 1), (0, 0)])
def test_tensor_tensor_result_dtype(a, b, dims):
    if a == "bool" and b == "bool":
        pytest.skip("bool + bool is logical in torch")
    ours = _make(ember, a, dims[0]) * _make(ember, b, dims[1])
    theirs = _make(torch, a, dims[0]) * _make(torch, b, dims[1])
    assert ours.dtype.name == str(theirs.dtype).split(".")[-1]


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("scalar", [True, 3, 2.5])
@pytest.mark.parametrize("ndim", [0, 1])
def test_tensor_scalar_result_dtype(a, scalar, ndim):
    ours = _make(ember, a, ndim) * scalar
    theirs = _make(torch, a, ndim) * scalar
    assert ours.dtype.name == str(theirs.dtype).split(".")[-1]


def test_default_dtype_roundtrip():
    assert ember.get_default_dtype() is ember.float32
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.tensor([1.5]).dtype is ember.float64
        assert (ember.tensor([1, 2]) / 2).dtype is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    with pytest.raises(TypeError, match="only floating dtypes"):
        ember.set_default_dtype(ember.int32)


def test_dtype_objects():
    assert ember.float32.is_floating_point and not ember.int64.is_floating_point
    assert ember.float16.itemsize == 2 and repr(ember.int8) == "ember.int8"
    assert (
        ember.float is ember.float32 and ember.long is ember.int64 and ember.half is ember.float16
    )
    assert ember.tensor([1.0]).element_size() == 4


def test_unsupported_dtype_is_named():
    with pytest.raises(TypeError, match="unsupported dtype 'complex64'"):
        ember.zeros(2, dtype="complex64")
    with pytest.raises(TypeError, match="NumPy dtype complex128 has no ember equivalent"):
        ember.from_numpy(np.zeros(2, dtype=np.complex128))


def test_inplace_result_must_fit():
    x = ember.tensor([1, 2])
    with pytest.raises(RuntimeError, match="add_: result type ember.float32 can.t be cast"):
        x.add_(1.5)
    x.add_(1)
    assert x.tolist() == [2, 3]


@pytest.mark.skipif(ember.bfloat16 is None, reason="ml_dtypes is not installed")
def test_bfloat16_arithmetic():
    x = ember.tensor([1.0, 2.5], dtype=ember.bfloat16)
    y = (x * 2).float()
    assert y.tolist() == [2.0, 5.0]
    assert (x + ember.tensor([1.0], dtype=ember.float16)).dtype is ember.float32
