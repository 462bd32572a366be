"""The fused ``linear`` primitive (``F.linear`` / ``nn.Linear``) through the OpInfo table."""

import numpy as np

from ember.ops.linalg import linear
from opinfo import ErrorCase, OpInfo, Sample, make_op_tests, rand

OPS = [
    OpInfo(
        "linear",
        linear,
        [
            Sample((rand(4, 3), rand(5, 3, seed=1), rand(5, seed=2)), name="2d_bias"),
            Sample((rand(2, 4, 3), rand(5, 3, seed=1), rand(5, seed=2)), name="3d_bias"),
            Sample((rand(3), rand(2, 3, seed=1), rand(2, seed=2)), name="1d_bias"),
            Sample((rand(4, 3), rand(5, 3, seed=1)), name="2d_nobias"),
        ],
        ref=lambda x, w, b=None: x @ w.T + (0 if b is None else b),
        torch_ref=lambda t, x, w, b=None: t.nn.functional.linear(x, w, b),
        errors=[
            ErrorCase(
                (rand(4, 3), rand(5, 2)),
                exc=ValueError,
                match=r"linear: input of shape \(4, 3\) has 3 features but the weight",
            ),
            ErrorCase(
                (rand(4, 3), rand(5, 3), rand(4)),
                exc=ValueError,
                match=r"linear: bias of shape \(4,\) != \(5,\)",
            ),
        ],
    ),
    OpInfo(
        "linear_int_promotes",
        lambda x, w: linear(x, w),
        [Sample((np.array([[1, 2]]), rand(3, 2, seed=4)))],
        torch_ref=None,
        grad=False,
    ),
]

globals().update(make_op_tests(OPS))
