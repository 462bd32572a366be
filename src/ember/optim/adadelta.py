"""Adadelta (Zeiler): step sizes from running averages of squared gradients and updates.

Example:
    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.Adadelta([w])
    >>> w.grad = ember.tensor([1.0]); opt.step()
    >>> w
    tensor([0.9968], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check, _scalar, _state_tensor, _step_tensor

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, with PyTorch's ``lr`` scaling of the update.

    Args:
        params: tensors or parameter groups to optimize.
        lr: coefficient that scales the update.
        rho: decay rate of the running averages.
        eps: added inside the square roots for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable, differentiable: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Adadelta([w], lr=1.0, rho=0.9)
        >>> w.grad = ember.tensor([1.0]); opt.step()
        >>> sorted(opt.state[w])
        ['acc_delta', 'square_avg', 'step']
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check(0.0 <= _scalar(lr), f"Invalid learning rate: {lr}")
        _check(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _init_state(self, param: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = _step_tensor()
        state["square_avg"] = _state_tensor(np.zeros_like(param._data))
        state["acc_delta"] = _state_tensor(np.zeros_like(param._data))

    def _update(
        self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        p = param._data
        lr, rho, eps = _scalar(group["lr"]), group["rho"], group["eps"]
        state["step"]._data += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p
        square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
        square_avg *= rho
        square_avg += ((1 - rho) * grad) * grad
        std = np.sqrt(square_avg + eps)
        delta = np.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        acc_delta *= rho
        acc_delta += ((1 - rho) * delta) * delta
        p += -lr * delta
