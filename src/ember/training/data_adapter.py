"""Turning what ``fit``/``evaluate``/``predict`` receive into batches ``(x, y, sample_weight)``.

Accepted inputs:

* arrays: NumPy arrays, ember Tensors or nested lists, for ``x``, ``y`` and
  ``sample_weight``; ``x`` (and ``y``) may also be a tuple/list of arrays (positional
  inputs of a multi-input model) or a dict of arrays (named inputs). NumPy floating arrays
  are cast to ember's default dtype (float32), as Keras casts to ``floatx``; integer
  arrays stay integer; ember Tensors are used as they are.
* a map-style ``ember.data.Dataset`` whose items are ``(x, y)`` or ``(x, y, sample_weight)``
  (or ``x`` alone for ``predict``): batched with a ``DataLoader`` (``batch_size``,
  ``shuffle``).
* a ``DataLoader``, or any iterable of batches (a generator): used as is; each batch is
  ``(x, y)``, ``(x, y, sample_weight)`` or ``x``.

Batches are shuffled by a generator that ``fit`` owns (seeded from ember's global
generator), and the state of the stream can be saved and restored (``EpochIterator``),
which is what makes ``BackupAndRestore`` exact.

Example:
    >>> import numpy as np
    >>> from ember.training.data_adapter import ArrayDataAdapter
    >>> x = np.arange(10, dtype=np.float64).reshape(5, 2)
    >>> adapter = ArrayDataAdapter(x, np.arange(5), batch_size=2, shuffle=False)
    >>> [(bx.shape[0], by.tolist()) for bx, by, _ in adapter]
    [(2, [0, 1]), (2, [2, 3]), (1, [4])]
    >>> next(iter(adapter))[0].dtype
    ember.float32
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..random import Generator
from ..tensor import Tensor

__all__ = [
    "ArrayDataAdapter",
    "DatasetAdapter",
    "IterableAdapter",
    "EpochIterator",
    "get_data_adapter",
    "unpack_x_y_sample_weight",
    "train_validation_split",
    "class_weight_to_sample_weight",
    "to_tensors",
]


# ----------------------------------------------------------------------------- structures
def _is_leaf(obj: Any) -> bool:
    return isinstance(obj, (Tensor, np.ndarray)) or np.isscalar(obj)


def _is_array_like(obj: Any) -> bool:
    """A single array (not a structure of arrays)."""
    if isinstance(obj, (Tensor, np.ndarray)):
        return True
    if isinstance(obj, (list, tuple)):
        return len(obj) == 0 or all(
            not isinstance(o, (Tensor, np.ndarray, Mapping)) and _is_array_like_item(o) for o in obj
        )
    return False


def _is_array_like_item(o: Any) -> bool:
    return np.isscalar(o) or isinstance(o, (list, tuple))


def _map(fn, obj: Any) -> Any:
    """Apply ``fn`` to every array of a structure (tuple/list/dict of arrays)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return {k: _map(fn, v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not _is_array_like(obj):
        return tuple(_map(fn, v) for v in obj)
    return fn(obj)


def _leaves(obj: Any) -> list:
    out: list = []
    _map(out.append, obj)
    return out


def _as_numpy(a: Any) -> np.ndarray:
    if isinstance(a, Tensor):
        return a.detach().numpy()
    arr = np.asarray(a)
    if arr.dtype.kind == "f" and isinstance(a, (np.ndarray, list, tuple)):
        arr = arr.astype(_dt.get_default_dtype().to_numpy(), copy=False)
    elif arr.dtype.kind in "iu" and arr.dtype != np.uint8:
        arr = arr.astype(np.int64, copy=False)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"cannot train on an array of dtype {arr.dtype}")
    return arr


def _tensor(a: Any) -> Any:
    if isinstance(a, Tensor) or a is None:
        return a
    if isinstance(a, np.ndarray) or isinstance(a, (list, tuple)):
        arr = _as_numpy(a)
        return Tensor._wrap(np.ascontiguousarray(arr))
    return a


def to_tensors(obj: Any) -> Any:
    """Convert every array of a structure to an ember Tensor (floats to the default dtype).

    Example:
        >>> import numpy as np
        >>> from ember.training.data_adapter import to_tensors
        >>> out = to_tensors({"a": np.zeros(2), "b": (np.arange(2), [1.0, 2.0])})
        >>> out["a"].dtype, out["b"][0].dtype, out["b"][1].dtype
        (ember.float32, ember.int64, ember.float32)
    """
    return _map(_tensor, obj)


def _num_samples(*structures: Any) -> int:
    sizes = {len(leaf) for s in structures for leaf in _leaves(s)}
    if not sizes:
        raise ValueError("no input data given")
    if len(sizes) > 1:
        raise ValueError(
            f"all arrays must have the same number of samples, got sizes {sorted(sizes)}"
        )
    return sizes.pop()


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """Split a batch into ``(x, y, sample_weight)`` (Keras's rule).

    A tuple (or list) of length 1, 2 or 3 is ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``;
    anything else is ``x`` alone.

    Example:
        >>> from ember.training.data_adapter import unpack_x_y_sample_weight
        >>> unpack_x_y_sample_weight(("x", "y"))
        ('x', 'y', None)
        >>> unpack_x_y_sample_weight({"a": 1})
        ({'a': 1}, None, None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(
        f"a batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of {len(data)}"
    )


def class_weight_to_sample_weight(y: Any, class_weight: Mapping[int, float]) -> np.ndarray:
    """Per-sample weights ``class_weight[label]`` for the labels in ``y``.

    ``y`` holds integer labels, one-hot/probability rows (``argmax`` is the label) or binary
    targets in ``[0, 1]`` (rounded). Classes missing from ``class_weight`` weigh 1.

    Example:
        >>> import numpy as np
        >>> from ember.training.data_adapter import class_weight_to_sample_weight
        >>> class_weight_to_sample_weight(np.array([0, 1, 1]), {0: 1.0, 1: 3.0})
        array([1., 3., 3.], dtype=float32)
    """
    arr = _as_numpy(y)
    if arr.ndim >= 2 and arr.shape[-1] > 1:
        labels = arr.argmax(-1).reshape(arr.shape[0], -1)[:, 0]
    else:
        arr = arr.reshape(arr.shape[0], -1)[:, 0] if arr.ndim >= 1 else arr.reshape(1)
        labels = np.rint(arr).astype(np.int64) if arr.dtype.kind == "f" else arr
    table = {int(k): float(v) for k, v in class_weight.items()}
    return np.array([table.get(int(c), 1.0) for c in labels], dtype=np.float32)


# ----------------------------------------------------------------------------- adapters
class ArrayDataAdapter:
    """Batches of in-memory arrays (NumPy, Tensors, tuples/dicts of them), optionally shuffled.

    Each pass over the data draws a fresh permutation from ``generator`` when ``shuffle``.

    Example:
        >>> import ember
        >>> from ember.training.data_adapter import ArrayDataAdapter
        >>> a = ArrayDataAdapter({"a": ember.ones(5, 2), "b": ember.zeros(5)}, batch_size=4)
        >>> a.num_batches, sorted(next(iter(a))[0])
        (2, ['a', 'b'])
    """

    def __init__(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        batch_size: int | None = None,
        shuffle: bool = False,
        generator: Generator | None = None,
    ) -> None:
        self.x = _map(_as_numpy, x)
        self.y = _map(_as_numpy, y)
        self.sample_weight = None if sample_weight is None else _as_numpy(sample_weight)
        self.num_samples = _num_samples(self.x, self.y, self.sample_weight)
        self.batch_size = int(batch_size or 32)
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.shuffle = bool(shuffle)
        self.generator = generator

    @property
    def num_batches(self) -> int:
        return math.ceil(self.num_samples / self.batch_size)

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[tuple[Any, Any, Any]]:
        n = self.num_samples
        if self.shuffle:
            gen = self.generator if self.generator is not None else Generator().manual_seed(0)
            order = gen._rng.permutation(n)
        else:
            order = None
        for start in range(0, n, self.batch_size):
            if order is None:
                idx: Any = slice(start, min(start + self.batch_size, n))
            else:
                idx = order[start : start + self.batch_size]

            def take(a: np.ndarray, idx: Any = idx) -> Tensor:
                return Tensor._wrap(np.ascontiguousarray(a[idx]))

            sw = None if self.sample_weight is None else take(self.sample_weight)
            yield _map(take, self.x), _map(take, self.y), sw


class DatasetAdapter:
    """Batches of a map-style ``Dataset`` through a ``DataLoader`` (shuffled by ``generator``).

    Example:
        >>> import ember
        >>> from ember.data import TensorDataset
        >>> from ember.training.data_adapter import DatasetAdapter
        >>> ds = TensorDataset(ember.randn(5, 2), ember.arange(5))
        >>> [y.tolist() for _, y, _ in DatasetAdapter(ds, batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = None,
        shuffle: bool = False,
        generator: Generator | None = None,
    ) -> None:
        from ..data import DataLoader

        self.dataset = dataset
        self.generator = generator
        self.loader = DataLoader(
            dataset, batch_size=int(batch_size or 32), shuffle=bool(shuffle), generator=generator
        )

    @property
    def num_batches(self) -> int | None:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[Any, Any, Any]]:
        for batch in self.loader:
            yield tuple(to_tensors(part) for part in unpack_x_y_sample_weight(batch))


class IterableAdapter:
    """A ``DataLoader`` or any iterable of batches, used as it is.

    A ``DataLoader`` with a ``generator`` exposes it, so its shuffling can be saved and
    restored by ``BackupAndRestore``.

    Example:
        >>> import ember
        >>> from ember.training.data_adapter import IterableAdapter
        >>> batches = [(ember.ones(2, 3), ember.zeros(2))] * 3
        >>> IterableAdapter(batches).num_batches
        3
    """

    def __init__(self, iterable: Iterable) -> None:
        self.iterable = iterable
        gen = getattr(iterable, "generator", None)
        self.generator = gen if isinstance(gen, Generator) else None

    @property
    def num_batches(self) -> int | None:
        try:
            return len(self.iterable)  # type: ignore[arg-type]
        except TypeError:
            return None

    def __iter__(self) -> Iterator[tuple[Any, Any, Any]]:
        for batch in self.iterable:
            yield tuple(to_tensors(part) for part in unpack_x_y_sample_weight(batch))


def _is_dataset(obj: Any) -> bool:
    from ..data import Dataset

    return isinstance(obj, Dataset) and hasattr(obj, "__getitem__") and hasattr(obj, "__len__")


def _is_batch_iterable(obj: Any) -> bool:
    if isinstance(obj, (Tensor, np.ndarray, list, tuple, Mapping, str, bytes)):
        return False
    return hasattr(obj, "__iter__") or hasattr(obj, "__next__")


def get_data_adapter(
    x: Any,
    y: Any = None,
    sample_weight: Any = None,
    batch_size: int | None = None,
    shuffle: bool = False,
    generator: Generator | None = None,
) -> ArrayDataAdapter | DatasetAdapter | IterableAdapter:
    """The adapter for ``x`` (arrays, a ``Dataset``, a ``DataLoader`` or an iterable).

    Example:
        >>> import numpy as np
        >>> from ember.training.data_adapter import get_data_adapter
        >>> type(get_data_adapter(np.zeros((4, 2)), np.zeros(4))).__name__
        'ArrayDataAdapter'
    """
    if _is_dataset(x) or _is_batch_iterable(x):
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"y and sample_weight must not be given when x is a {type(x).__name__}; "
                "its items/batches hold (x, y[, sample_weight])"
            )
        if _is_dataset(x):
            return DatasetAdapter(x, batch_size=batch_size, shuffle=shuffle, generator=generator)
        if batch_size is not None:
            raise ValueError(
                f"batch_size must not be given when x is a {type(x).__name__} (it is batched)"
            )
        return IterableAdapter(x)
    if x is None:
        raise ValueError("no input data: pass x (arrays, a Dataset or a DataLoader)")
    return ArrayDataAdapter(
        x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, generator=generator
    )


