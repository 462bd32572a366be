"""``ember.linalg``: norms and products under PyTorch's ``torch.linalg`` names.

Only re-exports of functions from ``ember.ops`` live here, so importing it costs nothing.

Example:
    >>> import ember
    >>> ember.linalg.norm(ember.tensor([[3.0, 0.0], [0.0, 4.0]]))
    tensor(5.)
"""

# ruff: noqa: A002 - PyTorch argument names (input, ord) shadow builtins on purpose

from __future__ import annotations

from .ops.linalg import matmul
from .ops.reduce import _check_float, _matrix_dims, matrix_norm, vector_norm
from .tensor import Tensor

__all__ = ["norm", "vector_norm", "matrix_norm", "matmul", "vecdot"]


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Vector or matrix norm, as ``torch.linalg.norm``.

    With ``ord=None`` it is the 2-norm of the flattened input (or over ``dim`` when it is an
    int, the Frobenius norm when it is a pair). With ``ord`` given and ``dim=None`` the input
    must be 1-D (vector norm) or 2-D (matrix norm).

    Example:
        >>> import ember
        >>> ember.linalg.norm(ember.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=float("inf"))
        tensor(7.)
    """
    _check_float("linalg.norm", A)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) not in (1, 2):
        raise RuntimeError(
            f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {dim}"
        )
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim == 1:
            return vector_norm(A, ord, None, keepdim, dtype=dtype)
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        raise RuntimeError(
            f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
            f"Got {A.ndim}D."
        )
    if len(dim) == 2:
        _matrix_dims("linalg.norm", dim, A.ndim)
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.norm: ord {ord!r} needs a 2-tuple dim")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Dot product of vectors along ``dim`` (broadcasting the rest).

    Example:
        >>> import ember
        >>> ember.linalg.vecdot(ember.ones(2, 3), ember.ones(3))
        tensor([3., 3.])
    """
    return (x * y).sum(dim=dim)
