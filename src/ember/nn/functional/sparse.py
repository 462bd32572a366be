"""Embedding lookups (PyTorch's ``F.embedding``); ``one_hot`` comes from ``ember.ops``.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.embedding(ember.tensor([1, 0]), ember.tensor([[0.0, 1.0], [2.0, 3.0]]))
    tensor([[2., 3.],
            [0., 1.]])
"""

from __future__ import annotations

import numpy as np

from ... import dtypes as _dt
from ...autograd.grad_mode import no_grad
from ...ops import elementwise as _ew
from ...ops._helpers import to_tensor
from ...ops.reduce import vector_norm
from ...tensor import Tensor

__all__ = ["embedding"]


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``: output shape ``input.shape + (D,)``.

    The row ``padding_idx`` receives no gradient. With ``max_norm``, the rows that are looked up
    are first renormalised in place to norm at most ``max_norm``. ``scale_grad_by_freq`` divides
    each row's gradient by the number of times it occurs in ``input``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> w = ember.ones(3, 2, requires_grad=True)
        >>> F.embedding(ember.tensor([0, 2, 2]), w, padding_idx=2).sum().backward()
        >>> w.grad
        tensor([[1., 1.],
                [0., 0.],
                [0., 0.]])
    """
    idx = to_tensor(input)
    if idx._data.dtype.kind not in "iu":
        raise RuntimeError(
            f"embedding: expected an integer index tensor (int32/int64), got {idx.dtype}"
        )
    if weight.dim() != 2:
        raise RuntimeError(f"embedding: weight must be 2-D, got shape {tuple(weight.shape)}")
    num = weight.shape[0]
    flat = idx._data.reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= num):
        bad = int(flat[(flat < 0) | (flat >= num)][0])
        raise IndexError(
            f"embedding: index {bad} is out of range for an embedding of {num} rows "
            f"(weight of shape {tuple(weight.shape)})"
        )
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings")
        padding_idx = padding_idx % num
    rows = idx.reshape(-1)  # ember ops from here on, so ember.compile sees the indices
    if rows.dtype is not _dt.int64:
        rows = rows.long()
    if max_norm is not None:
        _renorm_rows(weight, rows, max_norm, norm_type)
    out = weight.index_select(0, rows).reshape(tuple(idx.shape) + (weight.shape[1],))
    if scale_grad_by_freq and out.requires_grad:
        ones = Tensor._wrap(np.ones(rows.shape, np.float64))
        counts = Tensor._wrap(np.zeros(num, np.float64)).scatter_add(0, rows, ones)
        scale = (1.0 / counts.index_select(0, rows)).to(weight.dtype)
        frozen = out.detach()
        out = frozen + (out - frozen) * scale.reshape(tuple(idx.shape) + (1,))
    if padding_idx is not None and out.requires_grad:
        out = _ew.where((idx == padding_idx).unsqueeze(-1), out.detach(), out)
    return out


def _renorm_rows(weight: Tensor, rows: Tensor, max_norm: float, norm_type: float) -> None:
    """Rescale the looked-up rows to norm <= max_norm: an in-place op, outside autograd."""
    with no_grad():
        sel = weight.index_select(0, rows)
        norms = vector_norm(sel, norm_type, dim=1, keepdim=True)
        scale = _ew.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight.index_put_((rows,), sel * scale)
