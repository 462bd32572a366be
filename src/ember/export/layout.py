"""A bundle directory's files, format version and content hash.

Every bundle holds four files. ``metadata.json`` records the SHA-256 of each of the other
three and a content hash over their bytes concatenated in the order of :data:`HASHED_FILES`
(the same value as ``cat graph.json signature.json weights.safetensors | sha256sum``).

Example:
    >>> from ember.export.layout import HASHED_FILES, content_hash, file_digest
    >>> HASHED_FILES
    ('graph.json', 'signature.json', 'weights.safetensors')
    >>> file_digest(b"")
    'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    >>> content_hash({"graph.json": b"a", "signature.json": b"b",
    ...               "weights.safetensors": b"c"}) == file_digest(b"abc")
    True
"""

from __future__ import annotations

import hashlib

__all__ = [
    "GRAPH_FILE",
    "SIGNATURE_FILE",
    "WEIGHTS_FILE",
    "METADATA_FILE",
    "HASHED_FILES",
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "file_digest",
    "content_hash",
]

GRAPH_FILE = "graph.json"
SIGNATURE_FILE = "signature.json"
WEIGHTS_FILE = "weights.safetensors"
METADATA_FILE = "metadata.json"
#: The files the content hash covers, in hashing order.
HASHED_FILES = (GRAPH_FILE, SIGNATURE_FILE, WEIGHTS_FILE)
#: ``metadata.json``'s ``format`` field.
BUNDLE_FORMAT = "ember.bundle"
#: The bundle layout version this code writes and reads.
BUNDLE_FORMAT_VERSION = 1


def file_digest(data: bytes) -> str:
    """``"sha256:<hex>"`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def content_hash(contents: dict[str, bytes]) -> str:
    """The SHA-256 of the hashed files' bytes, concatenated in :data:`HASHED_FILES` order."""
    h = hashlib.sha256()
    for name in HASHED_FILES:
        h.update(contents[name])
    return "sha256:" + h.hexdigest()
