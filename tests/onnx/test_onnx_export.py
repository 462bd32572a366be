"""ONNX export, checked with onnxruntime.

Per primitive: a one-node ember graph per case (a table), exported at opsets 13, 17 and the
newest, run in onnxruntime and compared with ember's Interpreter (the NumPy forwards). Per model
(MLP, CNN with BatchNorm and Dropout, ResNet basic block, LSTM, Transformer encoder, the W3
GPT of benchmarks/): ``ember.onnx.export`` with a dynamic batch, run at two batch sizes and
compared with eager ember. Then the argument and error handling of ``export``.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass, field

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import ember  # noqa: E402
from ember.ir import Graph, Interpreter, SymInt  # noqa: E402
from ember.ir.symbolic import resolve, unify  # noqa: E402
from ember.onnx.export_ops import lowering_table  # noqa: E402
from ember.onnx.export_ops.convert import graph_to_onnx  # noqa: E402
from ember.onnx.export_ops.errors import UnsupportedOperatorError  # noqa: E402
from ember.registry import REGISTRY  # noqa: E402

MAX_OPSET = onnx.defs.onnx_opset_version()
OPSETS = (13, 17, MAX_OPSET)
N = SymInt(1, 0)
RNG = np.random.default_rng(0)


def f32(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def i64(lo, hi, *shape):
    return RNG.integers(lo, hi, shape).astype(np.int64)


def boolean(*shape):
    return RNG.random(shape) < 0.5


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.5, 3.0], np.float32)


@dataclass
class Case:
    op: str
    inputs: list
    attrs: dict = field(default_factory=dict)
    outputs: tuple | None = None  # which outputs to compare (default: all)
    rtol: float = 1e-5
    atol: float = 1e-6
    sym: dict = field(default_factory=dict)  # input k -> its graph shape (with SymInts)
    sym_attrs: dict | None = None  # attrs of the graph node (with SymInts)
    opsets: tuple = OPSETS
    label: str = ""
    carrier: int | None = None  # add an unused input of shape (N,), fed this many zeros

    @property
    def id(self) -> str:
        return f"{self.op}-{self.label}" if self.label else self.op


UNARY_FLOAT = {
    "neg": f32(3, 4),
    "abs": f32(3, 4),
    "exp": f32(3, 4),
    "exp2": f32(3, 4),
    "log": f32(3, 4, lo=0.01, hi=5),
    "log2": f32(3, 4, lo=0.01, hi=5),
    "log10": f32(3, 4, lo=0.01, hi=5),
    "log1p": np.array([1e-9, -1e-7, 0.5, -0.5, 3.0, np.inf, -1.0, 0.0], np.float32),
    "expm1": np.array([1e-9, -1e-7, 0.5, -0.5, 3.0, 100.0, -100.0, 0.0], np.float32),
    "sqrt": f32(3, 4, lo=0, hi=4),
    "rsqrt": f32(3, 4, lo=0.1, hi=4),
    "sin": f32(3, 4),
    "cos": f32(3, 4),
    "tan": f32(3, 4, lo=-1.2, hi=1.2),
    "asin": f32(3, 4, lo=-1, hi=1),
    "acos": f32(3, 4, lo=-1, hi=1),
    "atan": f32(3, 4),
    "sinh": f32(3, 4),
    "cosh": f32(3, 4),
    "tanh": f32(3, 4),
    "erf": f32(3, 4),
    "reciprocal": f32(3, 4, lo=0.5, hi=3),
    "sigmoid": f32(3, 4, lo=-20, hi=20),
    "relu": f32(3, 4),
    "sign": np.array([-2.0, 0.0, 3.0, -0.0], np.float32),
    "floor": f32(3, 4),
    "ceil": f32(3, 4),
    "trunc": np.array([-2.5, -0.5, 0.5, 2.7, -3.0], np.float32),
    "isnan": SPECIAL,
    "isinf": SPECIAL,
    "isfinite": SPECIAL,
    "signbit": SPECIAL[1:],
    "logical_not": SPECIAL,
}

CASES: list[Case] = [Case(op, [x]) for op, x in UNARY_FLOAT.items()]
CASES += [
    Case(op, [i64(-5, 5, 6)], label="int")
    for op in ("neg", "abs", "relu", "sign", "floor", "ceil", "trunc", "round", "signbit")
]
CASES += [
    Case("isnan", [i64(-5, 5, 4)], label="int"),
    Case("isinf", [i64(-5, 5, 4)], label="int"),
    Case("isfinite", [i64(-5, 5, 4)], label="int"),
    Case("logical_not", [boolean(5)], label="bool"),
    Case("round", [np.array([0.5, 1.5, 2.5, -0.5, 1.234, -7.77], np.float32)]),
    Case("round", [np.array([0.125, 1.255, -2.345, 7.0], np.float32)], {"decimals": 2}, label="d2"),
    Case("round", [np.array([15.0, 25.0, -149.0, 7.0], np.float32)], {"decimals": -1}, label="d-1"),
    Case("bitwise_not", [i64(-5, 5, 6).astype(np.int32)], label="int"),
    Case("bitwise_not", [np.array([0, 3, 255], np.uint8)], label="uint8"),
    Case("bitwise_not", [boolean(5)], label="bool"),
    Case("gelu", [f32(3, 5, lo=-4, hi=4)]),
]

# binary
A, B = f32(3, 4), f32(4, lo=0.5, hi=2)
CASES += [Case(op, [A, B]) for op in ("add", "sub", "mul", "div", "maximum", "minimum")]
CASES += [
    Case("add", [i64(-9, 9, 3, 1), i64(-9, 9, 4)], label="int"),
    Case("add", [boolean(4), boolean(4)], label="bool"),
    Case("mul", [boolean(4), boolean(4)], label="bool"),
    Case("pow", [f32(3, 4, lo=0.1, hi=3), f32(3, 4)]),
    Case("pow", [i64(0, 5, 6), i64(0, 4, 6)], label="int"),
    Case("maximum", [SPECIAL, SPECIAL[::-1].copy()], label="nan"),
    Case("minimum", [SPECIAL, SPECIAL[::-1].copy()], label="nan"),
    Case(
        "atan2",
        [
            np.array([1.0, -1.0, 1.0, -1.0, 0.0, 2.0, -3.0, 0.0, 0.0], np.float32),
            np.array([1.0, 1.0, -1.0, -1.0, 2.0, 0.0, 0.0, -2.0, 0.0], np.float32),
        ],
    ),
    Case("fmod", [f32(8, lo=-5, hi=5), np.array([2, -2, 1.5, -1.5] * 2, np.float32)]),
    Case("fmod", [i64(-9, 9, 8), np.array([2, -2, 3, -3] * 2, np.int64)], label="int"),
    Case("remainder", [f32(8, lo=-5, hi=5), np.array([2, -2, 1.5, -1.5] * 2, np.float32)]),
    Case("remainder", [i64(-9, 9, 8), np.array([2, -2, 3, -3] * 2, np.int64)], label="int"),
    Case("floor_divide", [f32(8, lo=-5, hi=5), np.array([2, -2, 1.5, -1.5] * 2, np.float32)]),
    Case("floor_divide", [i64(-9, 9, 8), np.array([2, -2, 3, -3] * 2, np.int64)], label="int"),
]
X, Y = np.array([1, 2, 3, np.nan], np.float32), np.array([3, 2, 1, 1], np.float32)
CASES += [Case(op, [X, Y]) for op in ("eq", "ne", "lt", "le", "gt", "ge")]
CASES += [Case(op, [boolean(6), boolean(6)], label="bool") for op in ("lt", "ge", "eq")]
CASES += [Case(op, [boolean(6), boolean(6)]) for op in ("logical_and", "logical_or", "logical_xor")]
CASES += [Case("logical_and", [f32(6), np.zeros(6, np.float32)], label="float")]
CASES += [
    Case(op, [i64(0, 64, 6), i64(0, 64, 6)], opsets=(18, MAX_OPSET))
    for op in ("bitwise_and", "bitwise_or", "bitwise_xor")
]
CASES += [Case("bitwise_xor", [boolean(5), boolean(5)], label="bool")]
CASES += [
    Case("where", [boolean(3, 4), f32(3, 4), f32(4)]),
    Case("cast", [f32(6, lo=-5, hi=5)], {"dtype": ember.int32}, label="f2i"),
    Case(
        "cast", [np.array([0.0, -0.0, 2.0, np.nan], np.float32)], {"dtype": ember.bool}, label="f2b"
    ),
    Case("cast", [boolean(4)], {"dtype": ember.float32}, label="b2f"),
    Case("cast", [i64(-9, 9, 4)], {"dtype": ember.float64}, label="i2d"),
    Case("clamp", [SPECIAL], {"min": -1.0, "max": 2.0}),
    Case("clamp", [f32(6)], {"min": 0.5}, label="min"),
    Case("clamp", [i64(-9, 9, 6)], {"min": -2, "max": 3}, label="int"),
]

# reductions
R = f32(3, 4, 5)
for op in ("sum", "prod", "amax", "amin"):
    extra = {"dtype": ember.float32} if op in ("sum", "prod") else {}
    CASES += [
        Case(op, [R], {"axes": (1,), "keepdim": False, **extra}),
        Case(op, [R], {"axes": (0, 2), "keepdim": True, **extra}, label="keep"),
        Case(op, [R], {"axes": None, "keepdim": False, **extra}, label="all"),
    ]
CASES += [
    Case("sum", [boolean(3, 4)], {"axes": (1,), "keepdim": False, "dtype": ember.int64}, label="b"),
    Case("sum", [R], {"axes": (2,), "keepdim": False, "dtype": ember.float64}, label="f64"),
    Case("amax", [boolean(3, 4)], {"axes": (1,), "keepdim": False}, label="bool"),
]
for op in ("all", "any"):
    CASES += [
        Case(op, [boolean(3, 4)], {"axes": (1,), "keepdim": False}),
        Case(op, [np.zeros((0, 3), np.float32)], {"axes": (0,), "keepdim": True}, label="empty"),
        Case(op, [f32(3, 4)], {"axes": None, "keepdim": False}, label="float"),
    ]
for op in ("argmax", "argmin"):
    CASES += [
        Case(op, [R], {"axis": 1, "keepdim": False}),
        Case(op, [R], {"axis": None, "keepdim": True}, label="flat"),
        Case(op, [np.array([1, 3, 3, 0], np.float32)], {"axis": 0, "keepdim": False}, label="tie"),
    ]
CASES += [
    Case("cumsum", [R], {"axis": 1, "dtype": ember.float32}),
    Case("cumsum", [R], {"axis": 2, "dtype": ember.float32, "reverse": True}, label="rev"),
    Case("cumsum", [i64(0, 9, 3, 4)], {"axis": 0, "dtype": ember.int64}, label="int"),
    Case("cumprod", [f32(3, 5)], {"axis": 1, "dtype": ember.float32}),
    Case("median", [f32(3, 5)]),
    Case("median", [np.array([3.0, np.nan, 1.0], np.float32)], label="nan"),
    Case("median", [i64(0, 9, 4, 2)], label="int"),
    Case("median_index", [np.array([[3.0, 1.0, 2.0, 1.0], [5, 5, 5, 5]], np.float32)], {"axis": 1}),
    Case(
        "median_index",
        [np.array([[3.0, np.nan, 2.0, np.nan]], np.float32)],
        {"axis": 1},
        label="nan",
    ),
    Case("reduce_select", [R, i64(0, 4, 3, 1, 5)], {"axis": 1, "keepdim": False}),
    Case("reduce_select", [R, i64(0, 5, 3, 4, 1)], {"axis": 2, "keepdim": True}, label="keep"),
]

# linalg
CASES += [
    Case("matmul", [f32(3, 4), f32(4, 5)]),
    Case("matmul", [f32(2, 3, 4), f32(4, 5)], label="fold"),
    Case("matmul", [f32(2, 1, 3, 4), f32(3, 4, 2)], label="batched"),
    Case("matmul", [f32(4), f32(4)], label="dot"),
    Case("linear", [f32(3, 4), f32(5, 4), f32(5)]),
    Case("linear", [f32(2, 3, 4), f32(5, 4)], label="3d"),
    Case("einsum", [f32(3, 4), f32(4, 5)], {"equation": "ij,jk->ik"}),
    Case("einsum", [f32(2, 3, 4), f32(2, 4, 5)], {"equation": "bij,bjk->bki"}, label="batch"),
]

# movement
M = f32(2, 3, 4)
SLICE = REGISTRY["slice"]
CASES += [
    Case("reshape", [M], {"shape": (6, -1)}),
    Case("permute", [M], {"dims": (2, 0, 1)}),
    Case("expand", [f32(3, 1)], {"shape": (2, 3, 4)}),
    Case("clone", [M]),
    Case("slice", [M], {"key": (1,)}, label="int"),
    Case("slice", [M], {"key": (slice(None), -1)}, label="neg"),
    Case("slice", [M], {"key": (None, slice(0, 2), None, slice(1, None, 2))}, label="mixed"),
    Case("slice", [M], {"key": (slice(-1, None), slice(None, -1))}, label="negbounds"),
    Case("cat", [f32(2, 3), f32(1, 3), np.zeros((0,), np.float32)], {"dim": 0}),
    Case("cat", [f32(2, 3), f32(2, 2)], {"dim": 1}, label="dim1"),
    Case("flip", [M], {"dims": (0, 2)}),
    Case("roll", [M], {"shifts": (1, -5), "dims": (1, 2)}),
    Case("pad", [M], {"widths": ((0, 0), (1, 2), (2, 0)), "value": 1.5}),
    Case("pad", [M], {"widths": ((0, 0), (-1, 1), (0, -2)), "value": 0.0}, label="crop"),
    Case("tril", [f32(2, 4, 5)], {"diagonal": 0}),
    Case("triu", [f32(4, 5)], {"diagonal": -1}),
    Case("triu", [i64(0, 9, 4, 3)], {"diagonal": 1}, label="int"),
    Case("diagonal", [f32(3, 4, 5)], {"offset": 1, "dim1": 1, "dim2": 2}),
    Case("diagonal", [f32(3, 4, 5)], {"offset": -1, "dim1": 2, "dim2": 0}, label="swap"),
    Case("diag_embed", [f32(2, 3)], {"offset": 0, "dim1": 1, "dim2": 2}),
    Case("diag_embed", [f32(2, 3)], {"offset": -1, "dim1": 0, "dim2": 2}, label="offset"),
    Case("unfold", [f32(2, 7)], {"dim": 1, "size": 3, "step": 2}),
    Case(
        "view_scatter",
        [f32(3, 4), f32(3)],
        {"chain": ((SLICE, {"key": (slice(None), 1)}),)},
    ),
    Case(
        "view_scatter",
        [f32(4, 4), f32(1)],
        {"chain": ((REGISTRY["diagonal"], {"offset": 0, "dim1": 0, "dim2": 1}),)},
        label="diag",
    ),
]

# indexing
G = f32(4, 5, 6)
CASES += [
    Case("index", [G, i64(-4, 4, 2, 3)], {"spec": (0,)}),
    Case("index", [G, i64(0, 5, 3)], {"spec": (None, 0)}, label="dim1"),
    Case("index", [G, i64(-4, 4, 3), i64(0, 5, 3)], {"spec": (0, 1)}, label="adjacent"),
    Case("index", [G, i64(0, 5, 2, 1), i64(0, 6, 3)], {"spec": (None, 0, 1)}, label="inner"),
    Case("index", [G, i64(0, 4, 3), i64(0, 6, 3)], {"spec": (0, None, 1)}, label="apart"),
    Case(
        "index_put",
        [G, f32(3, 6), i64(0, 4, 3), i64(0, 5, 3)],
        {"spec": (0, 1), "accumulate": False},
    ),
    Case(
        "index_put",
        [G, f32(1), i64(0, 4, 5), i64(0, 6, 5)],
        {"spec": (0, None, 1), "accumulate": True},
        opsets=(16, 17, MAX_OPSET),
        label="acc",
    ),
    Case(
        "index_put",
        [G, f32(4, 3, 6), np.array([0, 2, 4], np.int64)],
        {"spec": (None, 0), "accumulate": False},
        label="dim1",
    ),
    Case("gather", [G, i64(0, 5, 2, 3, 6)], {"dim": 1}),
    Case("gather", [G, i64(0, 4, 2, 5, 6)], {"dim": 0}, label="dim0"),
    Case("scatter", [G, np.array([[[0, 1], [2, 3]]], np.int64), f32(2, 2, 2)], {"dim": 1}),
    Case(
        "scatter_add", [G, i64(0, 5, 2, 4, 6), f32(2, 4, 6)], {"dim": 1}, opsets=(16, 17, MAX_OPSET)
    ),
]
for reduce in ("sum", "prod", "amax", "amin", "mean"):
    for include_self in (True, False):
        low = 18 if reduce in ("amax", "amin") else 16
        CASES.append(
            Case(
                "scatter_reduce",
                [G, i64(0, 5, 4, 5, 6), f32(4, 5, 6)],
                {"dim": 1, "reduce": reduce, "include_self": include_self},
                opsets=(low, MAX_OPSET),
                label=f"{reduce}-{include_self}",
            )
        )
CASES += [
    Case(
        "scatter_reduce",
        [i64(-9, 9, 6), i64(0, 6, 5), i64(-9, 9, 5)],
        {"dim": 0, "reduce": "mean", "include_self": True},
        opsets=(16, MAX_OPSET),
        label="int",
    ),
    Case(
        "searchsorted",
        [np.array([1.0, 2.0, 2.0, 5.0], np.float32), f32(3, 2, lo=0, hi=6)],
        {"right": False, "out_int32": False},
    ),
    Case(
        "searchsorted",
        [np.sort(f32(2, 5), axis=1), f32(2, 3)],
        {"right": True, "out_int32": True},
        label="rows",
    ),
    Case(
        "sort",
        [np.array([[3, 1, 2, 1], [0, np.nan, -1, 5]], np.float32)],
        {"dim": 1, "descending": False, "stable": True},
    ),
    Case("sort", [i64(0, 3, 3, 4)], {"dim": 0, "descending": True, "stable": True}, label="desc"),
]

# nn kernels
S = f32(2, 3, 5, lo=-5, hi=5)
CASES += [
    Case("softmax", [S], {"axis": 2}),
    Case("log_softmax", [S], {"axis": 1}),
    # a mean of 100: float32 rounding of the input (ulp 7.6e-6) sets the tolerance
    Case("standardize", [f32(2, 3, 8) + 100], {"axes": (2,), "eps": 1e-5}, atol=2e-5),
    Case("standardize", [f32(2, 3, 4, 4)], {"axes": (1, 2, 3), "eps": 1e-3}, label="group"),
    Case("attention_probs", [f32(2, 2, 4, 8), f32(2, 2, 5, 8)], {"scale": 0.35, "causal": False}),
    Case(
        "attention_probs",
        [f32(2, 2, 5, 8), f32(2, 2, 5, 8)],
        {"scale": 0.35, "causal": True},
        label="causal",
    ),
    Case(
        "attention_probs",
        [
            f32(1, 3, 8),
            f32(1, 3, 8),
            np.array([[0, -np.inf, 0], [-np.inf] * 3, [0, 0, 0]], np.float32),
        ],
        {"scale": 1.0, "causal": False},
        label="mask",
    ),
]
LOGITS, TARGET = f32(6, 4), np.array([0, 3, -100, 2, 1, 1], np.int64)
for reduction in ("none", "mean", "sum"):
    CASES.append(
        Case(
            "cross_entropy",
            [LOGITS, TARGET],
            {"ignore_index": -100, "smoothing": 0.0, "reduction": reduction},
            label=reduction,
        )
    )
CASES += [
    Case(
        "cross_entropy",
        [LOGITS, TARGET, f32(4, lo=0.5, hi=2)],
        {"ignore_index": -100, "smoothing": 0.1, "reduction": "mean"},
        label="weight-smooth",
    ),
    Case(
        "cross_entropy",
        [LOGITS, TARGET],
        {"ignore_index": -100, "smoothing": 0.2, "reduction": "none"},
        label="smooth",
    ),
]
CE_WEIGHT, CE_ATTRS = f32(4, lo=0.5, hi=2), {"ignore_index": -100}
CASES += [
    Case(
        "cross_entropy_backward",
        [LOGITS, TARGET, f32(6)],
        {**CE_ATTRS, "smoothing": 0.0, "reduction": "none"},
        label="none",
    ),
    Case(
        "cross_entropy_backward",
        [LOGITS, TARGET, CE_WEIGHT, np.array(1.5, np.float32)],
        {**CE_ATTRS, "smoothing": 0.1, "reduction": "mean"},
        label="weight-smooth",
    ),
    Case(
        "cross_entropy_backward",
        [LOGITS, TARGET, np.array(0.5, np.float32)],
        {**CE_ATTRS, "smoothing": 0.2, "reduction": "sum"},
        label="smooth",
    ),
]

# convolution and pooling
IMG = f32(2, 4, 7, 6)
CASES += [
    Case(
        "conv",
        [IMG, f32(6, 2, 3, 2)],
        {"stride": (2, 1), "padding": ((1, 2), (0, 1)), "dilation": (1, 2), "groups": 2},
    ),
    Case(
        "conv",
        [f32(2, 3, 9), f32(4, 3, 3)],
        {"stride": (1,), "padding": ((1, 1),), "dilation": (1,), "groups": 1},
        label="1d",
    ),
    Case(
        "conv",
        [f32(1, 2, 4, 5, 5), f32(3, 2, 2, 3, 3)],
        {
            "stride": (1, 2, 1),
            "padding": ((0, 0), (1, 1), (1, 1)),
            "dilation": (1, 1, 1),
            "groups": 1,
        },
        label="3d",
        atol=1e-5,
    ),
    Case(
        "conv_input_grad",
        [f32(2, 6, 4, 3), f32(6, 2, 3, 2)],
        {
            "size": (7, 6),
            "stride": (2, 1),
            "padding": ((1, 1), (0, 1)),
            "dilation": (1, 2),
            "groups": 2,
        },
    ),
    Case(
        "max_pool",
        [IMG],
        {
            "kernel": (2, 2),
            "stride": (2, 2),
            "padding": (0, 0),
            "dilation": (1, 1),
            "ceil_mode": False,
        },
    ),
    Case(
        "max_pool",
        [IMG],
        {
            "kernel": (3, 2),
            "stride": (2, 2),
            "padding": (1, 1),
            "dilation": (1, 2),
            "ceil_mode": False,
        },
        outputs=(0, 1),
        label="index",
    ),
    Case(
        "max_pool",
        [IMG],
        {
            "kernel": (2, 2),
            "stride": (2, 2),
            "padding": (1, 0),
            "dilation": (1, 1),
            "ceil_mode": True,
        },
        outputs=(0, 1),
        label="ceil",
    ),
    Case(
        "max_pool",
        [f32(2, 3, 10)],
        {"kernel": (3,), "stride": (3,), "padding": (0,), "dilation": (1,), "ceil_mode": True},
        label="1d",
    ),
    Case(
        "avg_pool",
        [IMG],
        {
            "kernel": (2, 3),
            "stride": (2, 2),
            "padding": (1, 1),
            "ceil_mode": False,
            "count_include_pad": True,
            "divisor_override": None,
        },
    ),
    Case(
        "avg_pool",
        [IMG],
        {
            "kernel": (3, 3),
            "stride": (2, 2),
            "padding": (1, 1),
            "ceil_mode": False,
            "count_include_pad": False,
            "divisor_override": None,
        },
        label="exclude",
    ),
    Case(
        "avg_pool",
        [IMG],
        {
            "kernel": (2, 2),
            "stride": (2, 2),
            "padding": (1, 0),
            "ceil_mode": True,
            "count_include_pad": True,
            "divisor_override": None,
        },
        label="ceil",
    ),
    Case(
        "avg_pool",
        [IMG],
        {
            "kernel": (2, 2),
            "stride": (1, 2),
            "padding": (0, 0),
            "ceil_mode": False,
            "count_include_pad": True,
            "divisor_override": 3,
        },
        label="divisor",
    ),
    Case("adaptive_max_pool", [IMG], {"output_size": (7, 3)}, outputs=(0, 1)),
    Case("adaptive_max_pool", [IMG], {"output_size": (3, 4)}, outputs=(0,), label="uneven"),
    Case("pool_gather", [IMG, i64(0, 42, 2, 4, 3, 3)]),
    Case(
        "pool_scatter",
        [f32(2, 4, 3, 3), i64(0, 42, 2, 4, 3, 3)],
        {"size": (7, 6)},
        opsets=(16, 17, MAX_OPSET),
    ),
    Case(
        "im2col",
        [IMG],
        {"kernel": (2, 3), "stride": (2, 1), "padding": ((1, 1), (0, 2)), "dilation": (1, 2)},
    ),
    Case(
        "col2im",
        [f32(2, 24, 16)],
        {
            "size": (7, 6),
            "kernel": (2, 3),
            "stride": (2, 1),
            "padding": ((1, 1), (0, 2)),
            "dilation": (1, 2),
        },
        opsets=(16, 17, MAX_OPSET),
    ),
    Case(
        "conv_weight_grad",
        [IMG, f32(2, 6, 4, 5)],
        {
            "kernel": (3, 2),
            "stride": (2, 1),
            "padding": ((1, 1), (0, 1)),
            "dilation": (1, 2),
            "groups": 2,
        },
        atol=1e-5,
    ),
    Case(
        "conv_weight_grad",
        [f32(3, 2, 9), f32(3, 4, 4)],
        {"kernel": (3,), "stride": (2,), "padding": ((1, 0),), "dilation": (1,), "groups": 1},
        label="1d",
    ),
    Case(
        "avg_pool_backward",
        [f32(2, 4, 4, 3)],
        {
            "size": (7, 6),
            "kernel": (2, 2),
            "stride": (2, 2),
            "padding": (1, 0),
            "ceil_mode": True,
            "count_include_pad": True,
            "divisor_override": None,
        },
    ),
]

# recurrent kernels
H = 3
CASES += [
    Case(
        "lstm_sequence",
        [f32(5, 2, 4 * H), f32(2, H), f32(2, H), f32(4 * H, H)],
        {"reverse": False},
        outputs=(0, 1, 2),
    ),
    Case(
        "lstm_sequence",
        [f32(5, 2, 4 * H), f32(2, H), f32(2, H), f32(4 * H, H)],
        {"reverse": True},
        outputs=(0, 1, 2),
        label="reverse",
    ),
    Case("lstm_cell", [f32(2, 4 * H), f32(2, H)]),
    Case("lstm_cell_backward", [f32(2, 4 * H), f32(2, H), f32(2, H), f32(2, H), f32(2, H)]),
]

# graph-made constants and gradient kernels
CASES += [
    Case("relu_grad", [f32(3, 4), f32(3, 4)]),
    Case("log_softmax_backward", [f32(3, 4), f32(3, 4)], {"axis": 1}),
    Case(
        "unfold_backward",
        [f32(2, 3, 3)],
        {"shape": (2, 7), "dim": 1, "size": 3, "step": 2},
        opsets=(16, 17, MAX_OPSET),
    ),
]
_GELU_X = f32(3, 4)
CASES.append(
    Case(
        "gelu_backward",
        [f32(3, 4), _GELU_X]
        + ([REGISTRY["gelu"].forward(_GELU_X)[1]] if REGISTRY["gelu"].num_outputs == 2 else []),
    )
)

# batch-dependent sizes in attributes (the graph's input has a symbolic batch axis)
CASES += [
    Case(
        "reshape",
        [f32(4, 3, 2)],
        {"shape": (4, 6)},
        sym={0: (N, 3, 2)},
        sym_attrs={"shape": (N, 6)},
        label="sym",
    ),
    Case("reshape", [f32(4, 3, 2)], {"shape": (2, 2, 6)}, sym={0: (2 * 2, 3, 2)}, label="static"),
    Case(
        "reshape",
        [f32(4, 3, 2)],
        {"shape": (3, 4, 2)},
        sym={0: (N, 3, 2)},
        sym_attrs={"shape": (3, N, 2)},
        label="sym-middle",
    ),
    Case(
        "reshape",
        [f32(4, 6)],
        {"shape": (8, 3)},
        sym={0: (N, 6)},
        sym_attrs={"shape": (SymInt(2, 0), 3)},
        label="sym2",
    ),
    Case(
        "reshape",
        [f32(4, 3, 2)],
        {"shape": (2, 4, 3)},
        sym={0: (N, 3, 2)},
        sym_attrs={"shape": (2, N, -1)},
        label="sym-infer",
    ),
    Case(
        "expand",
        [f32(4, 1, 3)],
        {"shape": (4, 5, 3)},
        sym={0: (N, 1, 3)},
        sym_attrs={"shape": (N, 5, 3)},
        label="sym",
    ),
    Case(
        "expand",
        [f32(1, 3)],
        {"shape": (4, 2, 3)},
        sym_attrs={"shape": (N, 2, 3)},
        carrier=4,
        label="grow",
    ),
    Case(
        "slice",
        [f32(4, 5)],
        {"key": (slice(1, 4),)},
        sym={0: (N, 5)},
        sym_attrs={"key": (slice(1, SymInt(1, 0)),)},
        label="sym",
    ),
    Case(
        "pad",
        [f32(4, 3)],
        {"widths": ((0, 0), (0, 4)), "value": 0.0},
        sym={0: (N, 3)},
        sym_attrs={"widths": ((0, 0), (0, N))},
        label="sym",
    ),
    Case(
        "sort",
        [f32(4, 3)],
        {"dim": 0, "descending": False, "stable": True},
        sym={0: (N, 3)},
        label="sym",
    ),
    Case("median", [f32(4, 3)], sym={0: (N, 3)}, label="sym"),
]


def _fill_case(shape, sym_shape, value, dtype):
    return Case(
        "fill",
        [],
        {"shape": shape, "value": value, "dtype": dtype},
        sym_attrs={"shape": sym_shape},
        carrier=4,
        label=f"{dtype}",
    )


FILL_CASES = [
    _fill_case((2, 3), (2, 3), 0.5, "float32"),
    _fill_case((4, 3), (N, 3), 1, "int64"),
    _fill_case((3, 4), (3, N), True, "bool"),
]


def build_graph(case: Case):
    """A one-node graph (plus an unused input of shape (N,) for ``case.carrier``)."""
    g = Graph()
    vids = [
        g.add_input(case.sym.get(k, a.shape), np.asarray(a).dtype.name, name=f"x{k}")
        for k, a in enumerate(case.inputs)
    ]
    if case.carrier is not None:
        g.add_input((N,), "float32", name="batch")
    attrs = {**case.attrs, **(case.sym_attrs or {})}
    outs = _forward(case, case.inputs, case.attrs)
    shapes = [np.shape(o) for o in outs]
    if _is_symbolic(case):  # as the tracer does: sizes that change with the batch are SymInts
        n = _sample_batch(case)
        grown = _forward(case, _grown(case, 2), resolve(attrs, n + 2))
        shapes = [unify(a, np.shape(o), n, n + 2) for a, o in zip(shapes, grown)]
    types = [(shape, np.asarray(o).dtype.name) for shape, o in zip(shapes, outs)]
    out_vids = g.add_node(case.op, vids, attrs, types)
    keep = case.outputs if case.outputs is not None else range(len(out_vids))
    g.outputs = [out_vids[k] for k in keep]
    return g, [outs[k] for k in keep]


def _forward(case: Case, inputs, attrs) -> list:
    prim = REGISTRY[case.op]
    with np.errstate(all="ignore"):  # the special-value inputs overflow on purpose
        outs = prim.forward(*inputs, **attrs)
    return list(outs) if prim.num_outputs > 1 else [outs]


def _is_symbolic(case: Case) -> bool:
    shapes = [d for shape in case.sym.values() for d in shape]
    return case.carrier is not None or any(isinstance(d, SymInt) for d in shapes)


def _sample_batch(case: Case) -> int:
    for k in case.sym:
        return case.inputs[k].shape[0]
    return case.carrier


def _grown(case: Case, extra: int) -> list:
    """The inputs with ``extra`` more rows on the batch axis of the symbolic ones."""
    return [
        np.concatenate([a, a[:extra]]) if k in case.sym else a for k, a in enumerate(case.inputs)
    ]


def _feeds(case: Case, extra: int = 0) -> dict:
    inputs = _grown(case, extra) if extra else case.inputs
    feeds = {f"x{k}": np.asarray(a) for k, a in enumerate(inputs)}
    if case.carrier is not None:
        feeds["batch"] = np.zeros(case.carrier + extra, np.float32)
    return feeds


def _run_onnx(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _compare(got, want, case):
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape, (case.id, g.shape, w.shape)
        assert g.dtype == w.dtype, (case.id, g.dtype, w.dtype)
        if w.dtype.kind == "f":
            np.testing.assert_allclose(
                g, w, rtol=case.rtol, atol=case.atol, equal_nan=True, err_msg=case.id
            )
        else:
            np.testing.assert_array_equal(g, w, err_msg=case.id)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_lowering_matches_interpreter(case):
    graph, _ = build_graph(case)
    feeds = _feeds(case)
    with np.errstate(all="ignore"):
        want = Interpreter(graph).run(list(feeds.values()))
    for opset in case.opsets:
        model = graph_to_onnx(graph, {}, opset=opset, input_names=list(feeds))
        onnx.checker.check_model(model, full_check=True)
        _compare(_run_onnx(model, feeds), want, case)


@pytest.mark.parametrize("case", FILL_CASES, ids=[c.id for c in FILL_CASES])
def test_fill_with_batch_dependent_shape(case):
    graph, _ = build_graph(case)
    model = graph_to_onnx(graph, {}, opset=17, input_names=["batch"])
    for extra in (0, 3):
        feeds = _feeds(case, extra)
        _compare(_run_onnx(model, feeds), Interpreter(graph).run(list(feeds.values())), case)


def test_symbolic_cases_run_at_another_batch_size():
    """The cases with a batch-dependent size, fed a batch two rows larger than the sample's."""
    for case in filter(_is_symbolic, CASES):
        graph, _ = build_graph(case)
        feeds = _feeds(case, 2)
        want = Interpreter(graph).run(list(feeds.values()))
        model = graph_to_onnx(graph, {}, opset=17, input_names=list(feeds))
        _compare(_run_onnx(model, feeds), want, case)


