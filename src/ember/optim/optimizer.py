"""The :class:`Optimizer` base: parameter groups, per-parameter state, ``state_dict``.

The base class walks the parameter groups; a concrete optimizer writes only two methods
(the MLX pattern): ``_init_state(param, state, group)`` fills a fresh per-parameter state
dict, and ``_update(param, grad, state, group)`` changes ``param._data`` in place with
NumPy. The base class skips parameters without a gradient, bumps each updated
parameter's version counter, runs the update under ``no_grad`` and re-evaluates a
``step(closure)`` under ``enable_grad``, as PyTorch does.

State tensors are ember Tensors, so ``optimizer.state_dict()`` has PyTorch's layout:
``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

Example:
    >>> import ember
    >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0., 0.], requires_grad=True)
"""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

import numpy as np

from ..autograd.grad_mode import enable_grad, no_grad
from ..ops import _parallel as _par
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


class _RequiredParameter:
    """Marks a default that every parameter group must set (PyTorch's ``optim.required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class _HookHandle:
    """Returned by ``register_step_*_hook``; ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: OrderedDict):
        self._hooks = hooks
        self.id = _HookHandle._next_id
        _HookHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def _scalar(value) -> float:
    """A hyperparameter (float or one-element tensor) as a Python float."""
    return float(value.item()) if isinstance(value, Tensor) else float(value)


def _state_tensor(array: np.ndarray) -> Tensor:
    """Wrap a state array as an ember Tensor (outside autograd)."""
    return Tensor._wrap(array)


def _step_tensor(value: float = 0.0) -> Tensor:
    """The per-parameter step counter: a float32 0-d tensor, as in PyTorch."""
    return Tensor._wrap(np.array(value, dtype=np.float32))


