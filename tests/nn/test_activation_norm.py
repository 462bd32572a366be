"""Activations, normalisation, dropout and embedding: OpInfo table for the functional ops, then
module behaviour (BatchNorm running stats, dropout reproducibility, Embedding padding grads)."""

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.ops.nn_kernels import softmax_backward
from ember.ops.norm_kernels import layer_norm_backward
from opinfo import ErrorCase, OpInfo, Sample, make_op_tests, rand, requires_torch, torch

X = rand(3, 4)
X3 = rand(2, 3, 4, seed=1)
X4 = rand(2, 3, 2, 2, seed=2)
# values kept away from kinks so finite differences are clean
RM = ember.tensor(rand(4, seed=5))
RV = ember.tensor(rand(4, low=0.5, high=2.0, seed=6))
XK = np.array([[-2.5, -0.7, 0.4, 1.3], [2.2, -1.6, 0.9, -0.3]])


def T(name, samples, tname=None, **kw):
    """An OpInfo for ``F.<name>`` with ``torch.nn.functional.<tname>`` as the oracle."""
    tname = tname or name
    return OpInfo(
        name,
        lambda *a, _n=name, **k: getattr(F, _n)(*a, **k),
        samples,
        torch_ref=lambda t, *a, _n=tname, **k: getattr(t.nn.functional, _n)(*a, **k),
        **kw,
    )


def unary(*kwargs_list, x=XK):
    out = [Sample((x,), name="2d"), Sample((rand(5, seed=3) * 2,), name="1d")]
    for i, kw in enumerate(kwargs_list):
        out.append(Sample((x,), kw, name=f"kw{i}"))
    return out


def _np_softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _np_log_softmax(x, dim):
    s = x - x.max(axis=dim, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=dim, keepdims=True))


def _torch_layer_norm_backward(t, g, x, w):
    """PyTorch's (input, weight, bias) gradients of layer_norm, differentiable again."""
    x = x if x.requires_grad else x.detach().requires_grad_()
    w = w if w.requires_grad else w.detach().requires_grad_()
    b = t.zeros(w.shape, dtype=w.dtype, requires_grad=True)
    y = t.nn.functional.layer_norm(x, [x.shape[-1]], w, b, 1e-5)
    return t.autograd.grad(y, (x, w, b), g, create_graph=True)


ACTIVATIONS = [
    OpInfo(
        "softmax",
        lambda x, **k: F.softmax(x, **k),
        [
            Sample((X,), {"dim": 1}, name="dim1"),
            Sample((X3,), {"dim": 0}, name="dim0"),
            Sample((X3,), {"dim": -1}, name="neg"),
            Sample((np.array(0.3),), {"dim": 0}, name="0d"),
            Sample((X * 300,), {"dim": 1}, name="large"),
        ],
        ref=lambda x, dim: _np_softmax(x, dim) if x.ndim else np.ones(()),
        torch_ref=lambda t, x, **k: t.nn.functional.softmax(x, **k),
        errors=[ErrorCase((X,), {"dim": 2}, IndexError, "softmax: dimension out of range")],
    ),
    OpInfo(
        "log_softmax",
        lambda x, **k: F.log_softmax(x, **k),
        [
            Sample((X,), {"dim": 1}, name="dim1"),
            Sample((X3,), {"dim": 1}, name="3d"),
            Sample((X * 500,), {"dim": 0}, name="large"),
        ],
        ref=lambda x, dim: _np_log_softmax(x, dim),
        torch_ref=lambda t, x, **k: t.nn.functional.log_softmax(x, **k),
        errors=[ErrorCase((X,), {"dim": -3}, IndexError, "log_softmax: dimension out of range")],
    ),
    OpInfo(
        "softmax_backward",
        lambda g, y, dim, scale: softmax_backward(g, y, dim, scale),
        [
            Sample((X, _np_softmax(rand(3, 4, seed=8), 1), 1, 1.0), name="dim1"),
            Sample((X3, _np_softmax(rand(2, 3, 4, seed=9), 0), 0, 0.25), name="scaled"),
        ],
        torch_ref=lambda t, g, y, dim, scale: (
            t.ops.aten._softmax_backward_data(g, y, dim, y.dtype) * scale
        ),
        errors=[ErrorCase((X, X3, 0, 1.0), {}, ValueError, "softmax_backward: grad")],
    ),
    T("softmin", [Sample((X,), {"dim": 1}), Sample((X3,), {"dim": 0}, name="3d")]),
    T("relu6", unary(x=XK * 3)),
    T("leaky_relu", unary({"negative_slope": 0.2})),
    T("elu", unary({"alpha": 0.5})),
    T("selu", unary()),
    T("celu", unary({"alpha": 2.0})),
    T("mish", unary()),
    T("hardswish", unary(x=XK * 2)),
    T("hardsigmoid", unary(x=XK * 2)),
    T("hardtanh", unary({"min_val": -0.5, "max_val": 2.0})),
    T("hardshrink", unary({"lambd": 1.0})),
    T("softshrink", unary({"lambd": 1.0})),
    T("logsigmoid", unary(x=np.concatenate([XK, XK * 40]))),
    T("softsign", unary()),
    T("tanhshrink", unary()),
    T("threshold", [Sample((XK, 0.5, -2.0)), Sample((XK, -1.0, 3.0), name="neg")]),
    T(
        "glu",
        [
            Sample((X,)),
            Sample((X3,), {"dim": 0}, name="dim0"),
            Sample((X4,), {"dim": 2}, name="4d"),
        ],
        errors=[ErrorCase((X3,), {"dim": 1}, RuntimeError, "glu: halving dimension must be even")],
    ),
    T(
        "prelu",
        [
            Sample((X4, np.array([0.1, 0.2, 0.3])), name="channels"),
            Sample((XK, np.array([0.25])), name="shared"),
            Sample((XK, np.array([0.1, -0.2, 0.3, 0.4])), name="2d"),
        ],
        errors=[ErrorCase((X4, np.array([0.1, 0.2])), {}, ValueError, "prelu: weight of 2")],
    ),
]

