"""Registering ONNX lowerings on the op registry's primitives.

``@lowers("exp", "log")`` stores a :class:`Lowering` in ``REGISTRY[name].lowerings["onnx"]`` for
each name; :func:`not_lowered` records why a primitive has none (the docs table and the
export error read it).

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops  # registers every lowering
    >>> REGISTRY["relu"].lowerings["onnx"].min_opset
    13
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...registry import REGISTRY

__all__ = ["Lowering", "lowers", "not_lowered", "NOT_LOWERED"]

MIN_OPSET = 13

#: primitive name -> why it has no ONNX lowering
NOT_LOWERED: dict[str, str] = {}


@dataclass(frozen=True)
class Lowering:
    """An ONNX lowering: ``fn(ctx, node, *inputs) -> output name(s)``, usable from ``min_opset``."""

    fn: Callable
    min_opset: int = MIN_OPSET
    note: str = ""

    def __call__(self, ctx, node, *inputs):
        return self.fn(ctx, node, *inputs)


def lowers(*names: str, min_opset: int = MIN_OPSET, note: str = "") -> Callable:
    """Decorator: register ``fn`` as the ONNX lowering of the primitives ``names``."""

    def register(fn: Callable) -> Callable:
        for name in names:
            prim = REGISTRY.get(name)
            if prim is None:  # a primitive of a newer or older ember: nothing to lower
                continue
            prim.lowerings["onnx"] = Lowering(fn, min_opset, note)
        return fn

    return register


def not_lowered(reason: str, *names: str) -> None:
    """Record that the primitives ``names`` have no ONNX lowering, and why."""
    for name in names:
        NOT_LOWERED[name] = reason
