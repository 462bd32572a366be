"""Loss functions and modules against PyTorch: every option, gradients, errors."""

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from opinfo import ErrorCase, OpInfo, Sample, make_op_tests, rand, requires_torch, torch

LOGITS = rand(5, 4)
IDX = np.array([0, 3, 1, 2, 3])
IDX_IGN = np.array([0, -100, 1, 2, -100])
W4 = rand(4, low=0.2, high=1.5, seed=3)
PROBS = np.random.default_rng(4).dirichlet(np.ones(4), 5)
LOG3 = rand(2, 4, 3, seed=5)
IDX3 = np.array([[0, 1, 3], [2, -100, 1]])
Y = rand(3, 4, seed=6)
P01 = rand(3, 4, low=0.05, high=0.95, seed=7)
T01 = rand(3, 4, low=0.0, high=1.0, seed=8)
SIGNS = np.array([1.0, -1.0, 1.0])


def _kw(k, like, make):
    """Array keyword arguments (weight, pos_weight) as tensors of the input's dtype."""
    dt = str(like.dtype).split(".")[-1]
    return {n: make(v.astype(dt)) if isinstance(v, np.ndarray) else v for n, v in k.items()}


def T(name, samples, **kw):
    return OpInfo(
        name,
        lambda *a, _n=name, **k: getattr(F, _n)(*a, **_kw(k, a[0], ember.tensor)),
        samples,
        torch_ref=lambda t, *a, _n=name, **k: getattr(t.nn.functional, _n)(
            *a, **_kw(k, a[0], t.tensor)
        ),
        **kw,
    )


def reductions(args, extra=None, name=""):
    out = []
    for red in ("mean", "sum", "none"):
        kw = dict(extra or {}, reduction=red)
        out.append(Sample(args, kw, name=f"{name}{red}"))
    return out


CE_SAMPLES = (
    reductions((LOGITS, IDX))
    + reductions((LOGITS, IDX_IGN), {"weight": W4}, name="w_ign_")
    + reductions((LOGITS, IDX), {"label_smoothing": 0.2}, name="ls_")
    + reductions((LOGITS, IDX_IGN), {"weight": W4, "label_smoothing": 0.1}, name="w_ls_")
    + reductions((LOG3, IDX3), name="kdim_")
    + reductions(
        (LOG3, IDX3), {"weight": rand(4, low=0.5, high=2, seed=1), "label_smoothing": 0.3}, "kw_"
    )
    + reductions((LOGITS, PROBS), name="probs_")
    + reductions((LOGITS, PROBS), {"weight": W4, "label_smoothing": 0.1}, name="probs_w_ls_")
    + [
        Sample((LOGITS, IDX), {"ignore_index": 1}, name="ign1"),
        Sample((rand(4, seed=9), np.array(2)), name="unbatched"),
        Sample((LOGITS * 200, IDX), name="large"),
    ]
)

