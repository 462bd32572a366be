"""``nn.Parameter``: a tensor that a Module registers as a learnable weight.

Example:
    >>> import ember
    >>> p = ember.nn.Parameter(ember.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
"""

from __future__ import annotations

from ..tensor import Tensor, _init_fields

__all__ = ["Parameter", "Buffer", "UninitializedParameter"]


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered by ``Module.__setattr__``."""

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        import numpy as np

        if data is None:
            arr = np.empty((0,), np.float32)
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            arr = np.asarray(data)
        self = object.__new__(cls)
        _init_fields(self, arr, False)
        if isinstance(data, Tensor):
            self._version = data._version
        if requires_grad:
            self.requires_grad_(True)
        return self

    def __init__(self, data=None, requires_grad: bool = True):
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    def __deepcopy__(self, memo):
        out = Parameter(Tensor._wrap(self._data.copy()), self._requires_grad)
        if self.grad is not None:
            out.grad = Tensor._wrap(self.grad._data.copy())
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor._wrap(self._data.copy()), self._requires_grad))


class UninitializedParameter(Parameter):
    """A parameter whose shape is set on the first forward call (lazy layers)."""

    __slots__ = ()

    def materialize(self, shape, dtype=None) -> None:
        import numpy as np

        from .. import dtypes as _dt

        self._data = np.empty(tuple(shape), _dt.as_dtype(dtype).np)
        self.__class__ = Parameter

    def __repr__(self) -> str:
        return "<UninitializedParameter>"


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    __slots__ = ("persistent",)

    def __new__(cls, data: Tensor, *, persistent: bool = True):
        self = object.__new__(cls)
        _init_fields(self, data._data, False)
        self.persistent = persistent
        return self

    def __init__(self, data=None, *, persistent: bool = True):
        pass
