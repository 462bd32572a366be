"""A bundle's signature: its named inputs and outputs, with dtypes and shapes.

``signature.json`` lists every input and output as ``{"name", "dtype", "shape"}``; a shape
entry is ``null`` where the size is free (the dynamic batch axis). :func:`parse_signature`
checks every field and names the one that is wrong.

Example:
    >>> from ember.export.signature import Signature, TensorSpec, parse_signature
    >>> sig = Signature([TensorSpec("x", "float32", (None, 4))],
    ...                 [TensorSpec("y", "float32", (None, 3))])
    >>> sig.to_json()["inputs"]
    [{'name': 'x', 'dtype': 'float32', 'shape': [None, 4]}]
    >>> parse_signature(sig.to_json()) == sig
    True
    >>> parse_signature({"inputs": [{"name": "x", "dtype": "float31", "shape": [1]}],
    ...                  "outputs": []})
    Traceback (most recent call last):
    ...
    ember.export.errors.BundleError: signature.json: inputs[0].dtype: 'float31' is not a ...
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import BundleError

__all__ = ["TensorSpec", "Signature", "parse_signature", "DTYPES"]

#: dtype names a bundle can hold (NumPy names; all of them are safetensors dtypes).
DTYPES = frozenset(
    "bool float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64".split()
)
_FILE = "signature.json"


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor: NumPy dtype name and shape, ``None`` for a dynamic axis."""

    name: str
    dtype: str
    shape: tuple

    def shape_str(self) -> str:
        """The shape as text, ``N`` for dynamic axes: ``(N, 1, 8, 8)``."""
        dims = ", ".join("N" if d is None else str(d) for d in self.shape)
        return f"({dims}{',' if len(self.shape) == 1 else ''})"

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True)
class Signature:
    """The inputs and outputs of a bundle, in call order."""

    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.outputs]

    @property
    def dynamic_batch(self) -> bool:
        """True if every input has a free axis 0."""
        return bool(self.inputs) and all(s.shape and s.shape[0] is None for s in self.inputs)

    def to_json(self) -> dict:
        return {
            "inputs": [s.to_json() for s in self.inputs],
            "outputs": [s.to_json() for s in self.outputs],
        }


def parse_signature(doc: object) -> Signature:
    """A :class:`Signature` from the parsed ``signature.json``; raises :class:`BundleError`."""
    if not isinstance(doc, dict):
        raise BundleError(f"{_FILE}: expected a JSON object, got {type(doc).__name__}")
    lists = {}
    for side in ("inputs", "outputs"):
        entries = doc.get(side)
        if not isinstance(entries, list):
            raise BundleError(f"{_FILE}: field {side!r} is missing or not a list")
        specs = [_parse_spec(e, f"{side}[{k}]") for k, e in enumerate(entries)]
        names = [s.name for s in specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise BundleError(f"{_FILE}: {side}: duplicate name(s) {dup}")
        lists[side] = specs
    if not lists["outputs"]:
        raise BundleError(f"{_FILE}: outputs: the signature has no outputs")
    return Signature(lists["inputs"], lists["outputs"])


def _parse_spec(entry: object, where: str) -> TensorSpec:
    if not isinstance(entry, dict):
        raise BundleError(f"{_FILE}: {where}: expected an object, got {type(entry).__name__}")
    for key in ("name", "dtype", "shape"):
        if key not in entry:
            raise BundleError(f"{_FILE}: {where}: field {key!r} is missing")
    name, dtype, shape = entry["name"], entry["dtype"], entry["shape"]
    if not isinstance(name, str) or not name:
        raise BundleError(f"{_FILE}: {where}.name: expected a non-empty string, got {name!r}")
    if dtype not in DTYPES:
        raise BundleError(
            f"{_FILE}: {where}.dtype: {dtype!r} is not a supported dtype "
            f"(one of {', '.join(sorted(DTYPES))})"
        )
    if not isinstance(shape, list) or not all(_is_dim(d) for d in shape):
        raise BundleError(
            f"{_FILE}: {where}.shape: expected a list of sizes >= 0 or null, got {shape!r}"
        )
    return TensorSpec(name, dtype, tuple(shape))


def _is_dim(d: object) -> bool:
    return d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)
