"""Values crossing the ONNX/ember border: dtypes, NumPy arrays, tensor protos.

ember has no unsigned types wider than 8 bits, so ``uint16`` is held as ``int32`` and
``uint32``/``uint64`` as ``int64`` (:func:`to_tensor`); :func:`to_numpy` restores the declared
ONNX type on the way out. Types ember cannot hold at all (strings, complex, 8/4/2-bit floats
and ints) raise ``NotImplementedError`` naming the value.

Example:
    >>> import numpy as np
    >>> from ember.onnx.import_ops._values import to_numpy, to_tensor
    >>> t = to_tensor(np.array([1, 2], np.uint32), "input 'x'")
    >>> t.dtype
    ember.int64
    >>> to_numpy(t, 12).dtype  # TensorProto.UINT32
    dtype('uint32')
"""

from __future__ import annotations

import numpy as np

from ... import dtypes as _dt
from ...ops.creation import from_numpy
from ...tensor import Tensor

__all__ = [
    "to_tensor",
    "to_numpy",
    "elem_type_dtype",
    "elem_type_numpy",
    "dtype_elem_type",
    "tensor_from_proto",
    "declared_elem_type",
]

# ONNX TensorProto.DataType values (stable numbers from onnx.proto).
_ELEM_NUMPY = {
    1: np.float32,
    2: np.uint8,
    3: np.int8,
    4: np.uint16,
    5: np.int16,
    6: np.int32,
    7: np.int64,
    9: np.bool_,
    10: np.float16,
    11: np.float64,
    12: np.uint32,
    13: np.uint64,
}
_ELEM_NAMES = {
    0: "UNDEFINED",
    8: "STRING",
    14: "COMPLEX64",
    15: "COMPLEX128",
    16: "BFLOAT16",
    17: "FLOAT8E4M3FN",
    18: "FLOAT8E4M3FNUZ",
    19: "FLOAT8E5M2",
    20: "FLOAT8E5M2FNUZ",
    21: "UINT4",
    22: "INT4",
    23: "FLOAT4E2M1",
    24: "FLOAT8E8M0",
    25: "UINT2",
    26: "INT2",
}
if _dt.bfloat16 is not None:
    _ELEM_NUMPY[16] = _dt.bfloat16.np

_WIDENED = {
    np.dtype(np.uint16): np.dtype(np.int32),
    np.dtype(np.uint32): np.dtype(np.int64),
    np.dtype(np.uint64): np.dtype(np.int64),
}
_NUMPY_ELEM = {np.dtype(v): k for k, v in _ELEM_NUMPY.items()}


def _elem_name(elem_type: int) -> str:
    if elem_type in _ELEM_NAMES:
        return _ELEM_NAMES[elem_type]
    if elem_type in _ELEM_NUMPY:
        return np.dtype(_ELEM_NUMPY[elem_type]).name.upper()
    return f"type {elem_type}"


def elem_type_numpy(elem_type: int, what: str) -> np.dtype:
    """The NumPy dtype of ONNX element type ``elem_type`` (as declared, before widening)."""
    if elem_type not in _ELEM_NUMPY:
        raise NotImplementedError(
            f"ember.onnx: {what} has element type {_elem_name(elem_type)}, which ember cannot "
            "hold (supported: float16/32/64, bfloat16, int8/16/32/64, uint8/16/32/64, bool)"
        )
    return np.dtype(_ELEM_NUMPY[elem_type])


def elem_type_dtype(elem_type: int, what: str) -> _dt.dtype:
    """The ember dtype that holds ONNX element type ``elem_type``."""
    npd = elem_type_numpy(elem_type, what)
    return _dt.from_numpy_dtype(_WIDENED.get(npd, npd))


def dtype_elem_type(dtype: _dt.dtype) -> int:
    """The ONNX element type of an ember dtype."""
    return _NUMPY_ELEM[dtype.np]


def to_tensor(value, what: str) -> Tensor:
    """An ember tensor holding ``value`` (array-like), widening unsigned types ember lacks."""
    if isinstance(value, Tensor):
        return value
    arr = np.asarray(value)
    target = _WIDENED.get(arr.dtype)
    widened = None
    if target is not None:
        if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(
                f"ember.onnx: {what} holds uint64 values above {np.iinfo(np.int64).max}, "
                "which ember's int64 cannot represent"
            )
        widened = _NUMPY_ELEM[arr.dtype]
        arr = arr.astype(target)
    elif arr.dtype not in _NUMPY_ELEM:
        raise NotImplementedError(
            f"ember.onnx: {what} has dtype {arr.dtype}, which ember cannot hold (supported: "
            "float16/32/64, bfloat16, int8/16/32/64, uint8/16/32/64, bool)"
        )
    out = from_numpy(np.array(arr, copy=True, order="C"))
    if widened is not None:
        out._onnx_elem_type = widened  # remembered for ops whose result range depends on it
    return out


def declared_elem_type(value: Tensor) -> int:
    """The ONNX element type ``value`` was created from (a widened unsigned type survives)."""
    return getattr(value, "_onnx_elem_type", None) or dtype_elem_type(value.dtype)


def to_numpy(value: Tensor, elem_type: int | None = None) -> np.ndarray:
    """``value`` as a NumPy array of ONNX type ``elem_type`` (its own dtype when None or 0)."""
    arr = value.detach().numpy()
    if elem_type:
        npd = _ELEM_NUMPY.get(elem_type)
        if npd is not None and arr.dtype != npd:
            arr = arr.astype(npd)
    return arr


def tensor_from_proto(proto, what: str) -> Tensor:
    """An ember tensor from an ONNX ``TensorProto`` (external data must already be loaded)."""
    from onnx import TensorProto, numpy_helper

    if proto.data_location == TensorProto.EXTERNAL and not proto.HasField("raw_data"):
        location = {e.key: e.value for e in proto.external_data}.get("location", "?")
        raise ValueError(
            f"ember.onnx: {what} {proto.name!r} keeps its data in the external file "
            f"{location!r}, which is not loaded; pass the model's file path to ember.onnx.load "
            "(or call onnx.load_external_data_for_model first)"
        )
    elem_type_numpy(proto.data_type, f"{what} {proto.name!r}")
    return to_tensor(numpy_helper.to_array(proto), f"{what} {proto.name!r}")
