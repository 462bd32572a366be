"""Shared helpers for op modules: argument conversion, type promotion, shape rules."""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..registry import ShapeError, Spec
from ..tensor import Tensor, wrap_dim  # noqa: F401 - re-exported for the op modules

_SCALARS = (bool, int, float, np.number, np.bool_)


def is_scalar(x) -> bool:
    return isinstance(x, _SCALARS)


def to_tensor(x, dtype: _dt.dtype | None = None) -> Tensor:
    """A Tensor for ``x`` (a Tensor is returned as is; others are converted, no grad)."""
    if isinstance(x, Tensor):
        return x
    if dtype is not None:
        return Tensor._wrap(np.asarray(x, dtype=dtype.np))
    if is_scalar(x):
        return Tensor._wrap(np.asarray(x, dtype=_dt.scalar_dtype(x).np))
    from .creation import _to_array

    return Tensor._wrap(_to_array(x, None))


def result_type(*operands) -> _dt.dtype:
    """PyTorch's result dtype for an op on tensors and Python scalars."""
    dim = zdim = scal = None
    for o in operands:
        if isinstance(o, Tensor):
            d = _dt.from_numpy_dtype(o._data.dtype)
            if o._data.ndim:
                dim = d if dim is None else _dt.promote_types(dim, d)
            else:
                zdim = d if zdim is None else _dt.promote_types(zdim, d)
        elif o is not None:
            d = _dt.scalar_dtype(o)
            scal = d if scal is None else _dt.promote_types(scal, d)
    res = dim
    for group in (zdim, scal):
        if group is not None and (res is None or group.category > res.category):
            res = group
    return res


def promote(*operands, dtype: _dt.dtype | None = None) -> tuple:
    """Cast tensors and scalars to one dtype (the promoted one unless given). Returns (tensors, dtype)."""
    if dtype is None and len(operands) == 2:
        fast = _promote_pair_fast(*operands)
        if fast is not None:
            return fast
    if dtype is None:
        dtype = result_type(*operands)
    npd = dtype.np
    out = []
    for o in operands:
        if isinstance(o, Tensor):
            out.append(o if o._data.dtype == npd else _cast()(o, dtype))
        else:
            out.append(Tensor._wrap(np.asarray(o, dtype=npd)))
    return out, dtype


def _promote_pair_fast(a, b):
    """The common cases without the general rule: same-dtype tensors, float tensor and number."""
    if isinstance(a, Tensor):
        ad = a._data.dtype
        if isinstance(b, Tensor):
            if ad == b._data.dtype:
                return [a, b], _dt._BY_NP[ad]
            return None
        tb = type(b)
        if (tb is float or tb is int) and ad.kind == "f":
            return [a, Tensor._wrap(np.asarray(b, dtype=ad))], _dt._BY_NP[ad]
    elif isinstance(b, Tensor):
        ta = type(a)
        bd = b._data.dtype
        if (ta is float or ta is int) and bd.kind == "f":
            return [Tensor._wrap(np.asarray(a, dtype=bd)), b], _dt._BY_NP[bd]
    return None


_cast_fn = None


def _cast():
    global _cast_fn
    if _cast_fn is None:
        from .elementwise import cast

        _cast_fn = cast
    return _cast_fn


def float_dtype(d: _dt.dtype) -> _dt.dtype:
    """Integer and bool inputs of float-valued ops compute in the default float dtype."""
    return d if d.is_floating_point else _dt.get_default_dtype()


def broadcast_shapes(op: str, *shapes) -> tuple:
    """Broadcast shapes, or raise an error naming the op and the shapes."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(
            f"{op}: shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together"
        ) from None


def normalize_dims(op: str, dim, ndim: int) -> tuple | None:
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative axes, or None for all."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        axes = tuple(wrap_dim(op, d, ndim) for d in dim)
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
        return tuple(sorted(axes))
    return (wrap_dim(op, dim, ndim),)


def sum_to_shape(g: Tensor, shape: tuple) -> Tensor:
    """Reduce a broadcast gradient back to ``shape`` (in ember ops, so it is differentiable)."""
    gshape = tuple(g._data.shape)
    shape = tuple(shape)
    if gshape == shape:
        return g
    from .movement import reshape
    from .reduce import sum as _sum

    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1
    )
    if axes:
        g = _sum(g, dim=axes, keepdim=True)
    return reshape(g, shape) if tuple(g._data.shape) != shape else g


def grad_is_live(g: Tensor | None) -> bool:
    """False for a missing gradient or one that is all zeros and outside autograd.

    The engine fills the unused outputs of multi-output primitives with a zero-stride
    broadcast of one zero (see ``autograd.engine._fill_missing``): that case is decided by
    reading a single element, other arrays are scanned.
    """
    if g is None:
        return False
    if g._requires_grad:
        return True
    a = g._data
    if a.size and not any(a.strides):  # every element is the same memory location
        return bool(a[(0,) * a.ndim] != 0)
    return bool(a.any())


def same_spec(x: Spec, **_attrs) -> Spec:
    return x


def float_spec(x: Spec, **_attrs) -> Spec:
    return Spec(x.shape, float_dtype(x.dtype))


def bool_spec(x: Spec, **_attrs) -> Spec:
    return Spec(x.shape, _dt.bool)


def check_same_dtype(op: str, *specs: Spec) -> None:
    d0 = specs[0].dtype
    for s in specs[1:]:
        if s.dtype is not d0:
            raise TypeError(f"{op}: expected inputs of one dtype, got {d0} and {s.dtype}")
