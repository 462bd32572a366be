"""Primitives that only graphs create: ``fill`` (a constant tensor of a symbolic shape).

Eager code never calls these; the tracer uses ``fill`` when a constant such as an LSTM's zero
initial state has a batch-dependent shape in a graph traced for every batch size.

Example:
    >>> from ember.registry import REGISTRY
    >>> REGISTRY["fill"].forward(shape=(2,), value=0.5, dtype="float32")
    array([0.5, 0.5], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from ..registry import REGISTRY, Spec, primitive

__all__ = ["fill"]


def _fill_rule(*, shape, value, dtype):
    from .. import dtypes as _dt

    return Spec(tuple(shape), _dt.from_numpy_dtype(np.dtype(dtype)))


if "fill" not in REGISTRY:

    @primitive("fill", _fill_rule)
    def fill(*, shape, value, dtype):
        """A new array of ``shape`` and ``dtype`` (a NumPy dtype name) holding ``value``."""
        return np.full(tuple(shape), value, dtype=np.dtype(dtype))
else:  # pragma: no cover - re-import
    fill = REGISTRY["fill"]
