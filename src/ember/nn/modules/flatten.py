"""Reshaping layers: Flatten and Unflatten.

Example:
    >>> import ember
    >>> ember.nn.Flatten()(ember.ones(32, 1, 5, 5)).shape
    ember.Size([32, 25])
    >>> ember.nn.Unflatten(1, (2, 5, 5))(ember.ones(2, 50)).shape
    ember.Size([2, 2, 5, 5])
"""

from __future__ import annotations

from ...tensor import Tensor
from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` into one (defaults keep the batch dimension).

    Example:
        >>> import ember
        >>> ember.nn.Flatten(0, 2)(ember.ones(2, 3, 4, 5)).shape
        ember.Size([24, 5])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dimension ``dim`` into ``unflattened_size`` (one entry may be -1).

    Example:
        >>> import ember
        >>> ember.nn.Unflatten(-1, (2, -1))(ember.ones(3, 8)).shape
        ember.Size([3, 2, 4])
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"Unflatten: dim must be an int, got {type(dim).__name__}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
            isinstance(s, int) for s in unflattened_size
        ):
            raise TypeError(
                f"Unflatten: unflattened_size must be a tuple or list of ints, got "
                f"{unflattened_size!r}"
            )
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
