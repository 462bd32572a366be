"""Graphs to and from JSON: the format bundles and exporters store.

``to_json(graph)`` returns ``(document, arrays)``: a JSON-ready dict and the constant arrays
it refers to by name (a bundle stores those in safetensors next to the weights).
``from_json(document, arrays)`` rebuilds the graph and checks it. Attribute values are
encoded with explicit tags (tuples, slices, dtypes, SymInts, registry ops...), so nothing is
ever evaluated or unpickled when a graph is read.

Example:
    >>> import json
    >>> from ember.ir import Graph, to_json, from_json
    >>> g = Graph()
    >>> x = g.add_input((2,), "float32", name="x")
    >>> (y,) = g.add_node("sum", [x], {"axes": (0,), "keepdim": False}, [((), "float32")])
    >>> g.outputs = [y]
    >>> doc, arrays = to_json(g)
    >>> from_json(json.loads(json.dumps(doc)), arrays).nodes[0].attrs
    {'axes': (0,), 'keepdim': False}
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .graph import Graph, IRError, Node, Value
from .symbolic import SymInt

__all__ = ["to_json", "from_json", "encode_attr", "decode_attr", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_KINDS = ("input", "param", "const", "node")


def encode_attr(v: Any, where: str = "attribute") -> Any:
    """A JSON-ready form of an attribute value (tagged dicts for non-JSON types)."""
    from .. import dtypes as _dt
    from ..registry import Primitive

    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, np.integer)) and not isinstance(v, np.bool_):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else {"float": repr(f)}
    if isinstance(v, tuple):
        return {"tuple": [encode_attr(x, where) for x in v]}
    if isinstance(v, list):
        return [encode_attr(x, where) for x in v]
    if isinstance(v, dict):
        return {"dict": {str(k): encode_attr(x, where) for k, x in v.items()}}
    if isinstance(v, slice):
        return {"slice": [encode_attr(x, where) for x in (v.start, v.stop, v.step)]}
    if v is Ellipsis:
        return {"ellipsis": True}
    if isinstance(v, SymInt):
        return {"sym": [v.coef, v.offset]}
    if isinstance(v, _dt.dtype):
        return {"dtype": v.name}
    if isinstance(v, np.dtype):
        return {"np_dtype": v.name}
    if isinstance(v, np.ndarray):
        return {"array": v.tolist(), "dtype": v.dtype.name, "shape": list(v.shape)}
    if isinstance(v, Primitive):
        return {"op": v.name}
    raise IRError(
        f"{where}: a value of type {type(v).__name__} cannot be stored in a graph file "
        "(explicit ember.Generator objects and Python callables are not serialisable)"
    )


def decode_attr(v: Any, where: str = "attribute") -> Any:
    """Inverse of :func:`encode_attr`; unknown tags raise :class:`IRError`."""
    from .. import dtypes as _dt
    from ..registry import REGISTRY

    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, list):
        return [decode_attr(x, where) for x in v]
    if not isinstance(v, dict) or len(v) not in (1, 3):
        raise IRError(f"{where}: malformed attribute value {v!r}")
    tag = next(iter(v))
    body = v[tag]
    if tag == "tuple":
        return tuple(decode_attr(x, where) for x in body)
    if tag == "dict":
        return {k: decode_attr(x, where) for k, x in body.items()}
    if tag == "slice":
        return slice(*(decode_attr(x, where) for x in body))
    if tag == "ellipsis":
        return Ellipsis
    if tag == "float":
        return float(body)
    if tag == "sym":
        return SymInt(*body)
    if tag == "dtype":
        return _dt.as_dtype(body)
    if tag == "np_dtype":
        return np.dtype(body)
    if tag == "array":
        return np.asarray(body, dtype=np.dtype(v["dtype"])).reshape(v["shape"])
    if tag == "op":
        if body not in REGISTRY:
            raise IRError(f"{where}: unknown op {body!r}")
        return REGISTRY[body]
    raise IRError(f"{where}: unknown attribute tag {tag!r}")


def _encode_dim(d):
    return encode_attr(d) if isinstance(d, SymInt) else int(d)


def to_json(graph: Graph) -> tuple[dict, dict[str, np.ndarray]]:
    """``(document, arrays)`` for ``graph``; constants are referenced by name in ``arrays``."""
    arrays = {}
    values = []
    for v in graph.values.values():
        entry = {
            "id": v.id,
            "shape": [_encode_dim(d) for d in v.shape],
            "dtype": v.dtype,
            "kind": v.kind,
        }
        if v.name is not None:
            entry["name"] = v.name
        if v.kind == "const":
            key = f"__const__{v.id}"
            arr = graph.consts[v.id]
            arrays[key] = arr if arr.flags.c_contiguous else arr.copy(order="C")
            entry["array"] = key
        values.append(entry)
    nodes = [
        {
            "op": n.op,
            "inputs": list(n.inputs),
            "outputs": list(n.outputs),
            "attrs": {k: encode_attr(a, f"node {k2} ({n.op}).{k}") for k, a in n.attrs.items()},
        }
        for k2, n in enumerate(graph.nodes)
    ]
    doc = {
        "format_version": FORMAT_VERSION,
        "values": values,
        "nodes": nodes,
        "inputs": list(graph.inputs),
        "outputs": list(graph.outputs),
        "mutations": [list(m) for m in graph.mutations],
    }
    return doc, arrays


def from_json(doc: dict, arrays: dict[str, np.ndarray] | None = None) -> Graph:
    """Rebuild a graph written by :func:`to_json`; raises :class:`IRError` naming bad fields."""
    from ..registry import REGISTRY, load_all_primitives

    load_all_primitives()
    arrays = arrays or {}
    if not isinstance(doc, dict):
        raise IRError("graph: expected a JSON object")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise IRError(f"graph.format_version: {version!r} is not supported (expected 1)")
    g = Graph()
    try:
        for k, e in enumerate(_field(doc, "values", list)):
            kind = e["kind"]
            if kind not in _KINDS:
                raise IRError(f"graph.values[{k}].kind: unknown kind {kind!r}")
            vid = int(e["id"])
            shape = tuple(decode_attr(d, f"graph.values[{k}].shape") for d in e["shape"])
            np.dtype(e["dtype"]) if e["dtype"] != "bfloat16" else None
            g.values[vid] = Value(vid, shape, e["dtype"], kind, e.get("name"))
            if kind == "param":
                g.params[vid] = e["name"]
            elif kind == "const":
                key = e["array"]
                if key not in arrays:
                    raise IRError(f"graph.values[{k}]: constant array {key!r} is missing")
                arr = np.asarray(arrays[key])
                if tuple(arr.shape) != shape or arr.dtype.name != e["dtype"]:
                    raise IRError(
                        f"graph.values[{k}]: constant {key!r} is {arr.dtype.name}"
                        f"{list(arr.shape)}, the graph declares {e['dtype']}{list(shape)}"
                    )
                g.consts[vid] = arr
            g._next = max(g._next, vid + 1)
        for k, n in enumerate(_field(doc, "nodes", list)):
            op = n["op"]
            if op not in REGISTRY:
                raise IRError(f"graph.nodes[{k}].op: unknown op {op!r}")
            attrs = {
                a: decode_attr(x, f"graph.nodes[{k}].attrs.{a}") for a, x in n["attrs"].items()
            }
            g.nodes.append(
                Node(op, [int(i) for i in n["inputs"]], [int(o) for o in n["outputs"]], attrs)
            )
        g.inputs = [int(i) for i in _field(doc, "inputs", list)]
        g.outputs = [int(i) for i in _field(doc, "outputs", list)]
        g.mutations = [(int(a), int(b)) for a, b in doc.get("mutations", [])]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, IRError):
            raise
        raise IRError(f"graph: malformed document ({type(exc).__name__}: {exc})") from None
    for vid in [*g.inputs, *g.outputs]:
        if vid not in g.values:
            raise IRError(f"graph: input/output %{vid} is not a declared value")
    g.validate()
    return g


def _field(doc: dict, name: str, typ):
    if name not in doc or not isinstance(doc[name], typ):
        raise IRError(f"graph.{name}: missing or not a {typ.__name__}")
    return doc[name]