@pytest.mark.parametrize(
    "op,attrs,check",
    [
        (
            "rand_uniform",
            {"shape": (4000,), "dtype": ember.float32},
            lambda v: v.min() >= 0 and v.max() < 1 and abs(v.mean() - 0.5) < 0.03,
        ),
        (
            "rand_normal",
            {"shape": (4000,), "dtype": ember.float32},
            lambda v: abs(v.mean()) < 0.06 and abs(v.std() - 1) < 0.06,
        ),
        (
            "rand_bernoulli",
            {"shape": (4000,), "p": 0.3, "dtype": ember.float32},
            lambda v: set(np.unique(v)) <= {0.0, 1.0} and abs(v.mean() - 0.3) < 0.03,
        ),
    ],
)
def test_samplers_draw_the_same_distribution(op, attrs, check):
    for shape in ((4000,), (N, 2000)):
        g = Graph()
        g.add_input((N,), "float32", name="batch")
        (out,) = g.add_node(op, [], {**attrs, "shape": shape}, [(shape, "float32")])
        g.outputs = [out]
        (value,) = _run_onnx(
            graph_to_onnx(g, {}, opset=17, input_names=["batch"]),
            {"batch": np.zeros(2, np.float32)},
        )
        assert value.shape == (4000,) if shape == (4000,) else (2, 2000)
        assert value.dtype == np.float32 and check(value)


