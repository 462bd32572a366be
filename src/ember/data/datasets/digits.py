"""``Digits``: the UCI 8x8 handwritten digits, shipped inside ember (no download needed).

1,797 grayscale 8x8 images of the digits 0-9 with pixel values 0..16. Source: UCI Machine
Learning Repository, "Optical Recognition of Handwritten Digits" (E. Alpaydin, C. Kaynak),
CC BY 4.0, in the copy shipped with scikit-learn; see ``NOTICE.md`` next to this file.

Example:
    >>> from ember.data.datasets import Digits
    >>> train, test = Digits(train=True), Digits(train=False)
    >>> len(train), len(test)
    (1438, 359)
    >>> image, label = train[0]
    >>> image.shape, image.dtype, type(label)
    (ember.Size([1, 8, 8]), ember.float32, <class 'int'>)
"""

from __future__ import annotations

import functools
import gzip
import io
from collections.abc import Callable
from importlib import resources
from typing import Any

import numpy as np

from ...tensor import Tensor
from ..dataset import Dataset

__all__ = ["Digits", "load_digits"]

_FILE = "digits.csv.gz"
_SHUFFLE_STRIDE = 7919  # a prime that does not divide 1797: i -> i * 7919 % n is a permutation


@functools.lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    raw = resources.files(__package__).joinpath(_FILE).read_bytes()
    table = np.loadtxt(io.TextIOWrapper(gzip.GzipFile(fileobj=io.BytesIO(raw))), delimiter=",")
    images = table[:, :64].astype(np.uint8).reshape(-1, 8, 8)
    labels = table[:, 64].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits: ``(images N x 8 x 8 uint8 in 0..16, labels N int64)`` (read-only arrays).

    Example:
        >>> from ember.data.datasets import load_digits
        >>> images, labels = load_digits()
        >>> images.shape, int(images.max()), sorted(set(labels.tolist()))
        ((1797, 8, 8), 16, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    return _load()


def _split_mask(labels: np.ndarray, split: float) -> np.ndarray:
    """True for the training rows: per class, the first ``round(split * count)`` rows of a
    fixed pseudo-shuffle (pure arithmetic, so the same on every machine and NumPy version)."""
    n = len(labels)
    rank = (np.arange(n, dtype=np.int64) * _SHUFFLE_STRIDE) % n
    mask = np.zeros(n, dtype=bool)
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        rows = rows[np.argsort(rank[rows], kind="stable")]
        mask[rows[: int(round(len(rows) * split))]] = True
    return mask


class Digits(Dataset):
    """The UCI 8x8 handwritten digits, split deterministically into train and test.

    Items are ``(image, label)``: the image is a 1x8x8 float32 tensor scaled to [0, 1] (pixel /
    16) by default, or, when ``transform`` is given, whatever it returns from the 8x8x1 float32
    NumPy array in [0, 1] (HWC, so ``transforms.ToTensor()`` gives the default). The label is an
    int. ``split`` is the training fraction of each class (a stratified split); which rows go
    where is fixed (the same on every machine), and the two splits never overlap. ``data``
    (float32 N x 8 x 8 in [0, 1]) and ``targets`` (int64) hold the whole split.

    Example:
        >>> from ember.data import DataLoader
        >>> from ember.data.datasets import Digits
        >>> x, y = next(iter(DataLoader(Digits(), batch_size=32)))
        >>> x.shape, y.dtype
        (ember.Size([32, 1, 8, 8]), ember.int64)
    """

    classes = [str(i) for i in range(10)]

    def __init__(
        self,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        split: float = 0.8,
    ) -> None:
        if not 0.0 < split < 1.0:
            raise ValueError(f"split must be a fraction between 0 and 1, got {split}")
        self.train = train
        self.split = split
        self.transform = transform
        self.target_transform = target_transform
        images, labels = _load()
        mask = _split_mask(labels, split)
        if not train:
            mask = ~mask
        self._images = (images[mask].astype(np.float32) / np.float32(16))[:, None]
        self._labels = np.ascontiguousarray(labels[mask])

    @property
    def data(self) -> Tensor:
        """All images of the split, float32 N x 8 x 8 in [0, 1]."""
        return Tensor._wrap(self._images[:, 0])

    @property
    def targets(self) -> Tensor:
        """All labels of the split, int64."""
        return Tensor._wrap(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        target = int(self._labels[index])
        if self.transform is None:
            img = Tensor._wrap(self._images[index].copy())
        else:
            img = self.transform(self._images[index].transpose(1, 2, 0).copy())
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return f"Dataset Digits\n    Number of datapoints: {len(self)}\n    Split: {split}"
