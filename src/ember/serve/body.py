"""Reading a request body safely: a size limit, and gzip/deflate ``Content-Encoding``.

The limit applies to the bytes on the wire (checked against ``Content-Length`` before reading
and while streaming) and again to the decompressed body, so a small compressed body cannot
expand past it.

Example:
    >>> import gzip
    >>> from ember.serve.body import decode_content
    >>> decode_content(gzip.compress(b'{"a": 1}'), "gzip", limit=100)
    b'{"a": 1}'
    >>> decode_content(gzip.compress(b"0" * 1000), "gzip", limit=100)
    Traceback (most recent call last):
    ...
    ember.serve.errors.PayloadTooLargeError: the decompressed body is larger than the 100-byte limit
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from .errors import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError

__all__ = ["read_limited", "decode_content", "check_content_length"]

_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def check_content_length(value: str | None, limit: int) -> None:
    """Reject a declared ``Content-Length`` over the limit (or not a number) before reading."""
    if value is None:
        return
    if not (value.isascii() and value.strip().isdigit()):
        raise BadRequestError(f"Content-Length must be a byte count, got {value!r}")
    if int(value) > limit:
        raise PayloadTooLargeError(
            f"the body has {int(value)} bytes; the limit is {limit} (--max-body-bytes)"
        )


async def read_limited(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """Join streamed body chunks, raising PayloadTooLargeError as soon as ``limit`` is passed."""
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is larger than {limit} bytes (--max-body-bytes)")
        parts.append(chunk)
    return b"".join(parts)


def decode_content(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (identity, gzip, deflate) within the size limit."""
    name = (encoding or "identity").strip().lower()
    if name in ("", "identity"):
        return body
    if name not in _WBITS:
        raise UnsupportedMediaTypeError(
            f"Content-Encoding {encoding!r} is not supported (use gzip, deflate or identity)"
        )
    decoder = zlib.decompressobj(_WBITS[name])
    try:
        out = decoder.decompress(body, limit + 1)
        if len(out) > limit or decoder.unconsumed_tail:
            raise PayloadTooLargeError(
                f"the decompressed body is larger than the {limit}-byte limit"
            )
        out += decoder.flush()
    except zlib.error as exc:
        raise BadRequestError(f"the body is not valid {name} data: {exc}") from None
    if len(out) > limit:
        raise PayloadTooLargeError(f"the decompressed body is larger than the {limit}-byte limit")
    if not decoder.eof:
        raise BadRequestError(f"the {name} body is truncated")
    return out