LOSSES = [
    T(
        "cross_entropy",
        CE_SAMPLES,
        int_args=(),
        errors=[
            ErrorCase(
                (rand(8, 10), np.arange(7)),
                {},
                ValueError,
                r"cross_entropy: input of shape \(8, 10\) and target of shape \(7,\).*batch sizes",
            ),
            ErrorCase((LOGITS, np.array([0, 1, 4, 0, 1])), {}, IndexError, "target 4 is out of"),
            ErrorCase((LOGITS, IDX), {"reduction": "avg"}, ValueError, "not a valid value"),
            ErrorCase((LOGITS, IDX, rand(3)), {}, ValueError, r"weight of shape \(3,\)"),
        ],
    ),
    T(
        "nll_loss",
        reductions((LOGITS, IDX))
        + reductions((LOGITS, IDX_IGN), {"weight": W4}, name="w_ign_")
        + reductions((LOG3, IDX3), name="kdim_")
        + [Sample((rand(4), np.array(1)), name="unbatched")],
        errors=[
            ErrorCase((LOGITS, np.array([0, 1, -3, 0, 1])), {}, IndexError, "target -3 is out"),
            ErrorCase((LOGITS, IDX[:3]), {}, ValueError, "nll_loss: input of shape"),
        ],
    ),
    T("mse_loss", reductions((LOGITS[:3], Y[:, :4]))),
    T("l1_loss", reductions((LOGITS[:3], Y[:, :4]))),
    T(
        "smooth_l1_loss",
        reductions((LOGITS[:3] * 2, Y), {"beta": 0.5}) + [Sample((LOGITS[:3], Y), {"beta": 0.0})],
    ),
    T("huber_loss", reductions((LOGITS[:3] * 2, Y), {"delta": 0.7})),
    T(
        "binary_cross_entropy",
        reductions((P01, T01))
        + [Sample((P01, T01), {"weight": rand(3, 4, low=0.1, high=1, seed=2)})],
        errors=[
            ErrorCase((P01, T01[:2]), {}, ValueError, "binary_cross_entropy: target of shape"),
            ErrorCase((P01 + 1, T01), {}, RuntimeError, "between 0 and 1"),
        ],
    ),
    T(
        "binary_cross_entropy_with_logits",
        reductions((Y * 10, T01))
        + reductions((Y, T01), {"pos_weight": rand(4, low=0.5, high=3, seed=3)}, name="pw_")
        + [
            Sample(
                (Y, T01),
                {"weight": rand(4, low=0.1, high=1, seed=4), "pos_weight": W4},
                name="both",
            )
        ],
    ),
    T(
        "kl_div",
        reductions((np.log(PROBS), PROBS[::-1].copy()))
        + [
            Sample((np.log(PROBS), PROBS[::-1].copy()), {"reduction": "batchmean"}, name="bm"),
            Sample(
                (np.log(PROBS), np.log(PROBS[::-1])),
                {"reduction": "batchmean", "log_target": True},
                name="logt",
            ),
        ],
    ),
    T(
        "cosine_embedding_loss",
        reductions((Y, rand(3, 4, seed=11)), {"target": SIGNS, "margin": 0.2})
        + [Sample((Y[0], Y[1]), {"target": np.array(-1.0)}, name="unbatched")],
        errors=[ErrorCase((Y, Y, SIGNS[:2]), {}, RuntimeError, "cosine_embedding_loss: inputs")],
    ),
    T("margin_ranking_loss", reductions((Y[:, 0], Y[:, 1]), {"target": SIGNS, "margin": 0.3})),
    T(
        "triplet_margin_loss",
        reductions((Y, rand(3, 4, seed=12), rand(3, 4, seed=13)))
        + [Sample((Y, rand(3, 4, seed=12), rand(3, 4, seed=13)), {"swap": True, "p": 1.0})],
    ),
    T("hinge_embedding_loss", reductions((Y,), {"target": np.sign(T01 - 0.5), "margin": 0.5})),
    T("soft_margin_loss", reductions((Y,), {"target": np.sign(T01 - 0.5)})),
    T(
        "multilabel_soft_margin_loss",
        reductions((Y, np.round(T01)))
        + [Sample((Y, np.round(T01)), {"weight": rand(4, seed=3)}, name="w")],
    ),
    T("poisson_nll_loss", reductions((Y, T01 * 3)) + [Sample((P01, T01 * 3, False, True))]),
    T("gaussian_nll_loss", reductions((Y, T01, P01))),
]

globals().update(make_op_tests(LOSSES))


# ---------------------------------------------------------------------------------------------
# CTC
# ---------------------------------------------------------------------------------------------
def _ctc_case():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((10, 3, 5))
    targets = np.array([[1, 2, 2, 4], [3, 1, 0, 0], [4, 4, 1, 2]])
    return logits, targets, [10, 8, 9], [4, 2, 3]


@requires_torch
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("concat", [False, True])
def test_ctc_loss_matches_torch(reduction, concat):
    logits, targets, il, tl = _ctc_case()
    tg = np.concatenate([t[:n] for t, n in zip(targets, tl)]) if concat else targets
    x, tx = ember.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    loss = F.ctc_loss(F.log_softmax(x, 2), ember.tensor(tg), il, tl, reduction=reduction)
    tloss = torch.nn.functional.ctc_loss(
        tx.log_softmax(2), torch.tensor(tg), torch.tensor(il), torch.tensor(tl), reduction=reduction
    )
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=1e-10)
    g = np.random.default_rng(1).standard_normal(tuple(tloss.shape))
    (gx,) = ember.autograd.grad(loss, x, ember.tensor(g))
    (tgx,) = torch.autograd.grad(tloss, tx, torch.tensor(g))
    np.testing.assert_allclose(gx.numpy(), tgx.numpy(), rtol=1e-8, atol=1e-12)


