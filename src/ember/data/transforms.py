"""Image transforms with torchvision's names, on NumPy arrays and tensors (no PIL needed).

Images are NumPy arrays in height x width x channels layout (``HWC``, or ``HW`` for grayscale;
``uint8`` in 0..255 or floats) the way image files decode, or ember tensors in ``CHW`` layout
(any number of leading dimensions: ``(..., C, H, W)``) as after ``ToTensor``. Geometric
transforms keep the input's kind and dtype. Random transforms draw from ember's global
generator, so ``ember.manual_seed`` (and the per-worker seeding of ``DataLoader``) makes them
reproducible. Transforms are data preparation: they do not record autograd history.

Example:
    >>> import numpy as np
    >>> import ember
    >>> from ember.data import transforms as T
    >>> img = np.full((32, 32, 3), 255, dtype=np.uint8)  # HWC uint8
    >>> pipeline = T.Compose([
    ...     T.RandomCrop(28), T.RandomHorizontalFlip(), T.ToTensor(),
    ...     T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ... ])
    >>> x = pipeline(img)
    >>> x.shape, x.dtype, float(x.max())
    (ember.Size([3, 28, 28]), ember.float32, 1.0)
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..random import _gen
from ..tensor import Tensor

__all__ = [
    "Compose",
    "Lambda",
    "ToTensor",
    "Normalize",
    "Resize",
    "CenterCrop",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
]

Image = np.ndarray | Tensor


# -- helpers -------------------------------------------------------------------------------------
def _check_image(img: Any, op: str) -> None:
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(f"{op}: expected a tensor image (..., H, W), got {img.ndim}-D")
    elif isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"{op}: expected an HW or HWC array, got shape {img.shape}")
    else:
        raise TypeError(
            f"{op}: expected a NumPy HWC array or an ember CHW tensor, got {type(img).__name__}"
        )


def _hw_axes(img: Image) -> tuple[int, int]:
    """The (height, width) axes: (-2, -1) for CHW tensors, (0, 1) for HWC arrays."""
    return (-2, -1) if isinstance(img, Tensor) else (0, 1)


def _array(img: Image) -> np.ndarray:
    return img._data if isinstance(img, Tensor) else img


def _like(img: Image, arr: np.ndarray) -> Image:
    return Tensor._wrap(np.ascontiguousarray(arr)) if isinstance(img, Tensor) else arr


def get_image_size(img: Image) -> tuple[int, int]:
    """``(height, width)`` of an HWC array or a CHW tensor.

    Example:
        >>> import numpy as np, ember
        >>> from ember.data.transforms import get_image_size
        >>> get_image_size(np.zeros((4, 6, 3))), get_image_size(ember.zeros(3, 4, 6))
        ((4, 6), (4, 6))
    """
    _check_image(img, "get_image_size")
    a, b = _hw_axes(img)
    shape = _array(img).shape
    return shape[a], shape[b]


def _pair(size: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{name} should be an int or a sequence of one or two ints, got {size!r}")


def _padding4(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """Left, top, right, bottom (torchvision's order) from an int, 2- or 4-sequence."""
    if isinstance(padding, numbers.Integral):
        p = int(padding)
        return p, p, p, p
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding[0], padding[0], padding[0], padding[0]
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return padding[0], padding[1], padding[2], padding[3]
    raise ValueError(f"padding must be an int or a 1, 2 or 4 element sequence, got {padding}")


_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def pad(
    img: Image,
    padding: int | Sequence[int],
    fill: float = 0,
    padding_mode: str = "constant",
) -> Image:
    """Pad the borders (``padding``: int, (left/right, top/bottom) or (left, top, right, bottom)).

    Example:
        >>> import numpy as np
        >>> from ember.data.transforms import pad
        >>> pad(np.ones((2, 2), np.uint8), (1, 0)).tolist()
        [[0, 1, 1, 0], [0, 1, 1, 0]]
    """
    _check_image(img, "pad")
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"padding_mode must be one of {sorted(_PAD_MODES)}, got {padding_mode!r}")
    left, top, right, bottom = _padding4(padding)
    arr = _array(img)
    widths = [(0, 0)] * arr.ndim
    ha, wa = (arr.ndim - 2, arr.ndim - 1) if isinstance(img, Tensor) else (0, 1)
    widths[ha], widths[wa] = (top, bottom), (left, right)
    if padding_mode == "constant":
        out = np.pad(arr, widths, mode="constant", constant_values=np.asarray(fill, arr.dtype))
    else:
        out = np.pad(arr, widths, mode=padding_mode)
    return _like(img, out)