def test_every_lowered_primitive_has_a_case():
    covered = {c.op for c in CASES + FILL_CASES} | {"rand_uniform", "rand_normal", "rand_bernoulli"}
    lowered = {row.primitive for row in lowering_table() if row.min_opset is not None}
    assert lowered - covered == set()


def test_unlowered_primitive_names_itself_and_the_opset():
    g = Graph()
    x = g.add_input((2, 3, 4), "float32")
    t = g.add_input((3, 2), "int64")
    (y,) = g.add_node("ctc_loss", [x, t], {}, [((3,), "float32")])
    g.outputs = [y]
    with pytest.raises(UnsupportedOperatorError, match=r"'ctc_loss'.*opset 15.*CTC"):
        graph_to_onnx(g, {}, opset=15)


def test_too_old_opset_for_a_lowering_names_it():
    case = next(c for c in CASES if c.op == "bitwise_and")
    graph, _ = build_graph(case)
    with pytest.raises(UnsupportedOperatorError, match=r"'bitwise_and'.*opset 17.*>= 18"):
        graph_to_onnx(graph, {}, opset=17, input_names=["x0", "x1"])


def test_batch_dependent_view_scatter_is_refused_clearly():
    g = Graph()
    x = g.add_input((N, 3), "float32")
    v = g.add_input((N,), "float32")
    chain = ((SLICE, {"key": (slice(None), 0)}),)
    (y,) = g.add_node("view_scatter", [x, v], {"chain": chain}, [((N, 3), "float32")])
    g.outputs = [y]
    with pytest.raises(UnsupportedOperatorError, match="view_scatter.*batch size"):
        graph_to_onnx(g, {}, opset=17)


