"""Devices: where a tensor's memory lives and which array library (``xp``) computes on it.

Only ``"cpu"`` (NumPy) exists today. A device is an object with an ``xp`` module, Chainer-style,
so a CuPy ``"cuda"`` backend slots in by adding one entry to ``_BACKENDS``: primitive forwards
are written against the NumPy API and CuPy arrays take part through NumPy's dispatch protocols.

Example:
    >>> import ember
    >>> ember.device("cpu")
    device(type='cpu')
    >>> ember.zeros(2).device.type
    'cpu'
"""

from __future__ import annotations

import numpy as np

__all__ = ["device", "as_device", "available_backends"]


def _numpy_backend():
    return np


_BACKENDS = {"cpu": _numpy_backend}


class device:  # noqa: N801 - PyTorch spells it lower-case
    """A compute device such as ``ember.device("cpu")``."""

    __slots__ = ("type", "index")

    def __init__(self, spec: str | device = "cpu", index: int | None = None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index
        kind, _, idx = str(spec).partition(":")
        if kind not in _BACKENDS:
            raise RuntimeError(
                f"device: unknown or unavailable device type {kind!r}; "
                f"available: {', '.join(_BACKENDS)}"
            )
        self.type = kind
        self.index = int(idx) if idx else index

    @property
    def xp(self):
        """The array module that computes on this device (NumPy for the CPU)."""
        return _BACKENDS[self.type]()

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")


def as_device(spec) -> device:
    """Normalise ``None``, a string or a device to a device."""
    if spec is None or spec is CPU:
        return CPU
    d = spec if isinstance(spec, device) else device(spec)
    return CPU if d.type == "cpu" else d


def available_backends() -> list[str]:
    """Names of the device types this installation can compute on."""
    return list(_BACKENDS)
