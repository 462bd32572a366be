"""ONNX lowerings of the fused neural-network kernels: softmax, the norm layers' core,
attention probabilities and cross entropy.

``standardize`` (LayerNorm/GroupNorm/InstanceNorm without the affine part) is written out as
ember computes it: mean, centred values, biased variance, ``1 / sqrt(var + eps)``. (ONNX's
``LayerNormalization`` kernel in onnxruntime takes the variance as ``E[x^2] - E[x]^2``, which
loses accuracy on inputs with a large mean.) ``attention_probs`` is the safe softmax of the
scaled scores, rows whose keys are all masked giving zeros, as PyTorch's SDPA.

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops.nn
    >>> REGISTRY["attention_probs"].lowerings["onnx"].min_opset
    13
"""

from __future__ import annotations

import numpy as np

from ._registry import lowers


@lowers("softmax", "log_softmax")
def _softmax(ctx, node, x):
    return ctx.op("Softmax" if node.op == "softmax" else "LogSoftmax", x, axis=node.attrs["axis"])


@lowers("standardize", note="mean, centred variance, 1 / sqrt(var + eps), as ember")
def _standardize(ctx, node, x):
    dt = ctx.dtype(node.inputs[0])
    axes = [int(a) for a in node.attrs["axes"]]
    mean = ctx.reduce("ReduceMean", x, axes, True)
    centred = ctx.op("Sub", x, mean)
    var = ctx.reduce("ReduceMean", ctx.op("Mul", centred, centred), axes, True)
    rstd = ctx.op(
        "Reciprocal", ctx.op("Sqrt", ctx.op("Add", var, ctx.scalar(node.attrs["eps"], dt)))
    )
    return ctx.op("Mul", centred, rstd), mean, rstd


def _causal_mask(ctx, scores_vid: int, dt: str):
    """The additive ``(L, S)`` mask: 0 on and below the diagonal, -inf above."""
    rows, cols = ctx.shape(scores_vid)[-2:]
    if isinstance(rows, int) and isinstance(cols, int):
        allowed = np.tri(rows, cols, dtype=bool)
        return ctx.const(np.where(allowed, 0, -np.inf).astype(np.dtype(dt)))
    if ctx.opset < 14:
        raise ctx.unsupported("a causal mask of batch-dependent size needs opset >= 14 (Trilu)")
    ninf = ctx.op(
        "ConstantOfShape", ctx.ints([rows, cols]), value=_tensor(np.array([-np.inf], np.dtype(dt)))
    )
    return ctx.op("Trilu", ninf, ctx.const(np.array(1, np.int64)), upper=1)


def _tensor(array):
    from onnx import numpy_helper

    return numpy_helper.from_array(array)


@lowers("attention_probs")
def _attention_probs(ctx, node, q, k, *bias):
    dt = ctx.dtype(node.inputs[0])
    r = ctx.rank(node.inputs[1])
    perm = list(range(r - 2)) + [r - 1, r - 2]
    scores = ctx.op("MatMul", q, ctx.op("Transpose", k, perm=perm))
    scores = ctx.op("Mul", scores, ctx.scalar(node.attrs["scale"], dt))
    if bias:
        scores = ctx.op("Add", scores, bias[0])
    if node.attrs["causal"]:
        scores = ctx.op("Add", scores, _causal_mask(ctx, node.outputs[0], dt))
    zero = ctx.scalar(0, dt)
    top = ctx.reduce("ReduceMax", scores, [-1], True)
    finite = ctx.op("Not", ctx.op("Or", ctx.op("IsInf", top), ctx.op("IsNaN", top)))
    top = ctx.op("Where", finite, top, zero)
    e = ctx.op("Exp", ctx.op("Sub", scores, top))
    total = ctx.reduce("ReduceSum", e, [-1], True)
    total = ctx.op("Where", ctx.op("Equal", total, zero), ctx.scalar(1, dt), total)
    return ctx.op("Div", e, total)


def _targets(ctx, node, target, weight):
    """Class index per row (0 where ignored), the kept-row mask and each row's weight."""
    dt = ctx.dtype(node.inputs[0])
    target = ctx.cast(target, ctx.dtype(node.inputs[1]), "int64")
    ignore = ctx.const(np.array(node.attrs["ignore_index"], np.int64))
    keep = ctx.op("Not", ctx.op("Equal", target, ignore))
    cls = ctx.op("Where", keep, target, ctx.const(np.array(0, np.int64)))
    mask = ctx.cast(keep, "bool", dt)
    row_weight = ctx.op("Mul", ctx.op("Gather", weight, cls, axis=0), mask) if weight else mask
    return cls, mask, row_weight


