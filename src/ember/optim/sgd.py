"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

Example:
    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = ember.tensor([1.0])
    ...     opt.step()
    >>> w
    tensor([0.7100], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import _fused
from .optimizer import Optimizer, ParamsT, _check, _scalar, _state_tensor

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD, PyTorch's formulation: ``buf = momentum * buf + (1 - dampening) * g``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        momentum: momentum factor (0 disables the buffer).
        dampening: dampening of the momentum.
        weight_decay: L2 penalty added to the gradient.
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import ember
        >>> w = ember.tensor([2.0], requires_grad=True)
        >>> opt = ember.optim.SGD([w], lr=0.5, weight_decay=0.5)
        >>> w.grad = ember.tensor([1.0])
        >>> opt.step()
        >>> w
        tensor([1.], requires_grad=True)
    """

    _independent_updates = True

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        _check(0.0 <= _scalar(lr), f"Invalid learning rate: {lr}")
        _check(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(
            not nesterov or (momentum > 0 and dampening == 0),
            "Nesterov momentum requires a momentum and zero dampening",
        )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(
        self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        p = param._data
        lr, momentum = _scalar(group["lr"]), group["momentum"]
        weight_decay, dampening = group["weight_decay"], group["dampening"]
        buf = state.get("momentum_buffer") if momentum != 0 else None
        first = momentum != 0 and buf is None
        if first:
            buf = _state_tensor(np.empty_like(p))
        if _fused.sgd(
            p,
            grad,
            None if buf is None else buf._data,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=group["nesterov"],
            first=first,
        ):  # the same operations as below, in one C pass (bit-identical)
            if first:
                state["momentum_buffer"] = buf
            return
        if weight_decay != 0:
            grad = grad + weight_decay * p
        if momentum != 0:
            if first:
                buf = state["momentum_buffer"] = _state_tensor(grad.copy())
            else:
                buf._data *= momentum
                buf._data += (1 - dampening) * grad if dampening else grad
            grad = grad + momentum * buf._data if group["nesterov"] else buf._data
        p += -lr * grad