def crop(img: Image, top: int, left: int, height: int, width: int) -> Image:
    """The ``height`` x ``width`` window whose top-left corner is at (``top``, ``left``).

    Example:
        >>> import ember
        >>> from ember.data.transforms import crop
        >>> crop(ember.arange(16).reshape(1, 4, 4), 1, 2, 2, 2)
        tensor([[[ 6,  7],
                 [10, 11]]])
    """
    _check_image(img, "crop")
    arr = _array(img)
    if isinstance(img, Tensor):
        return _like(img, arr[..., top : top + height, left : left + width])
    return arr[top : top + height, left : left + width]


# -- resizing ------------------------------------------------------------------------------------
def _interp_matrix(n_in: int, n_out: int, mode: str, antialias: bool) -> np.ndarray:
    """``(n_out, n_in)`` weights: output sample ``i`` is ``W[i] @ input`` along one axis.

    Bilinear uses half-pixel centres (PyTorch's ``align_corners=False``); with ``antialias``
    and downscaling the triangle filter widens to the scale factor (as PIL and torchvision do).
    """
    scale = n_in / n_out
    if mode == "nearest":
        idx = np.minimum(np.floor(np.arange(n_out) * scale).astype(np.int64), n_in - 1)
        w = np.zeros((n_out, n_in))
        w[np.arange(n_out), idx] = 1.0
        return w
    support = scale if (antialias and scale > 1.0) else 1.0
    centers = (np.arange(n_out) + 0.5) * scale
    x = (np.arange(n_in)[None, :] + 0.5 - centers[:, None]) / support
    w = np.clip(1.0 - np.abs(x), 0.0, None)
    return w / w.sum(axis=1, keepdims=True)


def _output_size(h: int, w: int, size, max_size: int | None) -> tuple[int, int]:
    if isinstance(size, Sequence) and len(size) == 2:
        if max_size is not None:
            raise ValueError(
                "max_size should only be passed if size specifies the length of the smaller "
                "edge, i.e. size should be an int or a sequence of length 1"
            )
        return int(size[0]), int(size[1])
    requested = int(size if isinstance(size, numbers.Integral) else size[0])
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = requested, int(requested * long / short)
    if max_size is not None:
        if max_size <= requested:
            raise ValueError(
                f"max_size = {max_size} must be strictly greater than the requested size for "
                f"the smaller edge size = {size}"
            )
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def resize(
    img: Image,
    size: int | Sequence[int],
    interpolation: str = "bilinear",
    max_size: int | None = None,
    antialias: bool = True,
) -> Image:
    """Resize to ``size`` ((h, w), or an int for the shorter edge keeping the aspect ratio).

    ``interpolation`` is ``"bilinear"`` (half-pixel centres; antialiased when shrinking unless
    ``antialias=False``) or ``"nearest"``. Integer images are rounded back to their dtype.

    Example:
        >>> import ember
        >>> from ember.data.transforms import resize
        >>> resize(ember.tensor([[[0.0, 1.0]]]), (1, 4))
        tensor([[[0.0000, 0.2500, 0.7500, 1.0000]]])
    """
    _check_image(img, "resize")
    mode = getattr(interpolation, "value", interpolation)
    mode = str(mode).lower()
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
    h, w = get_image_size(img)
    oh, ow = _output_size(h, w, size, max_size)
    if oh <= 0 or ow <= 0:
        raise ValueError(f"resize: output size must be positive, got {(oh, ow)}")
    if (oh, ow) == (h, w):
        return img
    arr = _array(img)
    work = np.float64 if arr.dtype == np.float64 else np.float32
    wh = _interp_matrix(h, oh, mode, antialias).astype(work)
    ww = _interp_matrix(w, ow, mode, antialias).astype(work)
    x = arr.astype(work, copy=False)
    if isinstance(img, Tensor):
        out = wh @ x @ ww.T
    else:
        out = np.tensordot(wh, x, axes=(1, 0))  # (oh, w, ...)
        out = np.tensordot(ww, out, axes=(1, 1)).swapaxes(0, 1)  # (oh, ow, ...)
    if arr.dtype.kind in "iub":
        info = np.iinfo(arr.dtype) if arr.dtype.kind != "b" else None
        out = np.round(out)
        if info is not None:
            out = np.clip(out, info.min, info.max)
    return _like(img, np.ascontiguousarray(out.astype(arr.dtype, copy=False)))


