"""nn.utils: gradient clipping, parameter vectors and RNN sequence packing, against PyTorch."""

import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn.utils import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
    parameters_to_vector,
    rnn,
    vector_to_parameters,
)
from ember.nn.utils.rnn import (
    PackedSequence,
    invert_permutation,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def make_params(seed=0, dtype=np.float32, shapes=((3, 4), (4,), (2, 2, 2)), scale=1.0):
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]
    eparams = []
    for v, g in zip(values, grads):
        p = nn.Parameter(ember.tensor(v))
        p.grad = ember.tensor(g.copy())
        eparams.append(p)
    tparams = None
    if torch is not None:
        tparams = []
        for v, g in zip(values, grads):
            p = torch.nn.Parameter(torch.tensor(v))
            p.grad = torch.tensor(g.copy())
            tparams.append(p)
    return eparams, tparams


def close(e, t, **kw):
    np.testing.assert_allclose(
        np.asarray(e._data, np.float64), t.detach().to(torch.float64).numpy(), **kw
    )


# ----------------------------------------------------------------------------- clipping
@requires_torch
@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, float("inf"), "inf", 0.5])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ep, tp = make_params(scale=3.0)
    en = clip_grad_norm_(ep, max_norm, norm_type=norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    assert isinstance(en, ember.Tensor) and en.shape == ember.Size([])
    assert en.dtype == ember.float32
    close(en, tn, rtol=1e-5)
    for e, t in zip(ep, tp):
        close(e.grad, t.grad, rtol=1e-5, atol=1e-7)


@requires_torch
def test_clip_grad_norm_float64_generator_and_single_tensor():
    ep, tp = make_params(seed=1, dtype=np.float64, scale=5.0)
    en = clip_grad_norm_((p for p in ep), 2.0)
    tn = torch.nn.utils.clip_grad_norm_((p for p in tp), 2.0)
    assert en.dtype == ember.float64
    close(en, tn, rtol=1e-12)
    for e, t in zip(ep, tp):
        close(e.grad, t.grad, rtol=1e-12)
    ep, tp = make_params(seed=2)
    close(clip_grad_norm_(ep[0], 0.5), torch.nn.utils.clip_grad_norm_(tp[0], 0.5), rtol=1e-6)
    close(ep[0].grad, tp[0].grad, rtol=1e-6)


def test_clip_grad_norm_skips_params_without_grad_and_empty():
    a = nn.Parameter(ember.ones(2))
    b = nn.Parameter(ember.ones(2))
    b.grad = ember.tensor([3.0, 4.0])
    norm = clip_grad_norm_([a, b], 1.0)
    assert float(norm) == pytest.approx(5.0)
    assert a.grad is None
    np.testing.assert_allclose(b.grad._data, [0.6, 0.8], rtol=1e-5)
    empty = clip_grad_norm_([], 1.0)
    assert float(empty) == 0.0 and empty.shape == ember.Size([])
    assert float(clip_grad_norm_([a], 1.0)) == 0.0


def test_clip_grad_norm_does_not_record_autograd():
    w = nn.Parameter(ember.ones(3))
    w.grad = ember.ones(3, requires_grad=True) * 10  # a grad that is itself in a graph
    norm = clip_grad_norm_([w], 1.0)
    assert not norm.requires_grad


def test_clip_grad_norm_nonfinite():
    w = nn.Parameter(ember.ones(2))
    w.grad = ember.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(w.grad._data, [np.nan, 1.0])  # untouched
    w.grad = ember.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="error_if_nonfinite=False"):
        clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    norm = clip_grad_norm_([w], 1.0, foreach=True)
    assert math.isinf(float(norm))


@requires_torch
def test_clip_grad_norm_nonfinite_matches_torch_when_not_raising():
    ep, tp = make_params(seed=3)
    ep[0].grad._data[0, 0] = np.inf
    tp[0].grad[0, 0] = float("inf")
    close(clip_grad_norm_(ep, 1.0), torch.nn.utils.clip_grad_norm_(tp, 1.0))
    for e, t in zip(ep, tp):
        close(e.grad, t.grad, equal_nan=True)


@requires_torch
def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    ep, tp = make_params(seed=4, scale=2.0)
    et = get_total_norm([p.grad for p in ep], 3.0)
    tt = torch.nn.utils.get_total_norm([p.grad for p in tp], 3.0)
    close(et, tt, rtol=1e-6)
    clip_grads_with_norm_(ep, 0.7, et)
    torch.nn.utils.clip_grads_with_norm_(tp, 0.7, tt)
    for e, t in zip(ep, tp):
        close(e.grad, t.grad, rtol=1e-6)