def train_validation_split(
    x: Any, y: Any, sample_weight: Any, validation_split: float
) -> tuple[tuple[Any, Any, Any], tuple[Any, Any, Any]]:
    """Split off the last ``validation_split`` fraction of the samples (before shuffling).

    ``x`` may also be a map-style ``Dataset`` (split into two ``Subset``s).

    Example:
        >>> import numpy as np
        >>> from ember.training.data_adapter import train_validation_split
        >>> (tx, ty, _), (vx, vy, _) = train_validation_split(
        ...     np.arange(10.0), np.arange(10), None, 0.2)
        >>> tx.shape, vy.tolist()
        ((8,), [8, 9])
    """
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
    if _is_dataset(x):
        from ..data import Subset

        n = len(x)
        cut = int(math.floor(n * (1.0 - validation_split)))
        return (Subset(x, range(cut)), None, None), (Subset(x, range(cut, n)), None, None)
    if _is_batch_iterable(x):
        raise ValueError(
            "validation_split needs arrays or a map-style Dataset; with a DataLoader or an "
            "iterable pass validation_data instead"
        )
    x, y = _map(_as_numpy, x), _map(_as_numpy, y)
    sw = None if sample_weight is None else _as_numpy(sample_weight)
    n = _num_samples(x, y, sw)
    cut = int(math.floor(n * (1.0 - validation_split)))
    if cut == 0 or cut == n:
        raise ValueError(
            f"validation_split={validation_split} leaves an empty training or validation set "
            f"for {n} samples"
        )

    def head(a: np.ndarray) -> np.ndarray:
        return a[:cut]

    def tail(a: np.ndarray) -> np.ndarray:
        return a[cut:]

    return (
        (_map(head, x), _map(head, y), None if sw is None else sw[:cut]),
        (_map(tail, x), _map(tail, y), None if sw is None else sw[cut:]),
    )