def test_log1p_and_expm1_keep_accuracy_near_zero():
    """The compensated forms are accurate to float32 rounding where 1 + x rounds."""
    x = np.array([1e-6, -3e-5, 2e-4], np.float32)
    for op, ref in (("log1p", np.log1p), ("expm1", np.expm1)):
        graph, _ = build_graph(Case(op, [x]))
        (got,) = _run_onnx(graph_to_onnx(graph, {}, opset=17, input_names=["x0"]), {"x0": x})
        np.testing.assert_allclose(got, ref(x.astype(np.float64)), rtol=2e-7)
    assert math.isfinite(float(got[0]))


# ---------------------------------------------------------------------------------------------
# whole models: ember.onnx.export with a dynamic batch, onnxruntime against eager ember
# ---------------------------------------------------------------------------------------------
nn = ember.nn
F = ember.nn.functional


class BasicBlock(nn.Module):
    """ResNet's basic block with a projection shortcut."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
        )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class LSTMTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 8, num_layers=2, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out), h, c


def _cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.5),
        nn.Conv2d(8, 16, 3, padding=2, dilation=2, groups=2),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AvgPool2d(2, ceil_mode=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(16, 10),
    )


def _w3_gpt():
    """The GPT of benchmark W3/W4b (benchmarks/workloads.py) with its benchmark weights."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks import workloads

    built = []
    workloads.build_torchlike(
        ember, "gpt_infer", workloads.make_arrays("gpt_infer"), compile_fn=built.append
    )
    return built[0], workloads.GPT