def test_clip_grad_norm_deprecated_alias():
    w = nn.Parameter(ember.zeros(2))
    w.grad = ember.tensor([6.0, 8.0])
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        norm = clip_grad_norm(w, 5.0)
    assert float(norm) == pytest.approx(10.0)
    np.testing.assert_allclose(w.grad._data, [3.0, 4.0], rtol=1e-5)


@requires_torch
@pytest.mark.parametrize("clip_value", [0.1, 1, 5.0])
def test_clip_grad_value_matches_torch(clip_value):
    ep, tp = make_params(seed=5, scale=2.0)
    ep[1].grad = None
    tp[1].grad = None
    assert clip_grad_value_(ep, clip_value, foreach=False) is None
    torch.nn.utils.clip_grad_value_(tp, clip_value)
    for e, t in zip(ep, tp):
        if t.grad is None:
            assert e.grad is None
        else:
            close(e.grad, t.grad)


def test_clip_grad_value_single_tensor():
    w = nn.Parameter(ember.zeros(3))
    w.grad = ember.tensor([-3.0, 0.2, 3.0])
    clip_grad_value_(w, 0.5)
    np.testing.assert_allclose(w.grad._data, [-0.5, 0.2, 0.5])


def test_clip_grad_norm_on_a_model_then_step():
    model = nn.Linear(4, 2)
    (model(ember.ones(3, 4)) * 100).sum().backward()
    norm = clip_grad_norm_(model.parameters(), max_norm=1.0)
    assert float(norm) > 1.0
    after = get_total_norm([p.grad for p in model.parameters()])
    assert float(after) == pytest.approx(1.0, rel=1e-4)


# ----------------------------------------------------------------------------- vectors
@requires_torch
def test_parameters_to_vector_and_back_match_torch():
    ep, tp = make_params(seed=6)
    ev = parameters_to_vector(ep)
    tv = torch.nn.utils.parameters_to_vector(tp)
    close(ev, tv)
    new = np.arange(ev.numel(), dtype=np.float32)
    vector_to_parameters(ember.tensor(new), ep)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tp)
    for e, t in zip(ep, tp):
        close(e, t)
        assert isinstance(e, nn.Parameter) and e.requires_grad


def test_parameters_to_vector_is_differentiable():
    a = nn.Parameter(ember.ones(2, 2))
    b = nn.Parameter(ember.ones(3))
    vec = parameters_to_vector([a, b])
    (vec * ember.arange(7.0)).sum().backward()
    np.testing.assert_array_equal(a.grad._data, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(b.grad._data, [4, 5, 6])


def test_vector_to_parameters_views_and_errors():
    model = nn.Linear(2, 3)
    vec = ember.arange(9.0)
    vector_to_parameters(vec, model.parameters())
    np.testing.assert_array_equal(model.weight._data, np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(model.bias._data, [6, 7, 8])
    with pytest.raises(TypeError, match="expected ember.Tensor"):
        vector_to_parameters([1.0, 2.0], model.parameters())
    with pytest.raises(RuntimeError, match="fewer"):
        vector_to_parameters(ember.zeros(4), model.parameters())
    with pytest.raises(RuntimeError, match="non-empty"):
        parameters_to_vector([])


# ----------------------------------------------------------------------------- rnn
def seqs_np(lengths, trailing=(3,), seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, *trailing)).astype(dtype) for n in lengths]


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (3,), (2, 2)])
def test_pad_sequence_matches_torch(batch_first, padding_side, trailing):
    arrays = seqs_np([3, 5, 1, 5], trailing)
    e = pad_sequence([ember.tensor(a) for a in arrays], batch_first, -1.5, padding_side)
    t = torch.nn.utils.rnn.pad_sequence(
        [torch.tensor(a) for a in arrays], batch_first, -1.5, padding_side
    )
    assert tuple(e.shape) == tuple(t.shape)
    close(e, t)


