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

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "linspace",
    "logspace",
    "eye",
    "tril_indices",
    "triu_indices",
]


_PY_SCALARS = (bool, int, float)


def _infer_dtype(arr: np.ndarray, data) -> np.dtype:
    """PyTorch's dtype for data that is not a Python sequence (arrays, NumPy scalars)."""
    kind = arr.dtype.kind
    if kind == "f":
        if isinstance(data, (np.ndarray, np.floating)):
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
    if kind in "OUS":
        raise TypeError(
            f"tensor: could not infer dtype from data of type {type(data).__name__}; data must be "
            "numbers, nested sequences of numbers, arrays or tensors of equal lengths"
        )
    raise TypeError(f"tensor: unsupported data of NumPy dtype {arr.dtype}")


def _leaf_dtype(v) -> _dt.dtype:
    """The dtype PyTorch gives one element of a nested sequence."""
    if isinstance(v, Tensor):
        return _dt.from_numpy_dtype(v._data.dtype)
    t = type(v)
    if t is bool or t is np.bool_:
        return _dt.bool
    if t is int:
        return _dt.int64
    if t is float:
        return _dt.get_default_dtype()
    if isinstance(v, (np.ndarray, np.generic)) or hasattr(v, "__array__"):
        a = np.asarray(v)
        try:
            return _dt.from_numpy_dtype(a.dtype)
        except TypeError:
            pass
    if isinstance(v, (str, bytes)):
        raise TypeError(f"tensor: invalid data type {t.__name__!r} ({v!r}); expected numbers")
    if hasattr(v, "__index__"):
        return _dt.int64
    if hasattr(v, "__float__"):
        return _dt.get_default_dtype()
    raise TypeError(
        f"tensor: invalid data type {t.__name__!r}; expected numbers, sequences or tensors"
    )


def _seq_dtype(data) -> _dt.dtype | None:
    """Promote the dtypes of every leaf of a nested list/tuple (None when there are no leaves)."""
    out = None
    stack = [data]
    while stack:
        seq = stack.pop()
        kinds = set(map(type, seq))
        if kinds <= {float, int, bool}:  # fast path: a run of Python scalars
            for k in kinds:
                d = _leaf_dtype(k())
                out = d if out is None else _dt.promote_types(out, d)
            continue
        for v in seq:
            if isinstance(v, (list, tuple)):
                stack.append(v)
            else:
                d = _leaf_dtype(v)
                out = d if out is None else _dt.promote_types(out, d)
    return out


def _ragged_message(data) -> str:
    """PyTorch's message for a ragged nested list, e.g. 'expected sequence of length 2 at dim 1'."""
    level = [data]
    dim = 0
    while level and all(isinstance(v, (list, tuple)) for v in level):
        lens = [len(v) for v in level]
        if len(set(lens)) > 1:
            got = next(n for n in lens if n != lens[0])
            return f"expected sequence of length {lens[0]} at dim {dim} (got {got})"
        level = [x for v in level for x in v]
        dim += 1
    if level and any(isinstance(v, (list, tuple)) for v in level):
        return f"expected a number at dim {dim} but found a sequence"
    return "data has inconsistent lengths"


def _to_array(data, dtype: _dt.dtype | None) -> np.ndarray:
    """Convert Python data, arrays or tensors to a fresh ndarray with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        arr = data._data
        return arr.astype(dtype.np) if dtype is not None else arr.copy()
    if isinstance(data, (list, tuple)):
        inferred = _seq_dtype(data)
        target = dtype if dtype is not None else (inferred or _dt.get_default_dtype())
        if inferred is not None and any(isinstance(v, Tensor) for v in _flat(data)):
            data = _unwrap_nested(data)
        try:
            return np.array(data, dtype=target.np)
        except (ValueError, TypeError) as exc:
            if "inhomogeneous" in str(exc) or "sequence" in str(exc):
                raise ValueError(f"tensor: {_ragged_message(data)}") from None
            raise TypeError(f"tensor: could not convert data to {target} ({exc})") from None
    if isinstance(data, _PY_SCALARS):
        d = dtype if dtype is not None else _leaf_dtype(data)
        return np.array(data, dtype=d.np)
    try:
        arr = np.array(data)
    except ValueError as exc:
        raise ValueError(f"tensor: data has inconsistent lengths ({exc})") from None
    if dtype is not None:
        if arr.dtype.kind in "OUS":
            raise TypeError(f"tensor: could not convert data of type {type(data).__name__}")
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


def tensor(
    data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory=False
) -> Tensor:
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


def empty(
    *size, dtype=None, device=None, requires_grad: bool = False, memory_format=None
) -> Tensor:
    """An uninitialised tensor."""
    return _finish(np.empty(_size_args(size), _dt.as_dtype(dtype).np), requires_grad, device)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value`` (dtype inferred from it when not given)."""
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.scalar_dtype(fill_value)
    return _finish(np.full(_size_args((size,)), fill_value, d.np), requires_grad, device)


