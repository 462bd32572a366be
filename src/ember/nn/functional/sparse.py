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

from ...ops import elementwise as _ew
from ...ops._helpers import to_tensor
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
    if max_norm is not None:
        _renorm_rows(weight, np.unique(flat), max_norm, norm_type)
    out = weight.index_select(0, Tensor._wrap(flat.astype(np.int64))).reshape(
        tuple(idx.shape) + (weight.shape[1],)
    )
    if scale_grad_by_freq and out.requires_grad:
        _, inv, counts = np.unique(flat, return_inverse=True, return_counts=True)
        scale = (1.0 / counts[inv]).astype(weight._data.dtype).reshape(tuple(idx.shape) + (1,))
        frozen = out.detach()
        out = frozen + (out - frozen) * Tensor._wrap(scale)
    if padding_idx is not None and out.requires_grad:
        pad = Tensor._wrap((idx._data == padding_idx)[..., None])
        out = _ew.where(pad, out.detach(), out)
    return out


def _renorm_rows(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    data = weight._data
    sel = data[rows]
    norms = np.linalg.norm(sel, ord=norm_type, axis=1)
    scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(data.dtype)
    data[rows] = sel * scale[:, None]
    weight._version.value += 1
