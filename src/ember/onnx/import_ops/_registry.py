"""The import op table: ONNX op type -> handler written with ember ops.

A handler receives an :class:`OpContext` (attributes, opset, node name) and the node's inputs
as ember tensors (``None`` for an omitted optional input; sequences are Python lists) and
returns one value or a tuple, one per output. Handlers are registered with :func:`onnx_op`;
``since`` selects between implementations when an op changed incompatibly between opsets.

Example:
    >>> from ember.onnx.import_ops import find_handler
    >>> find_handler("Relu", 14).__name__
    'relu'
    >>> find_handler("NoSuchOp", 17) is None
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["OpContext", "onnx_op", "find_handler", "registered_ops"]

Handler = Callable[..., Any]

_TABLE: dict[str, dict[int, Handler]] = {}


def onnx_op(*op_types: str, since: int = 1) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``op_types`` from opset ``since`` on."""

    def register(fn: Handler) -> Handler:
        for op_type in op_types:
            versions = _TABLE.setdefault(op_type, {})
            if since in versions:
                raise ValueError(f"ember.onnx: {op_type} (since opset {since}) registered twice")
            versions[since] = fn
        return fn

    return register


def find_handler(op_type: str, opset: int) -> Handler | None:
    """The handler for ``op_type`` at ``opset`` (the newest one not newer than it), or None."""
    versions = _TABLE.get(op_type)
    if not versions:
        return None
    usable = [v for v in versions if v <= opset]
    return versions[max(usable)] if usable else None


def registered_ops() -> dict[str, tuple[int, ...]]:
    """Every registered op type with the opsets its handlers start at."""
    return {op: tuple(sorted(v)) for op, v in sorted(_TABLE.items())}


class OpContext:
    """What a handler knows about its node: attributes, opset, outputs wanted, subgraph runner."""

    __slots__ = ("op_type", "domain", "opset", "name", "attrs", "num_outputs", "run_graph")

    def __init__(
        self,
        op_type: str,
        domain: str,
        opset: int,
        name: str,
        attrs: dict[str, Any],
        num_outputs: int,
        run_graph: Callable | None = None,
    ):
        self.op_type = op_type
        self.domain = domain
        self.opset = opset
        self.name = name
        self.attrs = attrs
        self.num_outputs = num_outputs
        self.run_graph = run_graph

    def with_runner(self, run_graph: Callable) -> OpContext:
        """A copy whose ``run_graph`` runs subgraphs in the calling graph's environment."""
        return OpContext(
            self.op_type,
            self.domain,
            self.opset,
            self.name,
            self.attrs,
            self.num_outputs,
            run_graph,
        )

    def attr(self, name: str, default: Any = None) -> Any:
        """The attribute ``name`` (ints, floats, strings, lists, tensors, graphs) or ``default``."""
        return self.attrs.get(name, default)

    def describe(self) -> str:
        """``Conv (opset 13) node 'conv1'``: how errors name this node."""
        domain = f"{self.domain}." if self.domain else ""
        named = f" node {self.name!r}" if self.name else ""
        return f"{domain}{self.op_type} (opset {self.opset}){named}"

    def error(self, message: str, kind: type[Exception] = ValueError) -> Exception:
        """An exception of type ``kind`` whose message starts with :meth:`describe`."""
        return kind(f"ember.onnx: {self.describe()}: {message}")

    def unsupported(self, what: str) -> NotImplementedError:
        """A ``NotImplementedError`` for an attribute value or input this handler cannot run."""
        return self.error(f"{what} is not supported", NotImplementedError)
