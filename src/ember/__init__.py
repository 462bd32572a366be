"""ember: write it like PyTorch, ship it like TensorFlow.

Example:
    >>> import ember
    >>> x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
"""

from . import autograd, linalg, ops  # noqa: F401 - ops registers every primitive
from ._version import __version__
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .device import device
from .dlpack import from_dlpack
from .dtypes import *  # noqa: F403
from .dtypes import get_default_dtype, promote_types, set_default_dtype
from .ops._native import native_kernels_enabled, set_native_kernels
from .ops.creation import *  # noqa: F403
from .ops.elementwise import *  # noqa: F403
from .ops.indexing import *  # noqa: F403
from .ops.linalg import *  # noqa: F403
from .ops.movement import *  # noqa: F403
from .ops.nn_kernels import log_softmax, softmax
from .ops.reduce import *  # noqa: F403
from .random import *  # noqa: F403
from .tensor import Size, Tensor
from .threads import *  # noqa: F403

__all__ = [
    "Tensor",
    "Size",
    "device",
    "from_dlpack",
    "__version__",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "get_default_dtype",
    "set_default_dtype",
    "promote_types",
    "set_native_kernels",
    "native_kernels_enabled",
]


def is_tensor(obj) -> bool:
    """True if ``obj`` is an ember Tensor."""
    return isinstance(obj, Tensor)


_LAZY_SUBMODULES = {
    "nn",
    "optim",
    "data",
    "utils",
    "serialization",
    "metrics",
    "training",
    "callbacks",
    "compiler",
    "ir",
    "export",
    "onnx",
    "serve",
}


_LAZY_ATTRS = {
    "save": "serialization",
    "load": "serialization",
    "Model": "training",
    "compile": "compiler",
}


def __getattr__(name: str):
    """Import heavier subpackages (nn, optim, data, utils) on first use to keep import fast."""
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRS:  # ember.save / ember.load live in ember.serialization
        return getattr(importlib.import_module(f".{_LAZY_ATTRS[name]}", __name__), name)
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
