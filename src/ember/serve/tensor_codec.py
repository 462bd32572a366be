"""Turn JSON values into NumPy arrays that fit a signature, and arrays back into JSON.

Shared by both protocols. Conversion is strict and every error names the input and says what
was expected: floats are not silently truncated into an integer input, integers must fit the
input's range, booleans go only into ``bool`` inputs, nested lists must not be ragged.

``{"b64": "..."}`` objects (TF Serving's binary values) become ``bytes`` elements of a string
input; for a ``uint8`` input one such object stands for the whole sub-array at its position
(e.g. an image's raw bytes), reshaped to the signature's remaining dimensions.

Example:
    >>> from ember.serve.servable import TensorInfo
    >>> from ember.serve.tensor_codec import array_from_json, check_shape, json_from_array
    >>> spec = TensorInfo("ids", "int64", (None, 2))
    >>> a = array_from_json([[1, 2], [3, 4]], spec, "input 'ids'")
    >>> a.dtype, a.shape
    (dtype('int64'), (2, 2))
    >>> array_from_json([[1.5, 2]], spec, "input 'ids'")
    Traceback (most recent call last):
    ...
    ember.serve.errors.BadRequestError: input 'ids': expected int64 values, got non-integer numbers
    >>> check_shape(a[:, :1], spec, "input 'ids'")
    Traceback (most recent call last):
    ...
    ember.serve.errors.BadRequestError: input 'ids': expected shape [-1, 2], got [2, 1]
    >>> json_from_array(a)
    [[1, 2], [3, 4]]
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from .errors import BadRequestError
from .servable import TensorInfo
from .wire_types import is_bytes_dtype, numpy_dtype

__all__ = ["array_from_json", "check_shape", "json_from_array", "resolve_b64", "shape_text"]


def shape_text(shape: tuple | list) -> str:
    """A shape as both protocols print it: ``[-1, 784]`` (``-1``/None = any size)."""
    return "[" + ", ".join("-1" if d is None else str(int(d)) for d in shape) + "]"


def check_shape(array: np.ndarray, spec: TensorInfo, where: str) -> None:
    """Raise :class:`BadRequestError` unless ``array.shape`` fits ``spec.shape`` (None = any)."""
    ok = array.ndim == len(spec.shape) and all(
        want is None or want == got for want, got in zip(spec.shape, array.shape)
    )
    if not ok:
        raise BadRequestError(
            f"{where}: expected shape {shape_text(spec.shape)}, got {shape_text(array.shape)}"
        )


def _decode_b64(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise BadRequestError(f'{where}: "b64" must be a base64 string, got {type(text).__name__}')
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError(f'{where}: "b64" value is not valid base64') from None


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and "b64" in value


def resolve_b64(value: Any, spec: TensorInfo, dims: tuple, where: str) -> Any:
    """Replace ``{"b64": ...}`` objects in ``value`` (whose axes are ``dims``) by their data."""
    if _is_b64(value):
        if len(value) != 1:
            raise BadRequestError(f'{where}: a {{"b64": ...}} object must have no other keys')
        raw = _decode_b64(value["b64"], where)
        if is_bytes_dtype(spec.dtype):
            if dims:
                raise BadRequestError(f"{where}: a b64 string stands for one element, not an array")
            return raw
        if spec.dtype == "uint8":
            unknown = sum(d is None for d in dims)
            if unknown > 1:
                raise BadRequestError(
                    f"{where}: cannot reshape b64 bytes to {shape_text(dims)} "
                    "(more than one dynamic axis)"
                )
            data = np.frombuffer(raw, np.uint8)
            try:
                return data.reshape([-1 if d is None else d for d in dims])
            except ValueError:
                raise BadRequestError(
                    f"{where}: {data.size} b64 bytes do not fit shape {shape_text(dims)}"
                ) from None
        raise BadRequestError(
            f'{where}: {{"b64": ...}} values are accepted for string and uint8 inputs, '
            f"not {spec.dtype}"
        )
    if isinstance(value, list):
        inner = dims[1:] if dims else ()
        return [resolve_b64(v, spec, inner, where) for v in value]
    return value


def _kind_error(where: str, dtype: np.dtype, got: np.dtype) -> BadRequestError:
    names = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats"}
    got_text = names.get(got.kind, "strings or objects" if got.kind in "USO" else str(got))
    return BadRequestError(f"{where}: expected {dtype} values, got {got_text}")


def _range_error(where: str, dtype: np.dtype, lo: Any, hi: Any) -> BadRequestError:
    info = np.iinfo(dtype)
    return BadRequestError(
        f"{where}: values must lie in [{info.min}, {info.max}] for {dtype}, got [{lo}, {hi}]"
    )


def _to_int(value: Any, raw: np.ndarray, dtype: np.dtype, where: str) -> np.ndarray:
    info = np.iinfo(dtype)
    if raw.dtype.kind == "f":  # JSON floats, or integers too large for int64 mixed in
        if not np.all(np.isfinite(raw)) or not np.all(raw == np.round(raw)):
            raise BadRequestError(f"{where}: expected {dtype} values, got non-integer numbers")
        lo, hi = raw.min(), raw.max()
        if lo < float(info.min) or hi > float(info.max):
            raise _range_error(where, dtype, lo, hi)
        try:  # convert from the JSON values themselves: floats lose digits past 2**53
            return np.asarray(value, dtype=dtype)
        except (OverflowError, ValueError, TypeError):
            raise _range_error(where, dtype, lo, hi) from None
    lo, hi = int(raw.min()), int(raw.max())
    if lo < info.min or hi > info.max:
        raise _range_error(where, dtype, lo, hi)
    return raw.astype(dtype)


def _from_objects(raw: np.ndarray, dtype: np.dtype, where: str) -> np.ndarray:
    # NumPy makes an object array of integers past 64 bits, or of mixed/non-numeric values.
    items = raw.reshape(-1).tolist()
    if dtype.kind not in "iuf" or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in items
    ):
        raise BadRequestError(f"{where}: expected {dtype} values, got mixed or non-numeric values")
    if dtype.kind in "iu":
        raise _range_error(where, dtype, min(items), max(items))
    with np.errstate(over="ignore"):
        return np.array([float(v) for v in items]).astype(dtype).reshape(raw.shape)


def _contains_bool(value: Any) -> bool:
    # set(map(type, row)) walks a row in C: cheap enough to run on every JSON request.
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is bool:
            return True
        if type(item) is list:
            types = set(map(type, item))
            if bool in types:
                return True
            if list in types:
                stack.extend(x for x in item if type(x) is list)
    return False


def array_from_json(
    value: Any, spec: TensorInfo, where: str, bools_possible: bool = True
) -> np.ndarray:
    """A JSON value (nested lists or a scalar) as an array of the spec's dtype (shape unchecked).

    ``bools_possible=False`` (the body has no ``true``/``false``) skips the scan that keeps
    booleans out of numeric inputs (NumPy would silently turn them into 1 and 0).
    """
    dtype = numpy_dtype(spec.dtype)
    if is_bytes_dtype(spec.dtype):
        return _bytes_array(value, where)
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise BadRequestError(
            f"{where}: not a rectangular array of numbers (rows of different lengths?)"
        ) from None
    if raw.size == 0:
        return raw.astype(dtype)
    kind = raw.dtype.kind
    if kind == "O":
        return _from_objects(raw, dtype, where)
    if dtype.kind == "b" or kind not in "iuf":
        if dtype.kind == "b" and kind == "b":
            return raw
        raise _kind_error(where, dtype, raw.dtype)
    if bools_possible and _contains_bool(value):
        raise BadRequestError(f"{where}: expected {dtype} values, got booleans among them")
    if dtype.kind in "iu":
        return _to_int(value, raw, dtype, where)
    with np.errstate(over="ignore", invalid="ignore"):
        return raw.astype(dtype)


def _bytes_array(value: Any, where: str) -> np.ndarray:
    def convert(v: Any) -> Any:
        if isinstance(v, list):
            return [convert(x) for x in v]
        if isinstance(v, bytes):
            return v
        if isinstance(v, str):
            return v.encode("utf-8")
        raise BadRequestError(f"{where}: expected strings, got {type(v).__name__}")

    try:
        out = np.asarray(convert(value), dtype=object)
    except (ValueError, TypeError, RecursionError):
        out = None
    if out is None or any(not isinstance(v, bytes) for v in out.flat):
        raise BadRequestError(f"{where}: not a rectangular array of strings")
    return out


def json_from_array(array: np.ndarray, bytes_as: str = "b64") -> Any:
    """An array as nested JSON lists; bytes become ``{"b64": ...}`` or UTF-8 text (``"utf8"``)."""
    if array.dtype.kind in "OSU":

        def encode(v: Any) -> Any:
            if isinstance(v, list):
                return [encode(x) for x in v]
            if isinstance(v, str):
                return v
            raw = bytes(v)
            if bytes_as == "b64":
                return {"b64": base64.b64encode(raw).decode("ascii")}
            return raw.decode("utf-8", errors="replace")

        return encode(array.tolist())
    if array.dtype.kind == "V":  # ml_dtypes' bfloat16 (dtype.name is slow: test the kind)
        return array.astype(np.float32).tolist()
    return array.tolist()
