"""DLPack: zero-copy exchange with PyTorch and NumPy."""

import numpy as np
import pytest

import ember
from ember.dlpack import from_dlpack, to_dlpack

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def ptr(x):
    return x.numpy().__array_interface__["data"][0]


def test_numpy_round_trip_shares_memory():
    a = np.arange(6.0).reshape(2, 3)
    t = from_dlpack(a)
    assert t.dtype is ember.float64 and t.shape == (2, 3)
    a[1, 2] = -1
    assert t.tolist()[1][2] == -1
    b = np.from_dlpack(t)
    assert np.shares_memory(a, b)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_from_torch_shares_memory(dtype):
    tt = torch.zeros(2, 3, dtype=getattr(torch, dtype))
    e = from_dlpack(tt)
    assert e.dtype is getattr(ember, dtype) and e.shape == (2, 3)
    assert ptr(e) == tt.data_ptr()
    tt[0, 1] = 1
    assert e.numpy()[0, 1] == 1


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_to_torch_shares_memory(dtype):
    e = ember.zeros(2, 3, dtype=getattr(ember, dtype))
    tt = torch.from_dlpack(e)
    assert tt.dtype == getattr(torch, dtype) and tuple(tt.shape) == (2, 3)
    assert tt.data_ptr() == ptr(e)
    tt[1, 1] = 1
    assert e.numpy()[1, 1] == 1


@requires_torch
def test_noncontiguous_and_scalar():
    tt = torch.arange(12.0).reshape(3, 4).t()
    e = from_dlpack(tt)
    np.testing.assert_array_equal(e.numpy(), tt.numpy())
    assert e.stride() == tt.stride()
    back = torch.from_dlpack(ember.tensor(3.5))
    assert back.shape == () and back.item() == 3.5


@requires_torch
def test_legacy_capsules():
    tt = torch.arange(4.0)
    e = from_dlpack(torch.utils.dlpack.to_dlpack(tt))
    tt[0] = 9
    assert e.tolist()[0] == 9
    x = ember.arange(3.0)
    back = torch.utils.dlpack.from_dlpack(to_dlpack(x))
    back[2] = 7
    assert x.tolist()[2] == 7


@requires_torch
def test_errors():
    with pytest.raises(BufferError, match="require gradient"):
        from_dlpack(torch.zeros(2, requires_grad=True))
    with pytest.raises(TypeError, match="__dlpack__"):
        from_dlpack([1, 2, 3])
    with pytest.raises(RuntimeError, match="require gradient"):
        to_dlpack(ember.zeros(2, requires_grad=True))
    with pytest.raises((TypeError, RuntimeError), match="from_dlpack"):
        from_dlpack(torch.zeros(2, dtype=torch.bfloat16))


def test_from_dlpack_of_ember_tensor():
    x = ember.ones(2, requires_grad=True)
    y = from_dlpack(x)
    assert not y.requires_grad and ptr(y) == x._data.__array_interface__["data"][0]


def test_result_is_plain_tensor():
    t = from_dlpack(np.ones(3, dtype=np.float32))
    assert isinstance(t, ember.Tensor) and t.is_leaf and not t.requires_grad
    t.requires_grad_(True)
    (t * 2).sum().backward()
    assert t.grad.tolist() == [2.0, 2.0, 2.0]
