"""Errors a request can end in, each carrying its HTTP status.

Both protocols answer an error as ``{"error": "<message>"}`` with the status of the exception;
the message says what was wrong (which input, what was expected, what arrived).

Example:
    >>> from ember.serve.errors import BadRequestError, ServeError
    >>> err = BadRequestError("input 'x': expected shape [-1, 4], got [2, 3]")
    >>> isinstance(err, ServeError), err.status, str(err)
    (True, 400, "input 'x': expected shape [-1, 4], got [2, 3]")
"""

from __future__ import annotations

__all__ = [
    "ServeError",
    "BadRequestError",
    "NotFoundError",
    "MethodNotAllowedError",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
    "UnavailableError",
    "InternalError",
]


class ServeError(Exception):
    """Base class: ``status`` is the HTTP status code the request is answered with."""

    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequestError(ServeError):
    """The request is malformed or does not fit the model's signature (400)."""

    status = 400


class NotFoundError(ServeError):
    """No such route, model, version or label (404)."""

    status = 404


class MethodNotAllowedError(ServeError):
    """The route exists but not for this HTTP method (405)."""

    status = 405


class PayloadTooLargeError(ServeError):
    """The body is larger than ``--max-body-bytes`` (413)."""

    status = 413


class UnsupportedMediaTypeError(ServeError):
    """The body uses a content encoding the server does not read (415)."""

    status = 415


class UnavailableError(ServeError):
    """The model exists but has no version ready to serve (503)."""

    status = 503


class InternalError(ServeError):
    """The model failed for a reason that is not the request's fault (500)."""

    status = 500
