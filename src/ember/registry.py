"""The op registry: every primitive op is defined here once.

A :class:`Primitive` holds, in one place:

* ``forward(*arrays, **attrs)`` — the NumPy reference semantics (eager mode runs it);
* ``vjp(ctx, *grads)`` — the backward rule, written in ember ops so grad-of-grad works;
* ``rule(*specs, **attrs)`` — the shape/dtype rule on :class:`Spec` values, no data needed
  (tracing and exporters use it; eager mode calls it to explain a failing forward);
* ``saves_inputs`` / ``saves_outputs`` — what the vjp reads: True for all, or positions as a
  tuple or slice (only those are kept and version-checked, as PyTorch saves only what a
  formula needs);
* ``lowerings`` — per-target hooks (``"onnx"``, ``"c"``, ...) that exporters add later.

Composite ops (softmax, var, gelu...) are plain functions of primitives and live beside them
in ``ember.ops``; they have no registry entry.

Example:
    >>> from ember.registry import REGISTRY, Spec
    >>> import ember
    >>> REGISTRY["exp"].rule(Spec((2, 3), ember.float32))
    Spec(shape=(2, 3), dtype=ember.float32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["Primitive", "Spec", "REGISTRY", "primitive", "ShapeError", "load_all_primitives"]


class ShapeError(ValueError):
    """A shape or argument mistake caught by an op's shape rule."""


class Spec(NamedTuple):
    """Shape and dtype of a tensor, without data."""

    shape: tuple
    dtype: Any


class Primitive:
    """One registry entry. Create with :func:`primitive`."""

    __slots__ = (
        "name",
        "forward",
        "vjp",
        "rule",
        "saves_inputs",
        "saves_outputs",
        "num_outputs",
        "is_view",
        "is_random",
        "lowerings",
        "doc",
    )

    def __init__(
        self,
        name: str,
        forward: Callable,
        rule: Callable,
        *,
        saves_inputs: bool | tuple | slice = False,
        saves_outputs: bool | tuple | slice = False,
        num_outputs: int = 1,
        is_view: bool = False,
        is_random: bool = False,
    ):
        self.name = name
        self.forward = forward
        self.rule = rule
        self.vjp: Callable | None = None
        self.saves_inputs = saves_inputs
        self.saves_outputs = saves_outputs
        self.num_outputs = num_outputs
        self.is_view = is_view
        self.is_random = is_random  # draws from a generator: never folded, merged or cached
        self.lowerings: dict[str, Any] = {}
        self.doc = (forward.__doc__ or "").strip()

    def defvjp(self, fn: Callable) -> Callable:
        """Decorator: set the backward rule ``fn(ctx, *grad_outputs) -> tuple of input grads``."""
        self.vjp = fn
        return fn

    def deflowering(self, target: str) -> Callable:
        """Decorator: register the lowering of this primitive for an exporter ``target``."""

        def register(fn):
            self.lowerings[target] = fn
            return fn

        return register

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


REGISTRY: dict[str, Primitive] = {}


def primitive(name: str, rule: Callable, **options) -> Callable[[Callable], Primitive]:
    """Decorator that registers a NumPy forward function as the primitive ``name``."""

    def register(forward: Callable) -> Primitive:
        if name in REGISTRY:
            raise ValueError(f"primitive {name!r} is registered twice")
        prim = Primitive(name, forward, rule, **options)
        REGISTRY[name] = prim
        return prim

    return register


# modules that register primitives but are not imported by ``import ember`` (kept lazy)
_LAZY_PRIMITIVE_MODULES = (
    "ember.ops.conv_kernels",
    "ember.nn.functional.attention",
    "ember.ir.prims",
)


def load_all_primitives() -> dict[str, Primitive]:
    """Import every module that defines primitives (graph readers need all of them)."""
    import importlib

    for name in _LAZY_PRIMITIVE_MODULES:
        importlib.import_module(name)
    return REGISTRY