def _randomize_norm_stats(model):
    rng = np.random.default_rng(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean._data[:] = rng.normal(0, 0.5, m.running_mean.shape)
            m.running_var._data[:] = rng.uniform(0.5, 2.0, m.running_var.shape)
            m.weight._data[:] = rng.uniform(0.5, 1.5, m.weight.shape)
            m.bias._data[:] = rng.normal(0, 0.2, m.bias.shape)
    return model


MODEL_NAMES = ["mlp", "cnn", "resnet_block", "lstm", "transformer_encoder", "w3_gpt"]
#: |onnx - eager| <= REL * max |eager|, per output: every model meets 1e-5 (measured: <= 6e-7)
REL = {name: 1e-5 for name in MODEL_NAMES}


@functools.cache
def model_case(name: str):
    """``(module, make_input(batch) -> array, opsets to export at)``."""
    ember.manual_seed(0)
    floats = lambda *s: lambda n: RNG.standard_normal((n, *s)).astype(np.float32)  # noqa: E731
    if name == "mlp":
        return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 5)), floats(20), (17,)
    if name == "cnn":
        return _randomize_norm_stats(_cnn()), floats(3, 12, 12), (17,)
    if name == "resnet_block":
        return _randomize_norm_stats(BasicBlock(4, 8, stride=2)), floats(4, 9, 9), (17,)
    if name == "lstm":
        return LSTMTagger(), floats(7, 6), (13, 17)
    if name == "transformer_encoder":
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, batch_first=True)
        return nn.TransformerEncoder(layer, 2), floats(6, 32), (13, 17, MAX_OPSET)
    gpt, shape = _w3_gpt()

    def tokens(n):
        return RNG.integers(0, shape["vocab"], (n, shape["ctx"])).astype(np.int64)

    return gpt, tokens, (13, 17, MAX_OPSET)


