"""ONNX lowerings of ``matmul``, ``linear`` and ``einsum``.

``linear(x, w, b)`` (``x @ w.T + b``) is one ``Gemm`` for a 2-D ``x``; other ranks use
``MatMul`` with the transposed weight, so the weight initializer keeps its ``(out, in)`` layout
and its ``state_dict`` name.

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops.linalg
    >>> sorted(n for n in ("matmul", "linear", "einsum") if "onnx" in REGISTRY[n].lowerings)
    ['einsum', 'linear', 'matmul']
"""

from __future__ import annotations

from ._registry import lowers


@lowers("matmul")
def _matmul(ctx, node, a, b):
    return ctx.op("MatMul", a, b)


@lowers("linear")
def _linear(ctx, node, x, w, *bias):
    if ctx.rank(node.inputs[0]) == 2:
        return ctx.op("Gemm", x, w, *bias, transB=1)
    out = ctx.op("MatMul", x, ctx.op("Transpose", w, perm=[1, 0]))
    return ctx.op("Add", out, bias[0]) if bias else out


@lowers("einsum")
def _einsum(ctx, node, *xs):
    return ctx.op("Einsum", *xs, equation=node.attrs["equation"])