NORMS = [
    T(
        "layer_norm",
        [
            Sample((X, (4,)), name="plain"),
            Sample((X3, (3, 4), rand(3, 4, seed=5), rand(3, 4, seed=6)), name="affine2d"),
            Sample((X3, [4], rand(4, seed=7)), {"eps": 1e-3}, name="weight_only"),
            Sample((X3, (4,), rand(4, seed=3), rand(4, seed=4)), name="affine_fused"),
        ],
        errors=[
            ErrorCase((X, (3,)), {}, RuntimeError, r"layer_norm: input of shape \(3, 4\)"),
            ErrorCase((X, (4,), rand(3)), {}, RuntimeError, "layer_norm: weight of shape"),
        ],
    ),
    OpInfo(
        "layer_norm_backward",
        lambda g, x, w: layer_norm_backward(g, x, w, 1, 1e-5),
        [
            Sample((rand(3, 4, seed=11), X, rand(4, seed=12)), name="2d"),
            Sample((rand(2, 3, 4, seed=13), X3, rand(4, seed=14)), name="3d"),
        ],
        torch_ref=lambda t, g, x, w: _torch_layer_norm_backward(t, g, x, w),
        errors=[
            ErrorCase((X3, X, rand(4)), {}, ValueError, "layer_norm_backward: grad"),
            ErrorCase((X, X, rand(3)), {}, ValueError, "layer_norm_backward: weight of shape"),
        ],
    ),
    T(
        "group_norm",
        [
            Sample((rand(2, 4, 3, seed=8), 2), name="g2"),
            Sample((rand(2, 4, 2, 2, seed=9), 4, rand(4, seed=1), rand(4, seed=2)), name="affine"),
            Sample((rand(3, 6, seed=10), 3), name="2d"),
        ],
        errors=[ErrorCase((rand(2, 4, 3), 3), {}, RuntimeError, "group_norm: expected the 4")],
    ),
    T(
        "batch_norm",
        [
            Sample((X3, None, None), {"training": True}, name="train3d"),
            Sample(
                (X4, None, None, rand(3, seed=3), rand(3, seed=4)),
                {"training": True},
                name="train4d_affine",
            ),
        ],
        errors=[
            ErrorCase((X, None, None, rand(3)), {}, RuntimeError, "batch_norm: weight of shape"),
            ErrorCase((rand(1, 3), None, None), {"training": True}, ValueError, "more than 1"),
        ],
    ),
    OpInfo(
        "batch_norm_eval",
        lambda x, w, b: F.batch_norm(x, RM.to(x.dtype), RV.to(x.dtype), w, b, training=False),
        [Sample((X, rand(4, seed=7), rand(4, seed=8)))],
        torch_ref=lambda t, x, w, b: t.nn.functional.batch_norm(
            x, t.from_numpy(RM.numpy()).to(x.dtype), t.from_numpy(RV.numpy()).to(x.dtype), w, b
        ),
    ),
    T(
        "instance_norm",
        [Sample((X3,), name="3d"), Sample((X4, None, None, rand(3), rand(3, seed=1)), name="4d")],
    ),
    T(
        "rms_norm",
        [
            Sample((X, (4,)), name="plain"),
            Sample((X3, (4,), rand(4, seed=3)), {"eps": 1e-4}, name="weight"),
            Sample((X3, (3, 4)), name="2dims"),
        ],
        errors=[ErrorCase((X, (3,)), {}, RuntimeError, "rms_norm: input of shape")],
    ),
    T(
        "local_response_norm",
        [Sample((X3, 2), name="s2"), Sample((X4, 3), {"alpha": 0.1, "beta": 0.5, "k": 2.0})],
        noncontiguous=True,
    ),
    T(
        "normalize",
        [Sample((X,)), Sample((X3,), {"p": 1.0, "dim": 0}, name="p1"), Sample((X, 3.0, -1))],
    ),
    T(
        "cosine_similarity",
        [
            Sample((X, rand(3, 4, seed=3))),
            Sample((X3, rand(1, 3, 4, seed=4)), {"dim": -1}, name="broadcast"),
        ],
    ),
    T(
        "pairwise_distance",
        [
            Sample((X, rand(3, 4, seed=3))),
            Sample((X, rand(3, 4, seed=4)), {"p": 1.0, "keepdim": True}, name="p1"),
            Sample((X, rand(4, seed=5)), {"p": 3.0}, name="broadcast"),
        ],
    ),
    OpInfo(
        "embedding",
        lambda i, w, **k: F.embedding(i, w, **k),
        [Sample((np.array([[0, 2], [3, 2]]), rand(4, 3)), name="2d")],
        torch_ref=lambda t, i, w, **k: t.nn.functional.embedding(i, w, **k),
        errors=[
            ErrorCase(
                (np.array([0, 5]), rand(4, 3)), {}, IndexError, "embedding: index 5 is out of range"
            ),
            ErrorCase((rand(2), rand(4, 3)), {}, RuntimeError, "embedding: expected an integer"),
        ],
    ),
    OpInfo(  # the padding row / frequency scaling change the gradient on purpose: no gradcheck
        "embedding_grad_options",
        lambda i, w, **k: F.embedding(i, w, **k),
        [
            Sample((np.array([1, 1, 0]), rand(4, 3, seed=1)), {"padding_idx": 1}, name="pad"),
            Sample((np.array([3, 0, 3]), rand(4, 3, seed=2)), {"padding_idx": -1}, name="negpad"),
            Sample(
                (np.array([2, 2, 0]), rand(4, 3, seed=2)),
                {"scale_grad_by_freq": True},
                name="freq",
            ),
        ],
        torch_ref=lambda t, i, w, **k: t.nn.functional.embedding(i, w, **k),
        gradcheck=False,
    ),
]

