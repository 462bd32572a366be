"""Matrix products, einsum and ember.linalg norms through the OpInfo table (tests/opinfo.py)."""

import math

import numpy as np
import pytest

import ember
from opinfo import ErrorCase, OpInfo, Sample, make_op_tests, rand, requires_torch, torch


def S(*shapes, name=""):
    return Sample(tuple(rand(*s, seed=k) for k, s in enumerate(shapes)), name=name)


MATMUL_SAMPLES = [
    S((3, 4), (4, 5), name="2d"),
    S((4,), (4,), name="dot"),
    S((4,), (4, 5), name="vec_mat"),
    S((3, 4), (4,), name="mat_vec"),
    S((2, 3, 4), (4, 5), name="batch_mat"),
    S((4,), (2, 4, 5), name="vec_batch"),
    S((2, 3, 4), (4,), name="batch_vec"),
    S((2, 1, 3, 4), (5, 4, 2), name="broadcast_batch"),
    S((1, 2, 3), (4, 3, 2), name="broadcast_one"),
]


def shape_err(op, a, b, match, exc=ValueError):
    return ErrorCase((rand(*a), rand(*b)), exc=exc, match=match)


OPS = [
    OpInfo(
        "matmul",
        ember.matmul,
        MATMUL_SAMPLES,
        ref=np.matmul,
        torch_ref=lambda t, a, b: t.matmul(a, b),
        errors=[
            shape_err(
                "matmul",
                (32, 784),
                (512, 10),
                r"matmul: shapes \(32, 784\) and \(512, 10\) cannot be multiplied "
                r"\(784 != 512\)",
            ),
            shape_err(
                "matmul",
                (3,),
                (4,),
                r"matmul: shapes \(3,\) and \(4,\) cannot be "
                r"multiplied \(3 != 4\)",
            ),
            shape_err(
                "matmul",
                (2, 3, 4),
                (3, 4, 5),
                r"matmul: the batch dimensions of shapes \(2, 3, 4\) and \(3, 4, 5\)",
            ),
            ErrorCase(
                (np.asarray(1.0), rand(3)),
                exc=ValueError,
                match="matmul: both arguments need at least 1 dimension",
            ),
        ],
    ),
    OpInfo(
        "matmul_operator", lambda a, b: a @ b, MATMUL_SAMPLES[:5], torch_ref=lambda t, a, b: a @ b
    ),
    OpInfo(
        "rmatmul_ndarray",
        lambda a, b: a.detach().numpy() @ b,
        [S((3, 4), (4, 2))],
        ref=np.matmul,
        grad=False,
    ),
    OpInfo(
        "mm",
        ember.mm,
        [S((3, 4), (4, 5)), S((1, 4), (4, 1), name="thin")],
        ref=np.matmul,
        torch_ref=lambda t, a, b: t.mm(a, b),
        errors=[
            shape_err(
                "mm",
                (2, 3, 4),
                (4, 5),
                r"mm: expected 2-D matrices, got shapes "
                r"\(2, 3, 4\) and \(4, 5\)",
                RuntimeError,
            ),
            shape_err("mm", (3,), (3, 2), "mm: expected 2-D matrices", RuntimeError),
            shape_err(
                "mm",
                (2, 3),
                (4, 5),
                r"mm: shapes \(2, 3\) and \(4, 5\) cannot be "
                r"multiplied \(3 != 4\)",
            ),
        ],
    ),
    OpInfo(
        "bmm",
        ember.bmm,
        [S((2, 3, 4), (2, 4, 5))],
        ref=np.matmul,
        torch_ref=lambda t, a, b: t.bmm(a, b),
        errors=[
            shape_err("bmm", (3, 4), (4, 5), "bmm: expected 3-D tensors", RuntimeError),
            shape_err(
                "bmm",
                (2, 3, 4),
                (3, 4, 5),
                r"bmm: shapes \(2, 3, 4\) and "
                r"\(3, 4, 5\) cannot be multiplied",
            ),
        ],
    ),
    OpInfo(
        "mv",
        ember.mv,
        [S((3, 4), (4,))],
        ref=np.matmul,
        torch_ref=lambda t, a, b: t.mv(a, b),
        errors=[
            shape_err(
                "mv", (3, 4), (4, 1), "mv: expected a 2-D matrix and a 1-D vector", RuntimeError
            )
        ],
    ),
    OpInfo(
        "dot",
        ember.dot,
        [S((5,), (5,))],
        ref=np.dot,
        torch_ref=lambda t, a, b: t.dot(a, b),
        errors=[
            shape_err("dot", (3,), (4,), "dot: inconsistent tensor size", RuntimeError),
            shape_err("dot", (3, 1), (3,), "dot: expected 1-D tensors", RuntimeError),
            ErrorCase(
                (np.arange(3), rand(3)),
                exc=RuntimeError,
                match="dot: expected both vectors to have same dtype",
            ),
        ],
    ),
    OpInfo(
        "inner",
        ember.inner,
        [
            S((3, 4), (5, 4)),
            S((4,), (4,), name="1d"),
            S((2, 3, 4), (4,), name="nd"),
            Sample((rand(3), 2.5), name="scalar"),
        ],
        ref=np.inner,
        torch_ref=lambda t, a, b: (
            t.inner(a, b) if isinstance(b, t.Tensor) else t.inner(a, t.tensor(b, dtype=a.dtype))
        ),
        errors=[shape_err("inner", (3, 4), (3, 5), "inner: last dimensions must match")],
    ),
    OpInfo(
        "outer",
        ember.outer,
        [S((3,), (4,))],
        ref=np.outer,
        torch_ref=lambda t, a, b: t.outer(a, b),
        errors=[shape_err("outer", (3, 1), (4,), "outer: expected 1-D tensors", RuntimeError)],
    ),
    OpInfo(
        "tensordot_int",
        lambda a, b: ember.tensordot(a, b, dims=2),
        [S((2, 3, 4), (3, 4, 5)), S((3, 4), (3, 4), name="full")],
        ref=lambda a, b: np.tensordot(a, b, axes=2),
        torch_ref=lambda t, a, b: t.tensordot(a, b, dims=2),
        errors=[
            shape_err("tensordot", (2, 3), (4, 3), r"tensordot: contracted dimensions", ValueError)
        ],
    ),
    OpInfo(
        "tensordot_lists",
        lambda a, b: ember.tensordot(a, b, dims=([0, 2], [2, 0])),
        [S((3, 2, 4), (4, 5, 3))],
        ref=lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 0])),
        torch_ref=lambda t, a, b: t.tensordot(a, b, dims=([0, 2], [2, 0])),
    ),
    OpInfo(
        "tensordot_zero",
        lambda a, b: ember.tensordot(a, b, dims=0),
        [S((3,), (2, 2))],
        ref=lambda a, b: np.tensordot(a, b, axes=0),
        torch_ref=lambda t, a, b: t.tensordot(a, b, dims=0),
    ),
    OpInfo(
        "addmm",
        lambda c, a, b: ember.addmm(c, a, b, beta=0.5, alpha=2.0),
        [S((5,), (3, 4), (4, 5)), S((3, 5), (3, 4), (4, 5), name="full")],
        ref=lambda c, a, b: 0.5 * c + 2.0 * (a @ b),
        torch_ref=lambda t, c, a, b: t.addmm(c, a, b, beta=0.5, alpha=2.0),
    ),
    OpInfo(
        "addmm_beta0",
        lambda c, a, b: ember.addmm(c, a, b, beta=0),
        [Sample((np.full((3, 5), np.nan), rand(3, 4), rand(4, 5, seed=1)))],
        ref=lambda c, a, b: a @ b,
        torch_ref=lambda t, c, a, b: t.addmm(c, a, b, beta=0),
        gradcheck=False,
    ),
    OpInfo(
        "baddbmm",
        lambda c, a, b: ember.baddbmm(c, a, b, alpha=0.5),
        [S((1, 5), (2, 3, 4), (2, 4, 5))],
        ref=lambda c, a, b: c + 0.5 * (a @ b),
        torch_ref=lambda t, c, a, b: t.baddbmm(c, a, b, alpha=0.5),
    ),
    OpInfo(
        "addmv",
        ember.addmv,
        [S((3,), (3, 4), (4,))],
        ref=lambda c, a, b: c + a @ b,
        torch_ref=lambda t, c, a, b: t.addmv(c, a, b),
    ),
]


