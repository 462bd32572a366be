"""Cross-file checks of a bundle: weights against the graph, signature against the graph, and
every node's declared output types against its op's shape rule (no data is computed).

Example:
    >>> import numpy as np
    >>> from ember.ir import Graph
    >>> from ember.export.consistency import check_weights
    >>> g = Graph()
    >>> w = g.add_param((2, 3), "float32", "fc.weight")
    >>> check_weights(g, {"fc.weight": np.zeros((3, 2), np.float32)})
    Traceback (most recent call last):
    ...
    ember.export.errors.BundleError: weights.safetensors: tensor 'fc.weight' is float32[3, 2], ...
"""

from __future__ import annotations

import numpy as np

from .errors import BundleError
from .layout import GRAPH_FILE, SIGNATURE_FILE, WEIGHTS_FILE
from .signature import Signature

__all__ = ["check_weights", "check_signature", "check_node_types", "const_key"]


def const_key(vid: int) -> str:
    """The safetensors name of the graph constant ``%vid`` (as :func:`ember.ir.to_json` names it)."""
    return f"__const__{vid}"


def check_weights(graph, weights: dict[str, np.ndarray]) -> None:
    """Every parameter and constant of ``graph`` is in ``weights`` with its dtype and shape."""
    needed = {}
    for vid, name in graph.params.items():
        needed[name] = graph.values[vid]
    for vid in graph.consts:
        needed[const_key(vid)] = graph.values[vid]
    for name, value in needed.items():
        if name not in weights:
            raise BundleError(f"{WEIGHTS_FILE}: tensor {name!r} that {GRAPH_FILE} reads is missing")
        arr = weights[name]
        got = f"{arr.dtype.name}[{', '.join(str(d) for d in arr.shape)}]"
        if got != value.type_str():
            raise BundleError(
                f"{WEIGHTS_FILE}: tensor {name!r} is {got}, but {GRAPH_FILE} declares "
                f"{value.type_str()}"
            )
    extra = sorted(set(weights) - set(needed))
    if extra:
        raise BundleError(
            f"{WEIGHTS_FILE}: tensor(s) {extra[:5]} are not read by {GRAPH_FILE} "
            "(a weights file from another model?)"
        )


def check_signature(graph, signature: Signature) -> None:
    """The signature's inputs/outputs match the graph's in number, dtype and shape."""
    from ..ir.symbolic import SymInt

    for side, specs, vids in (
        ("inputs", signature.inputs, graph.inputs),
        ("outputs", signature.outputs, graph.outputs),
    ):
        if len(specs) != len(vids):
            raise BundleError(
                f"{SIGNATURE_FILE}: {side}: {len(specs)} entries, but {GRAPH_FILE} has "
                f"{len(vids)} {side}"
            )
        for k, (spec, vid) in enumerate(zip(specs, vids)):
            value = graph.values[vid]
            where = f"{SIGNATURE_FILE}: {side}[{k}] ({spec.name!r})"
            if spec.dtype != value.dtype:
                raise BundleError(
                    f"{where}.dtype is {spec.dtype}, but {GRAPH_FILE} declares {value.dtype}"
                )
            want = tuple(None if isinstance(d, SymInt) else d for d in value.shape)
            if tuple(spec.shape) != want:
                raise BundleError(
                    f"{where}.shape is {list(spec.shape)}, but {GRAPH_FILE} declares "
                    f"{list(want)} (null = dynamic batch axis)"
                )


def check_node_types(graph, batch: int = 2) -> None:
    """Run every node's shape rule at batch size ``batch`` and compare with the declared types."""
    from .. import dtypes as _dt
    from ..ir.symbolic import resolve
    from ..registry import REGISTRY, Spec

    def spec_of(vid):
        v = graph.values[vid]
        return Spec(tuple(resolve(v.shape, batch)), _dt.from_numpy_dtype(np.dtype(v.dtype)))

    for k, node in enumerate(graph.nodes):
        where = f"{GRAPH_FILE}: nodes[{k}] ({node.op})"
        try:
            ins = [spec_of(i) for i in node.inputs]
            outs = [spec_of(o) for o in node.outputs]
            result = REGISTRY[node.op].rule(*ins, **resolve(node.attrs, batch))
        except Exception as exc:  # a rule rejecting its inputs is a malformed graph
            raise BundleError(f"{where}: {type(exc).__name__}: {exc}") from None
        results = [result] if isinstance(result, Spec) else list(result)
        if len(results) != len(outs):
            raise BundleError(
                f"{where}: the op has {len(results)} outputs, the node declares {len(outs)}"
            )
        for out, want, got in zip(node.outputs, outs, results):
            if tuple(got.shape) != want.shape or _dtype_name(got.dtype) != graph.values[out].dtype:
                raise BundleError(
                    f"{where}: output %{out} is declared {graph.values[out].type_str()}, but the "
                    f"op's shape rule gives {_dtype_name(got.dtype)}{list(got.shape)} at batch "
                    f"size {batch}"
                )


def _dtype_name(dt) -> str:
    return getattr(dt, "name", str(dt))