globals().update(make_op_tests(ACTIVATIONS + NORMS))


# ---------------------------------------------------------------------------------------------
# kinks and module wrappers
# ---------------------------------------------------------------------------------------------
KINKS = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 6.0])


@requires_torch
@pytest.mark.parametrize(
    "name,kw",
    [
        ("relu6", {}),
        ("leaky_relu", {}),
        ("elu", {}),
        ("hardtanh", {}),
        ("hardsigmoid", {}),
        ("hardswish", {}),
        ("threshold", {"threshold": 1.0, "value": 0.0}),
        ("celu", {}),
    ],
)
def test_subgradients_at_kinks_match_torch(name, kw):
    x = ember.tensor(KINKS, requires_grad=True)
    tx = torch.tensor(KINKS, requires_grad=True)
    getattr(F, name)(x, **kw).sum().backward()
    getattr(torch.nn.functional, name)(tx, **kw).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), err_msg=name)


@requires_torch
@pytest.mark.parametrize(
    "cls,args",
    [
        ("ReLU", ()),
        ("ReLU6", ()),
        ("LeakyReLU", (0.2,)),
        ("ELU", (0.7,)),
        ("SELU", ()),
        ("CELU", (1.5,)),
        ("GELU", ("tanh",)),
        ("GELU", ()),
        ("SiLU", ()),
        ("Mish", ()),
        ("Hardswish", ()),
        ("Hardsigmoid", ()),
        ("Hardtanh", (-2.0, 0.5)),
        ("Tanh", ()),
        ("Sigmoid", ()),
        ("Softmax", (1,)),
        ("LogSoftmax", (0,)),
        ("Softmin", (-1,)),
        ("Softplus", (2.0, 5.0)),
        ("Softsign", ()),
        ("LogSigmoid", ()),
        ("Threshold", (0.1, 9.0)),
        ("GLU", (1,)),
        ("Tanhshrink", ()),
        ("Hardshrink", (0.3,)),
        ("Softshrink", (0.3,)),
    ],
)
def test_activation_modules_match_torch(cls, args):
    m, tm = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    assert repr(m) == repr(tm)
    x = XK.astype(np.float32)
    np.testing.assert_allclose(
        m(ember.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6
    )


@requires_torch
@pytest.mark.parametrize("cls", ["ReLU", "SiLU", "Hardswish", "ELU", "LeakyReLU", "ReLU6"])
def test_inplace_activation_modules(cls):
    x = ember.tensor(XK.astype(np.float32))
    out = getattr(nn, cls)(inplace=True)(x)
    assert out is x
    expected = getattr(torch.nn, cls)()(torch.tensor(XK.astype(np.float32))).numpy()
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-6)


