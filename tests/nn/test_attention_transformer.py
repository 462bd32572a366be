"""scaled_dot_product_attention, MultiheadAttention and the Transformer layers against PyTorch.

Modules get torch's initialised weights by state_dict key; outputs and gradients w.r.t. the
inputs and every parameter are compared in float32 (rtol/atol 1e-5), models with dropout in
eval mode. Masks: bool and float, key padding, causal (flag and explicit)."""

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from opinfo import requires_torch, torch

pytestmark = requires_torch
RTOL = ATOL = 1e-5


def _np(t):
    return t.detach().numpy()


def close(a, b, what, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol, err_msg=what)


def arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def both(arrs, requires_grad=True):
    te = [torch.tensor(a, requires_grad=requires_grad) for a in arrs]
    ee = [ember.tensor(a, requires_grad=requires_grad) for a in arrs]
    return te, ee


def mask_pair(m):
    return (None, None) if m is None else (torch.tensor(m), ember.tensor(m))


def twin(tcls, ecls, *args, **kwargs):
    """A torch module and an ember module with the same (torch-initialised) weights."""
    torch.manual_seed(0)
    tm = tcls(*args, **kwargs)
    em = ecls(*args, **kwargs)
    assert list(tm.state_dict()) == list(em.state_dict())
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, em


def compare(t_outs, e_outs, t_leaves, e_leaves, tm=None, em=None, seed=1, tol=ATOL):
    """Outputs equal; then the same random cotangents give equal gradients everywhere."""
    t_outs = [o for o in t_outs if o is not None]
    e_outs = [o for o in e_outs if o is not None]
    assert len(t_outs) == len(e_outs)
    rng = np.random.default_rng(seed)
    t_loss = e_loss = 0
    for i, (t, e) in enumerate(zip(t_outs, e_outs)):
        assert tuple(e.shape) == tuple(t.shape), f"output {i}"
        close(e, t, f"output {i}", tol, tol)
        w = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        t_loss = t_loss + (t * torch.tensor(w)).sum()
        e_loss = e_loss + (e * ember.tensor(w)).sum()
    t_loss.backward()
    e_loss.backward()
    for i, (t, e) in enumerate(zip(t_leaves, e_leaves)):
        if t.grad is None:  # unused input
            assert e.grad is None or not np.any(_np(e.grad)), f"grad of input {i}"
        else:
            close(e.grad, t.grad, f"grad of input {i}", tol, tol)
    if tm is not None:
        e_params = dict(em.named_parameters())
        for name, p in tm.named_parameters():
            if p.grad is None:
                assert e_params[name].grad is None or not np.any(_np(e_params[name].grad)), name
            else:
                close(e_params[name].grad, p.grad, f"grad of {name}", tol, tol)


# ---------------------------------------------------------------------------------------------
# scaled_dot_product_attention
# ---------------------------------------------------------------------------------------------
_R = np.random.default_rng(7)
_BOOL = _R.random((4, 6)) > 0.4
_BOOL[:, 0] = True  # every query keeps at least one key
_FULLY = _BOOL.copy()
_FULLY[2] = False  # a query with every key masked: zero output, zero grads
SDPA_CASES = {
    "plain": ({}, (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)),
    "3d": ({}, (3, 4, 8), (3, 6, 8), (3, 6, 8)),
    "causal": ({"is_causal": True}, (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)),
    "causal_square": ({"is_causal": True}, (2, 2, 5, 4), (2, 2, 5, 4), (2, 2, 5, 4)),
    "bool_mask": ({"attn_mask": _BOOL}, (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)),
    "bool_fully_masked": ({"attn_mask": _FULLY}, (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)),
    "float_mask": (
        {"attn_mask": _R.standard_normal((3, 4, 6)).astype(np.float32)},
        (2, 3, 4, 8),
        (2, 3, 6, 8),
        (2, 3, 6, 5),
    ),
    "float_mask_inf": (
        {"attn_mask": np.where(_BOOL, 0.0, -np.inf).astype(np.float32)[None, None]},
        (2, 3, 4, 8),
        (2, 3, 6, 8),
        (2, 3, 6, 5),
    ),
    "scale": ({"scale": 0.7}, (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)),
    "broadcast_kv": ({}, (2, 3, 4, 8), (1, 3, 6, 8), (1, 3, 6, 5)),
    "gqa": ({"enable_gqa": True}, (2, 6, 4, 8), (2, 2, 6, 8), (2, 2, 6, 5)),
}


