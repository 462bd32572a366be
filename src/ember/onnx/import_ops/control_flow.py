"""Control flow and container ONNX ops: If, Loop, Scan, the Sequence* ops and Optional*.

Subgraphs run eagerly through ``ctx.run_graph`` (they see the enclosing graph's values);
a sequence is a Python list of tensors and an empty optional is ``None``.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> ctx = OpContext("SplitToSequence", "", 11, "", {"keepdims": 0}, 1)
    >>> find_handler("SplitToSequence", 11)(ctx, ember.tensor([1.0, 2.0]))
    [tensor(1.), tensor(2.)]
"""

from __future__ import annotations

import ember

from ._registry import OpContext, onnx_op
from ._util import int_list, norm_axis, scalar


@onnx_op("If")
def if_(ctx: OpContext, condition):
    branch = ctx.attr("then_branch") if bool(scalar(condition)) else ctx.attr("else_branch")
    return tuple(ctx.run_graph(branch))


def _stack_outputs(per_step: list, count: int, axes=None, reverse=None) -> list:
    out = []
    for j in range(count):
        items = [step[j] for step in per_step]
        if reverse and reverse[j]:
            items = items[::-1]
        if not items:
            out.append(ember.zeros(0))
            continue
        axis = axes[j] if axes else 0
        axis = axis % (items[0].dim() + 1)
        out.append(ember.stack(items, axis))
    return out


@onnx_op("Loop")
def loop(ctx: OpContext, max_trips=None, condition=None, *state):
    body = ctx.attr("body")
    limit = int(scalar(max_trips)) if max_trips is not None else None
    keep_going = ember.tensor(True) if condition is None else condition
    n_state = len(state)
    n_scan = len(body.outputs) - 1 - n_state
    scans: list = []
    i = 0
    while (limit is None or i < limit) and bool(scalar(keep_going)):
        outs = ctx.run_graph(body, ember.tensor(i, dtype=ember.int64), keep_going, *state)
        keep_going = outs[0]
        state = tuple(outs[1 : 1 + n_state])
        scans.append(outs[1 + n_state :])
        i += 1
    return tuple(state) + tuple(_stack_outputs(scans, n_scan))


def _scan_loop(ctx: OpContext, state, xs):
    body = ctx.attr("body")
    n_scan_in = len(xs)
    axes = [
        norm_axis(ctx, a, x.dim())
        for a, x in zip(ctx.attr("scan_input_axes") or [0] * n_scan_in, xs)
    ]
    directions = ctx.attr("scan_input_directions") or [0] * n_scan_in
    steps = xs[0].shape[axes[0]] if xs else 0
    per_step = []
    for t in range(steps):
        slices = [x.select(a, steps - 1 - t if d else t) for x, a, d in zip(xs, axes, directions)]
        outs = ctx.run_graph(body, *state, *slices)
        state = tuple(outs[: len(state)])
        per_step.append(outs[len(state) :])
    n_out = len(body.outputs) - len(state)
    out_axes = ctx.attr("scan_output_axes")
    out_dirs = ctx.attr("scan_output_directions")
    return tuple(state) + tuple(_stack_outputs(per_step, n_out, out_axes, out_dirs))


@onnx_op("Scan", since=9)
def scan(ctx: OpContext, *inputs):
    n_scan_in = ctx.attr("num_scan_inputs")
    split = len(inputs) - n_scan_in
    return _scan_loop(ctx, tuple(inputs[:split]), list(inputs[split:]))


@onnx_op("Scan", since=8)
def scan_v8(ctx: OpContext, sequence_lens, *inputs):
    """Opset 8: a leading batch axis; each batch entry is scanned along axis 1 separately."""
    if sequence_lens is not None:
        raise ctx.unsupported("the sequence_lens input")
    n_scan_in = ctx.attr("num_scan_inputs")
    split = len(inputs) - n_scan_in
    directions = ctx.attr("directions")
    results = []
    for b in range(inputs[0].shape[0]):
        state = tuple(s[b] for s in inputs[:split])
        xs = [x[b] for x in inputs[split:]]
        sub = _V8Context(ctx, directions)
        results.append(_scan_loop(sub, state, xs))
    return tuple(ember.stack([r[j] for r in results], 0) for j in range(len(results[0])))


class _V8Context(OpContext):
    """Opset 8's ``directions`` seen as opset 9's ``scan_input_directions``."""

    def __init__(self, ctx: OpContext, directions):
        attrs = dict(ctx.attrs, scan_input_directions=directions)
        super().__init__(ctx.op_type, ctx.domain, ctx.opset, ctx.name, attrs, ctx.num_outputs)
        self.run_graph = ctx.run_graph


# ---------------------------------------------------------------------------------------------
# sequences
# ---------------------------------------------------------------------------------------------
@onnx_op("SequenceEmpty")
def sequence_empty(ctx: OpContext):
    return []


@onnx_op("SequenceConstruct")
def sequence_construct(ctx: OpContext, *xs):
    return list(xs)


def _position(ctx: OpContext, seq: list, position, insert: bool = False) -> int:
    n = len(seq) + (1 if insert else 0)
    pos = int(scalar(position))
    if not -n <= pos < n:
        raise ctx.error(f"position {pos} is out of range for a sequence of length {len(seq)}")
    return pos % n


@onnx_op("SequenceAt")
def sequence_at(ctx: OpContext, seq, position):
    return seq[_position(ctx, seq, position)]


@onnx_op("SequenceInsert")
def sequence_insert(ctx: OpContext, seq, value, position=None):
    out = list(seq)
    out.insert(len(out) if position is None else _position(ctx, seq, position, True), value)
    return out


@onnx_op("SequenceErase")
def sequence_erase(ctx: OpContext, seq, position=None):
    out = list(seq)
    del out[-1 if position is None else _position(ctx, seq, position)]
    return out


@onnx_op("SequenceLength")
def sequence_length(ctx: OpContext, seq):
    return ember.tensor(len(seq), dtype=ember.int64)


@onnx_op("SplitToSequence")
def split_to_sequence(ctx: OpContext, x, split=None):
    axis = norm_axis(ctx, ctx.attr("axis", 0), x.dim())
    n = x.shape[axis]
    if split is None:
        parts = ember.split(x, 1, axis)
        if not ctx.attr("keepdims", 1):
            return [p.squeeze(axis) for p in parts]
        return list(parts)
    sizes = int_list(split)
    if split.dim() == 0:
        return list(ember.split(x, sizes[0], axis))
    if sum(sizes) != n:
        raise ctx.error(f"split sizes {sizes} do not add up to axis {axis} of size {n}")
    return list(ember.split(x, sizes, axis))


@onnx_op("ConcatFromSequence")
def concat_from_sequence(ctx: OpContext, seq):
    if not seq:
        raise ctx.error("cannot concatenate an empty sequence")
    axis = ctx.attr("axis")
    if ctx.attr("new_axis", 0):
        return ember.stack(list(seq), norm_axis(ctx, axis, seq[0].dim() + 1))
    return ember.cat(list(seq), norm_axis(ctx, axis, seq[0].dim()))


# ---------------------------------------------------------------------------------------------
# optionals
# ---------------------------------------------------------------------------------------------
@onnx_op("Optional")
def optional(ctx: OpContext, value=None):
    return value


@onnx_op("OptionalHasElement")
def optional_has_element(ctx: OpContext, value=None):
    return ember.tensor(value is not None)


@onnx_op("OptionalGetElement")
def optional_get_element(ctx: OpContext, value):
    if value is None:
        raise ctx.error("the optional input is empty")
    return value
