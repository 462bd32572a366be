"""Make sure every registry primitive is registered before a graph file is read.

``import ember`` registers the core op families only; convolution, pooling and attention
primitives are registered when ``ember.nn`` (or ``ember.ops.conv_kernels``) is first imported.
A fresh process that only loads a bundle must still find every op a graph names, so this
imports every module of the packages that define primitives (importing is all it does: no
code from any file is run).

Example:
    >>> from ember.export.primitives import register_all_primitives
    >>> from ember.registry import REGISTRY
    >>> register_all_primitives()
    >>> "conv" in REGISTRY and "attention_probs" in REGISTRY and "fill" in REGISTRY
    True
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["register_all_primitives"]

_PACKAGES = ("ember.ops", "ember.nn.functional")
_MODULES = ("ember.ir.prims", "ember.random")
_done = False


def register_all_primitives() -> None:
    """Import every module that registers primitives (once per process)."""
    global _done
    if _done:
        return
    for name in _MODULES:
        importlib.import_module(name)
    for name in _PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.iter_modules(package.__path__, prefix=name + "."):
            importlib.import_module(info.name)
    _done = True