@pytest.mark.parametrize("case", list(SDPA_CASES))
def test_sdpa_matches_torch(case):
    kw, *shapes = SDPA_CASES[case]
    t_in, e_in = both(arrays(0, *shapes))
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    ekw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    t_out = torch.nn.functional.scaled_dot_product_attention(*t_in, **tkw)
    e_out = F.scaled_dot_product_attention(*e_in, **ekw)
    compare([t_out], [e_out], t_in, e_in)
    if case == "bool_fully_masked":
        assert not np.any(_np(e_out)[:, :, 2])
        assert np.all(np.isfinite(_np(e_in[0].grad)))


def test_sdpa_causal_and_mask_combine():
    # torch (no grad) ANDs the two; ember does so with or without grad
    q, k, v = arrays(1, (1, 2, 4, 8), (1, 2, 6, 8), (1, 2, 6, 8))
    with torch.no_grad():
        ref = torch.nn.functional.scaled_dot_product_attention(
            *map(torch.tensor, (q, k, v)), attn_mask=torch.tensor(_BOOL), is_causal=True
        )
    out = F.scaled_dot_product_attention(
        *map(ember.tensor, (q, k, v)), attn_mask=ember.tensor(_BOOL), is_causal=True
    )
    close(out, ref, "causal & mask")


@pytest.mark.parametrize("mask", [None, "bool", "float"])
@pytest.mark.parametrize("is_causal", [False, True])
def test_sdpa_gradcheck(mask, is_causal):
    rng = np.random.default_rng(3)
    q, k, v = (
        ember.tensor(rng.standard_normal(s), dtype=ember.float64, requires_grad=True)
        for s in [(2, 3, 4), (2, 5, 4), (2, 5, 3)]
    )
    inputs = [q, k, v]
    if mask == "bool":
        m = ember.tensor(_BOOL[:3, :5])
    elif mask == "float":
        m = ember.tensor(rng.standard_normal((3, 5)), dtype=ember.float64, requires_grad=True)
        inputs.append(m)
    else:
        m = None

    def fn(q, k, v, *rest):
        am = rest[0] if rest else m
        return F.scaled_dot_product_attention(q, k, v, attn_mask=am, is_causal=is_causal, scale=0.6)

    assert ember.autograd.gradcheck(fn, tuple(inputs))


def test_sdpa_gradgrad():
    rng = np.random.default_rng(4)
    q, k, v = (
        ember.tensor(rng.standard_normal(s), dtype=ember.float64, requires_grad=True)
        for s in [(3, 4), (5, 4), (5, 2)]
    )
    assert ember.autograd.gradgradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v)
    )


def test_sdpa_dropout():
    q = ember.ones(2, 4, 8)
    v = ember.randn(2, 4, 8)
    ember.manual_seed(0)
    a = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5)
    ember.manual_seed(0)
    b = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = F.scaled_dot_product_attention(q, q, v)
    assert not np.allclose(a.numpy(), c.numpy())
    z = F.scaled_dot_product_attention(q, q, v, dropout_p=1.0)
    assert not np.any(z.numpy())


def test_sdpa_errors():
    q = ember.ones(2, 4, 8)
    with pytest.raises(ValueError, match="same sequence length"):
        F.scaled_dot_product_attention(q, ember.ones(2, 5, 8), ember.ones(2, 6, 8))
    with pytest.raises(ValueError, match="scaled_dot_product_attention: query"):
        F.scaled_dot_product_attention(ember.ones(8), q, q)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*\(2, 4, 7\)"):
        F.scaled_dot_product_attention(q, ember.ones(2, 4, 7), q)
    with pytest.raises(ValueError, match="attn_mask"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.ones(3, 3, dtype=ember.bool))
    with pytest.raises(TypeError, match="attn_mask must be bool or floating"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.ones(4, 4, dtype=ember.int64))


