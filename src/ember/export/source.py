"""What ``ember export`` exports: a bundle directory, or a ``module:factory`` plus weights.

``module:factory`` is a Python import path and a callable in it (``mypkg.models:make_net``,
dots allowed after the colon) that returns an ``nn.Module`` when called with no arguments;
the current directory is importable, as with ``python -m``. ``--weights FILE`` is a
state_dict written by ``ember.save`` (any safetensors file of the module's state_dict keys).

Example:
    >>> from ember.export.source import parse_shape, split_factory
    >>> parse_shape("1,1,28,28")
    (1, 1, 28, 28)
    >>> split_factory("mypkg.models:make_net")
    ('mypkg.models', 'make_net')
    >>> split_factory("mypkg.models")
    Traceback (most recent call last):
    ...
    ValueError: 'mypkg.models' is neither a bundle directory nor a module:factory path ...
"""

from __future__ import annotations

import importlib
import os
import sys

__all__ = ["parse_shape", "split_factory", "load_factory", "load_weights"]


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,1,28,28"`` (or ``1x1x28x28``) as a tuple of sizes; ``""`` is a 0-d shape."""
    text = text.strip().strip("()[]").replace("x", ",")
    if not text:
        return ()
    try:
        dims = tuple(int(p) for p in text.split(",") if p.strip() != "")
    except ValueError:
        raise ValueError(
            f"shape {text!r}: expected comma-separated integers like 1,1,28,28"
        ) from None
    if any(d < 0 for d in dims):
        raise ValueError(f"shape {text!r}: sizes must be >= 0")
    return dims


def split_factory(spec: str) -> tuple[str, str]:
    """``(module path, attribute path)`` of ``module:factory``."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(
            f"{spec!r} is neither a bundle directory nor a module:factory path "
            "(e.g. mypkg.models:make_net)"
        )
    return module, attr


def load_factory(spec: str):
    """Import ``module:factory``, call the factory and check it returns an ``nn.Module``."""
    from ..nn.modules.module import Module

    module_name, attr = split_factory(spec)
    added = os.getcwd() not in sys.path and "" not in sys.path
    if added:  # as with ``python -m``, modules in the current directory are importable
        sys.path.insert(0, os.getcwd())
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{spec}: cannot import module {module_name!r} ({exc})") from None
    finally:
        if added and os.getcwd() in sys.path:
            sys.path.remove(os.getcwd())
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{spec}: {getattr(obj, '__name__', obj)!r} has no attribute {part!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{spec}: {attr} is not callable")
    model = obj()
    if not isinstance(model, Module):
        raise TypeError(
            f"{spec}: the factory returned {type(model).__name__}, expected an ember.nn.Module"
        )
    return model


def load_weights(model, path: str) -> None:
    """Load the state_dict in ``path`` (``ember.save`` / safetensors) into ``model`` strictly."""
    from ..serialization import SerializationError, load
    from ..tensor import Tensor

    try:
        state = load(path)
    except (OSError, SerializationError) as exc:
        raise ValueError(f"--weights {path}: {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        kind = type(state).__name__
        keys = f" with keys {sorted(state)[:6]}" if isinstance(state, dict) else ""
        raise ValueError(
            f"--weights {path}: expected a state_dict (names -> tensors), the file holds a "
            f"{kind}{keys}"
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"--weights {path}: {exc}") from None
