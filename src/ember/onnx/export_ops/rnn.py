"""ONNX lowerings of the fused LSTM kernels (``ember/ops/rnn_kernels.py``).

``lstm_sequence`` becomes one ONNX ``LSTM`` node. ember orders the gates i, f, g, o (as
PyTorch); ONNX orders them i, o, f, c, so the weight rows are regathered by :data:`ONNX_ORDER`
(the initializers keep their ``state_dict`` names and layout). ember feeds the layer the input
projection ``xg = x @ w_ih.T + b`` computed by a ``linear`` node; when that node feeds nothing
else it is folded into the LSTM (``X = x``, ``W = w_ih``, ``B = b``), otherwise ``xg`` is the
LSTM's input with an identity ``W``. The two internal outputs (gate activations and cell states,
read only by the backward kernel) are not exported. ``lstm_cell`` is written out elementwise.

Example:
    >>> from ember.onnx.export_ops.rnn import ONNX_ORDER
    >>> ONNX_ORDER  # ember gate blocks in ONNX's order: i, o, f, g
    (0, 3, 1, 2)
"""

from __future__ import annotations

import numpy as np

from ._registry import lowers

ONNX_ORDER = (0, 3, 1, 2)


def _gate_rows(hidden: int) -> np.ndarray:
    return np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in ONNX_ORDER])


def _folded_projection(ctx, node):
    """``(x, w_ih, bias or None)`` when ``xg`` is a ``linear`` read only by this node."""
    producer = ctx.producer(node.inputs[0])
    if producer is None or producer.op != "linear":
        return None
    users = ctx.users(node.inputs[0])
    if len(users) != 1 or node.inputs[0] in ctx.graph.outputs:
        return None
    x_vid = producer.inputs[0]
    if ctx.rank(x_vid) != 3:
        return None
    names = [ctx.name(v) for v in producer.inputs]
    return names[0], names[1], names[2] if len(names) > 2 else None


@lowers("lstm_sequence", note="one ONNX LSTM; gates reordered i, o, f, c")
def _lstm_sequence(ctx, node, xg, h0, c0, w_hh):
    hidden = ctx.static(ctx.shape(node.inputs[1])[1], "the LSTM hidden size")
    dt = ctx.dtype(node.inputs[0])
    rows = ctx.const(_gate_rows(hidden))
    folded = _folded_projection(ctx, node)
    bias = None
    if folded is not None:
        x, w_ih, b = folded
        w = ctx.unsqueeze(ctx.op("Gather", w_ih, rows, axis=0), [0])
        if b is not None:
            zeros = ctx.const(np.zeros(4 * hidden, np.dtype(dt)))
            bias = ctx.unsqueeze(
                ctx.op("Concat", ctx.op("Gather", b, rows, axis=0), zeros, axis=0), [0]
            )
    else:
        x = ctx.op("Gather", xg, rows, axis=2)
        w = ctx.const(np.eye(4 * hidden, dtype=np.dtype(dt))[None])
    r = ctx.unsqueeze(ctx.op("Gather", w_hh, rows, axis=0), [0])
    ys, y_h, y_c = ctx.op(
        "LSTM",
        x,
        w,
        r,
        bias,
        None,
        ctx.unsqueeze(h0, [0]),
        ctx.unsqueeze(c0, [0]),
        hidden_size=hidden,
        direction="reverse" if node.attrs.get("reverse", False) else "forward",
        outputs=3,
    )
    return ctx.squeeze(ys, [1]), ctx.squeeze(y_h, [0]), ctx.squeeze(y_c, [0]), None, None


def _gates(ctx, gates, hidden: int):
    return [
        ctx.op("Slice", gates, ctx.ints([k * hidden]), ctx.ints([(k + 1) * hidden]), ctx.ints([-1]))
        for k in range(4)
    ]


@lowers("lstm_cell")
def _lstm_cell(ctx, node, gates, c):
    hidden = ctx.static(ctx.shape(node.inputs[1])[-1], "the LSTM hidden size")
    i, f, g, o = _gates(ctx, gates, hidden)
    keep = ctx.op("Mul", ctx.op("Sigmoid", f), c)
    c_new = ctx.op("Add", keep, ctx.op("Mul", ctx.op("Sigmoid", i), ctx.op("Tanh", g)))
    return ctx.op("Mul", ctx.op("Sigmoid", o), ctx.op("Tanh", c_new)), c_new


@lowers("lstm_cell_backward")
def _lstm_cell_backward(ctx, node, gates, c, c_new, gh, gc):
    hidden = ctx.static(ctx.shape(node.inputs[1])[-1], "the LSTM hidden size")
    one = ctx.scalar(1, ctx.dtype(node.inputs[0]))
    si, sf, tg, so = (
        ctx.op(op, gate)
        for op, gate in zip(("Sigmoid", "Sigmoid", "Tanh", "Sigmoid"), _gates(ctx, gates, hidden))
    )
    tc = ctx.op("Tanh", c_new)

    def mul(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = ctx.op("Mul", out, x)
        return out

    def one_minus(x):
        return ctx.op("Sub", one, x)

    dc = ctx.op("Add", gc, mul(gh, so, one_minus(mul(tc, tc))))
    di = mul(dc, tg, si, one_minus(si))
    df = mul(dc, c, sf, one_minus(sf))
    dg = mul(dc, si, one_minus(mul(tg, tg)))
    do = mul(gh, tc, so, one_minus(so))
    return ctx.op("Concat", di, df, dg, do, axis=-1), mul(dc, sf)