@requires_torch
def test_prelu_module_grads_match_torch():
    m, tm = nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    assert repr(m) == repr(tm)
    x = X4.astype(np.float32)
    m(ember.tensor(x)).sum().backward()
    tm(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-5)


def test_softmax_legacy_implicit_dim_warns_and_is_tensor_method():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(ember.tensor(X))
    np.testing.assert_allclose(y.numpy(), _np_softmax(X, 1), rtol=1e-6)
    np.testing.assert_allclose(ember.tensor(X).log_softmax(0).numpy(), np.log(_np_softmax(X, 0)))
    y = F.softmax(ember.tensor([[1, 2]]), dim=1, dtype=ember.float64)
    assert y.dtype == ember.float64


def test_softmax_rows_of_minus_inf():
    x = ember.tensor([[-np.inf, 0.0], [-np.inf, -np.inf]])
    y = F.softmax(x, 1).numpy()
    np.testing.assert_array_equal(y[0], [0.0, 1.0])
    assert np.isnan(y[1]).all()  # as in PyTorch


# ---------------------------------------------------------------------------------------------
# normalisation modules
# ---------------------------------------------------------------------------------------------
def _copy_params(m, tm):
    with torch.no_grad():
        for (n, p), (tn, tp) in zip(m.named_parameters(), tm.named_parameters()):
            assert n == tn
            tp.copy_(torch.from_numpy(p.detach().numpy()))


@requires_torch
@pytest.mark.parametrize(
    "cls,shape,kw",
    [
        ("BatchNorm1d", (8, 3), {}),
        ("BatchNorm1d", (4, 3, 5), {"momentum": 0.3}),
        ("BatchNorm1d", (6, 3), {"momentum": None}),
        ("BatchNorm2d", (4, 3, 2, 3), {}),
        ("BatchNorm2d", (4, 3, 2, 3), {"affine": False}),
        ("BatchNorm2d", (4, 3, 2, 2), {"track_running_stats": False}),
        ("BatchNorm3d", (2, 3, 2, 2, 2), {"eps": 1e-3}),
    ],
)
def test_batchnorm_running_stats_and_eval_match_torch(cls, shape, kw):
    m, tm = getattr(nn, cls)(3, **kw), getattr(torch.nn, cls)(3, **kw)
    assert repr(m) == repr(tm)
    rng = np.random.default_rng(0)
    if m.affine:
        with ember.no_grad():
            m.weight.copy_(ember.tensor(rng.uniform(0.5, 1.5, 3).astype(np.float32)))
            m.bias.copy_(ember.tensor(rng.uniform(-1, 1, 3).astype(np.float32)))
        _copy_params(m, tm)
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = m(ex), tm(tx)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
        g = rng.standard_normal(shape).astype(np.float32)
        y.backward(ember.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    if m.affine:
        np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-4)
        np.testing.assert_allclose(m.bias.grad.numpy(), tm.bias.grad.numpy(), rtol=1e-4)
    sd, tsd = m.state_dict(), tm.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        np.testing.assert_allclose(sd[k].numpy(), tsd[k].numpy(), rtol=1e-5, atol=1e-6)
    m.eval()
    tm.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(
        m(ember.tensor(x)).detach().numpy(),
        tm(torch.tensor(x)).detach().numpy(),
        rtol=1e-4,
        atol=1e-5,
    )


