"""Reductions (sum, mean, prod, amax, ...), scans and statistics.

Primitives here: ``sum``, ``prod``, ``amax``, ``amin``, ``argmax``, ``argmin``, ``all``, ``any``,
``cumsum``, ``cumprod``, ``median`` (full), ``median_index`` and ``reduce_select`` (pick one
element per slice along an axis, the value half of ``max(dim)``/``median(dim)``). Everything
else (mean, var, std, logsumexp, norms...) is a composite of primitives.

Dtypes follow PyTorch: ``sum``/``prod``/``cumsum`` of integers and bools give int64, ``mean``
and ``var`` of integers raise, ``amax``/``max`` keep the dtype, ``argmax`` gives int64.

Example:
    >>> import ember
    >>> ember.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0)
    tensor([4., 6.])
    >>> ember.tensor([[1.0, 5.0], [3.0, 4.0]]).max(dim=1).indices
    tensor([1, 1])
"""

# ruff: noqa: A002 - PyTorch argument names (input, ord) shadow builtins on purpose

from __future__ import annotations

import builtins
import collections
import math

import numpy as np

from .. import dtypes as _dt
from .._dispatch import apply
from ..registry import ShapeError, Spec, primitive
from ..tensor import Tensor, tensor_method
from . import elementwise as _ew
from ._blas import sum_last, sum_rows
from ._helpers import float_dtype, normalize_dims, to_tensor, wrap_dim
from .movement import expand, permute, reshape

__all__ = [
    "sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "all", "any",
    "cumsum", "cumprod", "logsumexp", "var", "std", "var_mean", "std_mean", "norm",
    "count_nonzero", "median", "aminmax", "nansum",
]  # fmt: skip

# namedtuple results, like torch.return_types (tuple subclasses with named fields)
max_result = collections.namedtuple("max", ["values", "indices"])
min_result = collections.namedtuple("min", ["values", "indices"])
median_result = collections.namedtuple("median", ["values", "indices"])
aminmax_result = collections.namedtuple("aminmax", ["min", "max"])


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------
def _reduced_shape(shape: tuple, axes, keepdim: bool) -> tuple:
    if axes is None:
        axes = tuple(range(len(shape)))
    if keepdim:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _axes(op: str, dim, ndim: int):
    """Normalized reduction axes; None means all (also for ``dim=()`` and 0-d inputs)."""
    axes = normalize_dims(op, dim, ndim)
    if axes == () or ndim == 0:
        return None
    return axes


def _count(shape: tuple, axes) -> int:
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


def _np_dtype(x: Tensor) -> _dt.dtype:
    return _dt.from_numpy_dtype(x._data.dtype)


def _check_nonempty(op: str, shape: tuple, axes) -> None:
    for i, s in enumerate(shape):
        if s == 0 and (axes is None or i in axes):
            raise IndexError(
                f"{op}: cannot reduce over dimension {i} of size 0 (input shape {tuple(shape)}); "
                "this reduction has no identity"
            )


def _reduce_rule(op, out_dtype=None, nonempty=False):
    def rule(x: Spec, *, axes, keepdim, **_attrs) -> Spec:
        for a in axes or ():
            if not 0 <= a < builtins.max(len(x.shape), 1):
                raise IndexError(f"{op}: axis {a} out of range for shape {tuple(x.shape)}")
        if nonempty:
            _check_nonempty(op, x.shape, axes)
        return Spec(_reduced_shape(x.shape, axes, keepdim), out_dtype or x.dtype)

    return rule


def _keep(g: Tensor, shape: tuple, axes, keepdim: bool) -> Tensor:
    """``g`` reshaped to the keepdim form of a reduction of ``shape`` over ``axes``."""
    if keepdim:
        return g
    return reshape(g, _reduced_shape(shape, axes, True))


def _zero(like: Tensor) -> Tensor:
    return Tensor._wrap(np.zeros((), like._data.dtype))


# ---------------------------------------------------------------------------------------------
# sum
# ---------------------------------------------------------------------------------------------
def _sum_rule(x: Spec, *, axes, keepdim, dtype) -> Spec:
    return Spec(_reduced_shape(x.shape, axes, keepdim), dtype)


@primitive("sum", _sum_rule)
def _sum(x, *, axes, keepdim, dtype):
    """Sum over ``axes`` (None means all)."""
    if axes and x.dtype == dtype.np:
        fast = _sum_blocks(x, axes)
        if fast is not None:
            return fast.reshape(_reduced_shape(x.shape, axes, keepdim))
    return np.sum(x, axis=axes, keepdims=keepdim, dtype=dtype.np)