# ---------------------------------------------------------------------------------------------
# MultiheadAttention
# ---------------------------------------------------------------------------------------------
E, H, L, S, N = 8, 2, 4, 5, 3
_KPM = np.zeros((N, S), dtype=bool)
_KPM[0, 3:] = True
_KPM[2, 1] = True
_AM = np.triu(np.ones((L, S), dtype=bool), 2)
_AM3 = np.random.default_rng(9).standard_normal((N * H, L, S)).astype(np.float32)

MHA_CASES = {
    "self": ({}, {}, "self"),
    "cross_kv_same": ({}, {}, "kv"),
    "cross_all_different": ({}, {}, "qkv"),
    "batch_first": ({"batch_first": True}, {}, "self"),
    "no_bias": ({"bias": False}, {}, "self"),
    "bias_kv_zero_attn": ({"add_bias_kv": True, "add_zero_attn": True}, {}, "kv"),
    "kdim_vdim": ({"kdim": 3, "vdim": 6}, {}, "qkv"),
    "need_weights_false": ({}, {"need_weights": False}, "self"),
    "per_head_weights": ({}, {"average_attn_weights": False}, "qkv"),
    "key_padding_bool": ({}, {"key_padding_mask": _KPM}, "qkv"),
    "key_padding_float": ({}, {"key_padding_mask": np.where(_KPM, -1e9, 0.0).astype("f4")}, "qkv"),
    "attn_mask_bool": ({}, {"attn_mask": _AM}, "qkv"),
    "attn_mask_float3d": ({}, {"attn_mask": _AM3, "need_weights": False}, "qkv"),
    "masks_both_no_weights": (
        {"batch_first": True},
        {"attn_mask": _AM, "key_padding_mask": _KPM, "need_weights": False},
        "qkv",
    ),
    "bias_kv_masks": (
        {"add_bias_kv": True},
        {"attn_mask": _AM, "key_padding_mask": _KPM},
        "qkv",
    ),
    "causal_hint": (
        {},
        {"attn_mask": np.triu(np.ones((L, L), bool), 1), "is_causal": True, "need_weights": False},
        "self",
    ),
    "dropout_eval": ({"dropout": 0.3}, {}, "qkv"),
}


@pytest.mark.parametrize("case", list(MHA_CASES))
def test_mha_matches_torch(case):
    ctor, call, kind = MHA_CASES[case]
    tm, em = twin(torch.nn.MultiheadAttention, nn.MultiheadAttention, E, H, **ctor)
    if ctor.get("dropout"):
        tm.eval(), em.eval()
    bf = ctor.get("batch_first", False)
    s_len = L if kind == "self" else S

    def shape(seq, dim):
        return (N, seq, dim) if bf else (seq, N, dim)

    shapes = [shape(L, E)]
    if kind != "self":
        shapes.append(shape(s_len, ctor.get("kdim", E)))
    if kind == "qkv":
        shapes.append(shape(s_len, ctor.get("vdim", E)))
    t_in, e_in = both(arrays(2, *shapes))
    if kind == "self":
        t_args, e_args = (t_in[0],) * 3, (e_in[0],) * 3
    elif kind == "kv":
        t_args, e_args = (t_in[0], t_in[1], t_in[1]), (e_in[0], e_in[1], e_in[1])
    else:
        t_args, e_args = tuple(t_in), tuple(e_in)
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()}
    ekw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()}
    t_out = tm(*t_args, **tkw)
    e_out = em(*e_args, **ekw)
    assert (e_out[1] is None) == (t_out[1] is None)
    compare(list(t_out), list(e_out), t_in, e_in, tm, em)