def test_ctc_loss_gradcheck_and_zero_infinity():
    logits, targets, il, tl = _ctc_case()
    lp = ember.tensor(logits[:6, :2], requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a: F.ctc_loss(F.log_softmax(a, 2), ember.tensor(targets[:2]), [6, 5], [3, 2]),
        (lp,),
    )
    impossible = F.log_softmax(ember.tensor(logits[:2, :1]), 2)
    tg = ember.tensor([[1, 1]])
    assert np.isinf(F.ctc_loss(impossible, tg, [2], [2], reduction="sum").item())
    z = ember.tensor(impossible.numpy(), requires_grad=True)
    loss = nn.CTCLoss(zero_infinity=True)(z, tg, [2], [2])
    loss.backward()
    assert loss.item() == 0 and (z.grad.numpy() == 0).all()


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
MODULE_CASES = [
    ("CrossEntropyLoss", {}, (LOGITS, IDX)),
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "ignore_index": 2}, (LOGITS, IDX)),
    ("CrossEntropyLoss", {"weight": W4, "reduction": "sum"}, (LOGITS, IDX)),
    ("NLLLoss", {"weight": W4, "ignore_index": 3}, (LOGITS, IDX)),
    ("MSELoss", {"reduction": "sum"}, (Y, T01)),
    ("L1Loss", {}, (Y, T01)),
    ("SmoothL1Loss", {"beta": 0.3}, (Y, T01)),
    ("HuberLoss", {"delta": 0.4, "reduction": "none"}, (Y, T01)),
    ("BCELoss", {"weight": rand(4, low=0.1, high=1, seed=1)}, (P01, T01)),
    ("BCEWithLogitsLoss", {"pos_weight": W4}, (Y, T01)),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, (np.log(PROBS), np.log(PROBS))),
    ("CosineEmbeddingLoss", {"margin": 0.1}, (Y, T01, SIGNS)),
    ("MarginRankingLoss", {"margin": 0.5}, (Y[:, 0], Y[:, 1], SIGNS)),
    ("TripletMarginLoss", {"margin": 2.0, "swap": True}, (Y, T01, P01)),
    ("HingeEmbeddingLoss", {"margin": 2.0}, (Y, np.sign(T01 - 0.5))),
    ("SoftMarginLoss", {}, (Y, np.sign(T01 - 0.5))),
    ("MultiLabelSoftMarginLoss", {}, (Y, np.round(T01))),
    ("PoissonNLLLoss", {"log_input": False}, (P01, T01)),
    ("MSELoss", {"size_average": False}, (Y, T01)),
    ("L1Loss", {"reduce": False}, (Y, T01)),
]


@requires_torch
@pytest.mark.parametrize("cls,kw,args", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_loss_modules_match_torch(cls, kw, args):
    ekw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    m, tm = getattr(nn, cls)(**ekw), getattr(torch.nn, cls)(**tkw)
    assert repr(m).startswith(cls + "(")  # ember shows the non-default options; torch shows none
    ins = [
        ember.tensor(a, requires_grad=a.dtype.kind == "f" and k == 0) for k, a in enumerate(args)
    ]
    tins = [
        torch.tensor(a, requires_grad=a.dtype.kind == "f" and k == 0) for k, a in enumerate(args)
    ]
    out, tout = m(*ins), tm(*tins)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-6, atol=1e-9)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(ins[0].grad.numpy(), tins[0].grad.numpy(), rtol=1e-6, atol=1e-9)


def test_loss_module_state():
    m = nn.CrossEntropyLoss(weight=ember.ones(3))
    assert "weight" in dict(m.named_buffers())
    assert repr(nn.CTCLoss(blank=2, zero_infinity=True)) == "CTCLoss(blank=2, zero_infinity=True)"


@requires_torch
def test_fused_cross_entropy_double_backward_matches_torch():
    x = ember.tensor(LOGITS, requires_grad=True)
    tx = torch.tensor(LOGITS, requires_grad=True)
    w, tw = ember.tensor(W4), torch.tensor(W4)
    loss = F.cross_entropy(x, ember.tensor(IDX_IGN), w, label_smoothing=0.2)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(IDX_IGN), tw, label_smoothing=0.2)
    (g,) = ember.autograd.grad(loss, x, create_graph=True)
    (tg,) = torch.autograd.grad(tloss, tx, create_graph=True)
    (gg,) = ember.autograd.grad((g * g).sum(), x)
    (tgg,) = torch.autograd.grad((tg * tg).sum(), tx)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-8, atol=1e-12)
