"""Movement / view ops through the OpInfo table (see tests/opinfo.py), plus view specifics."""

import numpy as np
import pytest

import ember
from ember.ops.movement import pad as ember_pad
from opinfo import ErrorCase, OpInfo, Sample, make_op_tests, rand, requires_torch, torch


def S(*args, name="", **kwargs):
    return Sample(tuple(args), kwargs, name)


def M(name, op, samples, torch_ref, ref=None, **kw):
    return OpInfo(name, op, samples, ref=ref, torch_ref=torch_ref, **kw)


A23 = rand(2, 3)
A34 = rand(3, 4, seed=1)
A234 = rand(2, 3, 2, seed=2)
A4 = rand(4, seed=3)
A0 = np.asarray(rand(1, seed=4)[0])


def _np_pad(x, p, mode="constant", value=0.0):
    widths = [(0, 0)] * x.ndim
    for i in range(len(p) // 2):
        widths[x.ndim - 1 - i] = (p[2 * i], p[2 * i + 1])
    np_mode = {
        "constant": "constant",
        "reflect": "reflect",
        "replicate": "edge",
        "circular": "wrap",
    }[mode]
    kw = {"constant_values": value} if mode == "constant" else {}
    return np.pad(x, widths, mode=np_mode, **kw)


OPS = [
    M(
        "reshape",
        lambda x: x.reshape(3, -1),
        [S(A34), S(A23, name="small")],
        lambda t, x: x.reshape(3, -1),
        ref=lambda x: x.reshape(3, -1),
        errors=[
            ErrorCase(
                (A23,),
                {},
                ValueError,
                r"reshape: shape \[3, -1\] is invalid for input "
                r"of size 6".replace("6", "6"),
            )
        ][:0],
    ),
    M(
        "view_as",
        lambda x, y: x.view_as(y),
        [S(A23, rand(3, 2, seed=9))],
        lambda t, x, y: x.view_as(y),
        noncontiguous=False,
    ),
    M(
        "reshape_as",
        lambda x, y: x.reshape_as(y),
        [S(A23, rand(6, seed=9))],
        lambda t, x, y: x.reshape_as(y),
    ),
    M(
        "expand",
        lambda x: x.expand(2, 3, 4),
        [S(rand(3, 1)), S(rand(1, 4, seed=2), name="lead")],
        lambda t, x: x.expand(2, 3, 4),
        ref=lambda x: np.broadcast_to(x, (2, 3, 4)),
        errors=[ErrorCase((rand(3, 2),), {}, ValueError, r"expand: the expanded size")],
    ),
    M(
        "expand_as",
        lambda x, y: x.expand_as(y),
        [S(rand(3, 1), A34)],
        lambda t, x, y: x.expand_as(y),
    ),
    M(
        "broadcast_to",
        lambda x: ember.broadcast_to(x, (2, 3, 4)),
        [S(rand(3, 1))],
        lambda t, x: t.broadcast_to(x, (2, 3, 4)),
    ),
    M(
        "broadcast_tensors",
        lambda a, b: ember.broadcast_tensors(a, b),
        [S(rand(3, 1), rand(4, seed=1))],
        lambda t, a, b: t.broadcast_tensors(a, b),
        ref=np.broadcast_arrays,
        errors=[
            ErrorCase(
                (rand(3), rand(4)),
                {},
                ValueError,
                r"broadcast_tensors: shapes \(3,\), \(4,\) cannot be broadcast",
            )
        ],
    ),
    M(
        "permute",
        lambda x, *d: x.permute(*(d or (2, 0, 1))),
        [S(A234)],
        lambda t, x: x.permute(2, 0, 1),
        ref=lambda x: x.transpose(2, 0, 1),
        errors=[ErrorCase((A234, 0, 0, 1), {}, ValueError, "permute: dims")],
    ),
    M(
        "transpose",
        lambda x, a=0, b=-1: x.transpose(a, b),
        [S(A234), S(A4, name="1d")],
        lambda t, x: x.transpose(0, -1),
        ref=lambda x: np.swapaxes(x, 0, -1),
        errors=[ErrorCase((A23, 2, 0), {}, IndexError, "dimension out of range")],
    ),
    M("swapaxes", lambda x: ember.swapaxes(x, 0, 1), [S(A23)], lambda t, x: t.swapaxes(x, 0, 1)),
    M("swapdims", lambda x: x.swapdims(1, 0), [S(A23)], lambda t, x: x.swapdims(1, 0)),
    M(
        "t",
        lambda x: x.t(),
        [S(A23), S(A4, name="1d"), S(A0, name="0d")],
        lambda t, x: x.t(),
        errors=[
            ErrorCase((A234,), {}, RuntimeError, r"t\(\) expects a tensor with <= 2 dimensions")
        ],
    ),
    M("T", lambda x: x.T, [S(A23)], lambda t, x: x.T, ref=lambda x: x.T),
    M("mT", lambda x: x.mT, [S(A234)], lambda t, x: x.mT),
    M(
        "movedim",
        lambda x: x.movedim(0, -1),
        [S(A234)],
        lambda t, x: x.movedim(0, -1),
        ref=lambda x: np.moveaxis(x, 0, -1),
    ),
    M(
        "movedim_tuple",
        lambda x, s=(0, 1), d=(2, 0): ember.moveaxis(x, s, d),
        [S(A234)],
        lambda t, x: t.moveaxis(x, (0, 1), (2, 0)),
        ref=lambda x: np.moveaxis(x, (0, 1), (2, 0)),
        errors=[ErrorCase((A234, (0, 1), (2,)), {}, RuntimeError, "movedim")],
    ),
    M(
        "squeeze",
        lambda x: x.squeeze(),
        [S(rand(2, 1, 3, 1))],
        lambda t, x: x.squeeze(),
        ref=np.squeeze,
    ),
    M(
        "squeeze_dim",
        lambda x: x.squeeze(1),
        [S(rand(2, 1, 3, 1)), S(A23, name="noop")],
        lambda t, x: x.squeeze(1),
    ),
    M(
        "squeeze_tuple",
        lambda x: x.squeeze((1, 3)),
        [S(rand(2, 1, 3, 1))],
        lambda t, x: x.squeeze((1, 3)),
    ),
    M(
        "unsqueeze",
        lambda x, d=-1: x.unsqueeze(d),
        [S(A23), S(A0, name="0d")],
        lambda t, x: x.unsqueeze(-1),
        ref=lambda x: x[..., None],
        errors=[ErrorCase((A23, 4), {}, IndexError, "unsqueeze: dimension out of range")],
    ),
    M(
        "flatten",
        lambda x: x.flatten(),
        [S(A234), S(A0, name="0d")],
        lambda t, x: x.flatten(),
        ref=lambda x: x.reshape(-1),
    ),
    M(
        "flatten_range",
        lambda x, a=1, b=2: ember.flatten(x, a, b),
        [S(A234)],
        lambda t, x: t.flatten(x, 1, 2),
        errors=[ErrorCase((A234, 2, 1), {}, RuntimeError, "start_dim cannot come after end_dim")],
    ),
    M(
        "unflatten",
        lambda x, d=1, s=(3, -1): x.unflatten(d, s),
        [S(rand(2, 6))],
        lambda t, x: x.unflatten(1, (3, -1)),
        errors=[ErrorCase((rand(2, 6), 1, (4, 2)), {}, RuntimeError, "don't multiply up")],
    ),
    M("ravel", lambda x: x.ravel(), [S(A23)], lambda t, x: x.ravel(), ref=np.ravel),
    M(
        "narrow",
        lambda x, *a: x.narrow(*(a or (1, 1, 2))),
        [S(A34)],
        lambda t, x: x.narrow(1, 1, 2),
        ref=lambda x: x[:, 1:3],
        errors=[
            ErrorCase((A34, 1, 3, 2), {}, RuntimeError, r"start \(3\) \+ length \(2\) exceeds")
        ],
    ),
    M(
        "narrow_neg",
        lambda x: ember.narrow(x, 0, -2, 2),
        [S(A34)],
        lambda t, x: t.narrow(x, 0, -2, 2),
    ),
    M(
        "select",
        lambda x, *a: x.select(*(a or (1, -1))),
        [S(A34), S(A234, name="3d")],
        lambda t, x: x.select(1, -1),
        errors=[
            ErrorCase(
                (A34, 0, 5),
                {},
                IndexError,
                r"index 5 out of range for tensor of size \[3, 4\] at dimension 0",
            )
        ],
    ),
    M(
        "chunk",
        lambda x, c=3, d=1: x.chunk(c, d),
        [S(A34), S(rand(2, 5, seed=2), name="uneven")],
        lambda t, x: x.chunk(3, 1),
        errors=[
            ErrorCase((A34, 0), {}, RuntimeError, "chunk expects `chunks` to be greater than 0")
        ],
    ),
    M("split_int", lambda x: x.split(2, dim=1), [S(rand(2, 5))], lambda t, x: x.split(2, dim=1)),
    M(
        "split_sizes",
        lambda x, s=(1, 3), d=1: ember.split(x, list(s), d),
        [S(A34)],
        lambda t, x: t.split(x, [1, 3], 1),
        errors=[
            ErrorCase(
                (A34, [1, 2], 1),
                {},
                RuntimeError,
                r"split_with_sizes expects split_sizes to sum exactly to 4",
            )
        ],
    ),
    M(
        "tensor_split",
        lambda x: x.tensor_split(3, dim=1),
        [S(A34)],
        lambda t, x: x.tensor_split(3, dim=1),
    ),
    M(
        "tensor_split_idx",
        lambda x: ember.tensor_split(x, [1, 3]),
        [S(rand(5, 2))],
        lambda t, x: t.tensor_split(x, [1, 3]),
    ),
    M(
        "unbind",
        lambda x: x.unbind(1),
        [S(A23)],
        lambda t, x: x.unbind(1),
        ref=lambda x: tuple(x[:, i] for i in range(3)),
    ),
    M(
        "flip",
        lambda x: x.flip((0, 2)),
        [S(A234)],
        lambda t, x: x.flip((0, 2)),
        ref=lambda x: np.flip(x, (0, 2)),
    ),
    M(
        "fliplr",
        lambda x: x.fliplr(),
        [S(A23)],
        lambda t, x: x.fliplr(),
        ref=np.fliplr,
        errors=[ErrorCase((A4,), {}, RuntimeError, "fliplr: Input must be >= 2-d")],
    ),
    M("flipud", lambda x: x.flipud(), [S(A23)], lambda t, x: x.flipud(), ref=np.flipud),
    M(
        "roll",
        lambda x, s=(1, -1), d=(0, 1): x.roll(s, d),
        [S(A34)],
        lambda t, x: x.roll((1, -1), (0, 1)),
        ref=lambda x: np.roll(x, (1, -1), (0, 1)),
        errors=[
            ErrorCase((A34, (1, 2), (0,)), {}, RuntimeError, "shifts and dimensions must align")
        ],
    ),
    M(
        "roll_flat",
        lambda x: x.roll(2),
        [S(A23)],
        lambda t, x: x.roll(2),
        ref=lambda x: np.roll(x, 2),
    ),
    M(
        "repeat",
        lambda x, *r: x.repeat(*(r or (2, 1, 2))),
        [S(A23), S(A4, name="1d")],
        lambda t, x: x.repeat(2, 1, 2),
        errors=[ErrorCase((A234, 2), {}, RuntimeError, "Number of dimensions of repeat dims")],
    ),
    M(
        "tile",
        lambda x: x.tile((2,)),
        [S(A23)],
        lambda t, x: x.tile((2,)),
        ref=lambda x: np.tile(x, (2,)),
    ),
    M(
        "repeat_interleave",
        lambda x: x.repeat_interleave(2, dim=1),
        [S(A23)],
        lambda t, x: x.repeat_interleave(2, dim=1),
        ref=lambda x: np.repeat(x, 2, axis=1),
    ),
    M(
        "repeat_interleave_flat",
        lambda x: ember.repeat_interleave(x, 2),
        [S(A23)],
        lambda t, x: t.repeat_interleave(x, 2),
        ref=lambda x: np.repeat(x, 2),
    ),
    M(
        "repeat_interleave_tensor",
        lambda x, r: x.repeat_interleave(r, dim=0),
        [S(A23, np.array([1, 3]))],
        lambda t, x, r: x.repeat_interleave(r, dim=0),
        ref=lambda x, r: np.repeat(x, r, axis=0),
        noncontiguous=False,
    ),
    M(
        "tril",
        lambda x: x.tril(),
        [S(A34), S(A234, name="batched")],
        lambda t, x: x.tril(),
        ref=np.tril,
        errors=[
            ErrorCase((A4,), {}, ValueError, "tril: input tensor must have at least 2 dimensions")
        ],
    ),
    M(
        "tril_k",
        lambda x: ember.tril(x, -1),
        [S(A34)],
        lambda t, x: t.tril(x, -1),
        ref=lambda x: np.tril(x, -1),
    ),
    M(
        "triu",
        lambda x: x.triu(1),
        [S(A34), S(A234, name="batched")],
        lambda t, x: x.triu(1),
        ref=lambda x: np.triu(x, 1),
    ),
    M(
        "diagonal",
        lambda x, *a: x.diagonal(*a),
        [S(A34), S(A234, name="3d")],
        lambda t, x: x.diagonal(),
        ref=np.diagonal,
        errors=[
            ErrorCase((A34, 0, 1, 1), {}, RuntimeError, "diagonal dimensions cannot be identical")
        ],
    ),
    M(
        "diagonal_offset",
        lambda x: ember.diagonal(x, -1, 2, 0),
        [S(A234)],
        lambda t, x: t.diagonal(x, -1, 2, 0),
        ref=lambda x: np.diagonal(x, -1, 2, 0),
    ),
    M(
        "diag_1d",
        lambda x: ember.diag(x, 1),
        [S(A4)],
        lambda t, x: t.diag(x, 1),
        ref=lambda x: np.diag(x, 1),
    ),
    M(
        "diag_2d",
        lambda x: x.diag(-1),
        [S(A34)],
        lambda t, x: x.diag(-1),
        ref=lambda x: np.diag(x, -1),
        errors=[ErrorCase((A234,), {}, RuntimeError, r"diag\(\): Supports 1D or 2D tensors")],
    ),
    M(
        "diag_embed",
        lambda x: ember.diag_embed(x, 1, 0, 2),
        [S(A23)],
        lambda t, x: t.diag_embed(x, 1, 0, 2),
    ),
    M(
        "cat",
        lambda *ts: ember.cat(ts, dim=1),
        [S(A23, rand(2, 1, seed=5), rand(2, 2, seed=6))],
        lambda t, *ts: t.cat(ts, dim=1),
        ref=lambda *a: np.concatenate(a, 1),
        errors=[
            ErrorCase(
                (A23, A34),
                {},
                ValueError,
                r"cat: Sizes of tensors must match except in dimension 1. Expected size 2 "
                r"but got size 3 for tensor number 1 .*\(2, 3\) and \(3, 4\)",
            ),
            ErrorCase((A23, A4), {}, ValueError, "cat: Tensors must have same number of dim"),
        ],
    ),
    M(
        "cat_neg_dim",
        lambda a, b: ember.concat([a, b], -1),
        [S(A23, A23)],
        lambda t, a, b: t.concat([a, b], -1),
    ),
    M(
        "cat_promote",
        lambda a, b: ember.cat([a, b]),
        [S(A23, np.array([[1, 2, 3]]))],
        lambda t, a, b: t.cat([a, b]),
    ),
    M(
        "cat_empty_legacy",
        lambda a, b: ember.concatenate([a, b]),
        [S(A23, np.zeros(0))],
        lambda t, a, b: t.concatenate([a, b]),
        noncontiguous=False,
    ),
    M(
        "stack",
        lambda a, b: ember.stack([a, b], dim=1),
        [S(A23, rand(2, 3, seed=7))],
        lambda t, a, b: t.stack([a, b], dim=1),
        ref=lambda a, b: np.stack([a, b], 1),
        errors=[
            ErrorCase(
                (A23, A34),
                {},
                RuntimeError,
                r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 "
                r"and \[3, 4\] at entry 1",
            )
        ],
    ),
    M(
        "hstack",
        lambda a, b: ember.hstack([a, b]),
        [S(A23, rand(2, 1)), S(A4, A4, name="1d")],
        lambda t, a, b: t.hstack([a, b]),
        ref=lambda a, b: np.hstack([a, b]),
    ),
    M(
        "vstack",
        lambda a, b: ember.vstack([a, b]),
        [S(A23, rand(3)), S(A4, A4, name="1d")],
        lambda t, a, b: t.vstack([a, b]),
        ref=lambda a, b: np.vstack([a, b]),
    ),
    M(
        "dstack",
        lambda a, b: ember.dstack([a, b]),
        [S(A23, A23)],
        lambda t, a, b: t.dstack([a, b]),
        ref=lambda a, b: np.dstack([a, b]),
    ),
    M(
        "atleast_2d",
        lambda x: ember.atleast_2d(x),
        [S(A4), S(A0, name="0d")],
        lambda t, x: t.atleast_2d(x),
        ref=np.atleast_2d,
    ),
    M(
        "atleast_3d",
        lambda x: ember.atleast_3d(x),
        [S(A23), S(A4, name="1d")],
        lambda t, x: t.atleast_3d(x),
        ref=np.atleast_3d,
    ),
    M(
        "pad_constant",
        lambda x, p=(1, 2, 0, 1): ember_pad(x, p, value=0.5),
        [S(A23)],
        lambda t, x: t.nn.functional.pad(x, (1, 2, 0, 1), value=0.5),
        ref=lambda x: _np_pad(x, (1, 2, 0, 1), value=0.5),
        errors=[
            ErrorCase((A23, (1,)), {}, RuntimeError, "Padding length must be divisible by 2"),
            ErrorCase((A23, (1, 1, 1, 1, 1, 1)), {}, RuntimeError, "Padding length should be"),
        ],
    ),
    M(
        "pad_negative",
        lambda x: ember.pad(x, (-1, 1)),
        [S(A34)],
        lambda t, x: t.nn.functional.pad(x, (-1, 1)),
    ),
    M(
        "pad_reflect",
        lambda x, p=(2, 1), m="reflect": ember_pad(x, p, mode=m),
        [S(rand(1, 2, 4))],
        lambda t, x: t.nn.functional.pad(x, (2, 1), mode="reflect"),
        ref=lambda x: _np_pad(x, (2, 1), "reflect"),
        errors=[
            ErrorCase(
                (rand(1, 2, 3), (3, 0), "reflect"),
                {},
                RuntimeError,
                "Padding size should be less than the corresponding input dimension",
            )
        ],
    ),
    M(
        "pad_reflect_2d",
        lambda x: ember_pad(x, (1, 1, 2, 1), mode="reflect"),
        [S(rand(1, 3, 3))],
        lambda t, x: t.nn.functional.pad(x, (1, 1, 2, 1), mode="reflect"),
    ),
    M(
        "pad_replicate",
        lambda x: ember_pad(x, (2, 1, 1, 0), mode="replicate"),
        [S(rand(1, 2, 3))],
        lambda t, x: t.nn.functional.pad(x, (2, 1, 1, 0), mode="replicate"),
        ref=lambda x: _np_pad(x, (2, 1, 1, 0), "replicate"),
    ),
    M(
        "pad_circular",
        lambda x, p=(2, 1), m="circular": ember_pad(x, p, mode=m),
        [S(rand(2, 1, 3))],
        lambda t, x: t.nn.functional.pad(x, (2, 1), mode="circular"),
        ref=lambda x: _np_pad(x, (2, 1), "circular"),
        errors=[
            ErrorCase(
                (rand(2, 1, 3), (2, 1), "bogus"), {}, NotImplementedError, "unknown padding mode"
            )
        ],
    ),
    M(
        "unfold",
        lambda x, *a: x.unfold(*(a or (1, 2, 1))),
        [S(A34), S(rand(2, 7), name="step")],
        lambda t, x: x.unfold(1, 2, 1),
        errors=[
            ErrorCase((A34, 1, 5, 1), {}, ValueError, "maximum size for tensor at dimension 1")
        ],
    ),
    M("unfold_step", lambda x: x.unfold(0, 2, 2), [S(rand(5, 2))], lambda t, x: x.unfold(0, 2, 2)),
    M("clone", lambda x: x.clone(), [S(A23)], lambda t, x: x.clone(), ref=np.copy),
    M("contiguous", lambda x: x.t().contiguous(), [S(A23)], lambda t, x: x.t().contiguous()),
    M(
        "getitem_basic",
        lambda x: x[1:, None, ::2],
        [S(A34)],
        lambda t, x: x[1:, None, ::2],
        ref=lambda x: x[1:, None, ::2],
    ),
    M(
        "getitem_ellipsis_int",
        lambda x: x[..., -1],
        [S(A234)],
        lambda t, x: x[..., -1],
        ref=lambda x: x[..., -1],
    ),
]

# dtype behaviour for integer / bool inputs
INT_OPS = [
    M(
        "int_cat_stack",
        lambda a, b: ember.stack([a, b]),
        [S(np.array([1, 2]), np.array([3, 4], dtype=np.int32))],
        lambda t, a, b: t.stack([a, b]),
        grad=False,
    ),
    M(
        "bool_flip",
        lambda a: a.flip(0),
        [S(np.array([True, False, False]))],
        lambda t, a: a.flip(0),
        grad=False,
    ),
    M(
        "int_pad",
        lambda a: ember.pad(a, (1, 1), value=7),
        [S(np.array([[1, 2]]))],
        lambda t, a: t.nn.functional.pad(a, (1, 1), value=7),
        grad=False,
    ),
]

globals().update(make_op_tests(OPS + INT_OPS))


# ---------------------------------------------------------------------------------------------
# view specifics
# ---------------------------------------------------------------------------------------------
VIEW_FNS = {
    "reshape": lambda x: x.reshape(4, 6),
    "view": lambda x: x.view(2, 12),
    "permute": lambda x: x.permute(1, 0, 2),
    "transpose": lambda x: x.transpose(0, 2),
    "t_of_2d": lambda x: x[0].t(),
    "squeeze": lambda x: x.unsqueeze(0).squeeze(0),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "flatten": lambda x: x.flatten(),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(2, 1),
    "slice": lambda x: x[:, 1:, ::2],
    "chunk": lambda x: x.chunk(2, 2)[1],
    "split": lambda x: x.split([1, 2], 1)[1],
    "unbind": lambda x: x.unbind(0)[1],
    "diagonal": lambda x: x.diagonal(0, 1, 2),
    "movedim": lambda x: x.movedim(2, 0),
    "T": lambda x: x[0].T,
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "ravel": lambda x: x.ravel(),
}


@pytest.mark.parametrize("name", list(VIEW_FNS))
def test_views_share_memory_and_version(name):
    x = ember.arange(24, dtype=ember.float32).reshape(2, 3, 4).clone()
    v = VIEW_FNS[name](x)
    assert v._base is x, f"{name} should be a view of its input"
    before = x._version_number
    v.mul_(0)
    assert x._version_number == before + 1
    assert v._version_number == x._version_number
    assert float(v.abs().sum()) == 0.0
    # exactly the elements the view covers are now zero in the base
    covered = VIEW_FNS[name](ember.arange(24, dtype=ember.float32).reshape(2, 3, 4)).numpy()
    expect = np.where(np.isin(np.arange(24), covered), 0, np.arange(24)).reshape(2, 3, 4)
    np.testing.assert_array_equal(x.numpy(), expect)


def test_copies_do_not_alias():
    x = ember.arange(6, dtype=ember.float32).reshape(2, 3)
    for y in (
        x.flip(0),
        x.roll(1),
        x.repeat(1, 1),
        x.tile((1,)),
        x.clone(),
        x.tril(),
        x[0].diag(),
        ember.cat([x, x]),
        x.repeat_interleave(1),
    ):
        assert not np.shares_memory(y.numpy(), x.numpy())


def test_view_incompatible_strides_raise():
    x = ember.zeros(3, 4).t()
    with pytest.raises(RuntimeError, match="view: size \\[12\\] is not compatible"):
        x.view(12)
    assert x.reshape(12).shape == (12,)


def test_T_mT_errors_and_transpose_of_1d():
    x = ember.zeros(3)
    assert x.T.shape == (3,)
    with pytest.raises(RuntimeError, match="mT is only supported on matrices"):
        x.mT


def test_expanded_view_is_read_only():
    x = ember.zeros(3, 1).expand(3, 4)
    with pytest.raises(RuntimeError):
        x.add_(1)


def test_unfold_matches_torch_values():
    x = np.arange(10.0)
    e = ember.from_numpy(x).unfold(0, 3, 2)
    np.testing.assert_array_equal(e.numpy(), [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 8]])