def _eager(model, x):
    from ember.compiler.tracer import flatten

    with ember.no_grad():
        out = model(ember.from_numpy(x))
    leaves: list = []
    flatten(out, leaves)
    return [t.numpy() for t in leaves]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_matches_eager_at_two_batch_sizes(name, tmp_path):
    from ember.onnx.exporter import export

    model, make_input, opsets = model_case(name)
    model.train()  # exported in eval mode all the same, and left in training mode
    for opset in opsets:
        path = tmp_path / f"{name}-{opset}.onnx"
        proto = export(
            model,
            (ember.from_numpy(make_input(2)),),
            path,
            input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
            opset_version=opset,
        )
        assert model.training and all(m.training for m in model.modules())
        assert proto.opset_import[0].version == opset
        assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        model.eval()
        for n in (1, 3):
            x = make_input(n)
            got = session.run(None, {"x": x})
            want = _eager(model, x)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert g.shape == w.shape
                err = float(np.abs(g - w).max())
                assert err <= REL[name] * float(np.abs(w).max()), (name, opset, n, err)
        model.train()


def test_weights_are_initializers_named_by_state_dict():
    from ember.onnx.exporter import export

    model = model_case("resnet_block")[0]
    proto = export(model, ember.randn(2, 4, 9, 9), io.BytesIO())
    names = {t.name for t in proto.graph.initializer}
    state = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    assert state <= names
    by_name = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    np.testing.assert_array_equal(by_name["bn1.running_var"], model.bn1.running_var.numpy())


