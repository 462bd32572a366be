"""The one place that knows the model-bundle API: a loaded bundle as the server sees it.

Everything else in ``ember.serve`` talks to a :class:`Servable`: named input/output specs
(NumPy dtype name, shape with ``None`` for dynamic axes), the bundle's metadata, and
``predict(dict of arrays) -> dict of arrays``. :func:`load_servable` opens a bundle directory
with ``ember.export.load_bundle``; :meth:`Servable.wrap` adapts any object with the bundle
interface (``.signature.inputs/.outputs``, ``.metadata``, ``obj(**arrays) -> dict``), which
is also how tests and embedders serve a model object directly.

Example:
    >>> import numpy as np
    >>> from types import SimpleNamespace as NS
    >>> from ember.serve.servable import Servable
    >>> spec = NS(name="x", dtype="float32", shape=(None, 2))
    >>> bundle = NS(signature=NS(inputs=[spec], outputs=[NS(name="y", dtype="float32",
    ...     shape=(None, 2))]), metadata={})
    >>> double = Servable.wrap(bundle, call=lambda x: {"y": 2 * x})
    >>> double.input_names, double.batchable
    (['x'], True)
    >>> double.predict({"x": np.ones((1, 2), np.float32)})["y"].tolist()
    [[2.0, 2.0]]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TensorInfo", "Servable", "ModelLoadError", "load_servable"]


class ModelLoadError(Exception):
    """A bundle could not be loaded; the message names the path and what was wrong."""


@dataclass(frozen=True)
class TensorInfo:
    """One named tensor of a signature: NumPy dtype name and shape (``None`` = any size)."""

    name: str
    dtype: str
    shape: tuple

    @property
    def wire_shape(self) -> list[int]:
        """The shape with ``-1`` for dynamic axes, as both protocols print it."""
        return [-1 if d is None else int(d) for d in self.shape]


def _specs(items: Any, what: str) -> list[TensorInfo]:
    out = []
    for item in items:
        shape = tuple(None if d is None or int(d) < 0 else int(d) for d in item.shape)
        out.append(TensorInfo(str(item.name), str(item.dtype), shape))
    if not out:
        raise ModelLoadError(f"the bundle's signature has no {what}")
    return out


class Servable:
    """A model ready to serve: ``inputs``, ``outputs`` (lists of :class:`TensorInfo`),
    ``metadata`` (dict) and :meth:`predict`."""

    def __init__(
        self,
        inputs: list[TensorInfo],
        outputs: list[TensorInfo],
        metadata: dict,
        call: Callable[..., dict],
    ):
        self.inputs, self.outputs, self.metadata = inputs, outputs, dict(metadata)
        self._call = call
        self.input_names = [t.name for t in inputs]
        self.output_names = [t.name for t in outputs]
        # Requests can be merged along axis 0 only when every tensor has a dynamic batch axis.
        self.batchable = all(t.shape and t.shape[0] is None for t in inputs + outputs)

    @classmethod
    def wrap(cls, bundle: Any, call: Callable[..., dict] | None = None) -> Servable:
        """Adapt an object with the bundle interface; ``call`` overrides ``bundle(**arrays)``."""
        sig = bundle.signature
        return cls(
            _specs(sig.inputs, "inputs"),
            _specs(sig.outputs, "outputs"),
            dict(getattr(bundle, "metadata", {}) or {}),
            call if call is not None else bundle,
        )

    def input(self, name: str) -> TensorInfo | None:
        """The input spec called ``name``, or None."""
        return next((t for t in self.inputs if t.name == name), None)

    def predict(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model; returns every output by name as a NumPy array."""
        result = self._call(**arrays)
        if not isinstance(result, dict):
            raise TypeError(f"the model returned {type(result).__name__}, expected a dict")
        missing = [n for n in self.output_names if n not in result]
        if missing:
            raise KeyError(f"the model's result lacks output(s) {missing}")
        return {name: np.asarray(result[name]) for name in self.output_names}


def load_servable(path: str | Path) -> Servable:
    """Load the bundle directory ``path`` with ``ember.export.load_bundle``.

    Raises :class:`ModelLoadError` with the path and the reason on any failure.
    """
    try:
        from ember.export import load_bundle

        bundle = load_bundle(path)
        return Servable.wrap(bundle)
    except ModelLoadError as exc:
        raise ModelLoadError(f"{path}: {exc}") from exc
    except Exception as exc:  # a broken bundle must never take the server down
        raise ModelLoadError(f"{path}: {type(exc).__name__}: {exc}") from exc
