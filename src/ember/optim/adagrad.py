"""Adagrad: per-coordinate learning rates from the sum of squared gradients.

Example:
    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.Adagrad([w], lr=0.5)
    >>> w.grad = ember.tensor([2.0]); opt.step()
    >>> w
    tensor([0.5000], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check, _scalar, _state_tensor, _step_tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), with learning-rate decay and an initial accumulator value.

    As in PyTorch, the state (``step`` and ``sum``) is created when the optimizer is built.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        lr_decay: the step size is ``lr / (1 + (step - 1) * lr_decay)``.
        weight_decay: L2 penalty added to the gradient.
        initial_accumulator_value: starting value of the sum of squared gradients.
        eps: added to the denominator for numerical stability.
        maximize: maximize the objective instead of minimizing it.
        foreach, fused, differentiable: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import ember
        >>> w = ember.zeros(2, requires_grad=True)
        >>> opt = ember.optim.Adagrad([w], initial_accumulator_value=0.1)
        >>> opt.state[w]["sum"]
        tensor([0.1000, 0.1000])
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check(0.0 <= _scalar(lr), f"Invalid learning rate: {lr}")
        _check(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(
            0.0 <= initial_accumulator_value,
            f"Invalid initial_accumulator_value value: {initial_accumulator_value}",
        )
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _on_param_group_added(self, group: dict[str, Any]) -> None:
        for p in group["params"]:
            state = self.state[p]
            if not state:
                self._init_state(p, state, group)

    def _init_state(self, param: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = _step_tensor()
        state["sum"] = _state_tensor(np.full_like(param._data, group["initial_accumulator_value"]))

    def _update(
        self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        p = param._data
        state["step"]._data += 1
        step = float(state["step"]._data)
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p
        clr = _scalar(group["lr"]) / (1 + (step - 1) * group["lr_decay"])
        state_sum = state["sum"]._data
        state_sum += grad * grad
        std = np.sqrt(state_sum)
        std += group["eps"]
        p += (-clr * grad) / std
