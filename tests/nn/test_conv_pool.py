"""Convolution, pooling and vision ops (ember.nn.functional) and their layers, vs PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from opinfo import ErrorCase, OpInfo, Sample, make_op_tests, rand, requires_torch, torch


def _tf(name):
    """PyTorch reference: ``torch.nn.functional.<name>``."""
    return lambda t, *a, **k: getattr(t.nn.functional, name)(*a, **k)


def S(*args, name="", **kwargs):
    return Sample(tuple(args), kwargs, name)


# ---------------------------------------------------------------------------------------------
# samples
# ---------------------------------------------------------------------------------------------
CONV2D = [
    S(rand(2, 3, 7, 6), rand(4, 3, 3, 3, seed=1), rand(4, seed=2), name="basic"),
    S(
        rand(2, 3, 7, 6),
        rand(4, 3, 3, 3, seed=1),
        rand(4, seed=2),
        stride=2,
        padding=1,
        name="stride2_pad1",
    ),
    S(
        rand(2, 3, 7, 6),
        rand(4, 3, 3, 3, seed=1),
        None,
        padding="same",
        dilation=2,
        name="same_dilated",
    ),
    S(
        rand(2, 2, 6, 7),
        rand(3, 2, 4, 2, seed=1),
        rand(3, seed=2),
        padding="same",
        name="same_even_kernel",
    ),
    S(rand(2, 3, 7, 6), rand(4, 3, 3, 3, seed=1), rand(4, seed=2), padding="valid", name="valid"),
    S(
        rand(2, 4, 6, 6),
        rand(6, 2, 3, 3, seed=1),
        rand(6, seed=2),
        groups=2,
        padding=1,
        name="groups2",
    ),
    S(
        rand(2, 3, 6, 6),
        rand(6, 1, 3, 3, seed=1),
        rand(6, seed=2),
        groups=3,
        padding=1,
        stride=2,
        name="depthwise",
    ),
    S(
        rand(2, 3, 9, 8),
        rand(4, 3, 2, 3, seed=1),
        rand(4, seed=2),
        stride=(2, 1),
        padding=(1, 0),
        dilation=(1, 2),
        name="asymmetric",
    ),
    S(rand(3, 5, 5), rand(2, 3, 3, 3, seed=1), rand(2, seed=2), padding=1, name="unbatched"),
    S(rand(1, 1, 3, 3), rand(1, 1, 2, 2, seed=1), rand(1, seed=2), name="tiny"),
    S(
        rand(1, 2, 3, 2),
        rand(2, 1, 2, 2, seed=1),
        None,
        padding=1,
        stride=2,
        groups=2,
        name="tiny_grouped_strided",
    ),
]

CONV1D = [
    S(rand(2, 3, 10), rand(4, 3, 3, seed=1), rand(4, seed=2), name="basic"),
    S(
        rand(2, 3, 10),
        rand(4, 3, 3, seed=1),
        rand(4, seed=2),
        stride=3,
        padding=2,
        dilation=2,
        name="strided_dilated",
    ),
    S(rand(2, 4, 9), rand(4, 1, 4, seed=1), None, padding="same", groups=4, name="depthwise_same"),
    S(rand(3, 8), rand(2, 3, 2, seed=1), rand(2, seed=2), name="unbatched"),
    S(rand(1, 1, 5), rand(1, 1, 2, seed=1), rand(1, seed=2), stride=2, padding=1, name="tiny"),
]

CONVT2D = [
    S(rand(2, 4, 5, 5), rand(4, 3, 3, 3, seed=1), rand(3, seed=2), name="basic"),
    S(
        rand(2, 4, 5, 4),
        rand(4, 3, 3, 3, seed=1),
        rand(3, seed=2),
        stride=2,
        padding=1,
        output_padding=1,
        name="stride2_outpad",
    ),
    S(
        rand(2, 4, 4, 4),
        rand(4, 2, 3, 2, seed=1),
        rand(4, seed=2),
        stride=(2, 3),
        groups=2,
        name="groups2",
    ),
    S(
        rand(2, 2, 4, 4),
        rand(2, 3, 3, 3, seed=1),
        None,
        dilation=2,
        padding=2,
        output_padding=1,
        stride=1,
        name="dilated_outpad",
    ),
    S(rand(4, 3, 3), rand(4, 2, 2, 2, seed=1), rand(2, seed=2), stride=2, name="unbatched"),
    S(
        rand(1, 1, 2, 2),
        rand(1, 1, 2, 2, seed=1),
        rand(1, seed=2),
        stride=2,
        padding=1,
        output_padding=1,
        name="tiny",
    ),
]

CONVT1D = [
    S(
        rand(2, 4, 6),
        rand(4, 3, 3, seed=1),
        rand(3, seed=2),
        stride=2,
        padding=1,
        output_padding=1,
        name="strided",
    ),
    S(rand(2, 4, 6), rand(4, 1, 3, seed=1), None, groups=4, dilation=2, name="depthwise"),
    S(rand(1, 1, 3), rand(1, 1, 2, seed=1), rand(1, seed=2), stride=3, name="tiny"),
]

MAXPOOL2D = [
    S(rand(2, 3, 8, 8), 2, name="k2"),
    S(rand(2, 3, 9, 7), 3, stride=2, padding=1, name="k3s2p1"),
    S(rand(2, 3, 9, 7), (3, 2), stride=(2, 2), ceil_mode=True, name="ceil"),
    S(rand(2, 2, 9, 9), 2, stride=1, dilation=2, padding=1, name="dilated"),
    S(
        rand(2, 3, 7, 7),
        3,
        stride=2,
        padding=1,
        ceil_mode=True,
        return_indices=True,
        name="indices_ceil",
    ),
    S(rand(3, 6, 6), 2, return_indices=True, name="unbatched"),
    S(rand(1, 1, 3, 3), 2, stride=1, name="tiny"),
]

MAXPOOL1D = [
    S(rand(2, 3, 10), 3, name="k3"),
    S(rand(2, 3, 10), 3, stride=2, padding=1, ceil_mode=True, return_indices=True, name="indices"),
    S(rand(2, 3, 11), 2, dilation=3, name="dilated"),
    S(rand(1, 2, 5), 2, stride=1, name="tiny"),
]

AVGPOOL2D = [
    S(rand(2, 3, 8, 8), 2, name="k2"),
    S(rand(2, 3, 9, 7), 3, stride=2, padding=1, name="pad_include"),
    S(rand(2, 3, 9, 7), 3, stride=2, padding=1, count_include_pad=False, name="pad_exclude"),
    S(rand(2, 3, 8, 7), (3, 2), stride=2, padding=1, ceil_mode=True, name="ceil"),
    S(
        rand(2, 3, 8, 7),
        3,
        stride=2,
        padding=1,
        ceil_mode=True,
        count_include_pad=False,
        name="ceil_exclude",
    ),
    S(rand(2, 3, 6, 6), 2, divisor_override=3, name="divisor_override"),
    S(rand(3, 6, 6), 2, name="unbatched"),
    S(rand(1, 1, 3, 3), 2, stride=1, padding=1, name="tiny"),
]

AVGPOOL1D = [
    S(rand(2, 3, 10), 3, name="k3"),
    S(
        rand(2, 3, 10),
        3,
        stride=2,
        padding=1,
        ceil_mode=True,
        count_include_pad=False,
        name="ceil_exclude",
    ),
    S(rand(1, 2, 5), 2, stride=1, padding=1, name="tiny"),
]

ADAPTIVE_AVG2D = [
    S(rand(2, 3, 5, 7), (3, 4), name="non_divisible"),
    S(rand(2, 3, 8, 8), (4, 2), name="divisible"),
    S(rand(2, 3, 6, 5), 1, name="global"),
    S(rand(2, 3, 6, 5), (None, 3), name="none"),
    S(rand(3, 5, 5), 7, name="upsample_unbatched"),
    S(rand(1, 1, 3, 3), 2, name="tiny"),
]

ADAPTIVE_AVG1D = [S(rand(2, 3, 10), 4, name="non_divisible"), S(rand(1, 2, 5), 3, name="tiny")]

ADAPTIVE_MAX2D = [
    S(rand(2, 3, 5, 7), (3, 4), name="non_divisible"),
    S(rand(2, 3, 8, 8), 4, return_indices=True, name="indices"),
    S(rand(3, 7, 5), (2, None), return_indices=True, name="unbatched_none"),
    S(rand(1, 1, 3, 3), 2, name="tiny"),
]

ADAPTIVE_MAX1D = [S(rand(2, 3, 10), 4, return_indices=True, name="indices")]

INTERP = [
    S(rand(2, 3, 4, 5), scale_factor=2, name="nearest_x2"),
    S(rand(2, 3, 4, 5), size=(7, 3), name="nearest_size"),
    S(rand(2, 3, 6, 5), scale_factor=(0.5, 1.7), name="nearest_fractional"),
    S(rand(2, 3, 4, 5), size=(7, 3), mode="nearest-exact", name="nearest_exact"),
    S(rand(2, 3, 4, 5), scale_factor=2, mode="bilinear", name="bilinear_x2"),
    S(rand(2, 3, 4, 5), size=(7, 3), mode="bilinear", align_corners=True, name="bilinear_ac"),
    S(rand(2, 3, 6, 5), scale_factor=1.5, mode="bilinear", name="bilinear_1_5"),
    S(rand(2, 3, 4, 5), size=(9, 8), mode="bicubic", name="bicubic"),
    S(rand(2, 3, 4, 5), size=(3, 8), mode="bicubic", align_corners=True, name="bicubic_ac"),
    S(rand(2, 3, 7), size=11, mode="linear", name="linear"),
    S(rand(2, 3, 7), scale_factor=3, mode="linear", align_corners=True, name="linear_ac"),
    S(rand(2, 3, 7, 6), size=(3, 4), mode="area", name="area"),
    S(rand(1, 1, 2, 2), scale_factor=2, mode="bilinear", name="tiny"),
]

OPS = [
    OpInfo("conv2d", F.conv2d, CONV2D, torch_ref=_tf("conv2d"), rtol=1e-4, atol=1e-5),
    OpInfo("conv1d", F.conv1d, CONV1D, torch_ref=_tf("conv1d"), rtol=1e-4, atol=1e-5),
    OpInfo(
        "conv_transpose2d",
        F.conv_transpose2d,
        CONVT2D,
        torch_ref=_tf("conv_transpose2d"),
        rtol=1e-4,
        atol=1e-5,
    ),
    OpInfo(
        "conv_transpose1d",
        F.conv_transpose1d,
        CONVT1D,
        torch_ref=_tf("conv_transpose1d"),
        rtol=1e-4,
        atol=1e-5,
    ),
    OpInfo("max_pool2d", F.max_pool2d, MAXPOOL2D, torch_ref=_tf("max_pool2d")),
    OpInfo("max_pool1d", F.max_pool1d, MAXPOOL1D, torch_ref=_tf("max_pool1d")),
    OpInfo("avg_pool2d", F.avg_pool2d, AVGPOOL2D, torch_ref=_tf("avg_pool2d")),
    OpInfo("avg_pool1d", F.avg_pool1d, AVGPOOL1D, torch_ref=_tf("avg_pool1d")),
    OpInfo(
        "adaptive_avg_pool2d",
        F.adaptive_avg_pool2d,
        ADAPTIVE_AVG2D,
        torch_ref=_tf("adaptive_avg_pool2d"),
    ),
    OpInfo(
        "adaptive_avg_pool1d",
        F.adaptive_avg_pool1d,
        ADAPTIVE_AVG1D,
        torch_ref=_tf("adaptive_avg_pool1d"),
    ),
    OpInfo(
        "adaptive_max_pool2d",
        F.adaptive_max_pool2d,
        ADAPTIVE_MAX2D,
        torch_ref=_tf("adaptive_max_pool2d"),
    ),
    OpInfo(
        "adaptive_max_pool1d",
        F.adaptive_max_pool1d,
        ADAPTIVE_MAX1D,
        torch_ref=_tf("adaptive_max_pool1d"),
    ),
    OpInfo(
        "interpolate", F.interpolate, INTERP, torch_ref=_tf("interpolate"), rtol=1e-5, atol=1e-5
    ),
    OpInfo(
        "pixel_shuffle",
        F.pixel_shuffle,
        [S(rand(2, 8, 3, 4), 2, name="r2"), S(rand(2, 3, 9, 2, 2), 3, name="extra_batch")],
        torch_ref=_tf("pixel_shuffle"),
        errors=[ErrorCase((rand(1, 3, 2, 2), 2), exc=ValueError, match="pixel_shuffle")],
    ),
    OpInfo(
        "pixel_unshuffle",
        F.pixel_unshuffle,
        [S(rand(2, 2, 4, 6), 2, name="r2"), S(rand(3, 6, 3), 3, name="unbatched")],
        torch_ref=_tf("pixel_unshuffle"),
        errors=[ErrorCase((rand(1, 3, 5, 4), 2), exc=ValueError, match="pixel_unshuffle")],
    ),
    OpInfo(
        "unfold",
        F.unfold,
        [
            S(rand(2, 3, 6, 5), 3, name="k3"),
            S(rand(2, 3, 6, 5), (2, 3), dilation=(2, 1), padding=1, stride=(2, 1), name="general"),
            S(rand(3, 4, 4), 2, stride=2, name="unbatched"),
            S(rand(1, 1, 3, 3), 2, name="tiny"),
        ],
        torch_ref=_tf("unfold"),
    ),
    OpInfo(
        "fold",
        F.fold,
        [
            S(rand(2, 27, 12), (6, 5), 3, name="k3"),
            S(
                rand(2, 18, 15),
                (6, 5),
                (2, 3),
                dilation=(2, 1),
                padding=1,
                stride=(2, 1),
                name="general",
            ),
            S(rand(8, 4), 4, 2, stride=2, name="unbatched"),
            S(rand(1, 4, 4), 3, 2, name="tiny"),
        ],
        torch_ref=_tf("fold"),
        errors=[ErrorCase((rand(1, 5, 4), 3, 2), exc=ValueError, match="fold")],
    ),
]

OPS[0].errors = [
    ErrorCase((rand(2, 2, 5, 5), rand(4, 3, 3, 3)), exc=ValueError, match="conv2d.*channels"),
    ErrorCase((rand(5, 5), rand(4, 3, 3, 3)), exc=ValueError, match="conv2d.*3D.*4D"),
    ErrorCase(
        (rand(1, 3, 5, 5), rand(4, 3, 3, 3)),
        {"padding": "same", "stride": 2},
        exc=ValueError,
        match="strided",
    ),
    ErrorCase((rand(1, 3, 2, 2), rand(4, 3, 3, 3)), exc=ValueError, match="conv.*smaller"),
    ErrorCase(
        (rand(1, 3, 5, 5), rand(4, 3, 3, 3)), {"padding": "full"}, exc=ValueError, match="padding"
    ),
    ErrorCase(
        (rand(1, 4, 5, 5), rand(3, 2, 3, 3)), {"groups": 2}, exc=ValueError, match="divisible"
    ),
]
OPS[2].errors = [
    ErrorCase((rand(1, 4, 5, 5), rand(3, 3, 3, 3)), exc=ValueError, match="conv_transpose2d"),
    ErrorCase(
        (rand(1, 4, 5, 5), rand(4, 3, 3, 3)),
        {"output_padding": 1},
        exc=ValueError,
        match="output padding",
    ),
]
OPS[4].errors = [
    ErrorCase((rand(1, 1, 5, 5), 2), {"padding": 2}, exc=ValueError, match="half"),
    ErrorCase((rand(5, 5), 2), exc=ValueError, match="max_pool2d"),
]
OPS[12].errors = [
    ErrorCase(
        (rand(1, 1, 4, 4),),
        {"scale_factor": 2, "mode": "linear"},
        exc=ValueError,
        match="linear mode needs 3D",
    ),
    ErrorCase(
        (rand(1, 1, 4, 4),),
        {"scale_factor": 2, "align_corners": True},
        exc=ValueError,
        match="align_corners",
    ),
    ErrorCase(
        (rand(1, 1, 4, 4),), {"mode": "cubic", "size": 2}, exc=ValueError, match="unknown mode"
    ),
    ErrorCase((rand(1, 1, 4, 4),), {}, exc=ValueError, match="either size or scale_factor"),
    ErrorCase(
        (rand(1, 1, 4, 4),), {"size": 2, "scale_factor": 2}, exc=ValueError, match="only one"
    ),
]

globals().update(make_op_tests(OPS))


# ---------------------------------------------------------------------------------------------
# primitives: double backward through every adjoint pair
# ---------------------------------------------------------------------------------------------
def _t(shape, seed=0):
    return ember.tensor(rand(*shape, seed=seed), requires_grad=True)


@pytest.mark.parametrize(
    "fn,shapes",
    [
        (
            lambda x, w: F.conv2d(x, w, stride=2, padding=1, dilation=1),
            [(1, 2, 4, 3), (2, 2, 2, 2)],
        ),
        (lambda x, w: F.conv2d(x, w, groups=2, dilation=2), [(1, 2, 5, 4), (4, 1, 2, 1)]),
        (
            lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=1),
            [(1, 2, 2, 2), (2, 2, 2, 1)],
        ),
        (
            lambda x, w: F.conv_transpose2d(x, w, dilation=2, output_padding=1),
            [(1, 1, 2, 2), (1, 2, 2, 2)],
        ),
        (lambda x, w: F.conv1d(x, w, padding="same"), [(2, 2, 5), (3, 2, 2)]),
        (lambda x: F.max_pool2d(x, 2, stride=1, padding=1), [(1, 2, 3, 3)]),
        (
            lambda x: F.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False),
            [(1, 2, 3, 3)],
        ),
        (lambda x: F.adaptive_max_pool2d(x, (2, 3)), [(1, 2, 3, 4)]),
        (lambda x: F.unfold(x, 2, padding=1, stride=2), [(1, 2, 3, 3)]),
    ],
)
def test_double_backward(fn, shapes):
    ins = tuple(_t(s, seed=k) for k, s in enumerate(shapes))
    assert ember.autograd.gradcheck(fn, ins)
    assert ember.autograd.gradgradcheck(fn, ins)


@requires_torch
def test_second_order_conv_matches_torch():
    x, w = rand(2, 3, 6, 6), rand(4, 3, 3, 3, seed=1)

    def run(lib, fn, mk):
        xs, ws = mk(x), mk(w)
        y = fn(xs, ws, stride=2, padding=1)
        (gx,) = lib.autograd.grad(y.pow(2).sum(), [xs], create_graph=True)
        (gw,) = lib.autograd.grad(gx.pow(2).sum(), [ws])
        return gw

    ours = run(ember, F.conv2d, lambda a: ember.tensor(a, requires_grad=True))
    ref = run(torch, torch.nn.functional.conv2d, lambda a: torch.tensor(a, requires_grad=True))
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-8, atol=1e-8)


def test_max_pool_nan_propagates():
    x = ember.tensor([[[1.0, float("nan"), 3.0, 2.0]]])
    v, i = F.max_pool1d(x, 2, return_indices=True)
    assert math.isnan(v[0, 0, 0].item()) and v[0, 0, 1].item() == 3.0
    assert i.tolist() == [[[1, 2]]]


def test_max_pool_gradient_goes_to_first_max_on_ties():
    x = ember.ones(1, 1, 2, 2, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]


def test_conv_large_batch_is_chunked_consistently():
    from ember.ops import conv_kernels

    x, w = ember.tensor(rand(5, 3, 6, 6)), ember.tensor(rand(4, 3, 3, 3, seed=1))
    full = F.conv2d(x, w, padding=1).numpy()
    old = conv_kernels._CHUNK_BYTES
    conv_kernels._CHUNK_BYTES = 1  # one sample per chunk
    try:
        np.testing.assert_allclose(F.conv2d(x, w, padding=1).numpy(), full, rtol=1e-12)
    finally:
        conv_kernels._CHUNK_BYTES = old


def test_conv_rejects_integer_input():
    with pytest.raises(TypeError, match="conv: expected floating-point"):
        F.conv2d(
            ember.ones(1, 1, 3, 3, dtype=ember.int64), ember.ones(1, 1, 2, 2, dtype=ember.int64)
        )


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
MODULE_CASES = [
    ("Conv1d", (16, 33, 3), {"stride": 2}),
    ("Conv1d", (4, 8, 5), {"padding": "same", "bias": False, "padding_mode": "reflect"}),
    ("Conv2d", (1, 32, 3), {"padding": 1}),
    ("Conv2d", (16, 33, (3, 5)), {"stride": (2, 1), "padding": (4, 2), "dilation": (3, 1)}),
    ("Conv2d", (8, 8, 3), {"groups": 8, "padding": "same", "bias": False}),
    ("Conv2d", (3, 6, 3), {"padding": 2, "padding_mode": "circular"}),
    ("Conv2d", (3, 6, 3), {"padding": 1, "padding_mode": "replicate"}),
    ("Conv2d", (3, 6, 4), {"padding": "same", "padding_mode": "reflect"}),
    ("Conv2d", (3, 6, 3), {"padding": "valid"}),
    ("ConvTranspose1d", (4, 6, 3), {"stride": 2, "output_padding": 1}),
    ("ConvTranspose2d", (16, 8, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ("ConvTranspose2d", (4, 6, (2, 3)), {"groups": 2, "dilation": 2, "bias": False}),
    ("MaxPool1d", (3,), {"stride": 2}),
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", ((3, 2),), {"stride": 2, "padding": 1, "dilation": 1, "ceil_mode": True}),
    ("AvgPool1d", (2,), {}),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False, "ceil_mode": True}),
    ("AdaptiveAvgPool1d", (3,), {}),
    ("AdaptiveAvgPool2d", ((3, None),), {}),
    ("AdaptiveMaxPool2d", (3,), {}),
    ("AdaptiveMaxPool1d", (3,), {}),
    ("Upsample", (), {"scale_factor": 2}),
    ("Upsample", (), {"size": (3, 4), "mode": "bilinear"}),
    ("Upsample", (), {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True}),
    ("UpsamplingNearest2d", (), {"scale_factor": 2}),
    ("UpsamplingBilinear2d", (), {"scale_factor": 2}),
    ("PixelShuffle", (2,), {}),
    ("PixelUnshuffle", (2,), {}),
    ("Flatten", (), {}),
    ("Flatten", (0, 2), {}),
    ("Unflatten", (1, (2, 4)), {}),
]


def _input_for(name, args):
    if name.startswith("Conv"):
        nd = int(name[-2])
        return rand(2, args[0], *([9] * nd))
    if name.endswith("1d"):
        return rand(2, 3, 10)
    if name == "PixelUnshuffle":
        return rand(2, 3, 6, 8)
    if name == "PixelShuffle":
        return rand(2, 8, 3, 4)
    if name == "Unflatten":
        return rand(3, 8, 2)
    return rand(2, 3, 6, 7)


@requires_torch
@pytest.mark.parametrize(
    "name,args,kwargs", MODULE_CASES, ids=[f"{c[0]}-{k}" for k, c in enumerate(MODULE_CASES)]
)
def test_module_matches_torch(name, args, kwargs):
    ours = getattr(nn, name)(*args, **kwargs)
    ref = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(ref)
    ours_params = dict(ours.named_parameters())
    ref_params = dict(ref.named_parameters())
    assert sorted(ours_params) == sorted(ref_params)
    for key, p in ref_params.items():
        assert tuple(ours_params[key].shape) == tuple(p.shape), key
        with ember.no_grad():
            ours_params[key].copy_(ember.tensor(p.detach().numpy()))
    x = _input_for(name, args).astype(np.float32)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ye, yt = ours(xe), ref(xt)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = rand(*yt.shape, seed=5).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for key, p in ref_params.items():
        np.testing.assert_allclose(
            ours_params[key].grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=key
        )


@pytest.mark.parametrize(
    "cls,args", [(nn.Conv2d, (6, 16, 5)), (nn.Conv1d, (3, 4, 7)), (nn.ConvTranspose2d, (8, 4, 3))]
)
def test_conv_default_init_is_kaiming_uniform(cls, args):
    ember.manual_seed(0)
    m = cls(*args)
    fan_in = m.weight.shape[1] * math.prod(m.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.8 * bound  # spread over the whole interval
    assert abs(w.std() - bound / math.sqrt(3)) < 0.15 * bound


def test_conv2d_channel_error_names_layer_and_shape():
    m = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError) as err:
        m(ember.ones(8, 1, 28, 28))
    assert str(err.value) == "Conv2d: expected input with 3 channels, got shape (8, 1, 28, 28)"


@pytest.mark.parametrize(
    "module,shape,match",
    [
        (lambda: nn.Conv2d(3, 8, 3), (3, 28), "Conv2d: expected 3D .unbatched. or 4D"),
        (lambda: nn.Conv1d(3, 8, 3), (1, 3, 4, 4), "Conv1d: expected 2D .unbatched. or 3D"),
        (
            lambda: nn.ConvTranspose2d(4, 2, 3),
            (1, 3, 5, 5),
            "ConvTranspose2d: expected input with 4",
        ),
        (lambda: nn.MaxPool2d(2), (2, 2), "MaxPool2d: expected 3D"),
        (lambda: nn.AvgPool1d(2), (1, 1, 2, 2), "AvgPool1d: expected 2D"),
        (lambda: nn.AdaptiveAvgPool2d(2), (4,), "AdaptiveAvgPool2d: expected 3D"),
    ],
)
def test_module_input_errors(module, shape, match):
    with pytest.raises(ValueError, match=match):
        module()(ember.ones(*shape))


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: nn.Conv2d(3, 8, 3, groups=2), "divisible by groups"),
        (lambda: nn.Conv2d(4, 8, 3, groups=2, padding="same", stride=2), "strided"),
        (lambda: nn.Conv2d(4, 8, 3, padding="full"), "padding string"),
        (lambda: nn.Conv2d(4, 8, 3, padding_mode="mirror"), "padding_mode"),
        (lambda: nn.ConvTranspose2d(4, 8, 3, padding_mode="reflect"), "zeros"),
    ],
)
def test_module_constructor_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_unbatched_conv_matches_batched():
    m = nn.Conv2d(3, 4, 3, padding=1)
    x = ember.tensor(rand(3, 6, 5).astype(np.float32))
    np.testing.assert_allclose(
        m(x).detach().numpy(), m(x.unsqueeze(0))[0].detach().numpy(), rtol=1e-6
    )


def test_lazy_conv2d_infers_in_channels():
    m = nn.LazyConv2d(8, 3, padding=1)
    y = m(ember.ones(2, 5, 7, 7))
    assert y.shape == (2, 8, 7, 7)
    assert type(m) is nn.Conv2d and m.in_channels == 5
    assert tuple(m.weight.shape) == (8, 5, 3, 3) and tuple(m.bias.shape) == (8,)
    assert repr(m) == "Conv2d(5, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / math.sqrt(45)
    y.sum().backward()
    assert m.weight.grad is not None


@requires_torch
def test_conv_transpose_output_size():
    ours = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    ref = torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    with ember.no_grad():
        ours.weight.copy_(ember.tensor(ref.weight.detach().numpy()))
        ours.bias.copy_(ember.tensor(ref.bias.detach().numpy()))
    x = rand(1, 4, 5, 5).astype(np.float32)
    for size in ([9, 9], [10, 9], (1, 2, 10, 10)):
        np.testing.assert_allclose(
            ours(ember.tensor(x), output_size=size).detach().numpy(),
            ref(torch.tensor(x), output_size=size).detach().numpy(),
            rtol=1e-5,
            atol=1e-6,
        )
    with pytest.raises(ValueError, match="output size"):
        ours(ember.tensor(x), output_size=[12, 12])


def test_pool_modules_return_indices():
    v, i = nn.MaxPool2d(2, return_indices=True)(ember.arange(16.0).reshape(1, 1, 4, 4))
    assert i.tolist() == [[[[5, 7], [13, 15]]]] and i.dtype == ember.int64
    v, i = nn.AdaptiveMaxPool2d(1, return_indices=True)(ember.arange(6.0).reshape(1, 2, 3))
    assert v.tolist() == [[[5.0]]] and i.tolist() == [[[5]]]


@requires_torch
def test_small_cnn_training_step_matches_torch():
    """The benchmark network (conv-relu-pool x2 + linear): loss and every gradient."""

    def build(lib):
        lib.manual_seed(0)
        return lib.nn.Sequential(
            lib.nn.Conv2d(1, 8, 3, padding=1),
            lib.nn.ReLU(),
            lib.nn.MaxPool2d(2),
            lib.nn.Conv2d(8, 16, 3, padding=1),
            lib.nn.ReLU(),
            lib.nn.MaxPool2d(2),
            lib.nn.Flatten(),
            lib.nn.Linear(16 * 7 * 7, 10),
        )

    ours, ref = build(ember), build(torch)
    with ember.no_grad():
        for p, q in zip(ours.parameters(), ref.parameters()):
            p.copy_(ember.tensor(q.detach().numpy()))
    x = rand(4, 1, 28, 28).astype(np.float32)
    y = np.array([1, 0, 3, 9])
    le = F.cross_entropy(ours(ember.tensor(x)), ember.tensor(y))
    lt = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(y))
    le.backward()
    lt.backward()
    np.testing.assert_allclose(le.item(), lt.item(), rtol=1e-5)
    for p, q in zip(ours.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-3, atol=1e-5)
