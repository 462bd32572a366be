"""Gradient clipping: ``clip_grad_norm_``, ``clip_grad_value_`` and their building blocks.

Same semantics as ``torch.nn.utils``: the norm is taken over all gradients together, as if
they were concatenated into one vector, and gradients are scaled in place.

Example:
    >>> import ember
    >>> from ember.nn.utils import clip_grad_norm_
    >>> w = ember.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> clip_grad_norm_([w], max_norm=1.0)
    tensor(10.)
    >>> w.grad
    tensor([0.6000, 0.8000])
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor

__all__ = [
    "clip_grad_norm_",
    "clip_grad_norm",
    "clip_grad_value_",
    "get_total_norm",
    "clip_grads_with_norm_",
]


def _as_list(tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` viewed as one concatenated vector.

    Args:
        tensors: a tensor or an iterable of tensors (usually gradients).
        norm_type: the order of the norm; ``float("inf")`` (or ``"inf"``) for the max norm.
        error_if_nonfinite: raise a RuntimeError if the total norm is nan or inf.
        foreach: accepted for PyTorch compatibility and ignored.

    Example:
        >>> import ember
        >>> from ember.nn.utils import get_total_norm
        >>> get_total_norm([ember.tensor([3.0]), ember.tensor([4.0])])
        tensor(5.)
        >>> get_total_norm([ember.tensor([3.0]), ember.tensor([-4.0])], norm_type="inf")
        tensor(4.)
    """
    from ... import linalg

    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        from ...ops.creation import tensor

        return tensor(0.0)
    with no_grad():
        norms = [linalg.vector_norm(t, norm_type) for t in tensors]
        total = linalg.vector_norm(_stack(norms), norm_type)
        if error_if_nonfinite and not math.isfinite(float(total)):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from `parameters` is "
                "non-finite, so it cannot be clipped. To disable this error and scale the "
                "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
            )
    return total


def _stack(norms: list) -> Tensor:
    import ember

    dtype = norms[0].dtype
    for n in norms[1:]:
        dtype = ember.promote_types(dtype, n.dtype)
    return ember.stack([n.to(dtype) for n in norms])


def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Scale the gradients of ``parameters`` by ``min(1, max_norm / (total_norm + 1e-6))``.

    Example:
        >>> import ember
        >>> from ember.nn.utils import clip_grads_with_norm_, get_total_norm
        >>> w = ember.tensor([3.0, 4.0], requires_grad=True)
        >>> w.grad = ember.tensor([3.0, 4.0])
        >>> clip_grads_with_norm_([w], 2.5, get_total_norm([w.grad]))
        >>> w.grad
        tensor([1.5000, 2.0000])
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    import ember

    with no_grad(), np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        coef = ember.clamp(float(max_norm) / (total_norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Clip the gradient norm of ``parameters`` in place; returns the total norm before clipping.

    The norm is computed over all gradients together, as if concatenated into one vector.
    Gradients are multiplied by ``min(1, max_norm / (total_norm + 1e-6))``.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed norm.
        norm_type: the order of the norm; ``float("inf")`` (or ``"inf"``) for the max norm.
        error_if_nonfinite: raise a RuntimeError if the total norm is nan or inf.
        foreach: accepted for PyTorch compatibility and ignored.

    Returns:
        The total norm of the gradients (a 0-dim tensor).

    Example:
        >>> import ember
        >>> from ember.nn.utils import clip_grad_norm_
        >>> model = ember.nn.Linear(3, 1)
        >>> model(ember.ones(4, 3)).sum().backward()
        >>> norm = clip_grad_norm_(model.parameters(), max_norm=0.5)
        >>> round(float(norm), 4) > 0.5
        True
        >>> round(float(clip_grad_norm_(model.parameters(), 1e9)), 4)
        0.5
    """
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated alias of :func:`clip_grad_norm_` (kept, like PyTorch, for old code).

    Example:
        >>> import ember
        >>> from ember.nn.utils import clip_grad_norm
        >>> w = ember.zeros(2, requires_grad=True)
        >>> w.grad = ember.tensor([6.0, 8.0])
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", FutureWarning)
        ...     clip_grad_norm(w, 5.0)
        tensor(10.)
    """
    import warnings

    warnings.warn(
        "ember.nn.utils.clip_grad_norm is now deprecated in favor of "
        "ember.nn.utils.clip_grad_norm_.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor],
    clip_value: float,
    foreach: bool | None = None,
) -> None:
    """Clamp every gradient of ``parameters`` to ``[-clip_value, clip_value]`` in place.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        clip_value: the largest allowed absolute value of a gradient element.
        foreach: accepted for PyTorch compatibility and ignored.

    Example:
        >>> import ember
        >>> from ember.nn.utils import clip_grad_value_
        >>> w = ember.zeros(3, requires_grad=True)
        >>> w.grad = ember.tensor([-2.0, 0.5, 3.0])
        >>> clip_grad_value_([w], 1.0)
        >>> w.grad
        tensor([-1.0000,  0.5000,  1.0000])
    """
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
