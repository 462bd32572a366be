"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate.

Example:
    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.RAdam([w], lr=0.1)
    >>> w.grad = ember.tensor([1.0]); opt.step()
    >>> w
    tensor([0.9000], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .adam import _check_adam_args
from .optimizer import Optimizer, ParamsT, _lerp_, _scalar, _state_tensor, _step_tensor

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam (Liu et al.): plain momentum SGD until the variance estimate is trustworthy.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the first and second moment averages.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty (added to the gradient unless ``decoupled_weight_decay``).
        decoupled_weight_decay: decay the weights directly, as AdamW does.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable, differentiable: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.RAdam([w])
        >>> w.grad = ember.tensor([1.0]); opt.step()
        >>> sorted(opt.state[w])
        ['exp_avg', 'exp_avg_sq', 'step']
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _init_state(self, param: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = _step_tensor()
        state["exp_avg"] = _state_tensor(np.zeros_like(param._data))
        state["exp_avg_sq"] = _state_tensor(np.zeros_like(param._data))

    def _update(
        self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        p = param._data
        lr, (beta1, beta2) = _scalar(group["lr"]), group["betas"]
        weight_decay = group["weight_decay"]
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        state["step"]._data += 1
        step = float(state["step"]._data)
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * p
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += ((1 - beta2) * grad) * grad

        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        update = (exp_avg / bias_correction1) * lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = (
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            ) ** 0.5
            denom = np.sqrt(exp_avg_sq)
            denom += group["eps"]
            update *= np.reciprocal(denom) * bias_correction2**0.5
            update *= rect
        p -= update
