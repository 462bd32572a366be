"""TensorBoard logging with PyTorch's API: ``ember.utils.tensorboard.SummaryWriter``.

Event files are written with the ``tensorboard`` package's own writer and protos. It is an
optional dependency, imported only when a writer is created: ``pip install tensorboard`` (or
``pip install ember[tensorboard]``). :func:`is_available` tells whether it is installed.

Example:
    >>> from ember.utils import tensorboard
    >>> isinstance(tensorboard.is_available(), bool)
    True
    >>> with tensorboard.SummaryWriter("runs/demo") as w:  # doctest: +SKIP
    ...     w.add_scalar("loss", 0.5, 1)
"""

from __future__ import annotations

from .writer import FileWriter, SummaryWriter

__all__ = ["SummaryWriter", "FileWriter", "is_available"]


def is_available() -> bool:
    """True if the optional ``tensorboard`` package can be imported.

    Example:
        >>> is_available() in (True, False)
        True
    """
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None
