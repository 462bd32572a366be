"""Data types and PyTorch's type-promotion rules.

Each ember dtype wraps one NumPy dtype. Promotion follows PyTorch: categories are
bool < integer < floating; dimensioned tensors outrank zero-dim tensors, which outrank
Python scalars, unless a lower-priority operand belongs to a higher category.

Example:
    >>> import ember
    >>> ember.promote_types(ember.int64, ember.float16)
    ember.float16
    >>> (ember.ones(2, dtype=ember.uint8) + 1.5).dtype
    ember.float32
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "dtype",
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "half",
    "float",
    "double",
    "short",
    "int",
    "long",
    "promote_types",
    "get_default_dtype",
    "set_default_dtype",
    "can_cast",
]

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:  # noqa: N801 - PyTorch spells it lower-case
    """An ember data type (``ember.float32`` and friends)."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "category")

    def __init__(self, name: str, np_dtype, category: int, is_signed: bool):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == _FLOAT
        self.is_signed = is_signed
        self.category = category

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return (_lookup_name, (self.name,))

    def to_numpy(self) -> np.dtype:
        """The NumPy dtype that stores this type."""
        return self.np


float16 = dtype("float16", np.float16, _FLOAT, True)
float32 = dtype("float32", np.float32, _FLOAT, True)
float64 = dtype("float64", np.float64, _FLOAT, True)
int8 = dtype("int8", np.int8, _INT, True)
int16 = dtype("int16", np.int16, _INT, True)
int32 = dtype("int32", np.int32, _INT, True)
int64 = dtype("int64", np.int64, _INT, True)
uint8 = dtype("uint8", np.uint8, _INT, False)
bool = dtype("bool", np.bool_, _BOOL, False)  # noqa: A001 - PyTorch name
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

_ALL = [float16, float32, float64, int8, int16, int32, int64, uint8, bool]
_BY_NAME = {d.name: d for d in _ALL}
_BY_NP = {d.np: d for d in _ALL}

try:  # bfloat16 needs the optional ml_dtypes package
    import ml_dtypes as _ml_dtypes  # noqa: F401 - imported lazily below when present

    bfloat16 = dtype("bfloat16", _ml_dtypes.bfloat16, _FLOAT, True)
    _ALL.append(bfloat16)
    _BY_NAME["bfloat16"] = bfloat16
    _BY_NP[bfloat16.np] = bfloat16
except ImportError:  # pragma: no cover - depends on the environment
    bfloat16 = None

_default_float = float32


def _lookup_name(name: str) -> dtype:
    return _BY_NAME[name]


def get_default_dtype() -> dtype:
    """The dtype given to Python floats and float factories (float32 unless changed)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (float16, float32 or float64), like PyTorch."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_float = d


def as_dtype(d) -> dtype:
    """Turn an ember dtype, NumPy dtype, Python type or name into an ember dtype."""
    if type(d) is dtype:
        return d
    if d is None:
        return _default_float
    if d is builtins_float:
        return _default_float
    if d is builtins_int:
        return int64
    if d is builtins_bool:
        return bool
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    try:
        npd = np.dtype(d)
    except TypeError:
        npd = None
    if npd is not None and npd in _BY_NP:
        return _BY_NP[npd]
    raise TypeError(f"unsupported dtype {d!r}; ember supports {', '.join(_BY_NAME)}")


def from_numpy_dtype(npd: np.dtype) -> dtype:
    try:
        return _BY_NP[npd]
    except KeyError:
        raise TypeError(f"NumPy dtype {npd} has no ember equivalent") from None


import builtins as _builtins  # noqa: E402

builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool

_promote_cache: dict[tuple[dtype, dtype], dtype] = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` can be converted to (PyTorch rules)."""
    if a is b:
        return a
    key = (a, b)
    hit = _promote_cache.get(key)
    if hit is not None:
        return hit
    if a.category != b.category:
        res = a if a.category > b.category else b
    elif a.category == _FLOAT:
        if {a.name, b.name} == {"float16", "bfloat16"}:
            res = float32
        else:
            res = a if a.itemsize >= b.itemsize else b
    else:
        res = _BY_NP[np.promote_types(a.np, b.np)]
    _promote_cache[key] = res
    return res


def scalar_dtype(value) -> dtype:
    """The dtype PyTorch gives a bare Python scalar."""
    t = type(value)
    if t is builtins_bool or t is np.bool_:
        return bool
    if t is builtins_int or isinstance(value, np.integer):
        return int64
    return _default_float


def can_cast(src: dtype, dst: dtype) -> builtins_bool:
    """Whether an in-place op may write a ``src`` result into a ``dst`` tensor."""
    return src.category <= dst.category
