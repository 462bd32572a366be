"""Datatype names on the wire: NumPy dtype names <-> KServe v2 datatypes <-> TF ``DT_*`` enums.

A bundle's signature names dtypes the NumPy way (``"float32"``, ``"int64"``); KServe v2 calls
them ``FP32``/``INT64`` and TF Serving's metadata ``DT_FLOAT``/``DT_INT64``. Strings travel as
NumPy ``object`` arrays of ``bytes`` (``BYTES`` / ``DT_STRING``).

Example:
    >>> from ember.serve.wire_types import kserve_datatype, numpy_dtype, tf_dtype
    >>> kserve_datatype("float32"), tf_dtype("int64"), numpy_dtype("FP16")
    ('FP32', 'DT_INT64', dtype('float16'))
    >>> kserve_datatype("complex64")
    Traceback (most recent call last):
    ...
    ValueError: dtype 'complex64' has no KServe v2 datatype; servable dtypes: bool, ...
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "kserve_datatype",
    "numpy_dtype",
    "tf_dtype",
    "is_bytes_dtype",
    "KSERVE_DATATYPES",
]

# NumPy dtype name -> (KServe v2 datatype, TF DataType enum name)
_TABLE = {
    "bool": ("BOOL", "DT_BOOL"),
    "int8": ("INT8", "DT_INT8"),
    "int16": ("INT16", "DT_INT16"),
    "int32": ("INT32", "DT_INT32"),
    "int64": ("INT64", "DT_INT64"),
    "uint8": ("UINT8", "DT_UINT8"),
    "uint16": ("UINT16", "DT_UINT16"),
    "uint32": ("UINT32", "DT_UINT32"),
    "uint64": ("UINT64", "DT_UINT64"),
    "float16": ("FP16", "DT_HALF"),
    "float32": ("FP32", "DT_FLOAT"),
    "float64": ("FP64", "DT_DOUBLE"),
    "bfloat16": ("BF16", "DT_BFLOAT16"),
    "object": ("BYTES", "DT_STRING"),
}
_BYTES_ALIASES = {"bytes", "str", "string", "object"}
KSERVE_DATATYPES: dict[str, str] = {kserve: name for name, (kserve, _) in _TABLE.items()}


def _canonical(dtype_name: str) -> str:
    name = str(dtype_name)
    return "object" if name in _BYTES_ALIASES else name


def is_bytes_dtype(dtype_name: str) -> bool:
    """True for signature dtypes that hold strings (served as ``BYTES`` / ``DT_STRING``)."""
    return _canonical(dtype_name) == "object"


def _entry(dtype_name: str) -> tuple[str, str]:
    try:
        return _TABLE[_canonical(dtype_name)]
    except KeyError:
        raise ValueError(
            f"dtype {dtype_name!r} has no KServe v2 datatype; servable dtypes: " + ", ".join(_TABLE)
        ) from None


def kserve_datatype(dtype_name: str) -> str:
    """The KServe v2 datatype (``"FP32"``, ``"BYTES"``, ...) of a NumPy dtype name."""
    return _entry(dtype_name)[0]


def tf_dtype(dtype_name: str) -> str:
    """The TF Serving metadata dtype (``"DT_FLOAT"``, ...) of a NumPy dtype name."""
    return _entry(dtype_name)[1]


def numpy_dtype(dtype_name_or_datatype: str) -> np.dtype:
    """The NumPy dtype for a NumPy dtype name or a KServe v2 datatype (``BF16`` needs ml_dtypes)."""
    name = KSERVE_DATATYPES.get(dtype_name_or_datatype, _canonical(dtype_name_or_datatype))
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            raise ValueError("bfloat16 tensors need the ml_dtypes package") from None
        return np.dtype(ml_dtypes.bfloat16)
    if name not in _TABLE:
        raise ValueError(f"unknown datatype {dtype_name_or_datatype!r}")
    return np.dtype(name)