def test_static_export_fixes_the_batch_and_writes_to_a_file_object():
    from ember.onnx.exporter import export

    model = model_case("mlp")[0]
    buffer = io.BytesIO()
    export(model, (np.ones((3, 20), np.float32),), buffer)
    proto = onnx.load_from_string(buffer.getvalue())
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [3, 20]
    assert [i.name for i in proto.graph.input] == ["input_0"]
    assert [o.name for o in proto.graph.output] == ["output_0"]


def test_list_dynamic_axes_and_output_names():
    from ember.onnx.exporter import export

    model = model_case("lstm")[0]
    proto = export(
        model,
        (ember.randn(2, 7, 6),),
        io.BytesIO(),
        input_names=["seq"],
        output_names=["tags", "h", "c"],
        dynamic_axes={"seq": [0], "tags": {0: "rows"}, "c": {1: "cells"}},
    )
    dims = {o.name: o.type.tensor_type.shape.dim for o in proto.graph.output}
    assert dims["tags"][0].dim_param == "rows"
    assert dims["h"][1].dim_param == "seq_dynamic_axes_1"  # (layers, batch, hidden)
    assert dims["c"][1].dim_param == "cells"
    assert [n.op_type for n in proto.graph.node].count("LSTM") == 2


def test_keyword_arguments_and_export_overwrites_atomically(tmp_path):
    from ember.onnx.exporter import export

    class Scale(nn.Module):
        def forward(self, x, *, factor):
            return x * factor

    path = tmp_path / "scale.onnx"
    path.write_bytes(b"old")
    x, factor = ember.randn(2, 3), ember.full((3,), 2.0)
    export(Scale(), (x, {"factor": factor}), path, input_names=["x", "factor"])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": x.numpy(), "factor": factor.numpy()})
    np.testing.assert_allclose(got, x.numpy() * 2.0)
    assert [p.name for p in tmp_path.iterdir()] == ["scale.onnx"]