def _check(ok: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``ok`` (hyperparameter validation)."""
    if not ok:
        raise ValueError(message)


def _balanced_halves(todo: list, group: dict) -> list:
    """Two ``(items, group)`` parts of about equal element counts (largest first, greedy);
    one part when the step is too small to be worth a second thread."""
    total = sum(p._data.size for p, _, _ in todo)
    if total * 12 < _par.MIN_ELEMENTS:  # ~12 NumPy passes per element for Adam
        return [(todo, group)]
    halves, sizes = ([], []), [0, 0]
    for item in sorted(todo, key=lambda t: -t[0]._data.size):
        k = 0 if sizes[0] <= sizes[1] else 1
        halves[k].append(item)
        sizes[k] += item[0]._data.size
    return [(h, group) for h in halves if h]


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, scratch=None) -> None:
    """``start.lerp_(end, weight)`` in place, with PyTorch's two-sided formula.

    ``scratch`` (an array like ``start``) avoids allocating temporaries.
    """
    diff = np.subtract(end, start, out=scratch)
    if weight < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1.0 - weight
        np.subtract(end, diff, out=start)


class Optimizer:
    """Base class of all optimizers: owns param groups, per-parameter state and hooks.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter
            groups, each with ``"params"`` and per-group options).
        defaults: default values of the options, used where a group does not set them.

    Subclasses implement ``_init_state`` and ``_update`` (see the module docstring), or
    override ``step`` entirely (LBFGS does).

    Example:
        >>> import ember
        >>> a = ember.zeros(2, requires_grad=True)
        >>> b = ember.zeros(3, requires_grad=True)
        >>> opt = ember.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=1.0)
        >>> [g["lr"] for g in opt.param_groups]
        [1.0, 0.1]
        >>> opt.state_dict()["param_groups"][1]["params"]
        [1]
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- parameter groups -------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own options) to ``param_groups``.

        Example:
            >>> import ember
            >>> opt = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.1)
            >>> opt.add_param_group({"params": [ember.zeros(2, requires_grad=True)], "lr": 1.0})
            >>> len(opt.param_groups), opt.param_groups[1]["momentum"]
            (2, 0)
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        param_group = dict(param_group)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            param_group["param_names"] = names
        param_group["params"] = params

        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__module__}.{type(p).__name__}"
                )
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            param_group.setdefault(name, default)

        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; they will be "
                "updated once per occurrence",
                stacklevel=3,
            )
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {which} to the optimizer"
                )
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)
        self._on_param_group_added(param_group)

    def _on_param_group_added(self, group: dict[str, Any]) -> None:
        """Hook for optimizers that set up state eagerly (Adagrad)."""

    # -- gradients ----------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to ``None`` by default).

        Example:
            >>> import ember
            >>> w = ember.ones(2, requires_grad=True)
            >>> (2 * w).sum().backward()
            >>> opt = ember.optim.SGD([w], lr=0.1)
            >>> opt.zero_grad(set_to_none=False)
            >>> w.grad
            tensor([0., 0.])
            >>> opt.zero_grad()
            >>> w.grad is None
            True
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g._grad_fn is not None:
                        g.detach_()
                    else:
                        g._requires_grad = False
                    g._data[...] = 0
                    g._version.value += 1

    # -- the step -------------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; returns the closure's loss, if given.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs with
        gradient recording enabled, before the update.

        Example:
            >>> import ember
            >>> w = ember.tensor([3.0], requires_grad=True)
            >>> opt = ember.optim.SGD([w], lr=0.25)
            >>> def closure():
            ...     opt.zero_grad()
            ...     loss = (w * w).sum()
            ...     loss.backward()
            ...     return loss
            >>> opt.step(closure)
            tensor(9., grad_fn=<SumBackward0>)
            >>> w
            tensor([1.5000], requires_grad=True)
        """
        for hook in list(self._optimizer_step_pre_hooks.values()):
            hook(self, (), {})
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._step_group(group)
        for hook in list(self._optimizer_step_post_hooks.values()):
            hook(self, (), {})
        return loss

    #: Subclasses whose ``_update`` touches only its own parameter and state set this: their
    #: parameters are then updated on ember's threads (two halves by size, each thread a
    #: sequence of in-place NumPy passes).
    _independent_updates = False

    def _step_group(self, group: dict[str, Any]) -> None:
        """Apply ``_update`` to each parameter of ``group`` that has a gradient."""
        maximize = group.get("maximize", False)
        todo = []
        for p in group["params"]:
            if p.grad is None:
                continue
            grad = p.grad._data
            if grad.dtype != p._data.dtype:
                grad = grad.astype(p._data.dtype)
            if maximize:
                grad = -grad
            state = self.state[p]
            if len(state) == 0:
                self._init_state(p, state, group)
            todo.append((p, grad, state))
        if self._independent_updates and _par.num_threads() > 1 and len(todo) > 1:
            _par.run_parts(self._update_all, _balanced_halves(todo, group))
        else:
            self._update_all(todo, group)
        for p, _, _ in todo:
            p._version.value += 1

    def _update_all(self, todo: list, group: dict[str, Any]) -> None:
        for p, grad, state in todo:
            self._update(p, grad, state, group)

    def _init_state(self, param: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Fill the (empty) state dict of ``param`` before its first update."""

    def _update(
        self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Update ``param._data`` in place from ``grad`` (already negated when maximizing)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # -- hooks -----------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> _HookHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each ``step``; returns a handle.

        Example:
            >>> import ember
            >>> opt = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.1)
            >>> calls = []
            >>> handle = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
            >>> opt.step(); handle.remove(); opt.step()
            >>> calls
            ['pre']
        """
        handle = _HookHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable) -> _HookHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``; returns a handle.

        Example:
            >>> import ember
            >>> opt = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.1)
            >>> calls = []
            >>> _ = opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
            >>> opt.step()
            >>> calls
            ['post']
        """
        handle = _HookHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    # -- serialization ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer state in PyTorch's layout; parameters are replaced by indices.

        The state tensors are shared with the optimizer, not copied (as in PyTorch).

        Example:
            >>> import ember
            >>> w = ember.tensor([1.0], requires_grad=True)
            >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
            >>> w.grad = ember.tensor([1.0])
            >>> opt.step()
            >>> sd = opt.state_dict()
            >>> sd["state"]
            {0: {'momentum_buffer': tensor([1.])}}
            >>> sd["param_groups"][0]["params"], sd["param_groups"][0]["lr"]
            ([0], 0.1)
        """
        index: dict[int, int] = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from ``state_dict()``; group and parameter counts must match.

        Floating-point state tensors are copied and cast to their parameter's dtype,
        except the ``step`` counters, which keep theirs.

        Example:
            >>> import ember
            >>> w = ember.tensor([1.0], requires_grad=True)
            >>> opt = ember.optim.Adam([w], lr=0.1)
            >>> w.grad = ember.tensor([1.0]); opt.step()
            >>> opt2 = ember.optim.Adam([w], lr=0.5)
            >>> opt2.load_state_dict(opt.state_dict())
            >>> opt2.param_groups[0]["lr"], opt2.state[w]["step"]
            (0.1, tensor(1.))
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                "optimizer state dict must be a dict with keys 'state' and 'param_groups'"
            )
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)} saved, {len(groups)} in the optimizer)"
            )
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group (group {i}: {len(s['params'])} saved parameters, "
                    f"{len(g['params'])} in the optimizer)"
                )
        id_map = dict(
            zip(
                chain.from_iterable(s["params"] for s in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
            )
        )
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = _cast_state(param, value)
            else:
                state[key] = value
        new_groups = []
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.state = state
        self.param_groups = new_groups

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_optimizer_step_pre_hooks", OrderedDict())
        self.__dict__.setdefault("_optimizer_step_post_hooks", OrderedDict())

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def _cast_state(param: Tensor, value, key: str | None = None):
    """Deep-copy a saved state value; floating tensors take ``param``'s dtype (not 'step')."""
    if isinstance(value, np.ndarray):
        value = Tensor._wrap(value)
    if isinstance(value, Tensor):
        data = value._data
        if key != "step" and data.dtype.kind == "f" and param._data.dtype.kind == "f":
            data = data.astype(param._data.dtype)
        return Tensor._wrap(np.array(data, copy=True))
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v) for v in value)
    return copy.deepcopy(value)
