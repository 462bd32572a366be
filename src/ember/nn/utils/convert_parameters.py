"""Flatten parameters into one vector and back (``parameters_to_vector``).

Example:
    >>> import ember
    >>> from ember.nn.utils import parameters_to_vector, vector_to_parameters
    >>> model = ember.nn.Linear(2, 1)
    >>> vec = parameters_to_vector(model.parameters())
    >>> vec.shape
    ember.Size([3])
    >>> vector_to_parameters(ember.arange(3.0), model.parameters())
    >>> model.weight.data, model.bias.data
    (tensor([[0., 1.]]), tensor([2.]))
"""

from __future__ import annotations

from collections.abc import Iterable

from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate ``parameters``, each flattened, into one 1-D tensor (differentiable).

    Example:
        >>> import ember
        >>> from ember.nn.utils import parameters_to_vector
        >>> parameters_to_vector([ember.ones(2, 2), ember.zeros(1)])
        tensor([1., 1., 1., 1., 0.])
    """
    import ember

    flat = [p.reshape(-1) for p in _as_list(parameters)]
    if not flat:
        raise RuntimeError("parameters_to_vector: expected a non-empty list of parameters")
    return ember.cat(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy slices of the 1-D ``vec`` into ``parameters`` (their ``.data`` then views ``vec``).

    Raises:
        TypeError: ``vec`` is not a tensor.
        RuntimeError: ``vec`` is too short for ``parameters``.

    Example:
        >>> import ember
        >>> from ember.nn.utils import vector_to_parameters
        >>> a, b = ember.zeros(2), ember.zeros(1, 2)
        >>> vector_to_parameters(ember.tensor([1.0, 2.0, 3.0, 4.0]), [a, b])
        >>> a, b
        (tensor([1., 2.]), tensor([[3., 4.]]))
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected ember.Tensor, but got: {type(vec).__name__}")
    if vec.dim() != 1:
        raise RuntimeError(
            f"vector_to_parameters: expected a 1-D vector, got shape {tuple(vec.shape)}"
        )
    pointer = 0
    for param in _as_list(parameters):
        num = param.numel()
        if pointer + num > vec.numel():
            raise RuntimeError(
                f"vector_to_parameters: vec has {vec.numel()} elements, fewer than the "
                "parameters need"
            )
        param.data = vec[pointer : pointer + num].view_as(param).data
        pointer += num


def _as_list(parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)
