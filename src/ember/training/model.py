"""``ember.Model``: an ``nn.Module`` with Keras's ``compile``/``fit``/``evaluate``/``predict``.

Two ways to use it:

* subclass it like any module (PyTorch style, as Keras subclassing)::

      class Net(ember.Model):
          def __init__(self):
              super().__init__()
              self.fc = nn.Linear(4, 2)

          def forward(self, x):
              return self.fc(x)

* wrap an existing module: ``model = ember.Model(my_module)``. The wrapper is a view of
  ``my_module``: ``forward`` calls it (its hooks run), its parameters, buffers and
  submodules are the wrapper's own (shared, not copied), and ``state_dict`` keys stay
  exactly those of ``my_module`` (no ``module.`` prefix), so checkpoints load into either
  object. ``train()``/``eval()`` reach the wrapped module too, and attributes not found on
  the wrapper are looked up on it (``model.hidden_size``). ``model.wrapped_module`` is the
  original module.

Example:
    >>> import ember
    >>> from ember import nn
    >>> from ember.training import Model
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> model = Model(net)
    >>> list(model.state_dict()) == list(net.state_dict())
    True
    >>> x = ember.randn(5, 3)
    >>> bool((model(x) == net(x)).all())
    True
    >>> model.compile(optimizer="adam", loss="cross_entropy", lr=1e-2)
    >>> model.eval().training, net.training
    (False, False)
"""

from __future__ import annotations

from typing import Any

from ..nn.modules.module import Module
from .trainer import Trainer

__all__ = ["Model"]

_SHARED = ("_parameters", "_buffers", "_modules", "_non_persistent_buffers_set")


class Model(Trainer, Module):
    """An ``nn.Module`` that trains itself: subclass it, or wrap a module with ``Model(m)``.

    Args:
        module: a module to wrap (its ``state_dict`` keys are kept); ``None`` when
            subclassing.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> from ember.training import Model
        >>> class Net(Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = nn.Linear(2, 1)
        ...     def forward(self, x):
        ...         return self.fc(x)
        >>> net = Net()
        >>> net.compile("sgd", "mse", lr=0.1)
        >>> sorted(net.state_dict())
        ['fc.bias', 'fc.weight']
    """

    def __init__(self, module: Module | None = None) -> None:
        Module.__init__(self)
        if module is None:
            return
        if not isinstance(module, Module):
            raise TypeError(f"Model wraps an ember.nn.Module, got {type(module).__name__}")
        d = self.__dict__
        d["_wrapped_module"] = module
        for key in _SHARED:
            d[key] = module.__dict__[key]
        d["training"] = module.training
        d["_version"] = getattr(module, "_version", 1)

    @property
    def wrapped_module(self) -> Module | None:
        """The module given to ``Model(module)`` (``None`` for a subclass)."""
        return self.__dict__.get("_wrapped_module")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped module; a subclass defines its own ``forward``."""
        wrapped = self.__dict__.get("_wrapped_module")
        if wrapped is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no forward: define forward() in your Model "
                "subclass, or wrap a module with ember.Model(module)"
            )
        return wrapped(*args, **kwargs)

    # -- wrapper plumbing ---------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        try:
            return Module.__getattr__(self, name)
        except AttributeError:
            wrapped = self.__dict__.get("_wrapped_module")
            if wrapped is None or name.startswith("__"):
                raise
            return getattr(wrapped, name)

    def train(self, mode: bool = True) -> Model:
        Module.train(self, mode)
        wrapped = self.__dict__.get("_wrapped_module")
        if wrapped is not None:
            wrapped.train(mode)
        return self

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        wrapped = self.__dict__.get("_wrapped_module")
        if wrapped is not None:
            return wrapped._save_to_state_dict(destination, prefix, keep_vars)
        return Module._save_to_state_dict(self, destination, prefix, keep_vars)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, *args, **kw):
        wrapped = self.__dict__.get("_wrapped_module")
        if wrapped is not None:
            return wrapped._load_from_state_dict(
                state_dict, prefix, local_metadata, strict, *args, **kw
            )
        return Module._load_from_state_dict(
            self, state_dict, prefix, local_metadata, strict, *args, **kw
        )

    def _forward_target(self) -> Any:
        wrapped = self.__dict__.get("_wrapped_module")
        return wrapped.forward if wrapped is not None else self.forward

    def _summary_target(self) -> Any:
        wrapped = self.__dict__.get("_wrapped_module")
        return wrapped if wrapped is not None else self

    def __repr__(self) -> str:
        wrapped = self.__dict__.get("_wrapped_module")
        if wrapped is None:
            return Module.__repr__(self)
        inner = repr(wrapped).replace("\n", "\n  ")
        return f"Model(\n  {inner}\n)"
