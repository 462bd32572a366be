"""Reverse-mode automatic differentiation (PyTorch's ``torch.autograd``).

Example:
    >>> import ember
    >>> x = ember.tensor(2.0, requires_grad=True)
    >>> ember.autograd.grad(x ** 3, x)
    (tensor(12.),)
"""

from .checks import GradcheckError, gradcheck, gradgradcheck
from .engine import backward, grad
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "backward",
    "grad",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "Function",
    "gradcheck",
    "gradgradcheck",
    "GradcheckError",
    "FunctionCtx",
]