def E(eq, *shapes, name=None, **kw):
    return OpInfo(
        f"einsum[{name or eq}]",
        lambda *ops, _eq=eq: ember.einsum(_eq, *ops),
        [S(*shapes)],
        ref=lambda *ops, _eq=eq: np.einsum(_eq, *ops),
        torch_ref=lambda t, *ops, _eq=eq: t.einsum(_eq, *ops),
        **kw,
    )


EINSUM = [
    E("ij,jk->ik", (3, 4), (4, 5), name="matmul"),
    E("ij,jk", (3, 4), (4, 5), name="implicit"),
    E("bij,bjk->bik", (2, 3, 4), (2, 4, 5), name="bmm"),
    E("ii->i", (3, 3), name="diag"),
    E("ii", (3, 3), name="trace"),
    E("ij->", (3, 4), name="sum"),
    E("ij->ji", (3, 4), name="transpose"),
    E("i,j->ij", (3,), (4,), name="outer"),
    E("ij,ij->i", (3, 4), (3, 4), name="rowdot"),
    E("...ij,...jk->...ik", (2, 3, 4), (4, 5), name="ellipsis_bcast"),
    E("i...->...", (3, 2, 2), name="ellipsis_sum"),
    E("bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 5, 4), name="attention"),
    E("ij,jk,kl->il", (2, 3), (3, 4), (4, 2), name="chain"),
    E("ij,j->i", (3, 1), (4,), name="size1_bcast"),
    E("iij->j", (2, 2, 3), name="diag_partial"),
    OpInfo(
        "einsum_errors",
        lambda *ops: ember.einsum("ij,jk->ik", *ops),
        [],
        errors=[
            ErrorCase(
                (rand(3, 4), rand(5, 6)), exc=ValueError, match="einsum: subscript 'j' has size 5"
            ),
            ErrorCase(
                (rand(3, 4),),
                exc=ValueError,
                match="einsum: equation 'ij,jk->ik' has 2 operands but 1",
            ),
        ],
    ),
    OpInfo(
        "einsum_bad_out",
        lambda a: ember.einsum("ij->k", a),
        [],
        errors=[
            ErrorCase(
                (rand(3, 4),), exc=ValueError, match="einsum: output subscript 'k' does not appear"
            )
        ],
    ),
    OpInfo(
        "einsum_bad_rank",
        lambda a: ember.einsum("ijk->i", a),
        [],
        errors=[
            ErrorCase(
                (rand(3, 4),),
                exc=ValueError,
                match=r"einsum: subscripts 'ijk' do not fit an operand of shape",
            )
        ],
    ),
]

INT_OPS = [
    OpInfo(
        "int_matmul",
        ember.matmul,
        [
            Sample((np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4))),
            Sample((np.arange(3), np.arange(3)), name="dot"),
        ],
        ref=np.matmul,
        torch_ref=lambda t, a, b: t.matmul(a, b),
        grad=False,
    ),
    OpInfo(
        "int_einsum",
        lambda a, b: ember.einsum("ij,jk->ik", a, b),
        [Sample((np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)))],
        ref=lambda a, b: a @ b,
        torch_ref=lambda t, a, b: t.einsum("ij,jk->ik", a, b),
        grad=False,
    ),
    OpInfo(
        "mixed_matmul_promotes",
        ember.matmul,
        [Sample((np.arange(6).reshape(2, 3), rand(3, 4)))],
        ref=np.matmul,
    ),
]


