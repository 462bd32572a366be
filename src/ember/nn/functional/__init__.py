"""Stateless layer functions (PyTorch's ``torch.nn.functional``), one file per family.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.relu(ember.tensor([-1.0, 2.0]))
    tensor([0., 2.])
"""

from ...ops.elementwise import gelu, relu, sigmoid, silu, softplus, tanh  # noqa: F401
from ...ops.indexing import one_hot  # noqa: F401
from ...ops.movement import pad  # noqa: F401
from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .normalization import *  # noqa: F403
from .pooling import *  # noqa: F403
from .sparse import *  # noqa: F403
from .vision import *  # noqa: F403
