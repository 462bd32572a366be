"""Small helpers shared by the op handlers: reading shape-like inputs, normalising axes.

Shape-like inputs (a Reshape target, Slice bounds, Reduce axes) are read as Python ints: they
decide shapes, not values, so no gradient flows through them.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops._util import int_list
    >>> int_list(ember.tensor([2, -1]))
    [2, -1]
"""

from __future__ import annotations

from ... import dtypes as _dt
from ...ops.creation import tensor as _tensor
from ...tensor import Tensor
from ._registry import OpContext

__all__ = ["int_list", "scalar", "norm_axis", "norm_axes", "const", "is_float", "float_work"]


def int_list(value) -> list[int] | None:
    """A shape-like input (tensor, list or scalar) as a list of Python ints (None stays None)."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        value = value.detach().numpy().reshape(-1).tolist()
    elif isinstance(value, (int, float)):
        value = [value]
    return [int(v) for v in value]


def scalar(value):
    """A one-element tensor (or Python number) as a Python number."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"expected a single value, got a tensor of shape {tuple(value.shape)}")
        return value.detach().numpy().reshape(()).item()
    return value


def norm_axis(ctx: OpContext, axis: int, rank: int, what: str = "axis") -> int:
    """``axis`` in ``[0, rank)``, or an error naming the node."""
    if not -rank <= axis < max(rank, 1):
        raise ctx.error(f"{what} {axis} is out of range for a tensor of rank {rank}")
    return axis % max(rank, 1)


def norm_axes(ctx: OpContext, axes, rank: int, what: str = "axes") -> tuple[int, ...]:
    """Distinct axes in ``[0, rank)`` (order kept), or an error naming the node."""
    out = tuple(norm_axis(ctx, int(a), rank, what) for a in axes)
    if len(set(out)) != len(out):
        raise ctx.error(f"{what} {list(axes)} repeat an axis")
    return out


def const(value, like: Tensor) -> Tensor:
    """A zero-dim constant of ``like``'s dtype."""
    return _tensor(value, dtype=like.dtype)


def is_float(t: Tensor) -> bool:
    return t.dtype.is_floating_point


def float_work(t: Tensor) -> Tensor:
    """``t`` itself when floating point, else cast to float64 (for integer-typed math)."""
    return t if t.dtype.is_floating_point else t.to(_dt.float64)
