"""Linear maps: ``linear`` and ``bilinear``.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.linear(ember.ones(2, 3), ember.ones(4, 3), ember.zeros(4))
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
"""

from __future__ import annotations

from ...ops.linalg import linear as _linear
from ...tensor import Tensor

__all__ = ["linear", "bilinear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dimension of ``input`` (one fused primitive)."""
    return _linear(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1 @ W_k @ x2 + b_k`` for each output feature k."""
    from ...ops.linalg import einsum

    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out + bias if bias is not None else out