_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _sum_blocks(x: np.ndarray, axes: tuple) -> np.ndarray | None:
    """Sums over a trailing block of axes as GEMVs (``_blas.sum_last``), and over a leading
    block of a 2-D view as a ones-vector product (``sum_rows``): NumPy reduces short rows one
    at a time. The bias gradient of a ``(1024, 512)`` linear (axis 0) or of a conv layer
    ((0, 2, 3)) are the typical cases. None when neither applies (NumPy sums)."""
    nd = x.ndim
    if x.dtype not in _BLAS_DTYPES or x.size < 8192 or not x.flags.c_contiguous or len(axes) == nd:
        return None
    k = 0
    while k < len(axes) and axes[-1 - k] == nd - 1 - k:
        k += 1
    if k:  # reduce the trailing block, then what is left with NumPy
        keep = x.shape[: nd - k]
        part = sum_last(x.reshape(keep + (-1,)), keepdims=False)
        rest = axes[: len(axes) - k]
        return part.sum(axis=rest) if rest else part
    if axes == tuple(range(len(axes))):  # a leading block
        lead = math.prod(x.shape[: len(axes)])
        return sum_rows(x.reshape(lead, -1))
    return None


@_sum.defvjp
def _(ctx, g):
    shape = ctx.in_meta[0][0]
    a = ctx.attrs
    return (expand(_keep(g, shape, a["axes"], a["keepdim"]), shape),)


def _int_to_long(x: Tensor, dtype) -> _dt.dtype:
    if dtype is not None:
        return _dt.as_dtype(dtype)
    d = _np_dtype(x)
    return d if d.is_floating_point else _dt.int64


@tensor_method()
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum of all elements, or over ``dim`` (int or tuple).

    Integer and bool inputs sum in int64, as in PyTorch.

    Example:
        >>> import ember
        >>> ember.ones(2, 3).sum(dim=1)
        tensor([3., 3.])
    """
    x = to_tensor(input)
    axes = _axes("sum", dim, x._data.ndim)
    dtype = _int_to_long(x, dtype)
    if x._data.dtype != dtype.np and dtype.is_floating_point:
        x = _ew.cast(x, dtype)
    return apply(_sum, x, axes=axes, keepdim=bool(keepdim), dtype=dtype)


@tensor_method()
def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum treating NaN as zero.

    Example:
        >>> import ember
        >>> ember.nansum(ember.tensor([1.0, float("nan"), 2.0]))
        tensor(3.)
    """
    x = to_tensor(input)
    if x.is_floating_point():
        x = _ew.where(_ew.isnan(x), 0.0, x)
    return sum(x, dim, keepdim, dtype=dtype)


@tensor_method()
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Arithmetic mean of all elements, or over ``dim`` (int or tuple).

    Integer inputs raise unless a floating ``dtype`` is given, as in PyTorch.

    Example:
        >>> import ember
        >>> ember.tensor([[1.0, 2.0], [3.0, 5.0]]).mean(dim=0)
        tensor([2.0000, 3.5000])
    """
    x = to_tensor(input)
    d = _dt.as_dtype(dtype) if dtype is not None else _np_dtype(x)
    if not d.is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {_torch_name(d)}"
        )
    axes = _axes("mean", dim, x._data.ndim)
    s = sum(x, dim=axes, keepdim=keepdim, dtype=d)
    n = _count(x._data.shape, axes)
    return s * (1.0 / n) if n else s * math.nan


_TORCH_NAMES = {
    "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
    "bool": "Bool", "float32": "Float", "float64": "Double", "float16": "Half",
    "bfloat16": "BFloat16",
}  # fmt: skip


def _torch_name(d: _dt.dtype) -> str:
    return _TORCH_NAMES.get(d.name, d.name)


# ---------------------------------------------------------------------------------------------
# prod
# ---------------------------------------------------------------------------------------------
@primitive("prod", _sum_rule, saves_inputs=True, saves_outputs=True)
def _prod(x, *, axes, keepdim, dtype):
    """Product over ``axes`` (None means all)."""
    return np.prod(x, axis=axes, keepdims=keepdim, dtype=dtype.np)


@_prod.defvjp
def _(ctx, g):
    (x,) = ctx.inputs
    a = ctx.attrs
    shape, axes = ctx.in_meta[0][0], a["axes"]
    gk = _keep(g, shape, axes, a["keepdim"])
    if not np.any(x._data == 0):
        out = _keep(ctx.outputs[0], shape, axes, a["keepdim"])
        return (gk * out / x,)
    # with zeros: the product of the others is prod(nonzeros) where x is the only zero, else 0
    is_zero = _ew.eq(x, 0.0)
    safe = _ew.where(is_zero, 1.0, x)
    p_safe = apply(_prod, safe, axes=axes, keepdim=True, dtype=_np_dtype(safe))
    zeros = _sum_all_keep(is_zero, shape, axes)
    no_zero = _ew.eq(zeros, 0)
    one_zero = _ew.logical_and(_ew.eq(zeros, 1), is_zero)
    others = _ew.where(no_zero, p_safe / safe, _ew.where(one_zero, p_safe, 0.0))
    return (gk * others,)


@tensor_method()
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or over one ``dim``; integers and bools give int64.

    The gradient is exact with zeros in the input (the product of the other elements).

    Example:
        >>> import ember
        >>> ember.tensor([[1.0, 2.0], [3.0, 4.0]]).prod(1)
        tensor([ 2., 12.])
    """
    x = to_tensor(input)
    axes = _axes("prod", dim, x._data.ndim)
    dtype = _int_to_long(x, dtype)
    if x._data.dtype != dtype.np and dtype.is_floating_point:
        x = _ew.cast(x, dtype)
    return apply(_prod, x, axes=axes, keepdim=bool(keepdim), dtype=dtype)


