"""CIFAR-10 from its *binary* batches (``cifar-10-batches-bin``); nothing is ever unpickled.

Each ``.bin`` file is a run of 3,073-byte records: one label byte, then a 32x32 image as 1,024
red, 1,024 green and 1,024 blue bytes (row-major). The training split is ``data_batch_1.bin``
.. ``data_batch_5.bin``, the test split ``test_batch.bin``; they live in
``root/cifar-10-batches-bin``. ``download=True`` fetches ``cifar-10-binary.tar.gz`` (MD5-checked)
and extracts those files.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from ember.data.datasets import CIFAR10
    >>> from ember.data.datasets.cifar import write_cifar_batch
    >>> with tempfile.TemporaryDirectory() as root:
    ...     folder = os.path.join(root, "cifar-10-batches-bin")
    ...     os.makedirs(folder)
    ...     images = np.zeros((2, 32, 32, 3), np.uint8)
    ...     write_cifar_batch(os.path.join(folder, "test_batch.bin"), images, [3, 8])
    ...     ds = CIFAR10(root, train=False)
    ...     image, label = ds[1]
    >>> len(ds), image.shape, label, ds.classes[label]
    (2, ember.Size([3, 32, 32]), 8, 'ship')
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...tensor import Tensor
from ..dataset import Dataset
from ._download import download_file, extract_tar

__all__ = ["CIFAR10", "read_cifar_batch", "write_cifar_batch"]

_SIDE = 32
_RECORD = 1 + 3 * _SIDE * _SIDE


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a CIFAR-10 binary batch: ``(images N x 32 x 32 x 3 uint8, labels N int64)``.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from ember.data.datasets.cifar import read_cifar_batch, write_cifar_batch
        >>> with tempfile.TemporaryDirectory() as d:
        ...     write_cifar_batch(os.path.join(d, "b.bin"), np.ones((1, 32, 32, 3), np.uint8), [5])
        ...     images, labels = read_cifar_batch(os.path.join(d, "b.bin"))
        >>> images.shape, labels.tolist()
        ((1, 32, 32, 3), [5])
    """
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % _RECORD:
        raise ValueError(
            f"{path} is not a CIFAR-10 binary batch: {raw.size} bytes is not a multiple of the "
            f"{_RECORD}-byte record size"
        )
    records = raw.reshape(-1, _RECORD)
    labels = records[:, 0].astype(np.int64)
    images = records[:, 1:].reshape(-1, 3, _SIDE, _SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def write_cifar_batch(
    path: str | os.PathLike, images: np.ndarray, labels: Sequence[int] | np.ndarray
) -> None:
    """Write ``images`` (N x 32 x 32 x 3 uint8) and ``labels`` in the CIFAR-10 binary format.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from ember.data.datasets.cifar import write_cifar_batch
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = os.path.join(d, "b.bin")
        ...     write_cifar_batch(path, np.zeros((2, 32, 32, 3), np.uint8), [0, 1])
        ...     os.path.getsize(path)
        6146
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.shape[1:] != (_SIDE, _SIDE, 3) or images.dtype != np.uint8:
        raise ValueError(
            f"expected N x 32 x 32 x 3 uint8 images, got {images.shape} {images.dtype}"
        )
    if labels.shape != (len(images),):
        raise ValueError(f"expected {len(images)} labels, got shape {labels.shape}")
    records = np.empty((len(images), _RECORD), np.uint8)
    records[:, 0] = labels.astype(np.uint8)
    records[:, 1:] = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    records.tofile(path)


class CIFAR10(Dataset):
    """CIFAR-10: 50,000 train / 10,000 test 32x32 colour images in ten classes.

    Items are ``(image, label)``: the image is a 3x32x32 float32 tensor in [0, 1] by default,
    or, when ``transform`` is given, whatever it returns from a 32x32x3 ``uint8`` NumPy array
    (HWC, so ``transforms.ToTensor()`` gives the default). ``data`` is the split's images as an
    N x 32 x 32 x 3 uint8 array and ``targets`` a list of ints, as in torchvision.

    Args:
        root: folder holding ``cifar-10-batches-bin``.
        train: the training split (else the test split).
        transform / target_transform: applied to the image / the label.
        download: fetch and extract ``cifar-10-binary.tar.gz`` (MD5-checked) if files are missing.

    Example:
        >>> from ember.data.datasets import CIFAR10
        >>> CIFAR10.classes[:3], CIFAR10.base_folder
        (['airplane', 'automobile', 'bird'], 'cifar-10-batches-bin')
    """

    base_folder = "cifar-10-batches-bin"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    filename = "cifar-10-binary.tar.gz"
    tgz_md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    train_list = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_list = ["test_batch.bin"]
    classes = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        self.root = str(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download()
        names = self.train_list if train else self.test_list
        missing = [n for n in names if not (self.folder / n).is_file()]
        if missing:
            raise RuntimeError(
                f"CIFAR10 files not found: {', '.join(missing)} in {self.folder}. Use "
                f"download=True, or download {self.url} (MD5 {self.tgz_md5}), extract it and put "
                f"the {self.base_folder} folder in {self.root}."
            )
        parts = [read_cifar_batch(self.folder / n) for n in names]
        self.data = np.concatenate([p[0] for p in parts])
        self._labels = np.concatenate([p[1] for p in parts])
        self.targets = self._labels.tolist()
        meta = self.folder / "batches.meta.txt"
        if meta.is_file():
            names = [line.strip() for line in meta.read_text().splitlines() if line.strip()]
            if len(names) == len(self.classes):
                self.classes = names

    @property
    def folder(self) -> Path:
        """``root/cifar-10-batches-bin``."""
        return Path(self.root) / self.base_folder

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Class name -> label."""
        return {c: i for i, c in enumerate(self.classes)}

    def _check_exists(self) -> bool:
        return all((self.folder / n).is_file() for n in self.train_list + self.test_list)

    def download(self) -> None:
        """Download ``cifar-10-binary.tar.gz`` into ``root`` (MD5-checked) and extract it."""
        if self._check_exists():
            return
        archive = download_file(self.url, self.root, self.filename, self.tgz_md5)
        wanted = [
            f"{self.base_folder}/{n}"
            for n in self.train_list + self.test_list + ["batches.meta.txt"]
        ]
        extract_tar(archive, self.root, members=wanted)

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img, target = self.data[index], int(self._labels[index])
        if self.transform is None:
            img = Tensor._wrap(img.transpose(2, 0, 1).astype(np.float32) / np.float32(255))
        else:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return f"Dataset CIFAR10\n    Number of datapoints: {len(self)}\n    Split: {split}"
