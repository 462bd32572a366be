"""Op families: each module registers its primitives and exposes PyTorch-named functions."""

from . import (  # noqa: F401 - importing registers the primitives
    _allocator,
    _native,
    creation,
    elementwise,
    indexing,
    linalg,
    movement,
    nn_kernels,
    norm_kernels,
    reduce,
    rnn_kernels,
    view_scatter,
)

_allocator.tune()  # eager mode allocates per op: keep freed buffers in the heap
