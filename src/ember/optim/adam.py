"""Adam (with the AMSGrad variant), following PyTorch's single-tensor implementation.

Example:
    >>> import ember
    >>> w = ember.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = ember.optim.Adam([w], lr=0.1)
    >>> w.grad = ember.tensor([0.5, -2.0])
    >>> opt.step()
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import _fused
from .optimizer import Optimizer, ParamsT, _check, _lerp_, _scalar, _state_tensor, _step_tensor

__all__ = ["Adam"]


def _check_adam_args(lr, betas, eps, weight_decay) -> None:
    _check(0.0 <= _scalar(lr), f"Invalid learning rate: {lr}")
    _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
    _check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
    _check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
    _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Adam: bias-corrected first and second moment estimates of the gradient.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the first and second moment averages.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty (added to the gradient unless ``decoupled_weight_decay``).
        amsgrad: use the running maximum of the second moment (AMSGrad).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: decay the weights directly, as AdamW does.
        foreach, fused, capturable, differentiable: accepted for PyTorch compatibility;
            ignored.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Adam([w], lr=0.1, amsgrad=True)
        >>> w.grad = ember.tensor([1.0]); opt.step()
        >>> sorted(opt.state[w])
        ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step']
    """

    _independent_updates = True

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _init_state(self, param: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = _step_tensor()
        state["exp_avg"] = _state_tensor(np.zeros_like(param._data))
        state["exp_avg_sq"] = _state_tensor(np.zeros_like(param._data))
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _state_tensor(np.zeros_like(param._data))

    def _update(
        self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        p = param._data
        lr, (beta1, beta2) = _scalar(group["lr"]), group["betas"]
        weight_decay, eps = group["weight_decay"], group["eps"]
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        state["step"]._data += 1
        step = float(state["step"]._data)

        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        max_sq = None
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = _state_tensor(np.zeros_like(p))
            max_sq = state["max_exp_avg_sq"]._data
        if _fused.adam(
            p,
            grad,
            exp_avg,
            exp_avg_sq,
            max_sq,
            weight_decay=weight_decay,
            decoupled=group["decoupled_weight_decay"],
            decay=1 - lr * weight_decay,
            lerp_weight=1 - beta1,
            beta2=beta2,
            bc2=bias_correction2_sqrt,
            eps=eps,
            neg_step_size=-step_size,
        ):
            return  # the same operations as below, in one C pass (bit-identical)
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * p
        # PyTorch's order of operations, with two scratch buffers instead of a temporary
        # per operation (measured on W1: the update went from 6.2 to ~2.5 ms per step)
        tmp = np.empty_like(exp_avg)
        _lerp_(exp_avg, grad, 1 - beta1, tmp)
        exp_avg_sq *= beta2
        np.multiply(grad, 1 - beta2, out=tmp)
        tmp *= grad
        exp_avg_sq += tmp

        if max_sq is not None:
            np.maximum(max_sq, exp_avg_sq, out=max_sq)
            np.sqrt(max_sq, out=tmp)
        else:
            np.sqrt(exp_avg_sq, out=tmp)
        tmp /= bias_correction2_sqrt
        tmp += eps
        # PyTorch's addcdiv_: param + value * (exp_avg / denom), in the scratch buffer
        np.divide(exp_avg, tmp, out=tmp)
        tmp *= -step_size
        p += tmp
