"""Neural-network building blocks (PyTorch's ``torch.nn``).

Example:
    >>> import ember
    >>> from ember import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> model(ember.ones(2, 4)).shape
    ember.Size([2, 3])
"""

from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F403
from .parameter import Buffer, Parameter, UninitializedParameter  # noqa: F401