# ---------------------------------------------------------------------------------------------
# amax / amin / full median: gradient split evenly among ties
# ---------------------------------------------------------------------------------------------
def _even_vjp(ctx, g):
    """Gradient of a value-selecting reduction, split evenly among the tied elements."""
    (x,) = ctx.inputs
    (out,) = ctx.outputs
    a = ctx.attrs
    shape, axes, keepdim = ctx.in_meta[0][0], a.get("axes"), a.get("keepdim", False)
    o = _keep(out.detach(), shape, axes, keepdim)
    gk = _keep(g, shape, axes, keepdim)
    mask = _ew.logical_or(_ew.eq(x, o), _ew.logical_and(_ew.isnan(x), _ew.isnan(o)))
    count = _ew.cast(_sum_all_keep(mask, shape, axes), _np_dtype(g))
    return (_ew.where(mask, gk / count, _zero(g)),)


def _sum_all_keep(t: Tensor, shape, axes) -> Tensor:
    return apply(_sum, t, axes=axes, keepdim=True, dtype=_dt.int64)


_amax = primitive("amax", _reduce_rule("amax", nonempty=True), saves_inputs=True,
                  saves_outputs=True)(
    lambda x, *, axes, keepdim: np.max(x, axis=axes, keepdims=keepdim)
)  # fmt: skip
_amin = primitive("amin", _reduce_rule("amin", nonempty=True), saves_inputs=True,
                  saves_outputs=True)(
    lambda x, *, axes, keepdim: np.min(x, axis=axes, keepdims=keepdim)
)  # fmt: skip
_amax.defvjp(_even_vjp)
_amin.defvjp(_even_vjp)


def _amax_amin(prim, name, input, dim, keepdim):
    x = to_tensor(input)
    axes = _axes(name, dim, x._data.ndim)
    _check_nonempty(name, x._data.shape, axes)
    return apply(prim, x, axes=axes, keepdim=bool(keepdim))


@tensor_method()
def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (int or tuple; all by default). Ties share the gradient evenly.

    Example:
        >>> import ember
        >>> ember.tensor([[1.0, 5.0], [3.0, 4.0]]).amax(dim=0)
        tensor([3., 5.])
    """
    return _amax_amin(_amax, "amax", input, dim, keepdim)


@tensor_method()
def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (int or tuple; all by default). Ties share the gradient evenly.

    Example:
        >>> import ember
        >>> ember.tensor([[1.0, 5.0], [3.0, 4.0]]).amin(dim=1)
        tensor([1., 3.])
    """
    return _amax_amin(_amin, "amin", input, dim, keepdim)


@tensor_method()
def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """``(min, max)`` as a namedtuple with fields ``min`` and ``max``.

    Example:
        >>> import ember
        >>> ember.aminmax(ember.tensor([3.0, -1.0, 2.0])).max
        tensor(3.)
    """
    return aminmax_result(
        amin(input, dim if dim is not None else (), keepdim),
        amax(input, dim if dim is not None else (), keepdim),
    )


# ---------------------------------------------------------------------------------------------
# argmax / argmin, and reduce_select (the values of max(dim), min(dim), median(dim))
# ---------------------------------------------------------------------------------------------
def _arg_rule(op):
    def rule(x: Spec, *, axis, keepdim) -> Spec:
        if axis is None:
            _check_nonempty(op, x.shape, None)
            shape = tuple(1 for _ in x.shape) if keepdim else ()
        else:
            _check_nonempty(op, x.shape, (axis,))
            shape = _reduced_shape(x.shape, (axis,), keepdim)
        return Spec(shape, _dt.int64)

    return rule