def _np_vector_norm(x, ord=2, dim=None, keepdim=False):
    a = np.abs(x)
    axis = tuple(dim) if isinstance(dim, (list, tuple)) else dim
    if ord == math.inf:
        return a.max(axis=axis, keepdims=keepdim)
    if ord == -math.inf:
        return a.min(axis=axis, keepdims=keepdim)
    if ord == 0:
        return (x != 0).sum(axis=axis, keepdims=keepdim).astype(x.dtype)
    return (a**ord).sum(axis=axis, keepdims=keepdim) ** (1 / ord)


def _np_matrix_norm(x, ord="fro", dim=(-2, -1), keepdim=False):
    out = np.linalg.norm(np.moveaxis(x, dim, (-2, -1)), ord=ord, axis=(-2, -1))
    if keepdim:
        out = np.expand_dims(out, tuple(sorted(d % x.ndim for d in dim)))
    return out


X34 = rand(3, 4)
X234 = rand(2, 3, 4, seed=1)
LINALG = (
    [
        OpInfo(
            f"vector_norm_ord{o}",
            lambda x, _o=o, **k: ember.linalg.vector_norm(x, _o, **k),
            [
                Sample((X34,)),
                Sample((X34,), {"dim": 1}, name="dim"),
                Sample((X234,), {"dim": (0, -1), "keepdim": True}, name="tuple_keepdim"),
            ],
            ref=lambda x, _o=o, **k: _np_vector_norm(x, _o, **k),
            torch_ref=lambda t, x, _o=o, **k: t.linalg.vector_norm(x, _o, **k),
            errors=[
                ErrorCase(
                    (X34,),
                    {"dim": 3},
                    exc=IndexError,
                    match="linalg.vector_norm: dimension out of range",
                )
            ],
        )
        for o in (2, 1, 3, 0.5, math.inf, -math.inf, 0)
    ]
    + [
        OpInfo(
            f"matrix_norm_{o}",
            lambda x, _o=o, **k: ember.linalg.matrix_norm(x, _o, **k),
            [
                Sample((X34,)),
                Sample((X234,), {"dim": (0, 2), "keepdim": True}, name="dims"),
                Sample((X234,), {"dim": (-1, -3)}, name="reversed"),
            ],
            ref=lambda x, _o=o, **k: _np_matrix_norm(x, _o, **k),
            torch_ref=lambda t, x, _o=o, **k: t.linalg.matrix_norm(x, _o, **k),
            errors=[
                ErrorCase(
                    (rand(3),),
                    exc=RuntimeError,
                    match="linalg.matrix_norm: The input tensor A must have at least 2",
                ),
                ErrorCase(
                    (X34,),
                    {"dim": (0, 0)},
                    exc=RuntimeError,
                    match="linalg.matrix_norm: dims must be different",
                ),
            ],
        )
        for o in ("fro", 1, -1, math.inf, -math.inf)
    ]
    + [
        OpInfo(
            "linalg_norm",
            lambda x, **k: ember.linalg.norm(x, **k),
            [
                Sample((X234,), name="flat"),
                Sample((X34,), {"ord": 1}, name="matrix_ord"),
                Sample((X34[0],), {"ord": 3}, name="vector_ord"),
                Sample((X234,), {"dim": 1}, name="dim_int"),
                Sample((X234,), {"dim": (0, 1), "keepdim": True}, name="dim_pair"),
                Sample((X234,), {"ord": math.inf, "dim": (2, 0)}, name="inf_pair"),
                Sample((X234,), {"ord": -1, "dim": (1,)}, name="vector_neg1"),
            ],
            torch_ref=lambda t, x, **k: t.linalg.norm(x, **k),
            errors=[
                ErrorCase(
                    (X234,),
                    {"ord": 2},
                    exc=RuntimeError,
                    match="linalg.norm: If dim is not specified but ord is",
                )
            ],
        ),
    ]
)

