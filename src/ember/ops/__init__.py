"""Op families: each module registers its primitives and exposes PyTorch-named functions."""

from . import (  # noqa: F401 - importing registers the primitives
    creation,
    elementwise,
    indexing,
    linalg,
    movement,
    nn_kernels,
    reduce,
    rnn_kernels,
    view_scatter,
)
