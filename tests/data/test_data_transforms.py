"""Image transforms on HWC arrays and CHW tensors (torch's interpolate as the Resize oracle)."""

import numpy as np
import pytest

import ember
from ember.data import transforms as T

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
RNG = np.random.default_rng(0)


def test_to_tensor():
    img = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    x = T.ToTensor()(img)
    assert x.shape == (3, 5, 7) and x.dtype == ember.float32
    np.testing.assert_allclose(x.numpy(), img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    gray = T.ToTensor()(img[:, :, 0])
    assert gray.shape == (1, 5, 7)
    f = T.ToTensor()(np.ones((2, 2, 1), np.float64) * 3)
    assert f.dtype == ember.float64 and float(f.max()) == 3.0  # non-uint8 is not rescaled
    with pytest.raises(TypeError):
        T.ToTensor()(x)


def test_normalize():
    x = ember.tensor(RNG.random((3, 4, 4)).astype(np.float32))
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(x)
    expected = (x.numpy() - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)
    assert out.dtype == ember.float32
    batch = T.Normalize(mean, std)(ember.stack([x, x]))
    np.testing.assert_allclose(batch.numpy()[1], expected, rtol=1e-5)
    y = x.clone()
    assert T.Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize([0.0], [0.0])(x)
    with pytest.raises(TypeError):
        T.Normalize([0.0], [1.0])(np.zeros((1, 2, 2)))
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize([0.0], [1.0])(ember.zeros(1, 2, 2, dtype=ember.uint8))


@needs_torch
@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize(
    "in_hw, out_hw", [((8, 8), (4, 4)), ((7, 9), (13, 5)), ((32, 20), (10, 30)), ((5, 6), (5, 9))]
)
def test_resize_matches_torch_interpolate(in_hw, out_hw, antialias):
    x = RNG.random((2, 3, *in_hw)).astype(np.float32)
    ours = T.resize(ember.tensor(x), out_hw, antialias=antialias).numpy()
    theirs = torch.nn.functional.interpolate(
        torch.from_numpy(x), out_hw, mode="bilinear", align_corners=False, antialias=antialias
    ).numpy()
    np.testing.assert_allclose(ours, theirs, atol=2e-6)
    # the same on an HWC array
    hwc = T.resize(np.ascontiguousarray(x[0].transpose(1, 2, 0)), out_hw, antialias=antialias)
    np.testing.assert_allclose(hwc.transpose(2, 0, 1), theirs[0], atol=2e-6)


@needs_torch
def test_resize_nearest_matches_torch():
    x = RNG.random((1, 2, 7, 5)).astype(np.float32)
    ours = T.resize(ember.tensor(x), (11, 3), interpolation="nearest").numpy()
    theirs = torch.nn.functional.interpolate(torch.from_numpy(x), (11, 3), mode="nearest")
    np.testing.assert_array_equal(ours, theirs.numpy())


def test_resize_sizes_and_dtypes():
    img = RNG.integers(0, 256, (20, 40, 3), dtype=np.uint8)
    out = T.Resize(10)(img)  # shorter edge -> 10, aspect ratio kept
    assert out.shape == (10, 20, 3) and out.dtype == np.uint8
    assert T.Resize((8, 9))(img).shape == (8, 9, 3)
    assert T.Resize([10])(img).shape == (10, 20, 3)
    assert T.Resize(10, max_size=15)(img).shape == (7, 15, 3)
    tall = ember.zeros(1, 40, 20)
    assert T.Resize(10)(tall).shape == (1, 20, 10)
    assert T.Resize((20, 40))(img) is img
    # constant images stay constant (weights sum to one), uint8 rounding is exact
    flat = np.full((9, 9), 200, np.uint8)
    assert np.all(T.Resize(4)(flat) == 200)
    with pytest.raises(ValueError, match="max_size"):
        T.Resize((3, 4), max_size=10)(img)
    with pytest.raises(ValueError, match="interpolation"):
        T.Resize(4, interpolation="bicubic")(img)


def test_center_crop():
    x = ember.arange(25).reshape(1, 5, 5)
    np.testing.assert_array_equal(
        T.CenterCrop(3)(x).numpy()[0], np.arange(25).reshape(5, 5)[1:4, 1:4]
    )
    arr = np.arange(24).reshape(4, 6)
    np.testing.assert_array_equal(T.CenterCrop((2, 2))(arr), arr[1:3, 2:4])
    padded = T.CenterCrop(4)(ember.ones(1, 2, 2))  # larger than the image: zero padding
    np.testing.assert_array_equal(
        padded.numpy()[0], [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    )


def test_random_crop():
    img = np.arange(64, dtype=np.uint8).reshape(8, 8, 1)
    ember.manual_seed(0)
    crops = [T.RandomCrop(4)(img) for _ in range(30)]
    assert all(c.shape == (4, 4, 1) for c in crops)
    # every crop is a window of the image; more than one position is used
    starts = {(int(c[0, 0, 0]) // 8, int(c[0, 0, 0]) % 8) for c in crops}
    assert len(starts) > 1 and all(0 <= r <= 4 and 0 <= col <= 4 for r, col in starts)
    for c in crops:
        r, col = int(c[0, 0, 0]) // 8, int(c[0, 0, 0]) % 8
        np.testing.assert_array_equal(c, img[r : r + 4, col : col + 4])
    ember.manual_seed(0)
    again = [T.RandomCrop(4)(img) for _ in range(30)]
    assert all(np.array_equal(a, b) for a, b in zip(crops, again))
    padded = T.RandomCrop(8, padding=2)(ember.ones(1, 8, 8))
    assert padded.shape == (1, 8, 8)
    assert T.RandomCrop(10, pad_if_needed=True)(img).shape == (10, 10, 1)
    assert T.RandomCrop(4, padding=(1, 2), padding_mode="reflect")(img).shape == (4, 4, 1)
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(10)(img)
    with pytest.raises(ValueError, match="padding_mode"):
        T.RandomCrop(4, padding_mode="wrap")


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_modes_match_numpy(mode):
    arr = RNG.integers(0, 9, (3, 4, 2))
    out = T.pad(arr, (1, 2, 3, 1), padding_mode=mode)  # left, top, right, bottom
    np.testing.assert_array_equal(out, np.pad(arr, ((2, 1), (1, 3), (0, 0)), mode=mode))
    t = T.pad(ember.tensor(arr.transpose(2, 0, 1).copy()), (1, 2, 3, 1), padding_mode=mode)
    np.testing.assert_array_equal(t.numpy().transpose(1, 2, 0), out)


def test_flips():
    x = ember.arange(6).reshape(1, 2, 3)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x).numpy(), [[[2, 1, 0], [5, 4, 3]]])
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(x).numpy(), [[[3, 4, 5], [0, 1, 2]]])
    assert T.RandomHorizontalFlip(0.0)(x) is x
    arr = np.arange(6).reshape(2, 3, 1)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(arr)[:, :, 0], [[2, 1, 0], [5, 4, 3]])
    ember.manual_seed(1)
    flipped = sum(T.RandomHorizontalFlip()(x) is not x for _ in range(400))
    assert 140 < flipped < 260


def test_compose_pipeline_on_uint8_image():
    img = RNG.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    pipeline = T.Compose(
        [
            T.Resize(32),
            T.CenterCrop(28),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize((0.5,) * 3, (0.5,) * 3),
        ]
    )
    x = pipeline(img)
    assert x.shape == (3, 28, 28) and x.dtype == ember.float32
    assert -1.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert "Resize" in repr(pipeline)


def test_bad_inputs():
    with pytest.raises(TypeError, match="expected a NumPy HWC array or an ember CHW tensor"):
        T.CenterCrop(2)([[1, 2], [3, 4]])
    with pytest.raises(ValueError):
        T.CenterCrop(2)(np.zeros((1, 2, 2, 3)))
    with pytest.raises(TypeError):
        T.Lambda(3)