def test_batchnorm_errors_name_layer_and_shape():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input, got 3D .*\(2, 3, 4\)"):
        nn.BatchNorm2d(3)(ember.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): input of shape \(2, 5\)"):
        nn.BatchNorm1d(3)(ember.zeros(2, 5))


@requires_torch
@pytest.mark.parametrize(
    "make",
    [
        lambda n: n.LayerNorm(4),
        lambda n: n.LayerNorm([3, 4], eps=1e-3),
        lambda n: n.LayerNorm(4, elementwise_affine=False),
        lambda n: n.LayerNorm(4, bias=False),
        lambda n: n.GroupNorm(3, 3),
        lambda n: n.GroupNorm(1, 3, affine=False),
        lambda n: n.RMSNorm(4),
        lambda n: n.RMSNorm([3, 4], eps=1e-5),
        lambda n: n.InstanceNorm1d(3, affine=True),
        lambda n: n.LocalResponseNorm(2),
    ],
)
def test_norm_modules_match_torch(make):
    m, tm = make(nn), make(torch.nn)
    assert repr(m) == repr(tm)
    _copy_params(m, tm)
    x = rand(2, 3, 4, seed=11).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(ex), tm(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    (y * ember.tensor(x)).sum().backward()
    (ty * torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5)


@requires_torch
def test_instance_norm_running_stats_match_torch():
    m = nn.InstanceNorm2d(3, track_running_stats=True)
    tm = torch.nn.InstanceNorm2d(3, track_running_stats=True)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
        m(ember.tensor(x))
        tm(torch.tensor(x))
    np.testing.assert_allclose(m.running_mean.numpy(), tm.running_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(m.running_var.numpy(), tm.running_var.numpy(), rtol=1e-5)
    m.eval()
    tm.eval()
    x = rng.standard_normal((3, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(
        m(ember.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(), rtol=1e-4, atol=1e-5
    )


def test_layer_norm_module_shape_error():
    with pytest.raises(RuntimeError, match=r"LayerNorm: input of shape \(2, 5\) .*\[4\]"):
        nn.LayerNorm(4)(ember.zeros(2, 5))
    with pytest.raises(ValueError, match="GroupNorm: num_channels"):
        nn.GroupNorm(4, 6)


def test_layer_norm_double_backward_through_stats():
    x = ember.tensor(rand(2, 5), requires_grad=True)
    w = ember.tensor(rand(5, seed=1), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda a, b: F.layer_norm(a, (5,), b), (x, w))
    assert ember.autograd.gradgradcheck(lambda a: F.batch_norm(a, None, None, training=True), (x,))


# ---------------------------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------------------------
def test_dropout_reproducible_with_manual_seed_and_scaled():
    x = ember.ones(200, 50)
    ember.manual_seed(123)
    a = F.dropout(x, 0.3)
    ember.manual_seed(123)
    b = nn.Dropout(0.3)(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(np.unique(a.numpy()), [0.0, 1 / 0.7], rtol=1e-6)
    frac = (a.numpy() == 0).mean()
    assert 0.25 < frac < 0.35
    c = F.dropout(x, 0.3)
    assert not np.array_equal(a.numpy(), c.numpy())


def test_dropout_train_eval_and_grad():
    d = nn.Dropout(0.5)
    x = ember.tensor(rand(10, 10), requires_grad=True)
    d.eval()
    assert d(x) is x
    d.train()
    y = d(x)
    y.sum().backward()
    mask = y.detach().numpy() != 0
    assert (y.detach().numpy()[mask] == 2 * x.detach().numpy()[mask]).all()
    np.testing.assert_allclose(x.grad.numpy(), mask * 2.0)
    assert (F.dropout(x, 1.0).detach().numpy() == 0).all()
    assert F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="Dropout: dropout probability"):
        nn.Dropout(-0.1)
    assert repr(nn.Dropout2d(0.2)) == "Dropout2d(p=0.2, inplace=False)"


def test_dropout_inplace():
    x = ember.ones(100)
    ember.manual_seed(0)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy()).tolist()) <= {0.0, 2.0}


@pytest.mark.parametrize(
    "fn,shape,feat",
    [
        (F.dropout1d, (4, 6, 5), 1),
        (F.dropout1d, (6, 5), 1),
        (F.dropout2d, (4, 6, 3, 3), 2),
        (F.dropout2d, (6, 3, 3), 1),
        (F.dropout3d, (2, 6, 2, 2, 2), 3),
    ],
)
def test_channel_dropout_zeroes_whole_channels(fn, shape, feat):
    ember.manual_seed(1)
    y = fn(ember.ones(*shape), 0.5).numpy()
    flat = y.reshape(y.shape[: y.ndim - feat] + (-1,))
    assert ((flat == 0).all(-1) | (flat == 2).all(-1)).all()
    assert (flat == 0).any() and (flat == 2).any()


def test_channel_dropout_rejects_bad_rank():
    with pytest.raises(RuntimeError, match=r"dropout1d: expected 2-D or 3-D input.*\(2, 3, 4, 5\)"):
        F.dropout1d(ember.ones(2, 3, 4, 5))


def test_alpha_dropout_keeps_selu_statistics():
    ember.manual_seed(3)
    x = ember.randn(200000)
    y = nn.AlphaDropout(0.2)(x).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    assert np.allclose(nn.AlphaDropout(0.2).eval()(x).numpy(), x.numpy())


# ---------------------------------------------------------------------------------------------
# embedding
# ---------------------------------------------------------------------------------------------
def test_embedding_default_init_and_padding_row():
    ember.manual_seed(0)
    emb = nn.Embedding(1000, 8, padding_idx=3)
    w = emb.weight.detach().numpy()
    assert (w[3] == 0).all()
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05
    assert repr(emb) == "Embedding(1000, 8, padding_idx=3)"


@requires_torch
def test_embedding_padding_idx_gets_no_gradient():
    w = rand(5, 3).astype(np.float32)
    idx = np.array([[0, 2, 2], [4, 2, 1]])
    emb = nn.Embedding.from_pretrained(ember.tensor(w), freeze=False, padding_idx=2)
    temb = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=False, padding_idx=2)
    emb(ember.tensor(idx)).pow(2).sum().backward()
    temb(torch.tensor(idx)).pow(2).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.numpy(), temb.weight.grad.numpy(), rtol=1e-6)
    assert (emb.weight.grad.numpy()[2] == 0).all()


@requires_torch
def test_embedding_max_norm_renormalises_rows_like_torch():
    w = (rand(5, 3) * 3).astype(np.float32)
    emb = nn.Embedding.from_pretrained(ember.tensor(w), max_norm=1.0)
    temb = torch.nn.Embedding.from_pretrained(torch.tensor(w), max_norm=1.0)
    idx = np.array([0, 3, 3])
    np.testing.assert_allclose(
        emb(ember.tensor(idx)).numpy(), temb(torch.tensor(idx)).numpy(), rtol=1e-5
    )
    np.testing.assert_allclose(emb.weight.numpy(), temb.weight.detach().numpy(), rtol=1e-5)


def test_embedding_from_pretrained_freeze():
    emb = nn.Embedding.from_pretrained(ember.ones(3, 2))
    assert not emb.weight.requires_grad
    assert nn.Embedding.from_pretrained(ember.ones(3, 2), freeze=False).weight.requires_grad
    with pytest.raises(ValueError, match="2-D"):
        nn.Embedding.from_pretrained(ember.ones(3))
