"""Sizes that depend on the batch size: ``SymInt(a, c)`` stands for ``a * N + c``.

A graph traced for every batch size (``ember.compile(..., dynamic=True)``, bundles with a
dynamic batch axis) is traced twice, at two batch sizes; every integer that differs between
the two traces (in a shape or an op attribute) is a linear function of N and becomes a SymInt.
:func:`resolve` turns attributes back into plain Python values for a concrete N.

Example:
    >>> from ember.ir.symbolic import SymInt, resolve
    >>> resolve({"shape": (SymInt(1, 0), 784)}, 32)
    {'shape': (32, 784)}
    >>> SymInt(64, 0)
    64*N
"""

from __future__ import annotations

from typing import Any

__all__ = ["SymInt", "resolve", "has_sym", "unify"]


class SymInt:
    """The integer ``coef * N + offset`` for batch size N."""

    __slots__ = ("coef", "offset")

    def __init__(self, coef: int, offset: int):
        self.coef = int(coef)
        self.offset = int(offset)

    def at(self, n: int) -> int:
        return self.coef * n + self.offset

    def __eq__(self, other) -> bool:
        return isinstance(other, SymInt) and (self.coef, self.offset) == (other.coef, other.offset)

    def __hash__(self) -> int:
        return hash(("SymInt", self.coef, self.offset))

    def __repr__(self) -> str:
        a = "N" if self.coef == 1 else f"{self.coef}*N"
        if self.offset == 0:
            return a
        return f"{a}{'+' if self.offset > 0 else '-'}{abs(self.offset)}"


def has_sym(value: Any) -> bool:
    """True if ``value`` (an attribute, possibly nested) holds a SymInt."""
    if isinstance(value, SymInt):
        return True
    if isinstance(value, (tuple, list)):
        return any(has_sym(v) for v in value)
    if isinstance(value, dict):
        return any(has_sym(v) for v in value.values())
    if isinstance(value, slice):
        return has_sym((value.start, value.stop, value.step))
    return False


def resolve(value: Any, n: int) -> Any:
    """``value`` with every SymInt replaced by its integer at batch size ``n``."""
    if isinstance(value, SymInt):
        return value.at(n)
    if isinstance(value, tuple):
        return tuple(resolve(v, n) for v in value)
    if isinstance(value, list):
        return [resolve(v, n) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, n) for k, v in value.items()}
    if isinstance(value, slice):
        return slice(resolve(value.start, n), resolve(value.stop, n), resolve(value.step, n))
    return value


class _MismatchError(ValueError):
    pass


def unify(a: Any, b: Any, n_a: int, n_b: int, where: str = "") -> Any:
    """Merge the same attribute from traces at batch sizes ``n_a`` and ``n_b``.

    Equal parts stay; integers that differ become the SymInt through both points. Anything
    else that differs (a float, a string, a structure) raises ValueError naming ``where``.
    """
    if type(a) is not type(b) and not (_is_int(a) and _is_int(b)):
        raise _MismatchError(f"{where}: {a!r} vs {b!r}")
    if _is_int(a):
        if a == b:
            return a
        coef, rem = divmod(int(b) - int(a), n_b - n_a)
        if rem:
            raise _MismatchError(f"{where}: {a} vs {b} is not linear in the batch size")
        return SymInt(coef, int(a) - coef * n_a)
    if isinstance(a, (tuple, list)):
        if len(a) != len(b):
            raise _MismatchError(f"{where}: lengths {len(a)} vs {len(b)}")
        merged = [unify(x, y, n_a, n_b, where) for x, y in zip(a, b)]
        return tuple(merged) if isinstance(a, tuple) else merged
    if isinstance(a, dict):
        if a.keys() != b.keys():
            raise _MismatchError(f"{where}: keys {sorted(a)} vs {sorted(b)}")
        return {k: unify(a[k], b[k], n_a, n_b, f"{where}.{k}") for k in a}
    if isinstance(a, slice):
        parts = unify((a.start, a.stop, a.step), (b.start, b.stop, b.step), n_a, n_b, where)
        return slice(*parts)
    if _array_like(a):
        if a.shape == b.shape and (a == b).all():
            return a
        raise _MismatchError(f"{where}: constant arrays differ between batch sizes")
    if a == b or (a != a and b != b):  # NaN attributes compare unequal to themselves
        return a
    raise _MismatchError(f"{where}: {a!r} vs {b!r}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) or type(v).__name__.startswith("int")


def _array_like(v) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, type)