def arange(
    start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
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
    arr = (
        (vals[0] + np.arange(n, dtype=np.float64) * vals[2])
        if d.is_floating_point
        else np.arange(vals[0], vals[1], vals[2])
    )
    return _finish(arr.astype(d.np), requires_grad, device)


# -- *_like factories ------------------------------------------------------------------------
def _like_dtype(input: Tensor, dtype) -> _dt.dtype:  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"expected an ember Tensor as input, got {type(input).__name__}")
    return _dt.as_dtype(dtype) if dtype is not None else _dt.from_numpy_dtype(input._data.dtype)


def zeros_like(
    input: Tensor,  # noqa: A002
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """Zeros with the shape (and, unless ``dtype`` is given, the dtype) of ``input``.

    Example:
        >>> import ember
        >>> ember.zeros_like(ember.tensor([[1, 2]]))
        tensor([[0, 0]])
    """
    d = _like_dtype(input, dtype)
    return _finish(np.zeros(input._data.shape, d.np), requires_grad, device)


def ones_like(
    input: Tensor,  # noqa: A002
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """Ones with the shape (and, unless ``dtype`` is given, the dtype) of ``input``.

    Example:
        >>> import ember
        >>> ember.ones_like(ember.zeros(2, dtype=ember.float64))
        tensor([1., 1.], dtype=ember.float64)
    """
    d = _like_dtype(input, dtype)
    return _finish(np.ones(input._data.shape, d.np), requires_grad, device)


def empty_like(
    input: Tensor,  # noqa: A002
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """An uninitialised tensor with the shape and dtype of ``input``.

    Example:
        >>> import ember
        >>> ember.empty_like(ember.zeros(2, 3)).shape
        ember.Size([2, 3])
    """
    d = _like_dtype(input, dtype)
    return _finish(np.empty(input._data.shape, d.np), requires_grad, device)


def full_like(
    input: Tensor,  # noqa: A002
    fill_value,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """``fill_value`` in the shape of ``input``, in ``input``'s dtype unless ``dtype`` is given.

    Example:
        >>> import ember
        >>> ember.full_like(ember.tensor([1, 2, 3]), 7)
        tensor([7, 7, 7])
    """
    d = _like_dtype(input, dtype)
    return _finish(
        _full_array(input._data.shape, fill_value, d, "full_like"), requires_grad, device
    )


def _full_array(shape: tuple, value, d: _dt.dtype, op: str) -> np.ndarray:
    if isinstance(value, Tensor):
        if value._data.size != 1:
            raise RuntimeError(
                f"{op}: fill value must be a number or a one-element tensor, "
                f"got a tensor with {value._data.size} elements"
            )
        value = value.item()
    if not isinstance(value, (bool, int, float, np.number, np.bool_)):
        raise TypeError(f"{op}: fill value must be a number, got {type(value).__name__}")
    try:
        if d.category != _dt.float32.category and isinstance(value, (float, np.floating)):
            if not np.isfinite(value):
                raise RuntimeError(f"{op}: value {value} cannot be converted to type {d.name}")
            value = int(value) if d is not _dt.bool else bool(value)
        return np.full(shape, value, d.np)
    except OverflowError:
        raise RuntimeError(
            f"{op}: value cannot be converted to type {d.name} without overflow: {value}"
        ) from None


# -- ranges ----------------------------------------------------------------------------------
def _scalar_arg(v, name: str, op: str):
    if isinstance(v, Tensor):
        if v._data.ndim != 0:
            raise RuntimeError(
                f"{op}: {name} must be a 0-dimensional tensor, got shape {tuple(v.shape)}"
            )
        return v.item()
    if not isinstance(v, (int, float, np.number)) or isinstance(v, bool):
        raise TypeError(f"{op}: {name} must be a number, got {type(v).__name__}")
    return v


def _steps_arg(steps, op: str) -> int:
    if isinstance(steps, Tensor):
        steps = steps.item()
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError(f"{op}: steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError(f"{op}: number of steps must be non-negative, got {steps}")
    return int(steps)


def _halfway_grid(start, end, steps: int, d: _dt.dtype) -> np.ndarray:
    """PyTorch's linspace grid: the first half counts up from start, the second down from end."""
    ct = d.np if d.is_floating_point and d.itemsize >= 4 else np.dtype(np.float64)
    if d.is_floating_point and d.itemsize < 4:
        ct = np.dtype(np.float32)
    if not d.is_floating_point:  # PyTorch converts the ends to the integer dtype first
        start, end = (int(np.array(int(v)).astype(d.np)) for v in (start, end))
    if steps == 1:
        return np.full(1, start, ct)
    s, e = ct.type(start), ct.type(end)
    step = (e - s) / ct.type(steps - 1)
    idx = np.arange(steps, dtype=ct)
    half = steps // 2
    out = np.empty(steps, ct)
    out[:half] = s + step * idx[:half]
    out[half:] = e - step * (ct.type(steps - 1) - idx[half:])
    return out


def linspace(
    start,
    end,
    steps: int,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    out=None,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (default float dtype).

    Example:
        >>> import ember
        >>> ember.linspace(0, 1, 5)
        tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    start, end = _scalar_arg(start, "start", "linspace"), _scalar_arg(end, "end", "linspace")
    n = _steps_arg(steps, "linspace")
    d = _dt.as_dtype(dtype)
    grid = _halfway_grid(start, end, n, d)
    if not d.is_floating_point:
        grid = np.trunc(grid)
    return _finish(grid.astype(d.np), requires_grad, device)


def logspace(
    start,
    end,
    steps: int,
    base: float = 10.0,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    out=None,
) -> Tensor:
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in log scale.

    Example:
        >>> import ember
        >>> ember.logspace(0, 2, 3)
        tensor([  1.,  10., 100.])
    """
    start, end = _scalar_arg(start, "start", "logspace"), _scalar_arg(end, "end", "logspace")
    base = _scalar_arg(base, "base", "logspace")
    n = _steps_arg(steps, "logspace")
    d = _dt.as_dtype(dtype)
    grid = _halfway_grid(start, end, n, d)
    with np.errstate(over="ignore", invalid="ignore"):
        vals = np.power(grid.dtype.type(base), grid)
        if not d.is_floating_point:
            vals = np.trunc(vals)
        vals = vals.astype(d.np)
    return _finish(vals, requires_grad, device)


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    out=None,
) -> Tensor:
    """A 2-D tensor with ones on the diagonal: ``n`` rows, ``m`` (default ``n``) columns.

    Example:
        >>> import ember
        >>> ember.eye(2, 3)
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    n, m = _size_args((n, n if m is None else m))
    return _finish(np.eye(n, m, dtype=_dt.as_dtype(dtype).np), requires_grad, device)


def _tri_indices(row: int, col: int, offset: int, dtype, lower: bool, op: str) -> Tensor:
    row, col = _size_args((row, col))
    if not isinstance(offset, (int, np.integer)) or isinstance(offset, bool):
        raise TypeError(f"{op}: offset must be an int, got {type(offset).__name__}")
    d = _dt.int64 if dtype is None else _dt.as_dtype(dtype)
    if d not in (_dt.int32, _dt.int64):
        raise RuntimeError(f"{op}: dtype must be int32 or int64, got {d}")
    r, c = np.indices((row, col))
    mask = (c - r <= offset) if lower else (c - r >= offset)
    return Tensor._wrap(np.stack([r[mask], c[mask]]).astype(d.np).reshape(2, -1))


def tril_indices(
    row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None
) -> Tensor:
    """Indices (a 2 x N tensor, row-major order) of the lower triangle of a ``row x col`` matrix.

    Example:
        >>> import ember
        >>> ember.tril_indices(3, 3)
        tensor([[0, 1, 1, 2, 2, 2],
                [0, 0, 1, 0, 1, 2]])
    """
    as_device(device)
    return _tri_indices(row, col, offset, dtype, True, "tril_indices")


def triu_indices(
    row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None
) -> Tensor:
    """Indices (a 2 x N tensor, row-major order) of the upper triangle of a ``row x col`` matrix.

    Example:
        >>> import ember
        >>> ember.triu_indices(3, 3, 1)
        tensor([[0, 0, 1],
                [1, 2, 2]])
    """
    as_device(device)
    return _tri_indices(row, col, offset, dtype, False, "triu_indices")


# -- Tensor.new_* methods ----------------------------------------------------------------------
def _new_dtype(self: Tensor, dtype) -> _dt.dtype:
    return _dt.as_dtype(dtype) if dtype is not None else _dt.from_numpy_dtype(self._data.dtype)


def new_tensor(
    self: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False, **_kwargs
) -> Tensor:
    """A new tensor from ``data``, with this tensor's dtype unless ``dtype`` is given.

    Example:
        >>> import ember
        >>> ember.zeros(1, dtype=ember.float64).new_tensor([1, 2])
        tensor([1., 2.], dtype=ember.float64)
    """
    return tensor(data, dtype=_new_dtype(self, dtype), device=device, requires_grad=requires_grad)


def new_zeros(
    self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False, **_kwargs
) -> Tensor:
    """Zeros of ``size`` with this tensor's dtype unless ``dtype`` is given.

    Example:
        >>> import ember
        >>> ember.tensor([1, 2]).new_zeros(2, 2)
        tensor([[0, 0],
                [0, 0]])
    """
    d = _new_dtype(self, dtype)
    return _finish(np.zeros(_size_args(size), d.np), requires_grad, device)


def new_ones(
    self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False, **_kwargs
) -> Tensor:
    """Ones of ``size`` with this tensor's dtype unless ``dtype`` is given.

    Example:
        >>> import ember
        >>> ember.zeros(1).new_ones(3)
        tensor([1., 1., 1.])
    """
    d = _new_dtype(self, dtype)
    return _finish(np.ones(_size_args(size), d.np), requires_grad, device)


def new_empty(
    self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False, **_kwargs
) -> Tensor:
    """An uninitialised tensor of ``size`` with this tensor's dtype unless ``dtype`` is given.

    Example:
        >>> import ember
        >>> ember.zeros(1, dtype=ember.int32).new_empty(2, 3).dtype
        ember.int32
    """
    d = _new_dtype(self, dtype)
    return _finish(np.empty(_size_args(size), d.np), requires_grad, device)


def new_full(
    self: Tensor,
    size,
    fill_value,
    *,
    dtype=None,
    device=None,
    requires_grad: bool = False,
    **_kwargs,
) -> Tensor:
    """``fill_value`` in ``size`` with this tensor's dtype unless ``dtype`` is given.

    Example:
        >>> import ember
        >>> ember.zeros(1).new_full((2,), 3)
        tensor([3., 3.])
    """
    d = _new_dtype(self, dtype)
    arr = _full_array(_size_args((size,)), fill_value, d, "new_full")
    return _finish(arr, requires_grad, device)


for _name, _fn in (
    ("new_tensor", new_tensor),
    ("new_zeros", new_zeros),
    ("new_ones", new_ones),
    ("new_empty", new_empty),
    ("new_full", new_full),
):
    setattr(Tensor, _name, _fn)


# -- in-place fills ----------------------------------------------------------------------------
def overwrite_result(target: Tensor, values: Tensor) -> Tensor:
    """``values`` as the out-of-place result of an op that overwrites ``target`` entirely.

    For ``apply_inplace``: when ``target`` is recorded by autograd the result must still be
    connected to it (with a zero gradient), so ``target``'s old history is replaced, as in
    PyTorch's ``fill_``/``zero_``/``uniform_``.
    """
    from ..autograd.grad_mode import STATE
    from .elementwise import where

    if STATE.enabled and (target._requires_grad or values._requires_grad):
        if values._data.dtype != target._data.dtype:
            values = values.to(_dt.from_numpy_dtype(target._data.dtype))
        mask = Tensor._wrap(np.zeros(target._data.shape, np.bool_))
        return where(mask, target, values)
    return values


def _fill(target: Tensor, value) -> Tensor:
    d = _dt.from_numpy_dtype(target._data.dtype)
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value._data.ndim} dimensions."
            )
        return overwrite_result(target, value)
    return overwrite_result(target, Tensor._wrap(_full_array((), value, d, "fill_")))


_fill.__name__ = "fill"


def fill_(self: Tensor, value) -> Tensor:
    """Fill this tensor with ``value`` (a number or a 0-d tensor) in place.

    Example:
        >>> import ember
        >>> ember.zeros(3).fill_(2.5)
        tensor([2.5000, 2.5000, 2.5000])
    """
    from .._dispatch import apply_inplace

    return apply_inplace(self, _fill, value)


def zero_(self: Tensor) -> Tensor:
    """Fill this tensor with zeros in place.

    Example:
        >>> import ember
        >>> ember.ones(2, dtype=ember.int64).zero_()
        tensor([0, 0])
    """
    return fill_(self, 0)


Tensor.fill_ = fill_
Tensor.zero_ = zero_
