"""ONNX lowerings of the graph-made constants and the random samplers.

``fill`` (a constant whose shape depends on the batch size, such as an LSTM's zero initial
state) is ``ConstantOfShape`` on a shape computed at run time. The samplers map to ONNX's
``RandomUniform``/``RandomNormal`` (their ``...Like`` forms for batch-dependent shapes) and
Bernoulli draws to ``uniform < p``: the same distributions, but not ember's random stream, so
an exported training-mode Dropout draws different masks than eager ember.

Example:
    >>> from ember.registry import REGISTRY
    >>> import ember.onnx.export_ops.creation
    >>> REGISTRY["fill"].lowerings["onnx"].min_opset
    13
"""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from ...ir.symbolic import has_sym
from ._context import onnx_type
from ._registry import lowers


def _dtype_name(dtype) -> str:
    return getattr(dtype, "name", None) or np.dtype(dtype).name


@lowers("fill")
def _fill(ctx, node):
    dt = _dtype_name(node.attrs["dtype"])
    value = numpy_helper.from_array(np.array([node.attrs["value"]], np.dtype(dt)))
    return ctx.op("ConstantOfShape", ctx.ints(node.attrs["shape"]), value=value)


def _sample(ctx, node, op_type: str, dt: str):
    shape = node.attrs["shape"]
    if not has_sym(shape):
        return ctx.op(op_type, dtype=onnx_type(dt), shape=[int(s) for s in shape])
    zeros = numpy_helper.from_array(np.zeros(1, np.dtype(dt)))
    like = ctx.op("ConstantOfShape", ctx.ints(shape), value=zeros)
    return ctx.op(op_type + "Like", like, dtype=onnx_type(dt))


@lowers("rand_uniform", note="same distribution, not ember's random stream")
def _rand_uniform(ctx, node):
    return _sample(ctx, node, "RandomUniform", _dtype_name(node.attrs["dtype"]))


@lowers("rand_normal", note="same distribution, not ember's random stream")
def _rand_normal(ctx, node):
    return _sample(ctx, node, "RandomNormal", _dtype_name(node.attrs["dtype"]))


@lowers("rand_bernoulli", note="same distribution, not ember's random stream")
def _rand_bernoulli(ctx, node):
    uniform = _sample(ctx, node, "RandomUniform", "float64")
    hit = ctx.op("Less", uniform, ctx.const(np.array(float(node.attrs["p"]), np.float64)))
    return ctx.cast(hit, "bool", _dtype_name(node.attrs["dtype"]))