def test_training_mode_export_keeps_dropout_and_warns_about_buffer_updates():
    from ember.onnx.exporter import TrainingMode, export

    model = _randomize_norm_stats(_cnn())
    model.eval()
    before = model[1].running_mean.numpy().copy()
    with pytest.warns(UserWarning, match="running_mean"):
        proto = export(
            model, ember.randn(2, 3, 12, 12), io.BytesIO(), training=TrainingMode.TRAINING
        )
    assert "RandomUniform" in {n.op_type for n in proto.graph.node}
    assert not model.training
    np.testing.assert_array_equal(model[1].running_mean.numpy(), before)


@pytest.mark.parametrize(
    "opset,error,match",
    [
        (12, ValueError, "opset_version 12 is not supported; choose from 13 to"),
        (MAX_OPSET + 1, ValueError, f"opset_version {MAX_OPSET + 1}"),
        ("17", TypeError, "must be an int"),
        (True, TypeError, "must be an int"),
    ],
)
def test_bad_opset(opset, error, match):
    from ember.onnx.exporter import export

    with pytest.raises(error, match=match):
        export(model_case("mlp")[0], ember.randn(2, 20), io.BytesIO(), opset_version=opset)


@pytest.mark.parametrize(
    "dynamic_axes,error,match",
    [
        ({"x": [0], "y": {0: "b"}}, ValueError, "'y', which is not an input or output name"),
        ({"x": {1: "features"}}, NotImplementedError, "dynamic axis 1 of 'x'"),
        ({"x": [0], "out": {1: "f"}}, ValueError, "axis 1 of output 'out'.*does not depend"),
        ({"x": 0}, TypeError, "must be a dict"),
        ({"x": {0: 3}}, TypeError, "bad name 3"),
        ({"out": [0]}, ValueError, "marks only outputs"),
        ({"x": [0], "norm": [0]}, ValueError, "output 'norm'.*does not depend on the batch"),
    ],
)
def test_bad_dynamic_axes(dynamic_axes, error, match):
    from ember.onnx.exporter import export

    class TwoOutputs(nn.Module):
        def forward(self, x):
            return x * 2, (x * x).sum(0)

    with pytest.raises(error, match=match):
        export(
            TwoOutputs(),
            ember.randn(2, 3),
            io.BytesIO(),
            input_names=["x"],
            output_names=["out", "norm"],
            dynamic_axes=dynamic_axes,
        )


def test_unsupported_primitive_in_a_model_names_it_and_the_opset():
    from ember.onnx.exporter import export

    class CTC(nn.Module):
        def forward(self, log_probs, targets):
            return F.ctc_loss(log_probs, targets, [5, 5], [2, 2])

    log_probs = F.log_softmax(ember.randn(5, 2, 4), dim=-1)
    targets = ember.tensor([[1, 2], [3, 1]])
    with pytest.raises(UnsupportedOperatorError, match=r"'ctc_loss'.*opset 16"):
        export(CTC(), (log_probs, targets), io.BytesIO(), opset_version=16)


def test_file_not_writable(tmp_path):
    from ember.onnx.exporter import export

    model, x = model_case("mlp")[0], ember.randn(2, 20)
    with pytest.raises(FileNotFoundError, match="no folder"):
        export(model, x, tmp_path / "missing" / "m.onnx")
    with pytest.raises(OSError, match="cannot write"):
        export(model, x, tmp_path)  # a folder
    with open(tmp_path / "ro.onnx", "wb") as fh:
        pass
    with open(tmp_path / "ro.onnx", "rb") as fh, pytest.raises(OSError, match="cannot write"):
        export(model, x, fh)
    with pytest.raises(TypeError, match="path or a binary file"):
        export(model, x, 42)


def test_docs_table_is_the_generated_one():
    from pathlib import Path

    from ember.onnx.export_ops import markdown_table

    text = (Path(__file__).resolve().parents[2] / "docs" / "onnx.md").read_text()
    start, end = "<!-- export-table:start -->\n", "\n<!-- export-table:end -->"
    assert start in text and end in text, "docs/onnx.md lost its export-table markers"
    documented = text[text.index(start) + len(start) : text.index(end)]
    assert documented == markdown_table(), (
        "docs/onnx.md's export table is stale: paste the output of "
        "`python -m ember.onnx.export_ops` between its export-table markers"
    )


def test_a_call_without_tensor_outputs_is_refused():
    from ember.onnx.export_ops.errors import OnnxExportError
    from ember.onnx.exporter import export

    class Shape(nn.Module):
        def forward(self, x):
            return x.shape[0]

    with pytest.raises(OnnxExportError, match="returned no tensors"):
        export(Shape(), ember.randn(2, 3), io.BytesIO())


@pytest.mark.parametrize("name", ["lstm", "transformer_encoder"])
def test_round_trip_through_ember_onnx_load(name):
    import ember.onnx
    from ember.onnx.exporter import export

    model, make_input, _ = model_case(name)
    buffer = io.BytesIO()
    export(model, make_input(2), buffer, input_names=["x"], dynamic_axes={"x": [0]})
    loaded = ember.onnx.load(buffer.getvalue())
    x = make_input(3)
    with ember.no_grad():
        got = loaded(x)
    got = got if isinstance(got, tuple) else (got,)
    model.eval()
    for g, w in zip(got, _eager(model, x)):
        assert float(np.abs(g.numpy() - w).max()) <= 1e-5 * float(np.abs(w).max())
