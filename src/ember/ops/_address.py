"""The data address of a NumPy array, for C functions called through ctypes.

``a.ctypes.data`` builds a ctypes helper object on every access (1.4 us measured);
``ctypes.c_char.from_buffer`` reaches the same address through the buffer protocol in 0.4 us.
The buffer protocol gives only writable C-contiguous buffers, so a read-only, empty or
non-contiguous array takes the slow way, with the same result.

Example:
    >>> import numpy as np
    >>> from ember.ops._address import data_address
    >>> a = np.zeros((3, 4), np.float32)
    >>> data_address(a) == a.ctypes.data and data_address(a[1:]) == a[1:].ctypes.data
    True
"""

from __future__ import annotations

import ctypes

import numpy as np

__all__ = ["data_address"]

_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof


def data_address(a: np.ndarray) -> int:
    """The address of ``a``'s first element (what ``a.ctypes.data`` gives, faster)."""
    try:
        return _addressof(_from_buffer(a))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data
