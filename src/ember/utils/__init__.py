"""Utilities; ``ember.utils.data`` is ``ember.data`` (PyTorch's ``torch.utils.data`` path)."""

import importlib
import sys

data = importlib.import_module("ember.data")
sys.modules.setdefault(__name__ + ".data", data)
