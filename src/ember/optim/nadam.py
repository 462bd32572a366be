"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule (Dozat).

Example:
    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.NAdam([w], lr=0.1)
    >>> w.grad = ember.tensor([1.0]); opt.step()
    >>> w
    tensor([0.8944], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .adam import _check_adam_args
from .optimizer import (
    Optimizer,
    ParamsT,
    _check,
    _lerp_,
    _scalar,
    _state_tensor,
    _step_tensor,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam, PyTorch's formulation (``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * psi))``).

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the first and second moment averages.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty (added to the gradient unless ``decoupled_weight_decay``).
        momentum_decay: ``psi`` in the momentum schedule.
        decoupled_weight_decay: decay the weights directly, as AdamW does.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable, differentiable: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.NAdam([w])
        >>> w.grad = ember.tensor([1.0]); opt.step()
        >>> sorted(opt.state[w])
        ['exp_avg', 'exp_avg_sq', 'mu_product', 'step']
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        _check(0.0 <= momentum_decay, f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _init_state(self, param: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = _step_tensor()
        state["mu_product"] = _step_tensor(1.0)
        state["exp_avg"] = _state_tensor(np.zeros_like(param._data))
        state["exp_avg_sq"] = _state_tensor(np.zeros_like(param._data))

    def _update(
        self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        p = param._data
        lr, (beta1, beta2) = _scalar(group["lr"]), group["betas"]
        weight_decay, psi = group["weight_decay"], group["momentum_decay"]
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        mu_product = state["mu_product"]._data
        state["step"]._data += 1
        step = float(state["step"]._data)
        bias_correction2 = 1 - beta2**step
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * p
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
        mu_product *= mu  # a float32 0-d array, rounded like PyTorch's state tensor
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += ((1 - beta2) * grad) * grad
        denom = np.sqrt(exp_avg_sq / bias_correction2)
        denom += group["eps"]
        mu_prod = float(mu_product)
        mu_product_next = mu_prod * mu_next
        p += ((-lr * (1.0 - mu) / (1.0 - mu_prod)) * grad) / denom
        p += ((-lr * mu_next / (1.0 - mu_product_next)) * exp_avg) / denom
