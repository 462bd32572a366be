"""Utilities for modules: gradient clipping, parameter vectors, RNN sequence packing.

Example:
    >>> import ember
    >>> from ember import nn
    >>> model = nn.Linear(2, 2)
    >>> model(ember.ones(1, 2)).sum().backward()
    >>> total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    >>> nn.utils.parameters_to_vector(model.parameters()).shape
    ember.Size([6])
"""

from . import rnn
from .clip_grad import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
from .convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = [
    "rnn",
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "parameters_to_vector",
    "vector_to_parameters",
]
