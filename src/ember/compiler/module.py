"""``ember.compile(module)`` returns an :class:`OptimizedModule`, as PyTorch does.

It is an ``nn.Module`` that holds the original as ``_orig_mod`` (so ``parameters()``,
``train()``/``eval()`` and ``state_dict()`` reach it) and runs its forward compiled.
"""

from __future__ import annotations

from ..nn.modules.module import Module
from .compiled import CompiledFunction

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    """A module whose calls run through a :class:`CompiledFunction`."""

    def __init__(self, mod: Module, *, dynamic=False, fullgraph=True, options=None):
        super().__init__()
        self._orig_mod = mod
        self._compiled = CompiledFunction(
            mod, dynamic=dynamic, fullgraph=fullgraph, options=options
        )

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)
