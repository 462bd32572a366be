"""Parse one of a bundle's JSON files, with errors that name the file and the position.

Example:
    >>> from ember.export.json_file import parse_json
    >>> parse_json(b'{"a": [1, 2', "graph.json")
    Traceback (most recent call last):
    ...
    ember.export.errors.BundleError: graph.json: not valid JSON (truncated or corrupt): Expecting ...
"""

from __future__ import annotations

import json

from .errors import BundleError

__all__ = ["parse_json"]


def parse_json(data: bytes, file_name: str):
    """The parsed JSON document in ``data``; raises :class:`BundleError` naming ``file_name``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"{file_name}: not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise BundleError(f"{file_name}: the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{file_name}: not valid JSON (truncated or corrupt): {exc.msg} (line {exc.lineno}, "
            f"column {exc.colno}, byte {exc.pos})"
        ) from None
    except RecursionError:
        raise BundleError(f"{file_name}: JSON nested too deeply") from None
