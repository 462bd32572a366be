"""Turning a list of samples into a batch: ``default_collate`` and ``default_convert``.

The rules are PyTorch's (``torch.utils.data.default_collate``): tensors and NumPy arrays are
stacked along a new first dimension, Python ``float`` becomes a float64 tensor, ``int`` an
int64 tensor and ``bool`` a bool tensor, strings stay as they are, and containers (dicts,
namedtuples, tuples, lists) keep their structure with every field collated on its own. A tuple
sample gives a *list* of fields, as in PyTorch.

Example:
    >>> import ember
    >>> from ember.data import default_collate
    >>> batch = default_collate([(ember.tensor([1.0, 2.0]), 0), (ember.tensor([3.0, 4.0]), 1)])
    >>> batch[0]
    tensor([[1., 2.],
            [3., 4.]])
    >>> batch[1]
    tensor([0, 1])
"""

from __future__ import annotations

import collections.abc
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

_NP_STR_OBJ = re.compile(r"[SaUO]")

_ERR_FORMAT = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _array_to_tensor(arr: np.ndarray) -> Tensor:
    from ..ops.creation import as_tensor

    return as_tensor(arr)


def default_convert(data: Any) -> Any:
    """Convert NumPy arrays and scalars inside ``data`` to tensors, keeping the structure.

    What a ``DataLoader`` with ``batch_size=None`` applies to each sample. Arrays of strings or
    objects are left alone; tuples come back as lists (as in PyTorch).

    Example:
        >>> import numpy as np
        >>> from ember.data import default_convert
        >>> default_convert({"x": np.array([1, 2]), "name": "a"})
        {'x': tensor([1, 2]), 'name': 'a'}
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        if _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        return _array_to_tensor(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return _array_to_tensor(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = _copy(data)
                clone.update(converted)
                return clone
            return type(data)(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        items = [default_convert(d) for d in data]
        try:
            return type(data)(items)
        except TypeError:
            return items
    return data


def _copy(obj):
    import copy

    return copy.copy(obj)


def _stack_tensors(batch: list[Tensor]) -> Tensor:
    shape = batch[0]._data.shape
    for i, t in enumerate(batch):
        if t._data.shape != shape:
            raise RuntimeError(
                "stack expects each tensor to be equal size, but got "
                f"{list(shape)} at entry 0 and {list(t._data.shape)} at entry {i}"
            )
    if any(t.requires_grad for t in batch):
        from ..ops.movement import stack

        return stack(batch, 0)
    dtype = batch[0]._data.dtype
    if any(t._data.dtype != dtype for t in batch):
        raise RuntimeError(
            "default_collate: expected all tensors in a batch to have the same dtype, got "
            + ", ".join(sorted({str(t.dtype) for t in batch}))
        )
    return Tensor._wrap(np.stack([t._data for t in batch]))


def _collate_tensor(batch, *, collate_fn_map=None):
    return _stack_tensors(list(batch))


def _collate_numpy_array(batch, *, collate_fn_map=None):
    elem = batch[0]
    if _NP_STR_OBJ.search(elem.dtype.str) is not None:
        raise TypeError(_ERR_FORMAT.format(elem.dtype))
    for i, a in enumerate(batch):
        if a.shape != elem.shape:
            raise RuntimeError(
                "stack expects each tensor to be equal size, but got "
                f"{list(elem.shape)} at entry 0 and {list(a.shape)} at entry {i}"
            )
    return _array_to_tensor(np.stack(batch))


def _collate_numpy_scalar(batch, *, collate_fn_map=None):
    return _array_to_tensor(np.asarray(batch))


def _collate_float(batch, *, collate_fn_map=None):
    return Tensor._wrap(np.asarray(batch, dtype=np.float64))


def _collate_int(batch, *, collate_fn_map=None):
    # like torch.tensor(batch): ints -> int64, bools -> bool, ints mixed with floats -> float
    from ..ops.creation import tensor

    return tensor(list(batch))


def _collate_str(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: _collate_tensor,
    np.ndarray: _collate_numpy_array,
    (np.bool_, np.number): _collate_numpy_scalar,
    float: _collate_float,
    int: _collate_int,
    (str, bytes): _collate_str,
}
"""The per-type collate functions ``default_collate`` uses (extend a copy for ``collate``)."""


def collate(batch: list | tuple, *, collate_fn_map: dict | None = None) -> Any:
    """Collate ``batch`` with per-type functions from ``collate_fn_map`` (PyTorch's ``collate``).

    ``collate_fn_map`` maps a type (or tuple of types) to ``fn(batch, *, collate_fn_map)``;
    containers are walked recursively and their leaves dispatched through the map.

    Example:
        >>> from ember.data import collate, default_collate_fn_map
        >>> fns = {**default_collate_fn_map, str: lambda b, *, collate_fn_map=None: "".join(b)}
        >>> collate([("a", 1), ("b", 2)], collate_fn_map=fns)
        ['ab', tensor([1, 2])]
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for key, fn in collate_fn_map.items():
            if isinstance(elem, key):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        out = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = _copy(elem)
                clone.update(out)
                return clone
            return elem_type(out)
        except TypeError:
            return out
    if _is_namedtuple(elem):
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [collate(s, collate_fn_map=collate_fn_map) for s in transposed]
        items = [collate(s, collate_fn_map=collate_fn_map) for s in transposed]
        try:
            return elem_type(items)
        except TypeError:
            return items
    raise TypeError(_ERR_FORMAT.format(elem_type))


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, keeping the samples' structure (PyTorch's rules).

    Tensors and arrays are stacked on a new first dimension; ``float`` -> float64 tensor,
    ``int`` -> int64 tensor, ``bool`` -> bool tensor; strings stay a list; dicts, namedtuples,
    tuples and lists are collated field by field (a tuple gives a list).

    Example:
        >>> from ember.data import default_collate
        >>> default_collate([{"x": 1.0, "y": "a"}, {"x": 2.0, "y": "b"}])
        {'x': tensor([1., 2.], dtype=ember.float64), 'y': ['a', 'b']}
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