def _arg_fwd(fn):
    def fwd(x, *, axis, keepdim):
        return fn(x, axis=axis, keepdims=keepdim).astype(np.int64, copy=False)

    return fwd


_argmax = primitive("argmax", _arg_rule("argmax"))(_arg_fwd(np.argmax))
_argmin = primitive("argmin", _arg_rule("argmin"))(_arg_fwd(np.argmin))


def _arg(prim, name, input, dim, keepdim):
    x = to_tensor(input)
    if dim is None:
        _check_nonempty(name, x._data.shape, None)
        return apply(prim, x, axis=None, keepdim=bool(keepdim))
    axis = wrap_dim(name, dim, x._data.ndim)
    if x._data.ndim == 0:
        return apply(prim, x, axis=None, keepdim=False)
    _check_nonempty(name, x._data.shape, (axis,))
    return apply(prim, x, axis=axis, keepdim=bool(keepdim))


@tensor_method()
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (of the flattened tensor when ``dim`` is None); first one on ties.

    Example:
        >>> import ember
        >>> ember.tensor([[1.0, 5.0], [3.0, 4.0]]).argmax(dim=1)
        tensor([1, 1])
    """
    return _arg(_argmax, "argmax", input, dim, keepdim)


@tensor_method()
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (of the flattened tensor when ``dim`` is None); first one on ties.

    Example:
        >>> import ember
        >>> ember.argmin(ember.tensor([3.0, -1.0, 2.0]))
        tensor(1)
    """
    return _arg(_argmin, "argmin", input, dim, keepdim)


def _select_rule(x: Spec, idx: Spec, *, axis, keepdim) -> Spec:
    if idx.dtype is not _dt.int64:
        raise TypeError(f"reduce_select: indices must be int64, got {idx.dtype}")
    want = _reduced_shape(x.shape, (axis,), True)
    if tuple(idx.shape) != want:
        raise ShapeError(
            f"reduce_select: indices of shape {tuple(idx.shape)} do not match {want} "
            f"(input shape {tuple(x.shape)}, axis {axis})"
        )
    return Spec(_reduced_shape(x.shape, (axis,), keepdim), x.dtype)


@primitive("reduce_select", _select_rule, saves_inputs=True)
def _reduce_select(x, idx, *, axis, keepdim):
    """Pick ``x[..., idx, ...]`` along ``axis``; ``idx`` has size 1 there (keepdim form)."""
    out = np.take_along_axis(x, idx, axis)
    return out if keepdim else np.squeeze(out, axis)


@_reduce_select.defvjp
def _(ctx, g):
    x, idx = ctx.inputs
    a = ctx.attrs
    shape, axis = ctx.in_meta[0][0], a["axis"]
    gk = _keep(g, shape, (axis,), a["keepdim"])
    iota_shape = tuple(s if i == axis else 1 for i, s in enumerate(shape))
    iota = Tensor._wrap(np.arange(shape[axis], dtype=np.int64).reshape(iota_shape))
    return (_ew.where(_ew.eq(iota, idx), gk, _zero(g)), None)


def _select(x: Tensor, idx_keep: Tensor, axis: int, keepdim: bool) -> Tensor:
    return apply(_reduce_select, x, idx_keep, axis=axis, keepdim=bool(keepdim))


def _value_index(name, result_type, arg_prim, x: Tensor, dim, keepdim):
    nd = x._data.ndim
    axis = wrap_dim(name, dim, nd)
    if nd == 0:
        x1 = reshape(x, (1,))
        v, i = _value_index(name, result_type, arg_prim, x1, 0, False)
        return result_type(v, i)
    _check_nonempty(name, x._data.shape, (axis,))
    idx = apply(arg_prim, x, axis=axis, keepdim=True)
    values = _select(x, idx, axis, keepdim)
    if not keepdim:
        idx = reshape(idx, _reduced_shape(x._data.shape, (axis,), False))
    return result_type(values, idx)


def _max_min(name, result_type, full, arg_prim, pair, input, dim, keepdim, other):
    x = to_tensor(input)
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return pair(x, other)
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}: keepdim needs a dim argument")
        if x._data.size == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        return apply(full, x, axes=None, keepdim=False)
    return _value_index(name, result_type, arg_prim, x, dim, keepdim)


