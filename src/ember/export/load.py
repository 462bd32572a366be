"""``load_bundle``: read, verify and validate a bundle directory, return a :class:`Bundle`.

Each file is read once; the same bytes are hashed and parsed. The checks run in this order
and the first failure raises :class:`BundleError` naming the file (and field):

1. every file is there (``metadata.json``, ``graph.json``, ``signature.json``,
   ``weights.safetensors``);
2. ``metadata.json`` is an ember bundle of a supported format version;
3. each file's SHA-256 and the content hash match ``metadata.json`` (tampering, corruption);
4. ``signature.json`` fields; ``weights.safetensors`` parses; ``graph.json`` parses into a
   graph of known ops (attributes are decoded from explicit tags: nothing is evaluated);
5. weights match the graph's parameters and constants (names, dtypes, shapes), the signature
   matches the graph's inputs/outputs, and every node's declared output type matches its op's
   shape rule.

Example:
    >>> import os, tempfile
    >>> from ember.export import load_bundle
    >>> load_bundle(os.path.join(tempfile.mkdtemp(), "nothing-here"))
    Traceback (most recent call last):
    ...
    ember.export.errors.BundleError: ...nothing-here: no bundle directory at this path
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .bundle import Bundle
from .consistency import check_node_types, check_signature, check_weights, const_key
from .errors import BundleError
from .json_file import parse_json
from .layout import GRAPH_FILE, HASHED_FILES, METADATA_FILE, SIGNATURE_FILE, WEIGHTS_FILE
from .metadata import parse_metadata, verify_hashes
from .signature import parse_signature

__all__ = ["load_bundle"]

_GRAPH_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError)


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Load the bundle directory ``path``; raises :class:`BundleError` if anything is wrong."""
    root = Path(path)
    try:
        return _load(root)
    except BundleError as exc:
        raise BundleError(f"{root}: {exc}") from None


def _load(root: Path) -> Bundle:
    if not root.exists():
        raise BundleError("no bundle directory at this path")
    if not root.is_dir():
        raise BundleError("not a directory (a bundle is a directory of four files)")
    contents = {name: _read(root, name) for name in (METADATA_FILE, *HASHED_FILES)}
    metadata = parse_metadata(contents[METADATA_FILE])
    verify_hashes(metadata, contents)
    signature = parse_signature(parse_json(contents[SIGNATURE_FILE], SIGNATURE_FILE))
    weights = _parse_weights(contents[WEIGHTS_FILE])
    graph = _parse_graph(contents[GRAPH_FILE], weights)
    check_weights(graph, weights)
    check_signature(graph, signature)
    check_node_types(graph)
    return Bundle(graph, weights, signature, metadata, root)


def _read(root: Path, name: str) -> bytes:
    try:
        return (root / name).read_bytes()
    except FileNotFoundError:
        raise BundleError(f"{name}: the file is missing") from None
    except IsADirectoryError:
        raise BundleError(f"{name}: is a directory, expected a file") from None
    except OSError as exc:
        raise BundleError(f"{name}: cannot be read ({exc.strerror})") from None


def _parse_weights(data: bytes) -> dict[str, np.ndarray]:
    import safetensors.numpy

    try:
        weights = safetensors.numpy.load(data)
    except Exception as exc:  # safetensors raises its own SafetensorError on bad files
        raise BundleError(
            f"{WEIGHTS_FILE}: not a valid safetensors file ({type(exc).__name__}: {exc})"
        ) from None
    return weights


def _parse_graph(data: bytes, weights: dict[str, np.ndarray]):
    from ..ir import IRError, from_json
    from .primitives import register_all_primitives

    register_all_primitives()
    doc = parse_json(data, GRAPH_FILE)
    if not isinstance(doc, dict):
        raise BundleError(f"{GRAPH_FILE}: expected a JSON object, got {type(doc).__name__}")
    values = doc.get("values")
    if isinstance(values, list):
        for entry in values:
            if isinstance(entry, dict) and entry.get("kind") == "const":
                key = entry.get("array")
                if not isinstance(key, str) or key not in weights:
                    raise BundleError(
                        f"{WEIGHTS_FILE}: constant {key!r} that {GRAPH_FILE} reads is missing"
                    )
                if key != const_key(entry.get("id")):
                    raise BundleError(
                        f"{GRAPH_FILE}: value {entry.get('id')!r} names constant {key!r}, "
                        f"expected {const_key(entry.get('id'))!r}"
                    )
    try:
        return from_json(doc, weights)
    except IRError as exc:  # its messages name fields as "graph.nodes[3].op: ..."
        msg = str(exc)
        for prefix in ("graph.", "graph: "):
            msg = msg[len(prefix) :] if msg.startswith(prefix) else msg
        raise BundleError(f"{GRAPH_FILE}: {msg}") from None
    except _GRAPH_ERRORS as exc:
        raise BundleError(f"{GRAPH_FILE}: malformed graph ({type(exc).__name__}: {exc})") from None