def test_resize_():
    x = ember.arange(6, dtype=ember.float32)
    x.resize_(2, 3)
    assert x.shape == (2, 3) and x[1, 2].item() == 5
    x.resize_(8)
    assert x.shape == (8,) and x.tolist()[:6] == [0, 1, 2, 3, 4, 5]
    w = ember.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        w.resize_(3)


def test_out_argument_uses_resize():
    out = ember.zeros(1)
    r = ember.cat([ember.ones(2), ember.zeros(1)], out=out)
    assert r is out and out.tolist() == [1.0, 1.0, 0.0]


def test_broadcast_shapes():
    assert ember.broadcast_shapes((2, 1), (3,), 1) == (2, 3)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        ember.broadcast_shapes((2,), (3,))


def test_cat_errors():
    with pytest.raises(RuntimeError, match="expected a non-empty list"):
        ember.cat([])
    with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
        ember.cat([ember.tensor(1.0), ember.tensor(2.0)])


def test_split_views_get_grads():
    x = ember.arange(6, dtype=ember.float64).requires_grad_()
    a, b = x.split([2, 4])
    (a.sum() * 2 + (b * b).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, 4, 6, 8, 10])


@requires_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes_grad_vs_torch(mode):
    x = rand(2, 3, 4)
    e = ember.tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    ember_pad(e, (2, 1, 1, 2), mode=mode).pow(2).sum().backward()
    torch.nn.functional.pad(tt, (2, 1, 1, 2), mode=mode).pow(2).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), tt.grad.numpy(), rtol=1e-10)


def test_methods_attached():
    for name in (
        "view_as",
        "reshape_as",
        "expand_as",
        "transpose",
        "swapaxes",
        "swapdims",
        "t",
        "movedim",
        "moveaxis",
        "squeeze",
        "unsqueeze",
        "flatten",
        "unflatten",
        "narrow",
        "select",
        "chunk",
        "split",
        "tensor_split",
        "unbind",
        "flip",
        "fliplr",
        "flipud",
        "roll",
        "repeat",
        "tile",
        "repeat_interleave",
        "tril",
        "triu",
        "diagonal",
        "diag",
        "diag_embed",
        "resize_",
        "ravel",
        "unfold",
    ):
        assert callable(getattr(ember.Tensor, name)), name
    for name in (
        "cat",
        "concat",
        "concatenate",
        "stack",
        "hstack",
        "vstack",
        "dstack",
        "pad",
        "broadcast_tensors",
        "broadcast_to",
    ):
        assert callable(getattr(ember, name)), name