# -- transform classes ---------------------------------------------------------------------------
class Compose:
    """Apply several transforms one after another.

    Example:
        >>> from ember.data.transforms import Compose, Lambda
        >>> Compose([Lambda(lambda x: x + 1), Lambda(lambda x: x * 10)])(1)
        20
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


class Lambda:
    """Wrap a function as a transform.

    Example:
        >>> from ember.data.transforms import Lambda
        >>> Lambda(lambda x: -x)(3)
        -3
    """

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToTensor:
    """HWC (or HW) NumPy array -> CHW tensor; ``uint8`` is scaled to float32 in [0, 1].

    Other dtypes keep their values and dtype (as torchvision's ``ToTensor``).

    Example:
        >>> import numpy as np
        >>> from ember.data.transforms import ToTensor
        >>> x = ToTensor()(np.full((2, 3, 1), 255, dtype=np.uint8))
        >>> x.shape, x.dtype, float(x.max())
        (ember.Size([1, 2, 3]), ember.float32, 1.0)
    """

    def __call__(self, pic: np.ndarray) -> Tensor:
        if isinstance(pic, Tensor):
            raise TypeError("ToTensor: input is already a tensor (expected an HWC NumPy array)")
        pic = np.asarray(pic)
        if pic.ndim == 2:
            pic = pic[:, :, None]
        if pic.ndim != 3:
            raise ValueError(f"ToTensor: expected an HW or HWC array, got shape {pic.shape}")
        chw = np.ascontiguousarray(pic.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            chw = chw.astype(np.float32) / np.float32(255)
        return Tensor._wrap(chw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """``(x - mean[c]) / std[c]`` for each channel ``c`` of a float CHW tensor.

    Example:
        >>> import ember
        >>> from ember.data.transforms import Normalize
        >>> Normalize([0.5], [0.25])(ember.ones(1, 1, 2))
        tensor([[[2., 2.]]])
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = tuple(float(m) for m in np.atleast_1d(np.asarray(mean, np.float64)))
        self.std = tuple(float(s) for s in np.atleast_1d(np.asarray(std, np.float64)))
        self.inplace = inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"Normalize: img should be an ember Tensor, got {type(tensor).__name__}"
            )
        if not tensor.is_floating_point():
            raise TypeError(f"Normalize: input tensor should be a float tensor, got {tensor.dtype}")
        if tensor.ndim < 3:
            raise ValueError(
                "Normalize: expected a tensor image of size (..., C, H, W), got "
                f"{tuple(tensor.shape)}"
            )
        arr = tensor._data
        mean = np.asarray(self.mean, arr.dtype)
        std = np.asarray(self.std, arr.dtype)
        if np.any(std == 0):
            raise ValueError(
                f"std evaluated to zero after conversion to {tensor.dtype}, leading to division "
                "by zero."
            )
        out = (arr - mean[:, None, None]) / std[:, None, None]
        if self.inplace:
            arr[...] = out
            tensor._version.value += 1
            return tensor
        return Tensor._wrap(out.astype(arr.dtype, copy=False))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={list(self.mean)}, std={list(self.std)})"


class Resize:
    """Resize to ``size`` ((h, w), or an int for the shorter edge keeping the aspect ratio).

    Bilinear by default, antialiased when shrinking (torchvision's defaults); see
    :func:`resize`.

    Example:
        >>> import numpy as np
        >>> from ember.data.transforms import Resize
        >>> Resize(16)(np.zeros((32, 64, 3), np.uint8)).shape
        (16, 32, 3)
    """

    def __init__(
        self,
        size: int | Sequence[int],
        interpolation: str = "bilinear",
        max_size: int | None = None,
        antialias: bool = True,
    ) -> None:
        if not isinstance(size, (numbers.Integral, Sequence)) or (
            isinstance(size, Sequence) and len(size) not in (1, 2)
        ):
            raise TypeError(f"Size should be int or sequence of one or two ints. Got {size!r}")
        self.size = size
        self.interpolation = interpolation
        self.max_size = max_size
        self.antialias = antialias

    def __call__(self, img: Image) -> Image:
        return resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation})"


