"""DLPack interchange: share tensor memory with PyTorch, NumPy, JAX, CuPy... without copying.

``ember.from_dlpack(obj)`` wraps any object that implements ``__dlpack__`` (or a legacy DLPack
capsule) as an ember tensor sharing its memory; ember tensors implement ``__dlpack__`` and
``__dlpack_device__`` themselves, so ``torch.from_dlpack(ember_tensor)`` works too.

Example:
    >>> import ember, numpy as np
    >>> a = np.arange(3.0)
    >>> t = ember.dlpack.from_dlpack(a)
    >>> a[0] = 7.0
    >>> t
    tensor([7., 1., 2.], dtype=ember.float64)
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]

_KDL_CPU, _KDL_CUDA_HOST = 1, 3  # DLPack device types NumPy can read


class _CapsuleHolder:
    """Adapts a bare DLPack capsule (``torch.utils.dlpack.to_dlpack``) to the protocol."""

    def __init__(self, capsule):
        self._capsule = capsule

    def __dlpack__(self, *args, **kwargs):
        capsule, self._capsule = self._capsule, None
        if capsule is None:
            raise BufferError("from_dlpack: a DLPack capsule can be consumed only once")
        return capsule

    def __dlpack_device__(self):
        return (_KDL_CPU, 0)


def from_dlpack(ext_tensor) -> Tensor:
    """An ember tensor sharing memory with ``ext_tensor`` (anything with ``__dlpack__``).

    Only CPU memory can be imported. The result does not require grad.

    Example:
        >>> import ember, numpy as np
        >>> a = np.ones(2, dtype=np.float32)
        >>> t = ember.dlpack.from_dlpack(a)
        >>> t.numpy().__array_interface__["data"][0] == a.__array_interface__["data"][0]
        True
    """
    if isinstance(ext_tensor, Tensor):
        return ext_tensor.detach()
    if not hasattr(ext_tensor, "__dlpack__"):
        if type(ext_tensor).__name__ == "PyCapsule":
            ext_tensor = _CapsuleHolder(ext_tensor)
        else:
            raise TypeError(
                f"from_dlpack: expected an object with __dlpack__ (a tensor or array), "
                f"got {type(ext_tensor).__name__}"
            )
    if hasattr(ext_tensor, "__dlpack_device__"):
        dev = ext_tensor.__dlpack_device__()
        if int(dev[0]) not in (_KDL_CPU, _KDL_CUDA_HOST):
            raise RuntimeError(
                f"from_dlpack: ember tensors live in CPU memory; got a tensor on DLPack device "
                f"{tuple(int(v) for v in dev)}. Move it to the CPU first."
            )
    try:
        arr = np.from_dlpack(ext_tensor)
    except BufferError as exc:
        raise BufferError(f"from_dlpack: {exc}") from None
    except (TypeError, RuntimeError) as exc:  # e.g. bfloat16, which NumPy cannot import
        raise type(exc)(
            f"from_dlpack: cannot import this tensor ({exc}); NumPy's DLPack import supports "
            "bool, integer and float16/32/64 data (convert bfloat16 to float32 first)"
        ) from None
    _dt.from_numpy_dtype(arr.dtype)  # clear error for dtypes ember lacks
    return Tensor._wrap(arr)


def to_dlpack(tensor: Tensor):
    """A DLPack capsule for ``tensor`` (legacy API; prefer passing the tensor itself).

    Example:
        >>> import ember
        >>> type(ember.dlpack.to_dlpack(ember.zeros(2))).__name__
        'PyCapsule'
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack: expected an ember Tensor, got {type(tensor).__name__}")
    if tensor.requires_grad:
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
    return tensor._data.__dlpack__()