def test_mha_unbatched():
    tm, em = twin(torch.nn.MultiheadAttention, nn.MultiheadAttention, E, H)
    t_in, e_in = both(arrays(3, (L, E), (S, E), (S, E)))
    kpm = np.array([False, False, True, False, False])
    t_out = tm(*t_in, key_padding_mask=torch.tensor(kpm))
    e_out = em(*e_in, key_padding_mask=ember.tensor(kpm))
    compare(list(t_out), list(e_out), t_in, e_in, tm, em)


def test_mha_functional_separate_weights_and_static_kv():
    rng = np.random.default_rng(5)
    (q,) = arrays(6, (L, N, E))
    sk, sv = arrays(7, (N * H, S, E // H), (N * H, S, E // H))
    w = [rng.standard_normal(s).astype("f4") * 0.3 for s in [(E, E), (E, E), (E, E), (E, E)]]
    b = rng.standard_normal(3 * E).astype("f4") * 0.1
    arrs = [q, sk, sv, *w, b]
    t_in, e_in = both(arrs)

    def run(mod, args):
        q, sk, sv, wq, wk, wv, wo, b = args
        return mod.multi_head_attention_forward(
            q, q, q, E, H, None, b, None, None, False, 0.0, wo, None,
            use_separate_proj_weight=True, q_proj_weight=wq, k_proj_weight=wk, v_proj_weight=wv,
            static_k=sk, static_v=sv,
        )  # fmt: skip

    compare(list(run(torch.nn.functional, t_in)), list(run(F, e_in)), t_in, e_in)


def test_mha_errors():
    with pytest.raises(AssertionError, match=r"embed_dim \(6\) must be divisible by num_heads"):
        nn.MultiheadAttention(6, 4)
    mha = nn.MultiheadAttention(E, H)
    x = ember.ones(L, N, E)
    with pytest.raises(RuntimeError, match="Need attn_mask|need attn_mask"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(3, 3\), but should be \(4, 4\)"):
        mha(x, x, x, attn_mask=ember.zeros(3, 3))
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        mha(x, ember.ones(L, E), ember.ones(L, E))
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 5"):
        mha(ember.ones(L, N, 5), x, x)


def test_mha_state_dict_and_init():
    mha = nn.MultiheadAttention(16, 4, add_bias_kv=True)
    t = torch.nn.MultiheadAttention(16, 4, add_bias_kv=True)
    assert list(mha.state_dict()) == list(t.state_dict())
    assert not np.any(mha.in_proj_bias.detach().numpy())
    assert not np.any(mha.out_proj.bias.detach().numpy())
    bound = np.sqrt(6 / (16 + 48))  # xavier_uniform on (48, 16)
    assert np.abs(mha.in_proj_weight.detach().numpy()).max() <= bound
    assert repr(mha) == repr(t)
    assert list(nn.MultiheadAttention(8, 2, kdim=3, vdim=5).state_dict()) == list(
        torch.nn.MultiheadAttention(8, 2, kdim=3, vdim=5).state_dict()
    )


# ---------------------------------------------------------------------------------------------
# transformer layers
# ---------------------------------------------------------------------------------------------
D, NH, FF = 8, 2, 16
_SRC_KPM = np.zeros((N, 6), dtype=bool)
_SRC_KPM[1, 4:] = True
_TGT_KPM = np.zeros((N, 5), dtype=bool)
_TGT_KPM[0, 3:] = True
LAYER_OPTIONS = [
    {"dropout": 0.0},
    {"dropout": 0.0, "norm_first": True, "activation": "gelu"},
    {"dropout": 0.2, "batch_first": True},  # compared in eval mode
    {"dropout": 0.0, "bias": False, "activation": "callable", "layer_norm_eps": 1e-3},
]


def _ids(items):
    return ["-".join(f"{k}={v}" for k, v in d.items()) for d in items]


def _seq(bf, seq, batch=N, dim=D):
    return (batch, seq, dim) if bf else (seq, batch, dim)


def _masks(kind, lib, seq):
    causal = np.triu(np.ones((seq, seq), dtype=bool), 1)
    if kind == "none":
        return {}
    if kind == "bool":
        return {"src_mask": lib.tensor(causal)}
    if kind == "float_kpm":
        return {
            "src_mask": lib.tensor(np.where(causal, -np.inf, 0.0).astype("f4")),
            "src_key_padding_mask": lib.tensor(_SRC_KPM),
        }
    return {"src_mask": lib.tensor(np.where(causal, -np.inf, 0.0).astype("f4")), "is_causal": True}


def _twin_layer(tcls, ecls, options):
    """Like ``twin``; a "callable" activation is silu from each library's functional."""
    kw = {k: v for k, v in options.items() if k != "activation"}
    act = options.get("activation", "relu")
    torch.manual_seed(0)
    tm = tcls(D, NH, FF, activation=torch.nn.functional.silu if act == "callable" else act, **kw)
    em = ecls(D, NH, FF, activation=F.silu if act == "callable" else act, **kw)
    assert list(tm.state_dict()) == list(em.state_dict())
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    if options.get("dropout"):
        tm.eval(), em.eval()
    return tm, em


@pytest.mark.parametrize("masks", ["none", "bool", "float_kpm", "causal"])
@pytest.mark.parametrize("options", LAYER_OPTIONS, ids=_ids(LAYER_OPTIONS))
def test_encoder_layer_matches_torch(options, masks):
    tm, em = _twin_layer(torch.nn.TransformerEncoderLayer, nn.TransformerEncoderLayer, options)
    bf = options.get("batch_first", False)
    t_in, e_in = both(arrays(11, _seq(bf, 6)))
    t_out = tm(t_in[0], **_masks(masks, torch, 6))
    e_out = em(e_in[0], **_masks(masks, ember, 6))
    compare([t_out], [e_out], t_in, e_in, tm, em)


@pytest.mark.parametrize("options", LAYER_OPTIONS, ids=_ids(LAYER_OPTIONS))
def test_decoder_layer_matches_torch(options):
    tm, em = _twin_layer(torch.nn.TransformerDecoderLayer, nn.TransformerDecoderLayer, options)
    bf = options.get("batch_first", False)
    t_in, e_in = both(arrays(12, _seq(bf, 5), _seq(bf, 6)))
    causal = np.triu(np.ones((5, 5), dtype=bool), 1)
    mem_mask = np.zeros((5, 6), dtype=np.float32)
    mem_mask[:, 5] = -np.inf
    kw = {
        "tgt_mask": causal,
        "memory_mask": mem_mask,
        "tgt_key_padding_mask": _TGT_KPM,
        "memory_key_padding_mask": _SRC_KPM,
    }
    t_out = tm(*t_in, **{k: torch.tensor(v) for k, v in kw.items()})
    e_out = em(*e_in, **{k: ember.tensor(v) for k, v in kw.items()})
    compare([t_out], [e_out], t_in, e_in, tm, em)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_decoder_stacks(norm_first):
    def build(lib):
        torch.manual_seed(0)
        enc = lib.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, norm_first=norm_first)
        dec = lib.nn.TransformerDecoderLayer(D, NH, FF, dropout=0.0, norm_first=norm_first)
        return (
            lib.nn.TransformerEncoder(enc, 2, norm=lib.nn.LayerNorm(D)),
            lib.nn.TransformerDecoder(dec, 2, norm=lib.nn.LayerNorm(D)),
        )

    (t_enc, t_dec), (e_enc, e_dec) = build(torch), build(ember)
    for t, e in ((t_enc, e_enc), (t_dec, e_dec)):
        # randomise so that the deep-copied layers differ
        with torch.no_grad():
            for p in t.parameters():
                p.normal_(0, 0.3)
        assert list(t.state_dict()) == list(e.state_dict())
        e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    t_in, e_in = both(arrays(13, (6, N, D), (5, N, D)))
    t_mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    e_mask = nn.Transformer.generate_square_subsequent_mask(5)
    t_mem = t_enc(t_in[0], src_key_padding_mask=torch.tensor(_SRC_KPM))
    e_mem = e_enc(e_in[0], src_key_padding_mask=ember.tensor(_SRC_KPM))
    t_out = t_dec(t_in[1], t_mem, tgt_mask=t_mask)  # causal detected from the mask
    e_out = e_dec(e_in[1], e_mem, tgt_mask=e_mask)
    compare([t_mem, t_out], [e_mem, e_out], t_in, e_in)
    for name, p in t_enc.named_parameters():
        close(dict(e_enc.named_parameters())[name].grad, p.grad, name)
    for name, p in t_dec.named_parameters():
        close(dict(e_dec.named_parameters())[name].grad, p.grad, name)


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(batch_first):
    tm, em = twin(
        torch.nn.Transformer,
        nn.Transformer,
        d_model=D,
        nhead=NH,
        num_encoder_layers=2,
        num_decoder_layers=1,
        dim_feedforward=FF,
        dropout=0.1,
        batch_first=batch_first,
    )
    tm.eval(), em.eval()
    t_in, e_in = both(arrays(14, _seq(batch_first, 6), _seq(batch_first, 5)))
    t_out = tm(
        *t_in,
        tgt_mask=tm.generate_square_subsequent_mask(5),
        src_key_padding_mask=torch.tensor(_SRC_KPM),
        memory_key_padding_mask=torch.tensor(_SRC_KPM),
    )
    e_out = em(
        *e_in,
        tgt_mask=em.generate_square_subsequent_mask(5),
        src_key_padding_mask=ember.tensor(_SRC_KPM),
        memory_key_padding_mask=ember.tensor(_SRC_KPM),
    )
    compare([t_out], [e_out], t_in, e_in, tm, em)


def test_transformer_init_and_state_dict():
    ember.manual_seed(0)
    model = nn.Transformer(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                           dim_feedforward=32)  # fmt: skip
    ref = torch.nn.Transformer(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                               dim_feedforward=32)  # fmt: skip
    assert list(model.state_dict()) == list(ref.state_dict())
    for k, v in model.state_dict().items():
        assert tuple(v.shape) == tuple(ref.state_dict()[k].shape), k
    w = model.encoder.layers[0].linear1.weight.detach().numpy()  # xavier_uniform (32, 16)
    assert np.abs(w).max() <= np.sqrt(6 / 48)
    enc = model.encoder.layers
    assert not np.array_equal(_np(enc[0].linear1.weight), _np(enc[1].linear1.weight))
    np.testing.assert_array_equal(
        nn.Transformer.generate_square_subsequent_mask(4).numpy(),
        torch.nn.Transformer.generate_square_subsequent_mask(4).numpy(),
    )
    assert repr(nn.TransformerEncoderLayer(4, 2, 8)) == repr(
        torch.nn.TransformerEncoderLayer(4, 2, 8)
    )


def test_transformer_errors():
    model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=8)  # fmt: skip
    with pytest.raises(RuntimeError, match="batch number of src"):
        model(ember.ones(4, 2, 8), ember.ones(4, 3, 8))
    with pytest.raises(RuntimeError, match="must be equal to d_model=8"):
        model(ember.ones(4, 2, 6), ember.ones(4, 2, 6))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


def test_gpt_block_trains():
    """A tiny causal LM built from these layers learns a repeating sequence."""
    ember.manual_seed(0)
    vocab, ctx = 5, 8

    class TinyGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, 16)
            self.pos = nn.Embedding(ctx, 16)
            layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True,
                                               norm_first=True)  # fmt: skip
            self.blocks = nn.TransformerEncoder(layer, 2)
            self.head = nn.Linear(16, vocab)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(ember.arange(idx.shape[1]))
            mask = nn.Transformer.generate_square_subsequent_mask(idx.shape[1])
            return self.head(self.blocks(x, mask=mask, is_causal=True))

    model = TinyGPT()
    opt = ember.optim.Adam(model.parameters(), lr=1e-2)
    data = ember.tensor([[i % vocab for i in range(s, s + ctx + 1)] for s in range(vocab)])
    losses = []
    for _ in range(30):
        logits = model(data[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), data[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.2 * losses[0]
