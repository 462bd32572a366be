"""Adamax: the infinity-norm variant of Adam.

Example:
    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.Adamax([w], lr=0.1)
    >>> w.grad = ember.tensor([3.0]); opt.step()
    >>> w
    tensor([0.9000], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .adam import _check_adam_args
from .optimizer import Optimizer, ParamsT, _lerp_, _scalar, _state_tensor, _step_tensor

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax: Adam with the second moment replaced by a decaying maximum of ``|g|``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the first moment and of the infinity norm.
        eps: added to ``|g|`` for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable, differentiable: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Adamax([w])
        >>> w.grad = ember.tensor([-2.0]); opt.step()
        >>> opt.state[w]["exp_inf"]
        tensor([2.])
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _init_state(self, param: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = _step_tensor()
        state["exp_avg"] = _state_tensor(np.zeros_like(param._data))
        state["exp_inf"] = _state_tensor(np.zeros_like(param._data))

    def _update(
        self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        p = param._data
        lr, (beta1, beta2) = _scalar(group["lr"]), group["betas"]
        state["step"]._data += 1
        step = float(state["step"]._data)
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p
        exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        norm = np.abs(grad)
        norm += group["eps"]
        np.maximum(exp_inf, norm, out=exp_inf)
        clr = lr / (1 - beta1**step)
        p += (-clr * exp_avg) / exp_inf