@requires_torch
def test_pad_sequence_dtypes_tensor_input_and_errors():
    ints = [ember.tensor([1, 2, 3]), ember.tensor([4])]
    out = pad_sequence(ints, padding_value=1.7)
    tout = torch.nn.utils.rnn.pad_sequence(
        [torch.tensor([1, 2, 3]), torch.tensor([4])], padding_value=1.7
    )
    assert out.dtype == ember.int64
    np.testing.assert_array_equal(out._data, tout.numpy())
    mixed = pad_sequence([ember.ones(2), ember.ones(1, dtype=ember.int64)])
    assert mixed.dtype == ember.float32
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    close(pad_sequence(ember.tensor(x)), torch.nn.utils.rnn.pad_sequence(torch.tensor(x)))
    with pytest.raises(RuntimeError, match="empty list"):
        pad_sequence([])
    with pytest.raises(RuntimeError, match="sequence 1"):
        pad_sequence([ember.ones(2, 3), ember.ones(2, 4)])
    with pytest.raises(RuntimeError, match="padding_side"):
        pad_sequence([ember.ones(2)], padding_side="middle")
    with pytest.raises(RuntimeError, match="iterable"):
        pad_sequence(3)


def test_pad_sequence_gradient():
    a = ember.ones(3, 2, requires_grad=True)
    b = ember.ones(1, 2, requires_grad=True)
    out = pad_sequence([a, b], batch_first=True, padding_value=5.0)
    weights = ember.arange(12.0).reshape(2, 3, 2)
    (out * weights).sum().backward()
    np.testing.assert_array_equal(a.grad._data, weights._data[0])
    np.testing.assert_array_equal(b.grad._data, weights._data[1, :1])


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(
    "lengths, enforce_sorted",
    [
        ([5, 3, 3, 1], True),
        ([5, 3, 3, 1], False),
        ([2, 5, 1, 4], False),
        ([4], True),
        ([3, 3, 3], True),
        ([3, 3, 3], False),
        ([1, 6, 2], False),
    ],
)
def test_pack_padded_sequence_matches_torch(batch_first, lengths, enforce_sorted):
    rng = np.random.default_rng(1)
    T, B = 6, len(lengths)
    shape = (B, T, 3) if batch_first else (T, B, 3)
    x = rng.standard_normal(shape).astype(np.float32)
    ep = pack_padded_sequence(ember.tensor(x), lengths, batch_first, enforce_sorted)
    tp = torch.nn.utils.rnn.pack_padded_sequence(
        torch.tensor(x), lengths, batch_first, enforce_sorted
    )
    assert isinstance(ep, PackedSequence) and isinstance(ep, tuple)
    close(ep.data, tp.data)
    np.testing.assert_array_equal(ep.batch_sizes._data, tp.batch_sizes.numpy())
    assert ep.batch_sizes.dtype == ember.int64
    if tp.sorted_indices is None:
        assert ep.sorted_indices is None and ep.unsorted_indices is None
    else:
        np.testing.assert_array_equal(ep.sorted_indices._data, tp.sorted_indices.numpy())
        np.testing.assert_array_equal(ep.unsorted_indices._data, tp.unsorted_indices.numpy())
    for total in (None, 8):
        ev, el = pad_packed_sequence(ep, batch_first, padding_value=-2.0, total_length=total)
        tv, tl = torch.nn.utils.rnn.pad_packed_sequence(
            tp, batch_first, padding_value=-2.0, total_length=total
        )
        close(ev, tv)
        np.testing.assert_array_equal(el._data, tl.numpy())
        assert el.dtype == ember.int64


@requires_torch
def test_pack_padded_sequence_lengths_as_tensor_and_errors():
    x = ember.randn(3, 2)
    p = pack_padded_sequence(x, ember.tensor([3, 1]))
    np.testing.assert_array_equal(p.batch_sizes._data, [2, 1, 1])
    tx = torch.randn(3, 2)
    for lengths, match in [
        ([1, 2], "sorted in decreasing order"),
        ([2, 0], "greater than 0"),
        ([1, 2, 3], "equal to batch_size"),
    ]:
        with pytest.raises(RuntimeError, match=match):
            pack_padded_sequence(x, lengths)
        with pytest.raises(RuntimeError, match=match):
            torch.nn.utils.rnn.pack_padded_sequence(tx, lengths)
    with pytest.raises(RuntimeError, match="exceeds"):
        pack_padded_sequence(x, [4, 2])
    with pytest.raises(RuntimeError, match="1D"):
        pack_padded_sequence(x, [[1, 2]])
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        pack_padded_sequence(ember.ones(3), [3])
    with pytest.raises(ValueError, match="total_length"):
        pad_packed_sequence(p, total_length=2)


