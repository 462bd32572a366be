"""MNIST and Fashion-MNIST from the standard IDX files (torchvision's folder layout).

The four files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally ``.gz``) are read from
``root/MNIST/raw`` (``root/FashionMNIST/raw`` for Fashion-MNIST). ``download=True`` fetches the
``.gz`` files there, checking their MD5; without a network the error says where to put them.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from ember.data.datasets import MNIST
    >>> from ember.data.datasets.mnist import write_idx
    >>> with tempfile.TemporaryDirectory() as root:
    ...     raw = os.path.join(root, "MNIST", "raw")
    ...     os.makedirs(raw)
    ...     write_idx(os.path.join(raw, "t10k-images-idx3-ubyte"), np.zeros((3, 28, 28), np.uint8))
    ...     write_idx(os.path.join(raw, "t10k-labels-idx1-ubyte"), np.array([7, 2, 1], np.uint8))
    ...     ds = MNIST(root, train=False)
    ...     image, label = ds[0]
    >>> len(ds), image.shape, label
    (3, ember.Size([1, 28, 28]), 7)
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...tensor import Tensor
from ..dataset import Dataset
from ._download import download_file

__all__ = ["MNIST", "FashionMNIST", "read_idx", "write_idx"]

# IDX type codes -> big-endian NumPy dtypes (http://yann.lecun.com/exdb/mnist/, "the IDX format")
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {v.newbyteorder("="): k for k, v in _IDX_TYPES.items()}


def _open(path: str | os.PathLike):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a NumPy array in native byte order.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from ember.data.datasets.mnist import read_idx, write_idx
        >>> with tempfile.TemporaryDirectory() as d:
        ...     write_idx(os.path.join(d, "x.gz"), np.arange(6, dtype=np.int32).reshape(2, 3))
        ...     read_idx(os.path.join(d, "x.gz"))
        array([[0, 1, 2],
               [3, 4, 5]], dtype=int32)
    """
    with _open(path) as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX header says shape {shape} ({expected} bytes of data) but the file "
            f"has {len(raw) - header}"
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in ``.gz``).

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from ember.data.datasets.mnist import read_idx, write_idx
        >>> with tempfile.TemporaryDirectory() as d:
        ...     write_idx(os.path.join(d, "labels"), np.array([3, 1, 4], np.uint8))
        ...     read_idx(os.path.join(d, "labels")).tolist()
        [3, 1, 4]
    """
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: dtype {array.dtype} has no IDX type code")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    body = np.ascontiguousarray(array, _IDX_TYPES[code]).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + body)


def _to_tensor_gray(img: np.ndarray) -> Tensor:
    return Tensor._wrap((img.astype(np.float32) / np.float32(255))[None])


class MNIST(Dataset):
    """The MNIST handwritten digits (60,000 train / 10,000 test 28x28 grayscale images).

    Items are ``(image, label)``: the image is a 1x28x28 float32 tensor in [0, 1] by default,
    or, when ``transform`` is given, whatever it returns from a 28x28 ``uint8`` NumPy array
    (so ``transforms.ToTensor()`` gives the default). ``data`` (uint8, N x 28 x 28) and
    ``targets`` (int64) hold the whole split.

    Args:
        root: folder holding ``MNIST/raw`` (created by ``download=True``).
        train: the training split (else the test split).
        transform / target_transform: applied to the image / the label.
        download: fetch the files (MD5-checked) if they are missing.

    Example:
        >>> from ember.data.datasets import MNIST
        >>> MNIST.raw_folder_for("data")
        'data/MNIST/raw'
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
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
        prefix = "train" if train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        if download:
            self.download()
        paths = [self._find(name) for name in names]
        missing = [n for n, p in zip(names, paths) if p is None]
        if missing:
            raise RuntimeError(
                f"{type(self).__name__} files not found: {', '.join(missing)} (or .gz) in "
                f"{self.raw_folder}. Use download=True, or download "
                f"{', '.join(n + '.gz' for n in missing)} from {self.mirrors[0]} and put them "
                "in that folder."
            )
        images, labels = read_idx(paths[0]), read_idx(paths[1])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise RuntimeError(
                f"{type(self).__name__}: expected N x H x W images and N labels, got shapes "
                f"{images.shape} and {labels.shape}"
            )
        self._images = np.ascontiguousarray(images, np.uint8)
        self._labels = labels.astype(np.int64)

    @classmethod
    def raw_folder_for(cls, root: str | os.PathLike) -> str:
        """Where the IDX files of this dataset live under ``root``."""
        return os.path.join(str(root), cls.__name__, "raw")

    @property
    def raw_folder(self) -> str:
        """``root/<ClassName>/raw``, where the IDX files are read from."""
        return self.raw_folder_for(self.root)

    @property
    def data(self) -> Tensor:
        """All images of the split, uint8 N x H x W."""
        return Tensor._wrap(self._images)

    @property
    def targets(self) -> Tensor:
        """All labels of the split, int64."""
        return Tensor._wrap(self._labels)

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Class name -> label."""
        return {c: i for i, c in enumerate(self.classes)}

    def _find(self, name: str) -> Path | None:
        for candidate in (name, name + ".gz"):
            p = Path(self.raw_folder) / candidate
            if p.is_file():
                return p
        return None

    def _check_exists(self) -> bool:
        return all(self._find(name[: -len(".gz")]) is not None for name, _ in self.resources)

    def download(self) -> None:
        """Download the missing ``.gz`` files into ``raw_folder``, verifying their MD5."""
        if self._check_exists():
            return
        for filename, md5 in self.resources:
            if self._find(filename[: -len(".gz")]) is None:
                urls = [m + filename for m in self.mirrors]
                download_file(urls, self.raw_folder, filename, md5)

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img, target = self._images[index], int(self._labels[index])
        img = _to_tensor_gray(img) if self.transform is None else self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        name = type(self).__name__
        return f"Dataset {name}\n    Number of datapoints: {len(self)}\n    Split: {split}"


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): same format and layout as :class:`MNIST`, ten clothing classes.

    Files are read from ``root/FashionMNIST/raw``.

    Example:
        >>> from ember.data.datasets import FashionMNIST
        >>> FashionMNIST.classes[:3]
        ['T-shirt/top', 'Trouser', 'Pullover']
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
