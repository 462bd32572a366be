"""Utilities; ``ember.utils.data`` is ``ember.data`` (PyTorch's ``torch.utils.data`` path)."""

import importlib
import sys

data = importlib.import_module("ember.data")
sys.modules.setdefault(__name__ + ".data", data)


def __getattr__(name: str):
    """``ember.utils.tensorboard`` / ``ember.utils.summary`` import on first use."""
    if name in ("tensorboard", "summary"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
