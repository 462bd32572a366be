"""Serialise a graph, its weights and signature into a bundle directory.

:func:`bundle_files` renders the four files as bytes; :func:`write_bundle` writes them with
:func:`~ember.export.atomic_dir.write_directory` (an existing bundle at the path is replaced
only once the new one is complete; any other existing non-empty directory is refused).

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from ember.ir import Graph
    >>> from ember.export.signature import Signature, TensorSpec
    >>> from ember.export.write import write_bundle
    >>> g = Graph()
    >>> x = g.add_input((3,), "float32", name="x")
    >>> (y,) = g.add_node("exp", [x], {}, [((3,), "float32")])
    >>> g.outputs = [y]
    >>> sig = Signature([TensorSpec("x", "float32", (3,))], [TensorSpec("y", "float32", (3,))])
    >>> path = write_bundle(os.path.join(tempfile.mkdtemp(), "exp"), g, {}, sig)
    >>> sorted(os.listdir(path))
    ['graph.json', 'metadata.json', 'signature.json', 'weights.safetensors']
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import numpy as np

from .atomic_dir import write_directory
from .consistency import const_key
from .layout import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    GRAPH_FILE,
    HASHED_FILES,
    METADATA_FILE,
    SIGNATURE_FILE,
    WEIGHTS_FILE,
    content_hash,
    file_digest,
)
from .signature import Signature

__all__ = ["bundle_files", "write_bundle", "is_bundle_dir"]


def bundle_files(
    graph, weights: dict[str, np.ndarray], signature: Signature, metadata: dict | None = None
) -> dict[str, bytes]:
    """The bundle's files (name -> bytes) for ``graph`` reading ``weights`` by name."""
    import safetensors.numpy

    from .. import __version__
    from ..ir import to_json
    from ..ir.serialize import FORMAT_VERSION as GRAPH_FORMAT_VERSION

    doc, _ = to_json(graph)
    # the constants are taken from the graph itself: to_json's copies of 0-d arrays are 1-d
    const_arrays = {const_key(vid): arr for vid, arr in graph.consts.items()}
    clash = sorted(set(const_arrays) & set(weights))
    if clash:
        raise ValueError(f"weight name(s) {clash} collide with the graph's constant names")
    tensors = {k: _c_order(v) for k, v in {**weights, **const_arrays}.items()}
    contents = {
        GRAPH_FILE: _json_bytes(doc),
        SIGNATURE_FILE: _signature_bytes(signature),
        WEIGHTS_FILE: safetensors.numpy.save(tensors, metadata={"format": BUNDLE_FORMAT}),
    }
    meta = {
        "format": BUNDLE_FORMAT,
        "bundle_format_version": BUNDLE_FORMAT_VERSION,
        "graph_format_version": GRAPH_FORMAT_VERSION,
        "ember_version": __version__,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "content_hash": content_hash(contents),
        "files": {name: file_digest(contents[name]) for name in HASHED_FILES},
        "user": _user_metadata(metadata),
    }
    contents[METADATA_FILE] = _json_bytes(meta, indent=2)
    return contents


def write_bundle(
    path: str | os.PathLike,
    graph,
    weights: dict[str, np.ndarray],
    signature: Signature,
    metadata: dict | None = None,
) -> Path:
    """Write the bundle directory ``path`` atomically; returns its path."""
    files = bundle_files(graph, weights, signature, metadata)
    try:
        write_directory(path, files, replaceable=is_bundle_dir)
    except FileExistsError:
        raise FileExistsError(
            f"{path} exists and is not an ember bundle (no {METADATA_FILE} with format "
            f"{BUNDLE_FORMAT!r}); refusing to replace it"
        ) from None
    return Path(path)


def is_bundle_dir(path: Path) -> bool:
    """True if ``path`` is a directory whose ``metadata.json`` says it is an ember bundle."""
    meta = Path(path) / METADATA_FILE
    if not Path(path).is_dir() or Path(path).is_symlink() or not meta.is_file():
        return False
    try:
        doc = json.loads(meta.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == BUNDLE_FORMAT


def _signature_bytes(signature: Signature) -> bytes:
    """``signature.json``: one line per tensor, so it reads like a table."""
    doc = signature.to_json()
    parts = []
    for side in ("inputs", "outputs"):
        rows = ",\n".join(f"    {json.dumps(spec)}" for spec in doc[side])
        parts.append(f'  "{side}": [\n{rows}\n  ]' if rows else f'  "{side}": []')
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")


def _c_order(arr: np.ndarray) -> np.ndarray:
    """``arr`` as a C-contiguous array of the same shape (``np.ascontiguousarray`` makes 0-d 1-d)."""
    arr = np.asarray(arr)
    return arr if arr.flags.c_contiguous else np.array(arr, order="C")


def _json_bytes(doc, indent: int | None = None) -> bytes:
    separators = (",", ":") if indent is None else (",", ": ")
    return (json.dumps(doc, indent=indent, separators=separators) + "\n").encode("utf-8")


def _user_metadata(metadata: dict | None) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata: expected a dict, got {type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata: key {key!r} is not a string")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"metadata[{key!r}]: not JSON-serialisable ({exc})") from None
    return dict(metadata)
