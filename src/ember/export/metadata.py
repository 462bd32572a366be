"""``metadata.json``: parse it, check the format version and verify the files' hashes.

Example:
    >>> from ember.export.metadata import parse_metadata
    >>> parse_metadata(b'{"format": "ember.bundle", "bundle_format_version": 9}')
    Traceback (most recent call last):
    ...
    ember.export.errors.BundleError: metadata.json: bundle_format_version 9 is not supported ...
"""

from __future__ import annotations

from .errors import BundleError
from .json_file import parse_json
from .layout import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    HASHED_FILES,
    METADATA_FILE,
    content_hash,
    file_digest,
)

__all__ = ["parse_metadata", "verify_hashes"]

_STRING_FIELDS = ("ember_version", "created_utc", "content_hash")


def parse_metadata(data: bytes) -> dict:
    """The metadata dict, after checking its format, version and fields."""
    doc = parse_json(data, METADATA_FILE)
    if not isinstance(doc, dict):
        raise BundleError(f"{METADATA_FILE}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{METADATA_FILE}: format is {doc.get('format')!r}, expected {BUNDLE_FORMAT!r} "
            "(not an ember bundle)"
        )
    version = doc.get("bundle_format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BundleError(f"{METADATA_FILE}: bundle_format_version is missing or not an integer")
    if version != BUNDLE_FORMAT_VERSION:
        newer = "a newer" if version > BUNDLE_FORMAT_VERSION else "an older"
        raise BundleError(
            f"{METADATA_FILE}: bundle_format_version {version} is not supported (this ember "
            f"reads version {BUNDLE_FORMAT_VERSION}); the bundle was written by {newer} ember"
        )
    for key in _STRING_FIELDS:
        if not isinstance(doc.get(key), str):
            raise BundleError(f"{METADATA_FILE}: field {key!r} is missing or not a string")
    files = doc.get("files")
    if not isinstance(files, dict):
        raise BundleError(f"{METADATA_FILE}: field 'files' is missing or not an object")
    for name in HASHED_FILES:
        if not isinstance(files.get(name), str):
            raise BundleError(f"{METADATA_FILE}: files[{name!r}] is missing or not a string")
    if not isinstance(doc.get("user", {}), dict):
        raise BundleError(f"{METADATA_FILE}: field 'user' is not an object")
    return doc


def verify_hashes(metadata: dict, contents: dict[str, bytes]) -> None:
    """Raise :class:`BundleError` naming the first file whose SHA-256 is not the recorded one."""
    for name in HASHED_FILES:
        want, got = metadata["files"][name], file_digest(contents[name])
        if want != got:
            raise BundleError(
                f"{name}: SHA-256 mismatch (metadata.json records {want}, the file has {got}); "
                "the file was modified or corrupted after the bundle was written"
            )
    got = content_hash(contents)
    if metadata["content_hash"] != got:
        raise BundleError(
            f"{METADATA_FILE}: content_hash {metadata['content_hash']} does not match the files "
            f"({got})"
        )
