"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter).

Example:
    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = ember.tensor([0.0]); opt.step()
    >>> w
    tensor([0.9500], requires_grad=True)
"""

from __future__ import annotations

from ..tensor import Tensor
from .adam import Adam
from .optimizer import ParamsT

__all__ = ["AdamW"]


class AdamW(Adam):
    """Adam whose weight decay multiplies the weights by ``1 - lr * weight_decay`` each step.

    Takes the arguments of :class:`Adam`; ``weight_decay`` defaults to ``1e-2``.

    Example:
        >>> import ember
        >>> opt = ember.optim.AdamW([ember.zeros(2, requires_grad=True)])
        >>> opt.param_groups[0]["weight_decay"], opt.param_groups[0]["decoupled_weight_decay"]
        (0.01, True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