globals().update(make_op_tests(OPS + EINSUM + INT_OPS + LINALG))


# ---------------------------------------------------------------------------------------------
# focused tests
# ---------------------------------------------------------------------------------------------
def test_int64_matmul_dtype():
    out = ember.tensor([[1, 2]]) @ ember.tensor([[3], [4]])
    assert out.dtype == ember.int64 and out.tolist() == [[11]]


def test_matmul_batched_weight_grad_sums_over_batch():
    a = ember.tensor(rand(4, 2, 3), requires_grad=True)
    w = ember.tensor(rand(3, 5, seed=1), requires_grad=True)
    (a @ w).sum().backward()
    expected = rand(4, 2, 3).reshape(-1, 3).T @ np.ones((8, 5))
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-6)
    assert a.grad.shape == (4, 2, 3)


def test_matrix_norm_nuc_not_implemented():
    with pytest.raises(NotImplementedError, match="nuc"):
        ember.linalg.matrix_norm(ember.ones(2, 2), "nuc")


@requires_torch
def test_einsum_double_backward_matches_torch():
    a, b = rand(3, 4), rand(4, 5, seed=1)
    ea, eb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (ga,) = ember.autograd.grad(
        (ember.einsum("ij,jk->ik", ea, eb) ** 2).sum(), [ea], create_graph=True
    )
    (tga,) = torch.autograd.grad(
        (torch.einsum("ij,jk->ik", ta, tb) ** 2).sum(), [ta], create_graph=True
    )
    ga.sum().backward()
    tga.sum().backward()
    np.testing.assert_allclose(eb.grad.numpy(), tb.grad.numpy(), rtol=1e-6)


def test_linalg_namespace_exports():
    for name in ("norm", "vector_norm", "matrix_norm"):
        assert callable(getattr(ember.linalg, name))
