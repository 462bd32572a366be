"""Datasets: map-style ``Dataset``, stream-style ``IterableDataset``, and ways to combine them.

A map-style dataset has ``__getitem__(i)`` and ``__len__``; an iterable dataset has
``__iter__``. The names and behaviour are PyTorch's (``torch.utils.data``).

Example:
    >>> import ember
    >>> from ember.data import TensorDataset, random_split
    >>> ds = TensorDataset(ember.arange(10), ember.arange(10) * 2)
    >>> ds[3]
    (tensor(3), tensor(6))
    >>> [len(s) for s in random_split(ds, [0.7, 0.3], generator=ember.Generator().manual_seed(0))]
    [7, 3]
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..tensor import Tensor

__all__ = [
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "ConcatDataset",
    "ChainDataset",
    "Subset",
    "StackDataset",
    "random_split",
]


class Dataset:
    """Base class of map-style datasets: subclass it and define ``__getitem__`` and ``__len__``.

    ``a + b`` concatenates two datasets. A dataset may also define ``__getitems__(indices)``
    to fetch a whole batch at once; ``DataLoader`` uses it when present.

    Example:
        >>> from ember.data import Dataset
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return i * i
        >>> ds = Squares()
        >>> [ds[i] for i in range(len(ds))], len(ds + ds)
        ([0, 1, 4, 9], 8)
    """

    def __getitem__(self, index) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of stream-style datasets: subclass it and define ``__iter__``.

    With ``num_workers > 0`` every worker iterates its own copy of the dataset; use
    ``ember.data.get_worker_info()`` inside ``__iter__`` to give each worker its share.
    ``a + b`` chains two iterable datasets.

    Example:
        >>> from ember.data import IterableDataset, get_worker_info
        >>> class Range(IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         info = get_worker_info()
        ...         start, step = (0, 1) if info is None else (info.id, info.num_workers)
        ...         return iter(range(start, self.n, step))
        >>> list(Range(4) + Range(2))
        [0, 1, 2, 3, 0, 1]
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Rows of tensors that share their first dimension: item ``i`` is ``(t[i] for t in tensors)``.

    Example:
        >>> import ember
        >>> from ember.data import TensorDataset
        >>> ds = TensorDataset(ember.zeros(5, 3), ember.arange(5))
        >>> len(ds), ds[2][0].shape, ds[2][1]
        (5, ember.Size([3]), tensor(2))
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        n = tensors[0].size(0)
        if any(t.size(0) != n for t in tensors):
            sizes = [t.size(0) for t in tensors]
            raise ValueError(f"Size mismatch between tensors: first dimensions are {sizes}")
        self.tensors = tensors

    def __getitem__(self, index) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].size(0)


class StackDataset(Dataset):
    """Zip datasets of equal length: items are tuples (positional) or dicts (keyword arguments).

    Example:
        >>> from ember.data import StackDataset
        >>> ds = StackDataset(x=[1, 2, 3], y=["a", "b", "c"])
        >>> ds[1]
        {'x': 2, 'y': 'b'}
    """

    def __init__(self, *args: Sequence, **kwargs: Sequence) -> None:
        if args and kwargs:
            raise ValueError(
                "Supported either ``tuple``- (via ``args``) or ``dict``- (via ``kwargs``) like "
                "input/output, but both types are given."
            )
        parts = list(args) or list(kwargs.values())
        if not parts:
            raise ValueError("At least one dataset should be passed")
        self._length = len(parts[0])
        if any(len(p) != self._length for p in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets: tuple | dict = tuple(args) if args else dict(kwargs)

    def __getitem__(self, index) -> tuple | dict:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset):
    """Several map-style datasets one after another.

    Example:
        >>> from ember.data import ConcatDataset
        >>> ds = ConcatDataset([[1, 2], [3, 4, 5]])
        >>> len(ds), ds[2], ds[-1], ds.cumulative_sizes
        (5, 3, 5, [2, 5])
    """

    @staticmethod
    def cumsum(sequence: Iterable) -> list[int]:
        """Running totals of the datasets' lengths."""
        out, total = [], 0
        for e in sequence:
            total += len(e)
            out.append(total)
        return out

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset (use ChainDataset)")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        idx = int(idx)
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        if idx >= len(self):
            raise IndexError(f"index {idx} is out of range for a dataset of length {len(self)}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        offset = idx if which == 0 else idx - self.cumulative_sizes[which - 1]
        return self.datasets[which][offset]


class ChainDataset(IterableDataset):
    """Several iterable datasets, iterated one after another.

    Example:
        >>> from ember.data import ChainDataset
        >>> list(ChainDataset([range(2), range(3)]))
        [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable[Iterable]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order.

    Example:
        >>> from ember.data import Subset
        >>> s = Subset([10, 11, 12, 13], [3, 0])
        >>> len(s), s[0], s[1]
        (2, 13, 10)
    """

    def __init__(self, dataset: Dataset | Sequence, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


def _split_lengths(n: int, lengths: Sequence[int | float]) -> list[int]:
    """Integer lengths; fractions that sum to 1 are turned into counts as PyTorch does."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        remainder = n - sum(counts)
        for i in range(remainder):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=3,
                )
        return counts
    counts = []
    for length in lengths:
        if isinstance(length, bool) or int(length) != length or length < 0:
            raise ValueError(f"split lengths must be non-negative integers, got {length!r}")
        counts.append(int(length))
    return counts


def random_split(
    dataset: Dataset | Sequence,
    lengths: Sequence[int | float],
    generator=None,
) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping subsets of the given lengths.

    ``lengths`` are counts that sum to ``len(dataset)``, or fractions that sum to 1 (the
    leftover items go round-robin to the first splits, as in PyTorch). ``generator`` (an
    ``ember.Generator``) makes the split reproducible; by default the global generator is used.

    Example:
        >>> import ember
        >>> from ember.data import random_split
        >>> g = ember.Generator().manual_seed(1)
        >>> a, b, c = random_split(range(10), [0.5, 0.3, 0.2], generator=g)
        >>> len(a), len(b), len(c), sorted(list(a) + list(b) + list(c)) == list(range(10))
        (5, 3, 2, True)
    """
    from ..random import randperm

    n = len(dataset)
    counts = _split_lengths(n, lengths)
    if sum(counts) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = randperm(n, generator=generator).tolist()
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start : start + c]))
        start += c
    return out