# ----------------------------------------------------------------------------- epochs
class EpochIterator:
    """Yields ``(step, (x, y, sample_weight))`` for each epoch, and saves its position.

    Without ``steps_per_epoch`` an epoch is one pass over the adapter. With it, an epoch is
    that many batches, taken from a stream that continues across epochs and starts a new
    pass (a new shuffle) when one ends; a one-shot iterable that runs dry ends the epoch
    early with a warning. ``class_weight`` is turned into sample weights here.

    ``get_state``/``set_state`` record the shuffling generator and the position in the
    current pass; restoring replays the pass from its start, so the batches that follow
    are the ones an uninterrupted run would have seen.

    Example:
        >>> import numpy as np
        >>> from ember.training.data_adapter import ArrayDataAdapter, EpochIterator
        >>> it = EpochIterator(ArrayDataAdapter(np.arange(5.0), np.arange(5), batch_size=2),
        ...                    steps_per_epoch=2)
        >>> [[b[1].tolist() for _, b in it.epoch()] for _ in range(3)]
        [[[0, 1], [2, 3]], [[4], [0, 1]], [[2, 3], [4]]]
    """

    def __init__(
        self,
        adapter: Any,
        steps_per_epoch: int | None = None,
        class_weight: Mapping[int, float] | None = None,
    ) -> None:
        if steps_per_epoch is not None and int(steps_per_epoch) <= 0:
            raise ValueError(f"steps_per_epoch must be positive, got {steps_per_epoch}")
        self.adapter = adapter
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self.class_weight = class_weight
        self._iterator: Iterator | None = None
        self._pass_start_state: Tensor | None = None
        self._consumed = 0

    @property
    def generator(self) -> Generator | None:
        return getattr(self.adapter, "generator", None)

    @property
    def steps(self) -> int | None:
        """Batches per epoch (``None`` where unknown)."""
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return getattr(self.adapter, "num_batches", None)

    def _start_pass(self) -> None:
        gen = self.generator
        self._pass_start_state = gen.get_state() if gen is not None else None
        self._iterator = iter(self.adapter)
        self._consumed = 0

    def _finish(self, batch: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
        x, y, sw = batch
        if self.class_weight is not None:
            if y is None:
                raise ValueError("class_weight needs targets y")
            cw = Tensor._wrap(class_weight_to_sample_weight(y, self.class_weight))
            sw = cw if sw is None else sw.to(cw.dtype).reshape(-1) * cw
        return x, y, sw

    def epoch(self) -> Iterator[tuple[int, tuple[Any, Any, Any]]]:
        """The batches of one epoch, numbered from 0."""
        if self.steps_per_epoch is None:
            self._start_pass()
            assert self._iterator is not None
            for step, batch in enumerate(self._iterator):
                self._consumed += 1
                yield step, self._finish(batch)
            self._iterator = None
            return
        step = 0
        while step < self.steps_per_epoch:
            if self._iterator is None:
                self._start_pass()
            try:
                batch = next(self._iterator)  # type: ignore[arg-type]
            except StopIteration:
                empty = self._consumed == 0
                self._iterator = None
                if empty:
                    warnings.warn(
                        f"the input ran out of data after {step} of {self.steps_per_epoch} "
                        "steps in this epoch; give steps_per_epoch * epochs batches at least "
                        "(or data that can be iterated again)",
                        stacklevel=2,
                    )
                    return
                continue
            self._consumed += 1
            yield step, self._finish(batch)
            step += 1

    # -- saving and restoring the position ----------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The position of the stream (to save alongside a checkpoint)."""
        gen = self.generator
        active = self._iterator is not None
        return {
            "generator": gen.get_state() if gen is not None else None,
            "pass_start": self._pass_start_state if active else None,
            "consumed": self._consumed if active else 0,
            "active": active,
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore a position from :meth:`get_state` (replaying the current pass)."""
        gen = self.generator
        self._iterator = None
        self._consumed = 0
        if gen is None:
            if state.get("active"):
                warnings.warn(
                    "resuming in the middle of a pass over a DataLoader without a generator: "
                    "a new pass starts (give the DataLoader a generator for an exact resume)",
                    stacklevel=2,
                )
            return
        if state.get("active") and state.get("pass_start") is not None:
            gen.set_state(state["pass_start"])
            self._start_pass()
            for _ in range(int(state["consumed"])):
                next(self._iterator)  # type: ignore[arg-type]
            self._consumed = int(state["consumed"])
        if state.get("generator") is not None:
            gen.set_state(state["generator"])
