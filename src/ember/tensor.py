"""The eager :class:`Tensor`: a NumPy array plus the autograd bookkeeping.

This file holds the tensor's state, conversions and autograd API. The math lives in
``ember.ops`` (one module per op family), which attaches its functions to ``Tensor`` as
methods with PyTorch's names, so ``x.exp()`` and ``ember.exp(x)`` are the same function.

Example:
    >>> import ember
    >>> x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

import numpy as np

from . import dtypes as _dt
from .device import CPU, as_device

__all__ = ["Tensor", "VersionCounter", "tensor_method"]

_new = object.__new__


class VersionCounter:
    """Counts in-place writes to a block of memory; shared by a tensor and its views."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Tensor:
    """A multi-dimensional array with autograd, PyTorch-style.

    ``ember.Tensor(2, 3)`` makes an uninitialised float tensor of that size and
    ``ember.Tensor([1, 2])`` a float tensor from data, as in PyTorch; prefer ``ember.tensor``.
    """

    __slots__ = (
        "_data",
        "_requires_grad",
        "grad",
        "_grad_fn",
        "_output_nr",
        "_version",
        "_base",
        "_view_chain",
        "_view_fn_version",
        "_retains_grad",
        "_hooks",
        "_accumulator",
        "__dict__",
        "__weakref__",
    )

    # NumPy must defer to Tensor in mixed expressions such as ``ndarray + Tensor``.
    __array_priority__ = 1000

    def __init__(self, *args, dtype=None, device=None, requires_grad: bool = False):
        if len(args) == 1 and not isinstance(args[0], (builtins.int, np.integer)):
            from .ops.creation import _to_array

            data = _to_array(args[0], _dt.as_dtype(dtype) if dtype is not None else None)
            if dtype is None and data.dtype.kind in "iub":
                data = data.astype(_dt.get_default_dtype().np)
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
            data = np.empty(tuple(builtins.int(s) for s in shape), _dt.as_dtype(dtype).np)
        as_device(device)
        _init_fields(self, data, requires_grad)

    # -- construction helpers (internal) -------------------------------------------------
    @classmethod
    def _wrap(cls, data: np.ndarray) -> Tensor:
        """Wrap an ndarray without copying (internal fast path)."""
        t = _new(cls)
        t._data = data  # _init_fields, inlined: this runs for every op result
        t._requires_grad = False
        t.grad = None
        t._grad_fn = None
        t._output_nr = 0
        t._version = VersionCounter()
        t._base = None
        t._view_chain = None
        t._view_fn_version = 0
        t._retains_grad = False
        t._hooks = None
        t._accumulator = None
        return t

    # -- basic properties ------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """A tensor sharing memory with this one but outside autograd (PyTorch's ``.data``)."""
        out = Tensor._wrap(self._data)
        out._version = self._version
        return out

    @data.setter
    def data(self, value: Tensor) -> None:
        value = value if isinstance(value, Tensor) else Tensor._wrap(np.asarray(value))
        self._data = value._data

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape as an ``ember.Size``, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[wrap_dim("size", dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f" or self.dtype is _dt.bfloat16

    def is_contiguous(self) -> bool:
        return self._data.flags.c_contiguous

    def stride(self, dim: int | None = None):
        """Strides in elements, as PyTorch reports them."""
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[wrap_dim("stride", dim, self.ndim)]

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def storage_offset(self) -> int:
        return 0

    # -- conversion ----------------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array sharing memory (raises if the tensor requires grad)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self._data
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self) -> float:
        return builtins.float(self.item())

    def __int__(self) -> int:
        return builtins.int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous"
            )
        return builtins.bool(self._data.reshape(()).item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self._data.reshape(()).item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        from ._tensor_repr import tensor_repr

        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self) if not spec else format(str(self), spec)

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor, (self._data.copy(), self._requires_grad))

    def __deepcopy__(self, memo):
        out = type(self).__new__(type(self))
        _init_fields(out, self._data.copy(), self._requires_grad)
        out.__dict__.update({k: v for k, v in self.__dict__.items()})
        if self.grad is not None:
            out.grad = Tensor._wrap(self.grad._data.copy())
        memo[id(self)] = out
        return out

    # -- autograd API ------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records operations on this (leaf) tensor."""
        if self._grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad and self._data.dtype.kind not in "f" and self.dtype is not _dt.bfloat16:
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got {self.dtype}"
            )
        self._requires_grad = builtins.bool(requires_grad)
        return self

    @property
    def grad_fn(self):
        """The backward node that produced this tensor (None for leaves)."""
        if self._base is not None and self._grad_fn is not None:
            from ._dispatch import refresh_view_history

            refresh_view_history(self)
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def _version_value(self) -> int:
        return self._version.value

    @property
    def _version_number(self) -> int:  # PyTorch's ``tensor._version``
        return self._version.value

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``ember.autograd.backward``)."""
        from .autograd.engine import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A tensor sharing data with this one, cut off from the graph."""
        out = Tensor._wrap(self._data)
        out._version = self._version
        return out

    def detach_(self) -> Tensor:
        self._grad_fn = None
        self._requires_grad = False
        self._base = None
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        import weakref

        ref = weakref.ref(self)
        self.grad_fn.add_retain_grad(self._output_nr, ref)
        self._retains_grad = True

    def register_hook(self, hook: Callable) -> _RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            return _RemovableHandle(self._hooks, hook)
        hooks = self.grad_fn.pre_hooks_for(self._output_nr)
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    # -- device / dtype movement -----------------------------------------------------------
    def cpu(self) -> Tensor:
        return self

    def cuda(self, *args, **kwargs):
        raise RuntimeError("ember: no CUDA backend is installed; tensors live on the CPU")

    def to(self, *args, **kwargs) -> Tensor:
        """Convert dtype and/or device: ``x.to(ember.float64)``, ``x.to("cpu")``, ``x.to(other)``."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, _dt.dtype) or a in (builtins.float, builtins.int, builtins.bool):
                dtype = a
            elif a is not None:
                device = a
        as_device(device)
        out = self if dtype is None else self.type(dtype)
        return out.clone() if copy and out is self else out

    def type(self, dtype=None):
        """Without arguments the PyTorch type name, else a cast to ``dtype``."""
        if dtype is None:
            return _TYPE_NAMES.get(self.dtype.name, "ember.Tensor")
        from .ops.elementwise import cast

        return cast(self, _dt.as_dtype(dtype))

    def float(self) -> Tensor:
        return self.type(_dt.float32)

    def double(self) -> Tensor:
        return self.type(_dt.float64)

    def half(self) -> Tensor:
        return self.type(_dt.float16)

    def bfloat16(self) -> Tensor:
        return self.type(_dt.bfloat16)

    def int(self) -> Tensor:
        return self.type(_dt.int32)

    def long(self) -> Tensor:
        return self.type(_dt.int64)

    def short(self) -> Tensor:
        return self.type(_dt.int16)

    def char(self) -> Tensor:
        return self.type(_dt.int8)

    def byte(self) -> Tensor:
        return self.type(_dt.uint8)

    def bool(self) -> Tensor:
        return self.type(_dt.bool)

    def type_as(self, other: Tensor) -> Tensor:
        return self.type(other.dtype)


def _init_fields(t: Tensor, data: np.ndarray, requires_grad: bool) -> None:
    t._data = data
    t._requires_grad = requires_grad
    t.grad = None
    t._grad_fn = None
    t._output_nr = 0
    t._version = VersionCounter()
    t._base = None
    t._view_chain = None
    t._view_fn_version = 0
    t._retains_grad = False
    t._hooks = None
    t._accumulator = None


def _rebuild_tensor(data, requires_grad):
    t = Tensor._wrap(data)
    t._requires_grad = requires_grad
    return t


_TYPE_NAMES = {
    "float32": "ember.FloatTensor",
    "float64": "ember.DoubleTensor",
    "float16": "ember.HalfTensor",
    "bfloat16": "ember.BFloat16Tensor",
    "int64": "ember.LongTensor",
    "int32": "ember.IntTensor",
    "int16": "ember.ShortTensor",
    "int8": "ember.CharTensor",
    "uint8": "ember.ByteTensor",
    "bool": "ember.BoolTensor",
}


class Size(tuple):
    """A tensor shape: a tuple that prints as ``ember.Size([2, 3])``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out


class _RemovableHandle:
    """Returned by ``register_hook``; ``handle.remove()`` unregisters the hook."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def wrap_dim(op: str, dim: int, ndim: int) -> int:
    """``dim`` as a non-negative axis of an ``ndim``-D tensor, or an error naming ``op``."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return int(dim) % n


def tensor_method(*names: str) -> Callable:
    """Decorator used by ``ember.ops`` modules: also expose a function as ``Tensor.<name>``."""

    def attach(fn):
        for name in names or (fn.__name__,):
            setattr(Tensor, name, fn)
        return fn

    return attach
