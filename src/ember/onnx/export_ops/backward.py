"""ONNX lowerings of the gradient kernels that a forward graph can contain.

A function that calls ``ember.autograd.grad`` inside the exported call (a gradient penalty, a
physics-informed loss) traces the registry's backward primitives into its forward graph; these
lowerings write them out with ONNX operators. The convolution and pooling gradients live in
:mod:`.conv_pool`, the LSTM cell's in :mod:`.rnn`.

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops.backward
    >>> REGISTRY["relu_grad"].lowerings["onnx"].min_opset
    13
"""

from __future__ import annotations

import math

import numpy as np

from ._registry import lowers


@lowers("relu_grad")
def _relu_grad(ctx, node, g, out):
    dt = ctx.dtype(node.inputs[0])
    positive = ctx.op("Greater", out, ctx.scalar(0, ctx.dtype(node.inputs[1])))
    return ctx.op("Mul", g, ctx.cast(positive, "bool", dt))


@lowers("gelu_backward")
def _gelu_backward(ctx, node, g, x, *cdf):
    """``g * (Phi(x) + x * phi(x))``; ``Phi(x)`` is an input where the primitive takes it."""
    from .unary import normal_cdf

    dt = ctx.dtype(node.inputs[1])
    phi = cdf[0] if cdf else normal_cdf(ctx, x, dt)
    pdf = ctx.op("Exp", ctx.op("Mul", ctx.op("Mul", x, x), ctx.scalar(-0.5, dt)))
    pdf = ctx.op("Mul", pdf, ctx.scalar(1 / math.sqrt(2 * math.pi), dt))
    return ctx.op("Mul", ctx.op("Add", phi, ctx.op("Mul", x, pdf)), g)


@lowers("log_softmax_backward")
def _log_softmax_backward(ctx, node, g, y):
    total = ctx.reduce("ReduceSum", g, [int(node.attrs["axis"])], True)
    return ctx.op("Sub", g, ctx.op("Mul", ctx.op("Exp", y), total))


@lowers("unfold_backward", min_opset=16)
def _unfold_backward(ctx, node, g):
    shape = list(node.attrs["shape"])
    dt = ctx.dtype(node.inputs[0])
    if not shape:
        return ctx.reshape(ctx.reduce("ReduceSum", g, None, False), ())
    dim, size, step = (int(node.attrs[k]) for k in ("dim", "size", "step"))
    gshape = ctx.shape(node.inputs[0])
    nwin = ctx.static(gshape[dim], "the number of unfolded windows")
    r = len(shape)
    perm = list(range(dim + 1)) + [r] + list(range(dim + 1, r))
    windows = ctx.transpose(g, perm)  # (..., nwin, size, ...)
    merged = shape[:dim] + [nwin * size] + shape[dim + 1 :]
    updates = ctx.reshape(windows, merged)
    index = (np.arange(nwin)[:, None] * step + np.arange(size)[None, :]).reshape(-1)
    index = index.reshape([-1 if a == dim else 1 for a in range(r)]).astype(np.int64)
    index = ctx.op("Expand", ctx.const(index), ctx.op("Shape", updates))
    zeros = ctx.op("ConstantOfShape", ctx.ints(shape), value=_zero(dt))
    return ctx.op("ScatterElements", zeros, index, updates, axis=dim, reduction="add")


def _zero(dt: str):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.zeros(1, np.dtype(dt)))
