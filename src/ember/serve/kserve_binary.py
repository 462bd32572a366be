"""The KServe v2 binary tensor data extension: raw tensor bytes after the JSON header.

A request or response with binary data carries the header ``Inference-Header-Content-Length:
N``; the first N bytes of the body are the JSON inference header, the rest are the tensors'
bytes, one after the other, in the order of the tensors whose ``parameters`` name their
``binary_data_size``. Numbers are little-endian, row-major; ``BYTES`` elements are each a
4-byte little-endian length followed by the bytes.

Example:
    >>> import numpy as np
    >>> from ember.serve.kserve_binary import BinaryReader, tensor_from_binary, tensor_to_binary
    >>> raw = tensor_to_binary(np.array([b"ab", b""], dtype=object))
    >>> raw
    b'\\x02\\x00\\x00\\x00ab\\x00\\x00\\x00\\x00'
    >>> reader = BinaryReader(memoryview(raw + tensor_to_binary(np.arange(3, dtype=np.int32))))
    >>> tensor_from_binary(reader.take(10, "input 's'"), "BYTES", [2], "input 's'")
    array([b'ab', b''], dtype=object)
    >>> tensor_from_binary(reader.take(12, "input 'i'"), "INT32", [1, 3], "input 'i'")
    array([[0, 1, 2]], dtype=int32)
    >>> reader.finish()
"""

from __future__ import annotations

import math
import struct

import numpy as np

from .errors import BadRequestError
from .wire_types import numpy_dtype

__all__ = [
    "HEADER_LENGTH",
    "split_body",
    "BinaryReader",
    "tensor_from_binary",
    "tensor_to_binary",
]

HEADER_LENGTH = "inference-header-content-length"


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, memoryview]:
    """The JSON header and the binary section of a request body."""
    if header_length is None:
        return body, memoryview(b"")
    text = header_length.strip()
    if not (text.isascii() and text.isdigit()):
        raise BadRequestError(
            f"Inference-Header-Content-Length must be a byte count, got {header_length!r}"
        )
    n = int(text)
    if n == 0 or n > len(body):
        raise BadRequestError(
            f"Inference-Header-Content-Length is {n} but the body has {len(body)} bytes"
        )
    view = memoryview(body)
    return bytes(view[:n]), view[n:]


class BinaryReader:
    """Hands out consecutive slices of the binary section, checking the sizes."""

    def __init__(self, data: memoryview):
        self.data, self.offset = data, 0

    def take(self, size: object, where: str) -> memoryview:
        """The next ``size`` bytes; raises BadRequestError if ``size`` is bad or too large."""
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadRequestError(f"{where}: binary_data_size must be a non-negative integer")
        left = len(self.data) - self.offset
        if size > left:
            raise BadRequestError(
                f"{where}: binary_data_size is {size} but only {left} bytes of binary data "
                "are left in the body"
            )
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def finish(self) -> None:
        """Raise BadRequestError if some binary bytes were not claimed by any tensor."""
        left = len(self.data) - self.offset
        if left:
            raise BadRequestError(f"{left} bytes of binary data are not claimed by any input")


def _bytes_elements(raw: memoryview, count: int, where: str) -> np.ndarray:
    out = np.empty(count, dtype=object)
    offset, n = 0, len(raw)
    for i in range(count):
        if offset + 4 > n:
            raise BadRequestError(f"{where}: BYTES data ends before element {i} of {count}")
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > n:
            raise BadRequestError(f"{where}: BYTES element {i} is longer than the data left")
        out[i] = bytes(raw[offset : offset + length])
        offset += length
    if offset != n:
        raise BadRequestError(f"{where}: {n - offset} bytes left after {count} BYTES elements")
    return out


def tensor_from_binary(raw: memoryview, datatype: str, shape: list[int], where: str) -> np.ndarray:
    """Decode one tensor's binary data (``shape`` already validated as non-negative ints)."""
    count = math.prod(shape)
    if datatype == "BYTES":
        return _bytes_elements(raw, count, where).reshape(shape)
    dtype = numpy_dtype(datatype)
    expected = count * dtype.itemsize
    if len(raw) != expected:
        raise BadRequestError(
            f"{where}: shape {list(shape)} of {datatype} needs {expected} bytes, "
            f"binary_data_size is {len(raw)}"
        )
    wire = dtype.newbyteorder("<") if dtype.byteorder not in "|" else dtype
    return np.frombuffer(raw, dtype=wire).astype(dtype, copy=True).reshape(shape)


def tensor_to_binary(array: np.ndarray) -> bytes:
    """The wire bytes of an array (BYTES layout for object/str/bytes arrays)."""
    if array.dtype.kind in "OSU":
        parts = []
        for value in array.reshape(-1).tolist():
            data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            parts.append(struct.pack("<I", len(data)) + data)
        return b"".join(parts)
    wire = array.dtype.newbyteorder("<") if array.dtype.byteorder not in "|" else array.dtype
    return np.ascontiguousarray(array, dtype=wire).tobytes()