class CenterCrop:
    """Crop the centre ``size`` window (padding with zeros where the image is smaller).

    Example:
        >>> import ember
        >>> from ember.data.transforms import CenterCrop
        >>> CenterCrop(2)(ember.arange(16).reshape(1, 4, 4))
        tensor([[[ 5,  6],
                 [ 9, 10]]])
    """

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _pair(size, "size")

    def __call__(self, img: Image) -> Image:
        _check_image(img, "CenterCrop")
        th, tw = self.size
        h, w = get_image_size(img)
        if th > h or tw > w:
            padding = (
                (tw - w) // 2 if tw > w else 0,
                (th - h) // 2 if th > h else 0,
                (tw - w + 1) // 2 if tw > w else 0,
                (th - h + 1) // 2 if th > h else 0,
            )
            img = pad(img, padding, fill=0)
            h, w = get_image_size(img)
            if (h, w) == (th, tw):
                return img
        top = int(round((h - th) / 2.0))
        left = int(round((w - tw) / 2.0))
        return crop(img, top, left, th, tw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class RandomCrop:
    """Crop a random ``size`` window, optionally padding the image first.

    ``padding``: int, (left/right, top/bottom) or (left, top, right, bottom);
    ``pad_if_needed`` pads an image smaller than ``size``; ``padding_mode`` is ``"constant"``
    (with ``fill``), ``"edge"``, ``"reflect"`` or ``"symmetric"``.

    Example:
        >>> import numpy as np
        >>> from ember.data.transforms import RandomCrop
        >>> RandomCrop(24, padding=4)(np.zeros((32, 32, 3), np.uint8)).shape
        (24, 24, 3)
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] | None = None,
        pad_if_needed: bool = False,
        fill: float = 0,
        padding_mode: str = "constant",
    ) -> None:
        self.size = _pair(size, "size")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        if padding_mode not in _PAD_MODES:
            raise ValueError(
                f"padding_mode must be one of {sorted(_PAD_MODES)}, got {padding_mode!r}"
            )
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img: Image, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """Random ``(top, left, height, width)`` for a crop of ``output_size``."""
        h, w = get_image_size(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(
                f"Required crop size {(th, tw)} is larger than input image size {(h, w)}"
            )
        if (h, w) == (th, tw):
            return 0, 0, h, w
        rng = _gen(None)
        top = int(rng.integers(0, h - th + 1))
        left = int(rng.integers(0, w - tw + 1))
        return top, left, th, tw

    def __call__(self, img: Image) -> Image:
        _check_image(img, "RandomCrop")
        if self.padding is not None:
            img = pad(img, self.padding, self.fill, self.padding_mode)
        h, w = get_image_size(img)
        th, tw = self.size
        if self.pad_if_needed and w < tw:
            img = pad(img, (tw - w, 0), self.fill, self.padding_mode)
        if self.pad_if_needed and h < th:
            img = pad(img, (0, th - h), self.fill, self.padding_mode)
        return crop(img, *self.get_params(img, self.size))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``.

    Example:
        >>> import ember
        >>> from ember.data.transforms import RandomHorizontalFlip
        >>> RandomHorizontalFlip(p=1.0)(ember.tensor([[[1, 2, 3]]]))
        tensor([[[3, 2, 1]]])
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Image) -> Image:
        _check_image(img, "RandomHorizontalFlip")
        if _gen(None).random() < self.p:
            return _like(img, np.flip(_array(img), axis=_hw_axes(img)[1]))
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip:
    """Mirror top-bottom with probability ``p``.

    Example:
        >>> import numpy as np
        >>> from ember.data.transforms import RandomVerticalFlip
        >>> RandomVerticalFlip(p=1.0)(np.array([[1], [2]])).tolist()
        [[2], [1]]
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Image) -> Image:
        _check_image(img, "RandomVerticalFlip")
        if _gen(None).random() < self.p:
            return _like(img, np.flip(_array(img), axis=_hw_axes(img)[0]))
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"