@lowers("cross_entropy")
def _cross_entropy(ctx, node, x, target, *weight):
    dt = ctx.dtype(node.inputs[0])
    classes = ctx.static(ctx.shape(node.inputs[0])[1], "the number of classes")
    smoothing = float(node.attrs["smoothing"])
    reduction = node.attrs["reduction"]
    weight = weight[0] if weight else None
    cls, mask, row_weight = _targets(ctx, node, target, weight)
    logp = ctx.op("LogSoftmax", x, axis=1)
    picked = ctx.op("GatherElements", logp, ctx.unsqueeze(cls, [1]), axis=1)
    loss = ctx.op("Mul", ctx.op("Neg", ctx.squeeze(picked, [1])), row_weight)
    if smoothing:
        weighted = ctx.op("Mul", logp, weight) if weight else logp
        logp_sum = ctx.reduce("ReduceSum", weighted, [1], False)
        smooth = ctx.op("Mul", ctx.op("Mul", logp_sum, mask), ctx.scalar(smoothing / classes, dt))
        loss = ctx.op("Sub", ctx.op("Mul", loss, ctx.scalar(1 - smoothing, dt)), smooth)
    if reduction == "none":
        return loss
    total = ctx.reduce("ReduceSum", loss, None, False)
    if reduction == "sum":
        return total
    return ctx.op("Div", total, ctx.reduce("ReduceSum", row_weight, None, False))


@lowers("cross_entropy_backward")
def _cross_entropy_backward(ctx, node, x, target, *rest):
    """``scale * (r * softmax(x) - A)`` per row, as ember's kernel."""
    dt = ctx.dtype(node.inputs[0])
    classes = ctx.static(ctx.shape(node.inputs[0])[1], "the number of classes")
    smoothing = float(node.attrs["smoothing"])
    reduction = node.attrs["reduction"]
    weight, g = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
    cls, mask, row_weight = _targets(ctx, node, target, weight)
    if reduction == "none":
        scale = g
    else:
        per_row = ctx.op("Mul", mask, ctx.scalar(0, dt))  # zeros, one per row
        if reduction == "mean":
            g = ctx.op("Div", g, ctx.reduce("ReduceSum", row_weight, None, False))
        scale = ctx.op("Add", per_row, g)
    top = ctx.reduce("ReduceMax", x, [1], True)
    finite = ctx.op("Not", ctx.op("Or", ctx.op("IsInf", top), ctx.op("IsNaN", top)))
    e = ctx.op("Exp", ctx.op("Sub", x, ctx.op("Where", finite, top, ctx.scalar(0, dt))))
    row_total = ctx.op("Mul", row_weight, ctx.scalar(1 - smoothing, dt))
    if smoothing:
        total_weight = ctx.reduce("ReduceSum", weight, None, False) if weight else None
        spread = ctx.scalar(smoothing / classes * (1 if weight else classes), dt)
        spread = ctx.op("Mul", total_weight, spread) if weight else spread
        row_total = ctx.op("Add", row_total, ctx.op("Mul", spread, mask))
    factor = ctx.op("Div", ctx.op("Mul", row_total, scale), ctx.reduce("ReduceSum", e, [1], False))
    p = ctx.op("Mul", e, ctx.unsqueeze(factor, [1]))
    columns = ctx.const(np.arange(classes, dtype=np.int64))
    onehot = ctx.cast(ctx.op("Equal", ctx.unsqueeze(cls, [1]), columns), "bool", dt)
    picked = ctx.op("Mul", ctx.op("Mul", row_weight, scale), ctx.scalar(1 - smoothing, dt))
    p = ctx.op("Sub", p, ctx.op("Mul", onehot, ctx.unsqueeze(picked, [1])))
    if smoothing:
        spread = ctx.op("Mul", ctx.op("Mul", mask, scale), ctx.scalar(smoothing / classes, dt))
        spread = ctx.unsqueeze(spread, [1])
        p = ctx.op("Sub", p, ctx.op("Mul", spread, weight) if weight else spread)
    return p