@tensor_method()
def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001
    """Maximum: of all elements (a tensor), over ``dim`` (namedtuple ``values, indices``),
    or elementwise with another tensor (``x.max(y)`` is ``maximum``).

    Example:
        >>> import ember
        >>> x = ember.tensor([[1.0, 5.0], [3.0, 4.0]])
        >>> x.max()
        tensor(5.)
        >>> x.max(dim=0)
        max(values=tensor([3., 5.]), indices=tensor([1, 0]))
    """
    return _max_min("max", max_result, _amax, _argmax, _ew.maximum, input, dim, keepdim, other)


@tensor_method()
def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001
    """Minimum: of all elements (a tensor), over ``dim`` (namedtuple ``values, indices``),
    or elementwise with another tensor (``x.min(y)`` is ``minimum``).

    Example:
        >>> import ember
        >>> ember.tensor([[1.0, 5.0], [3.0, 4.0]]).min(1).values
        tensor([1., 3.])
    """
    return _max_min("min", min_result, _amin, _argmin, _ew.minimum, input, dim, keepdim, other)


# ---------------------------------------------------------------------------------------------
# median
# ---------------------------------------------------------------------------------------------
def _median_np(flat: np.ndarray):
    if flat.size == 0:
        return np.asarray(np.nan if flat.dtype.kind == "f" else 0, flat.dtype)
    if flat.dtype.kind == "f" and np.isnan(flat).any():
        return np.asarray(np.nan, flat.dtype)
    k = (flat.size - 1) // 2
    return np.asarray(np.partition(flat, k)[k])


def _median_rule(x: Spec) -> Spec:
    return Spec((), x.dtype)


@primitive("median", _median_rule, saves_inputs=True, saves_outputs=True)
def _median(x):
    """Lower median of all elements (NaN if any element is NaN)."""
    return _median_np(x.reshape(-1))


_median.defvjp(_even_vjp)


def _median_index_rule(x: Spec, *, axis) -> Spec:
    _check_nonempty("median", x.shape, (axis,))
    return Spec(_reduced_shape(x.shape, (axis,), True), _dt.int64)


