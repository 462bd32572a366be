"""Tensor factories: ``tensor``, ``zeros``, ``ones``, ``arange``, ... (PyTorch names and defaults).

Example:
    >>> import ember
    >>> ember.tensor([[1, 2], [3, 4]]).dtype
    ember.int64
    >>> ember.zeros(2, 3).shape
    ember.Size([2, 3])
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..device import as_device
from ..tensor import Tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange"]


def _infer_dtype(arr: np.ndarray, data) -> np.dtype:
    kind = arr.dtype.kind
    if kind == "f":
        if isinstance(data, np.ndarray) or isinstance(data, np.floating):
            return arr.dtype if arr.dtype in (np.float16, np.float32, np.float64) else np.float64
        return _dt.get_default_dtype().np
    if kind in "iu":
        if isinstance(data, (np.ndarray, np.integer)):
            return arr.dtype
        return np.dtype(np.int64)
    if kind == "b":
        return np.dtype(np.bool_)
    if arr.dtype == getattr(_dt.bfloat16, "np", None):
        return arr.dtype
    if kind == "O":
        raise TypeError(
            "tensor: could not infer dtype; data must be numbers, nested sequences of numbers, "
            "arrays or tensors of equal lengths"
        )
    raise TypeError(f"tensor: unsupported data of NumPy dtype {arr.dtype}")


def _to_array(data, dtype: _dt.dtype | None) -> np.ndarray:
    """Convert Python data, arrays or tensors to a fresh ndarray with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        arr = data._data
        return arr.astype(dtype.np) if dtype is not None else arr.copy()
    if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(data)):
        data = _unwrap_nested(data)
    try:
        arr = np.array(data)
    except ValueError as exc:
        raise ValueError(f"tensor: data has inconsistent lengths ({exc})") from None
    if dtype is not None:
        return arr.astype(dtype.np)
    npd = _infer_dtype(arr, data)
    return arr.astype(npd, copy=False) if arr.dtype != npd else arr


def _flat(data):
    for v in data:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def _unwrap_nested(data):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(v) for v in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors).

    Python floats become float32 (the default dtype), ints int64, bools bool.

    Example:
        >>> import ember
        >>> ember.tensor([1.0, 2.0], requires_grad=True)
        tensor([1., 2.], requires_grad=True)
    """
    as_device(device)
    arr = _to_array(data, _dt.as_dtype(dtype) if dtype is not None else None)
    if not arr.flags.writeable or (isinstance(data, np.ndarray) and np.shares_memory(arr, data)):
        arr = arr.copy()
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when no conversion is needed.

    Example:
        >>> import ember, numpy as np
        >>> a = np.zeros(2, dtype=np.float32)
        >>> ember.as_tensor(a).numpy() is a
        True
    """
    as_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or _dt.as_dtype(dtype).np == data.dtype):
        _dt.from_numpy_dtype(data.dtype)
        return Tensor._wrap(data)
    return Tensor._wrap(_to_array(data, _dt.as_dtype(dtype) if dtype is not None else None))


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (writes show through both ways)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    _dt.from_numpy_dtype(ndarray.dtype)
    return Tensor._wrap(ndarray)


def _size_args(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a sequence of ints, got {type(s).__name__} ({s!r})")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _finish(arr: np.ndarray, requires_grad: bool, device=None) -> Tensor:
    as_device(device)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """A tensor of zeros: ``ember.zeros(2, 3)`` or ``ember.zeros((2, 3))``."""
    return _finish(np.zeros(_size_args(size), _dt.as_dtype(dtype).np), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """A tensor of ones."""
    return _finish(np.ones(_size_args(size), _dt.as_dtype(dtype).np), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    """An uninitialised tensor."""
    return _finish(np.empty(_size_args(size), _dt.as_dtype(dtype).np), requires_grad, device)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value`` (dtype inferred from it when not given)."""
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.scalar_dtype(fill_value)
    return _finish(np.full(_size_args((size,)), fill_value, d.np), requires_grad, device)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 when all are ints.

    Example:
        >>> import ember
        >>> ember.arange(5)
        tensor([0, 1, 2, 3, 4])
    """
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in vals)
        d = _dt.int64 if is_int else _dt.get_default_dtype()
    else:
        d = _dt.as_dtype(dtype)
    n = max(0, int(np.ceil((vals[1] - vals[0]) / vals[2])))
    arr = (vals[0] + np.arange(n, dtype=np.float64) * vals[2]) if d.is_floating_point else \
        np.arange(vals[0], vals[1], vals[2])
    return _finish(arr.astype(d.np), requires_grad, device)