def test_pack_and_unpack_gradients_flow():
    x = ember.randn(4, 3, 2, requires_grad=True)  # (T, B, *)
    p = pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
    padded, lengths = pad_packed_sequence(p)
    padded.sum().backward()
    mask = (np.arange(4)[:, None] < np.array([2, 4, 1])[None, :]).astype(np.float32)
    np.testing.assert_array_equal(x.grad._data, np.broadcast_to(mask[..., None], (4, 3, 2)))
    np.testing.assert_array_equal(lengths._data, [2, 4, 1])
    np.testing.assert_array_equal(padded._data * mask[..., None], x._data * mask[..., None])


def test_pack_padded_gradcheck():
    x = ember.randn(2, 3, 2, dtype=ember.float64, requires_grad=True)
    w = ember.randn(5, 2, dtype=ember.float64)

    def f(x):
        return (pack_padded_sequence(x, [3, 2], batch_first=True).data * w).sum()

    assert ember.autograd.gradcheck(f, (x,))


@requires_torch
def test_pack_sequence_and_unpack_sequence_match_torch():
    arrays = seqs_np([2, 4, 3], (2,), seed=3)
    ep = pack_sequence([ember.tensor(a) for a in arrays], enforce_sorted=False)
    tp = torch.nn.utils.rnn.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted=False)
    close(ep.data, tp.data)
    np.testing.assert_array_equal(ep.batch_sizes._data, tp.batch_sizes.numpy())
    for e, t in zip(unpack_sequence(ep), torch.nn.utils.rnn.unpack_sequence(tp)):
        close(e, t)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        pack_sequence([ember.tensor(a) for a in arrays])
    sorted_arrays = sorted(arrays, key=len, reverse=True)
    ep = pack_sequence([ember.tensor(a) for a in sorted_arrays])
    tp = torch.nn.utils.rnn.pack_sequence([torch.tensor(a) for a in sorted_arrays])
    close(ep.data, tp.data)


@requires_torch
def test_unpad_sequence_matches_torch_and_does_not_mutate():
    x = np.arange(24, dtype=np.float32).reshape(4, 3, 2)  # (T, B, *)
    ex = ember.tensor(x)
    e = unpad_sequence(ex, ember.tensor([4, 1, 2]))
    t = torch.nn.utils.rnn.unpad_sequence(torch.tensor(x), torch.tensor([4, 1, 2]))
    assert ex.shape == ember.Size([4, 3, 2])
    for a, b in zip(e, t):
        close(a, b)
    with pytest.raises(ValueError, match="lengths"):
        unpad_sequence(ex, [1, 2])


def test_packed_sequence_helpers():
    p = PackedSequence(ember.tensor([1.0, 2.0, 3.0]), ember.tensor([2, 1]))
    assert p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert p.unsorted_indices is None
    legacy = PackedSequence((ember.tensor([1.0]), ember.tensor([1])))
    assert legacy.batch_sizes.tolist() == [1]
    with pytest.raises(AssertionError):
        PackedSequence(ember.tensor([1.0]))
    q = PackedSequence(ember.ones(3), ember.tensor([2, 1]), ember.tensor([1, 0]))
    np.testing.assert_array_equal(q.unsorted_indices._data, [1, 0])
    assert p.to(ember.float32) is p
    d = p.double()
    assert d.data.dtype == ember.float64 and d.batch_sizes is p.batch_sizes
    assert p.long().data.dtype == ember.int64
    assert p.half().data.dtype == ember.float16
    assert p.int().data.dtype == ember.int32 and p.short().data.dtype == ember.int16
    assert p.char().data.dtype == ember.int8 and p.byte().data.dtype == ember.uint8
    assert p.float() is p and p.cpu() is p and p.pin_memory() is p
    assert not p.is_cuda and not p.is_pinned()
    data, batch_sizes, *_ = p
    assert batch_sizes is p.batch_sizes
    assert rnn.PackedSequence is PackedSequence


@requires_torch
def test_invert_permutation():
    perm = [3, 0, 2, 1]
    np.testing.assert_array_equal(
        invert_permutation(ember.tensor(perm))._data,
        torch.nn.utils.rnn.invert_permutation(torch.tensor(perm)).numpy(),
    )
    assert invert_permutation(None) is None


def test_nn_utils_namespace():
    assert nn.utils.clip_grad_norm_ is clip_grad_norm_
    assert nn.utils.rnn.pad_sequence is pad_sequence
    import ember.nn.utils.rnn as rnn_module

    assert rnn_module is rnn