@primitive("median_index", _median_index_rule)
def _median_index(x, *, axis):
    """Index of the lower median along ``axis`` (keepdim form); the first NaN if any."""
    n = x.shape[axis]
    idx = np.take(np.argsort(x, axis=axis, kind="stable"), [(n - 1) // 2], axis=axis)
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        has = nan.any(axis=axis, keepdims=True)
        if has.any():
            idx = np.where(has, np.argmax(nan, axis=axis, keepdims=True), idx)
    return idx.astype(np.int64, copy=False)


@tensor_method()
def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """Lower median: of all elements (a tensor) or over ``dim`` (namedtuple ``values, indices``).

    Example:
        >>> import ember
        >>> ember.tensor([3.0, 1.0, 4.0, 2.0]).median()
        tensor(2.)
    """
    x = to_tensor(input)
    if dim is None:
        return apply(_median, x)
    nd = x._data.ndim
    axis = wrap_dim("median", dim, nd)
    if nd == 0:
        v, i = median(reshape(x, (1,)), 0)
        return median_result(v, i)
    _check_nonempty("median", x._data.shape, (axis,))
    idx = apply(_median_index, x, axis=axis)
    values = _select(x, idx, axis, keepdim)
    if not keepdim:
        idx = reshape(idx, _reduced_shape(x._data.shape, (axis,), False))
    return median_result(values, idx)


# ---------------------------------------------------------------------------------------------
# all / any / count_nonzero
# ---------------------------------------------------------------------------------------------
def _logic_rule(op):
    base = _reduce_rule(op)

    def rule(x: Spec, *, axes, keepdim) -> Spec:
        s = base(x, axes=axes, keepdim=keepdim)
        return Spec(s.shape, _dt.uint8 if x.dtype is _dt.uint8 else _dt.bool)

    return rule


def _logic_fwd(fn):
    def fwd(x, *, axes, keepdim):
        out = fn(x, axis=axes, keepdims=keepdim)
        return np.asarray(out, np.uint8 if x.dtype == np.uint8 else np.bool_)

    return fwd


_all = primitive("all", _logic_rule("all"))(_logic_fwd(np.all))
_any = primitive("any", _logic_rule("any"))(_logic_fwd(np.any))


@tensor_method()
def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True if every element (over ``dim``, int or tuple) is nonzero; bool result (uint8 kept).

    Example:
        >>> import ember
        >>> ember.tensor([[True, False], [True, True]]).all(dim=1)
        tensor([False,  True])
    """
    x = to_tensor(input)
    return apply(_all, x, axes=_axes("all", dim, x._data.ndim), keepdim=bool(keepdim))


@tensor_method()
def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True if any element (over ``dim``, int or tuple) is nonzero; bool result (uint8 kept).

    Example:
        >>> import ember
        >>> ember.tensor([0.0, 2.0]).any()
        tensor(True)
    """
    x = to_tensor(input)
    return apply(_any, x, axes=_axes("any", dim, x._data.ndim), keepdim=bool(keepdim))


@tensor_method()
def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Number of nonzero elements (over ``dim``, int or tuple), as int64.

    Example:
        >>> import ember
        >>> ember.count_nonzero(ember.tensor([[0, 1], [2, 3]]), dim=0)
        tensor([1, 2])
    """
    x = to_tensor(input)
    return sum(_ew.ne(x, 0), dim=_axes("count_nonzero", dim, x._data.ndim))


# ---------------------------------------------------------------------------------------------
# cumsum / cumprod
# ---------------------------------------------------------------------------------------------
def _scan_rule(op):
    def rule(x: Spec, *, axis, dtype, **_attrs) -> Spec:
        if not 0 <= axis < builtins.max(len(x.shape), 1):
            raise IndexError(f"{op}: axis {axis} out of range for shape {tuple(x.shape)}")
        return Spec(x.shape, dtype)

    return rule


@primitive("cumsum", _scan_rule("cumsum"))
def _cumsum(x, *, axis, dtype, reverse=False):
    """Cumulative sum along ``axis`` (from the end when ``reverse``)."""
    if x.ndim == 0:
        return x.astype(dtype.np)
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis, dtype=dtype.np), axis)
    return np.cumsum(x, axis=axis, dtype=dtype.np)


@_cumsum.defvjp
def _(ctx, g):
    a = ctx.attrs
    return (apply(_cumsum, g, axis=a["axis"], dtype=_np_dtype(g), reverse=not a["reverse"]),)


@primitive("cumprod", _scan_rule("cumprod"), saves_inputs=True, saves_outputs=True)
def _cumprod(x, *, axis, dtype):
    """Cumulative product along ``axis``."""
    if x.ndim == 0:
        return x.astype(dtype.np)
    return np.cumprod(x, axis=axis, dtype=dtype.np)


@_cumprod.defvjp
def _(ctx, g):
    (x,) = ctx.inputs
    axis = ctx.attrs["axis"]
    if x._data.ndim == 0:
        return (g,)
    if not np.any(x._data == 0):
        gy = g * ctx.outputs[0]
        return (apply(_cumsum, gy, axis=axis, dtype=_np_dtype(g), reverse=True) / x,)
    # zeros: grad_k = sum_{i >= k} g_i * prod_{j <= i, j != k} x_j, built on an (n, n) grid
    nd = x._data.ndim
    n = x._data.shape[axis]
    perm = tuple(i for i in range(nd) if i != axis) + (axis,)
    inv = tuple(np.argsort(perm).tolist())
    xp = permute(x, perm)
    gp = permute(g, perm)
    lead = tuple(xp._data.shape[:-1])
    eye = Tensor._wrap(np.eye(n, dtype=bool))
    upper = Tensor._wrap(np.triu(np.ones((n, n), dtype=bool)))
    grid = _ew.where(eye, 1.0, reshape(xp, lead + (1, n)))  # row k: x with x_k replaced by 1
    c = cumprod(grid, dim=-1)  # c[k, i] = prod_{j <= i, j != k} x_j
    terms = _ew.where(upper, c * reshape(gp, lead + (1, n)), _zero(g))
    return (permute(sum(terms, dim=-1), inv),)


def _scan(prim, name, input, dim, dtype):
    x = to_tensor(input)
    axis = wrap_dim(name, dim, x._data.ndim)
    dtype = _int_to_long(x, dtype)
    if x._data.dtype != dtype.np and dtype.is_floating_point:
        x = _ew.cast(x, dtype)
    if x._data.ndim == 0:
        axis = 0
    return x, axis, dtype


@tensor_method()
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative sum along ``dim``; integers and bools accumulate in int64.

    Example:
        >>> import ember
        >>> ember.cumsum(ember.tensor([1, 2, 3]), dim=0)
        tensor([1, 3, 6])
    """
    x, axis, dtype = _scan(_cumsum, "cumsum", input, dim, dtype)
    return apply(_cumsum, x, axis=axis, dtype=dtype, reverse=False)


@tensor_method()
def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative product along ``dim``; the gradient stays finite with zeros in the input.

    Example:
        >>> import ember
        >>> ember.cumprod(ember.tensor([1.0, 2.0, 3.0]), dim=0)
        tensor([1., 2., 6.])
    """
    x, axis, dtype = _scan(_cumprod, "cumprod", input, dim, dtype)
    return apply(_cumprod, x, axis=axis, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# logsumexp, var, std
# ---------------------------------------------------------------------------------------------
def _to_float(x: Tensor) -> Tensor:
    d = float_dtype(_np_dtype(x))
    return x if x._data.dtype == d.np else _ew.cast(x, d)


@tensor_method()
def logsumexp(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim`` (int or tuple; all when None), without overflow.

    Example:
        >>> import ember
        >>> ember.logsumexp(ember.tensor([1000.0, 1000.0]), dim=0)
        tensor(1000.6932)
    """
    x = _to_float(to_tensor(input))
    axes = _axes("logsumexp", dim, x._data.ndim)
    if x._data.size == 0:
        return _ew.log(sum(_ew.exp(x), dim=axes, keepdim=keepdim))
    m = amax(x.detach(), dim=axes if axes is not None else (), keepdim=True)
    m = _ew.where(_ew.isinf(m), 0.0, m)
    with np.errstate(divide="ignore"):  # all -inf gives -inf, as in PyTorch
        out = _ew.log(sum(_ew.exp(x - m), dim=axes, keepdim=True)) + m
    if not keepdim:
        out = reshape(out, _reduced_shape(x._data.shape, axes, False))
    return out


def _var_args(name, x, dim, unbiased, correction):
    if isinstance(dim, bool):  # legacy x.var(False)
        unbiased, dim = dim, None
    if correction is not None and unbiased is not None:
        raise TypeError(f"{name}: pass either unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    if not x.is_floating_point():
        raise RuntimeError("std and var only support floating point and complex dtypes")
    return _axes(name, dim, x._data.ndim), correction


def _var(x: Tensor, axes, correction, keepdim):
    n = _count(x._data.shape, axes)
    mu = mean(x, dim=axes, keepdim=True)
    d = x - mu
    s = sum(d * d, dim=axes, keepdim=keepdim)
    denom = builtins.max(0, n - correction)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = s / float(denom)
    if not keepdim:
        mu = reshape(mu, _reduced_shape(x._data.shape, axes, False))
    return v, mu


@tensor_method()
def var(
    input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
    correction: float | None = None,
) -> Tensor:  # fmt: skip
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default; ``unbiased=False`` is 0).

    Example:
        >>> import ember
        >>> ember.tensor([1.0, 2.0, 3.0, 4.0]).var()
        tensor(1.6667)
        >>> ember.tensor([1.0, 2.0, 3.0, 4.0]).var(correction=0)
        tensor(1.2500)
    """
    x = to_tensor(input)
    axes, c = _var_args("var", x, dim, unbiased, correction)
    return _var(x, axes, c, keepdim)[0]


@tensor_method()
def std(
    input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
    correction: float | None = None,
) -> Tensor:  # fmt: skip
    """Standard deviation, ``sqrt(var(...))`` with the same arguments.

    Example:
        >>> import ember
        >>> ember.tensor([[1.0, 3.0], [2.0, 2.0]]).std(dim=1)
        tensor([1.4142, 0.0000])
    """
    x = to_tensor(input)
    axes, c = _var_args("std", x, dim, unbiased, correction)
    return _ew.sqrt(_var(x, axes, c, keepdim)[0])


def var_mean(
    input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
    correction: float | None = None,
) -> tuple:  # fmt: skip
    """``(var, mean)`` over ``dim`` in one pass.

    Example:
        >>> import ember
        >>> v, m = ember.var_mean(ember.tensor([1.0, 3.0]))
        >>> float(v), float(m)
        (2.0, 2.0)
    """
    x = to_tensor(input)
    axes, c = _var_args("var_mean", x, dim, unbiased, correction)
    return _var(x, axes, c, keepdim)


def std_mean(
    input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
    correction: float | None = None,
) -> tuple:  # fmt: skip
    """``(std, mean)`` over ``dim``.

    Example:
        >>> import ember
        >>> s, m = ember.std_mean(ember.tensor([1.0, 3.0]))
        >>> round(float(s), 4), float(m)
        (1.4142, 2.0)
    """
    x = to_tensor(input)
    axes, c = _var_args("std_mean", x, dim, unbiased, correction)
    v, m = _var(x, axes, c, keepdim)
    return _ew.sqrt(v), m


# ---------------------------------------------------------------------------------------------
# norms (ember.linalg builds on these)
# ---------------------------------------------------------------------------------------------
def _check_float(op: str, x: Tensor) -> None:
    if not x.is_floating_point():
        raise RuntimeError(
            f"{op}: Expected a floating point or complex tensor as input. "
            f"Got {_torch_name(_np_dtype(x))}"
        )


def _vector_norm(x: Tensor, ord, axes, keepdim: bool) -> Tensor:
    """The vector ``ord``-norm over ``axes`` (None: all) of a float tensor."""
    p = float(ord)
    if p == math.inf or p == -math.inf:
        fn = amax if p > 0 else amin
        return fn(_ew.abs(x), dim=axes if axes is not None else (), keepdim=keepdim)
    if p == 0:
        # |sign(x)| counts nonzeros and keeps a (zero) gradient, as in PyTorch
        return sum(_ew.abs(_ew.sign(x)), dim=axes, keepdim=keepdim)
    if p == 1:
        return sum(_ew.abs(x), dim=axes, keepdim=keepdim)
    if p == 2:
        s = sum(x * x, dim=axes, keepdim=keepdim)
        root = None
    else:
        s = sum(_ew.abs(x) ** p, dim=axes, keepdim=keepdim)
        root = 1.0 / p
    # a zero norm has gradient 0 (PyTorch's subgradient), not 0 * inf
    zero = _ew.eq(s, 0.0)
    safe = _ew.where(zero, 1.0, s)
    r = _ew.sqrt(safe) if root is None else safe**root
    return _ew.where(zero, 0.0, r)


def vector_norm(input: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The vector norm of ``input`` (flattened when ``dim`` is None); ``ord`` is any float,
    ``inf``, ``-inf`` or 0. Exposed as ``ember.linalg.vector_norm``.

    Example:
        >>> import ember
        >>> ember.linalg.vector_norm(ember.tensor([3.0, -4.0]))
        tensor(5.)
    """
    x = to_tensor(input)
    _check_float("linalg.vector_norm", x)
    if dtype is not None:
        x = _ew.cast(x, dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return _vector_norm(x, ord, _axes("linalg.vector_norm", dim, x._data.ndim), keepdim)


def _matrix_dims(op: str, dim, ndim: int) -> tuple:
    if ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{op}: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (wrap_dim(op, d, ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{op}: dims must be different. Got ({d0}, {d1})")
    return d0, d1


def matrix_norm(
    input: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None
) -> Tensor:
    """The matrix norm over the two dims ``dim``: ``ord`` is ``'fro'``, 1, -1, ``inf`` or
    ``-inf`` (``'nuc'`` and 2/-2 need singular values, which ember does not provide yet).
    Exposed as ``ember.linalg.matrix_norm``.

    Example:
        >>> import ember
        >>> ember.linalg.matrix_norm(ember.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1)
        tensor(6.)
    """
    x = to_tensor(input)
    _check_float("linalg.matrix_norm", x)
    if dtype is not None:
        x = _ew.cast(x, dtype)
    d0, d1 = _matrix_dims("linalg.matrix_norm", dim, x._data.ndim)
    if ord == "fro":
        return _vector_norm(x, 2, tuple(sorted((d0, d1))), keepdim)
    if isinstance(ord, str) or ord not in (1, -1, math.inf, -math.inf):
        if ord in ("nuc", 2, -2):
            raise NotImplementedError(
                f"linalg.matrix_norm: ord={ord!r} needs singular values, not implemented yet"
            )
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    # ord 1 / -1: max / min column abs-sum (sum over d0); inf / -inf: rows (sum over d1)
    sum_dim, red_dim = (d0, d1) if builtins.abs(ord) == 1 else (d1, d0)
    s = sum(_ew.abs(x), dim=sum_dim, keepdim=True)
    fn = amax if ord > 0 else amin
    out = fn(s, dim=red_dim, keepdim=True)
    if not keepdim:
        out = reshape(out, _reduced_shape(x._data.shape, (d0, d1), False))
    return out


@tensor_method()
def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The norm, as ``torch.norm``: ``p`` is ``'fro'``, a number (vector norm over ``dim``,
    all elements when None), ``inf``/``-inf``; ``'nuc'`` is a matrix norm.

    Example:
        >>> import ember
        >>> ember.tensor([[3.0, 4.0], [0.0, 0.0]]).norm(dim=1)
        tensor([5., 0.])
    """
    x = to_tensor(input)
    _check_float("linalg.vector_norm", x)
    if dtype is not None:
        x = _ew.cast(x, dtype)
    if p is None:
        p = "fro"
    if isinstance(dim, int):
        dim = (dim,)
    if p == "nuc":
        return matrix_norm(x, "nuc", dim if dim is not None else (-2, -1), keepdim)
    if p == "fro":
        if dim is not None and len(dim) > 2:
            raise RuntimeError(f"norm: 'fro' norm takes at most 2 dims, got {tuple(dim)}")
        p = 2
    elif isinstance(p, str):
        raise RuntimeError(f"norm: unsupported p {p!r}")
    return _vector_norm(x, p, _axes("norm", dim, x._data.ndim), keepdim)
