"""Linear algebra ONNX ops: MatMul, Gemm, Einsum, MatMulInteger, Det.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("Gemm", "", 13, "", {"transB": 1, "alpha": 2.0}, 1)
    >>> find_handler("Gemm", 13)(ctx, ember.ones(1, 2), ember.ones(3, 2), ember.tensor([1.0]))
    tensor([[5., 5., 5.]])
"""

from __future__ import annotations

import ember

from ._registry import OpContext, onnx_op
from ._util import const


@onnx_op("MatMul")
def matmul(ctx: OpContext, a, b):
    return ember.matmul(a, b)


@onnx_op("Gemm")
def gemm(ctx: OpContext, a, b, c=None):
    """``alpha * A' @ B' + beta * C`` with ``A'``/``B'`` optionally transposed (2-D only)."""
    if a.dim() != 2 or b.dim() != 2:
        raise ctx.error(f"A and B must be 2-D, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if ctx.attr("transA", 0):
        a = a.t()
    if ctx.attr("transB", 0):
        b = b.t()
    alpha, beta = ctx.attr("alpha", 1.0), ctx.attr("beta", 1.0)
    out = ember.matmul(a, b)
    if alpha != 1.0:
        out = out * const(alpha, out)
    if c is not None:
        out = out + (c if beta == 1.0 else c * const(beta, c))
    return out


@onnx_op("Einsum")
def einsum(ctx: OpContext, *operands):
    equation = ctx.attr("equation", "").replace(" ", "")
    return ember.einsum(equation, *operands)


@onnx_op("MatMulInteger")
def matmul_integer(ctx: OpContext, a, b, a_zero_point=None, b_zero_point=None):
    """``(A - a_zero) @ (B - b_zero)`` accumulated in int32."""
    a = a.to(ember.int32)
    b = b.to(ember.int32)
    if a_zero_point is not None:
        zp = a_zero_point.to(ember.int32)
        a = a - (zp.reshape(-1, 1) if zp.dim() == 1 and zp.numel() > 1 else zp)
    if b_zero_point is not None:
        b = b - b_zero_point.to(ember.int32)
    return ember.matmul(a, b)


@onnx_op("Det")
def det(ctx: OpContext, x):
    """Determinant by Gaussian elimination with partial pivoting over ``(..., n, n)``."""
    n = x.shape[-1]
    if x.dim() < 2 or x.shape[-2] != n:
        raise ctx.error(f"expected square matrices (..., n, n), got shape {tuple(x.shape)}")
    batch = tuple(x.shape[:-2])
    a = x.reshape(-1, n, n)
    result = ember.ones(a.shape[0], dtype=x.dtype)
    for k in range(n):
        column = a[:, k:, k].abs()
        pivot = ember.argmax(column, 1) + k  # (B,) row index of the pivot
        rows = ember.arange(n).reshape(1, n).expand(a.shape[0], n)
        # swap rows k and pivot: each swap flips the determinant's sign
        perm = ember.where(rows == k, pivot.reshape(-1, 1), rows)
        perm = ember.where(rows == pivot.reshape(-1, 1), ember.full_like(rows, k), perm)
        a = ember.gather(a, 1, perm.unsqueeze(2).expand(-1, -1, n))
        sign = ember.where(pivot == k, const(1.0, result), const(-1.0, result))
        diag = a[:, k, k]
        result = result * diag * sign
        if k + 1 < n:
            factors = a[:, k + 1 :, k] / diag.reshape(-1, 1)
            below = a[:, k + 1 :, :] - factors.unsqueeze(2) * a[:, k : k + 1, :]
            a = ember.cat([a[:, : k + 1, :], below], 1)
    return result.reshape(batch)
