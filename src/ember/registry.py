"""The op registry: every primitive op is defined here once.

A :class:`Primitive` holds, in one place:

* ``forward(*arrays, **attrs)`` — the NumPy reference semantics (eager mode runs it);
* ``vjp(ctx, *grads)`` — the backward rule, written in ember ops so grad-of-grad works;
* ``rule(*specs, **attrs)`` — the shape/dtype rule on :class:`Spec` values, no data needed
  (tracing and exporters use it; eager mode calls it to explain a failing forward);
* ``saves_inputs`` / ``saves_outputs`` — what the vjp reads: True for all, or positions as a
  tuple or slice (only those are kept and version-checked, as PyTorch saves only what a
  formula needs);
* ``lowerings`` — per-target hooks (``"onnx"``, ``"c"``, ...) that exporters add later;
* ``eager`` — what eager mode (``_dispatch.apply``) runs: ``forward``, or a faster equivalent
  of it chosen once per primitive from the factory given to :func:`register_fast_forward`
  (the native C kernels, ``ember.ops._native``). Everything else (the IR interpreter,
  compiled graphs, exporters) keeps reading ``forward``, the reference.

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

__all__ = [
    "Primitive",
    "Spec",
    "REGISTRY",
    "primitive",
    "ShapeError",
    "load_all_primitives",
    "register_fast_forward",
    "set_fast_forwards",
    "fast_forwards_enabled",
]


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
        "eager",
        "fast",
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
        self.eager: Callable = forward  # what eager mode calls (see _resolve_eager)
        self.fast: Callable | None = None  # factory(prim) -> a faster forward, or None
        if name in _FAST:
            self._set_fast(_FAST[name])

    def _set_fast(self, factory: Callable | None) -> None:
        self.fast = factory
        self.eager = self._resolve_eager if factory is not None and _fast[0] else self.forward

    def _resolve_eager(self, *arrays, **attrs):
        """The first eager call: ask the factory once for the faster forward (None: keep
        ``forward``), install it as ``eager`` and run it."""
        fn = None
        if self.fast is not None and _fast[0]:
            try:
                fn = self.fast(self)
            except Exception as exc:  # a broken accelerator must not break the op
                import warnings

                warnings.warn(
                    f"{self.name}: faster eager forward unavailable ({exc!r}); using NumPy",
                    RuntimeWarning,
                    stacklevel=3,
                )
        self.eager = fn or self.forward
        return self.eager(*arrays, **attrs)

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
_FAST: dict[str, Callable] = {}  # primitive name -> factory of its faster eager forward
_fast = [True]  # faster eager forwards switched on (ember.set_native_kernels)


def register_fast_forward(name: str, factory: Callable) -> None:
    """Give the primitive ``name`` (registered now or later) a faster eager forward.

    ``factory(prim)`` is called at the primitive's first eager call, once: it returns a
    function with ``prim.forward``'s signature and results (within float rounding), or None to
    keep ``forward``. The function may itself fall back to ``prim.forward`` per call.
    """
    _FAST[name] = factory
    prim = REGISTRY.get(name)
    if prim is not None:
        prim._set_fast(factory)


def set_fast_forwards(enabled: bool) -> bool:
    """Switch every primitive's faster eager forward on or off; returns the previous state.
    Switching on asks the factories again at the next call."""
    previous, _fast[0] = _fast[0], bool(enabled)
    if previous == _fast[0]:
        return previous
    for prim in REGISTRY.values():
        if prim.fast is not None:
            prim._set_fast(prim.fast)
    return previous


def fast_forwards_enabled() -> bool:
    """Whether eager mode uses the primitives' faster forwards."""
    return _fast[0]


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
