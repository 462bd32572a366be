"""``compile``/``fit``/``evaluate``/``predict`` for any ``nn.Module`` (Keras semantics).

:class:`Trainer` is a mixin: ``ember.Model`` (see :mod:`ember.training.model`) is
``Trainer`` + ``nn.Module``, and any module class can take it directly
(``class Net(Trainer, nn.Module)``). The trainer keeps its state (optimizer, loss,
metrics, ``stop_training``, ``history``) as plain attributes, never as submodules, so the
model's ``state_dict`` is unchanged by compiling.

The pieces, and what to override:

* ``train_step(data)``: one optimization step on a batch ``(x, y, sample_weight)``:
  ``optimizer.zero_grad()``, forward, :meth:`Trainer.compute_loss`, ``backward``,
  ``optimizer.step()``, then :meth:`Trainer.compute_metrics`; returns the logs (running
  averages over the epoch, ``loss`` first).
* ``test_step(data)``: the same without the update (run under ``no_grad`` in eval mode).
* ``predict_step(data)``: the model's output for ``x``.
* ``make_train_function()`` (and ``make_test_function``/``make_predict_function``): the
  one place that decides which callable runs a step; override it to swap in a compiled
  step, e.g. ``return ember.compile(self.train_step)``, and ``fit`` uses it.

How inputs reach the model: a tuple/list ``x`` is passed as positional arguments
(``model(*x)``), a dict as keyword arguments when ``forward`` names all its keys
(``model(**x)``) and as a single argument otherwise; anything else as ``model(x)``.

Losses are PyTorch-style, called as ``loss(y_pred, y_true)``; metrics get
``update_state(y_pred, y_true)``. Logged metric values are running averages over the
epoch (weighted by batch size), as Keras reports them.

Example:
    >>> import numpy as np
    >>> import ember
    >>> from ember import nn
    >>> from ember.training import Trainer
    >>> class Regressor(Trainer, nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = nn.Linear(3, 1)
    ...     def forward(self, x):
    ...         return self.fc(x)
    >>> _ = ember.manual_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(64, 3))
    >>> y = x @ np.array([[1.0], [-2.0], [0.5]])
    >>> model = Regressor()
    >>> model.compile(optimizer="adam", loss="mse", lr=0.1)
    >>> history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    >>> history.history["loss"][-1] < 0.05
    True
    >>> model.evaluate(x, y, verbose=0) < 0.05
    True
    >>> model.predict(x[:2], verbose=0).shape
    (2, 1)
"""

from __future__ import annotations

import inspect
import random as _pyrandom
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..random import Generator, default_generator, get_rng_state, set_rng_state
from ..tensor import Tensor
from .data_adapter import (
    EpochIterator,
    get_data_adapter,
    train_validation_split,
    unpack_x_y_sample_weight,
)
from .losses_registry import get_loss, weighted_loss

__all__ = ["Trainer", "OPTIMIZERS", "get_optimizer"]

#: Names accepted by ``compile(optimizer=...)`` -> ``ember.optim`` class names.
OPTIMIZERS: dict[str, str] = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "nadam": "NAdam",
    "radam": "RAdam",
}

_DEFAULT_SGD_LR = 0.01  # Keras's default; ember.optim.SGD itself follows PyTorch


def get_optimizer(identifier: Any, params: Any, lr: float | None = None) -> Any:
    """An optimizer from a name, an ``Optimizer``, an optimizer class or a factory.

    Args:
        identifier: ``"adam"``, ``"sgd"``... (see :data:`OPTIMIZERS`), an
            ``ember.optim.Optimizer`` (used as is; ``lr`` overrides its rate), or a callable
            ``factory(params, **kwargs) -> Optimizer`` such as ``ember.optim.SGD``.
        params: the parameters to optimize (for names and factories).
        lr: the learning rate (default: the optimizer's own; 0.01 for ``"sgd"``).

    Example:
        >>> import ember
        >>> from ember.training.trainer import get_optimizer
        >>> opt = get_optimizer("adamw", ember.nn.Linear(2, 2).parameters(), lr=0.5)
        >>> type(opt).__name__, opt.param_groups[0]["lr"]
        ('AdamW', 0.5)
    """
    from .. import optim

    if isinstance(identifier, optim.Optimizer):
        if lr is not None:
            for group in identifier.param_groups:
                group["lr"] = float(lr)
        return identifier
    kwargs: dict[str, Any] = {} if lr is None else {"lr": float(lr)}
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {identifier!r}; use an ember.optim.Optimizer or one of: "
                + ", ".join(sorted(OPTIMIZERS))
            )
        if key == "sgd" and lr is None:
            kwargs["lr"] = _DEFAULT_SGD_LR
        return getattr(optim, OPTIMIZERS[key])(list(params), **kwargs)
    if callable(identifier):
        return identifier(list(params), **kwargs)
    raise TypeError(f"optimizer must be a name, an Optimizer or a class, got {identifier!r}")


# ----------------------------------------------------------------------------- metrics
class _Mean:
    """A running mean weighted by sample counts (tracks the loss)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.total = 0.0
        self.count = 0.0

    def update_state(self, value: float, weight: float = 1.0) -> None:
        self.total += float(value) * weight
        self.count += weight

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0


class _FunctionMetric(_Mean):
    """A plain function ``fn(y_pred, y_true) -> value`` as a running-mean metric."""

    def __init__(self, fn: Callable, name: str | None = None) -> None:
        super().__init__(name or getattr(fn, "__name__", type(fn).__name__))
        self.fn = fn

    def update_state(self, y_pred: Any, y_true: Any) -> None:  # type: ignore[override]
        value = self.fn(y_pred, y_true)
        if isinstance(value, Tensor):
            value = value.detach().numpy()
        value = np.asarray(value, dtype=np.float64)
        n = _batch_size(y_pred) or 1
        super().update_state(float(value.mean()), n)


def _build_metric(identifier: Any) -> Any:
    if isinstance(identifier, str) or isinstance(identifier, type):
        try:
            from .. import metrics as _metrics
        except ImportError as e:
            raise ImportError(
                f"metric {identifier!r} needs ember.metrics, which is not available; pass a "
                "callable fn(y_pred, y_true) or an object with update_state/result/reset_state"
            ) from e
        return _metrics.get(identifier)
    if hasattr(identifier, "update_state") and hasattr(identifier, "result"):
        return identifier
    if callable(identifier):
        return _FunctionMetric(identifier)
    raise TypeError(f"cannot use {identifier!r} as a metric")


def _metric_value(value: Any) -> Any:
    if isinstance(value, Tensor):
        value = value.detach().numpy()
    if isinstance(value, np.ndarray):
        return float(value) if value.size == 1 else value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


# ----------------------------------------------------------------------------- structures
def _first_leaf(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        for v in obj.values():
            return _first_leaf(v)
        return None
    if isinstance(obj, (list, tuple)):
        for v in obj:
            return _first_leaf(v)
        return None
    return obj


def _batch_size(obj: Any) -> int | None:
    leaf = _first_leaf(obj)
    shape = getattr(leaf, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) else None


def _map_tensors(fn: Callable, obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, Mapping):
        return {k: _map_tensors(fn, v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(fn, v) for v in obj)
    return obj


def _to_numpy(obj: Any) -> Any:
    return _map_tensors(lambda t: np.array(t.detach().numpy(), copy=True), obj)


def _concat(outputs: list) -> Any:
    first = outputs[0]
    if isinstance(first, Mapping):
        return {k: _concat([o[k] for o in outputs]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_concat([o[i] for o in outputs]) for i in range(len(first)))
    if isinstance(first, np.ndarray):
        if first.ndim == 0:
            return np.stack(outputs)
        return np.concatenate(outputs, axis=0)
    return outputs


def _resolve_verbose(verbose: Any) -> int:
    if verbose == "auto" or verbose is True:
        return 1
    if verbose is None or verbose is False:
        return 0
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


# ----------------------------------------------------------------------------- the mixin
class Trainer:
    """Mixin that gives an ``nn.Module`` Keras's ``compile``/``fit``/``evaluate``/``predict``.

    See the module docstring for the steps you can override. ``ember.Model`` is the
    ready-made combination with ``nn.Module``.

    Example:
        >>> from ember import nn
        >>> from ember.training import Trainer
        >>> class Net(Trainer, nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = nn.Linear(4, 3)
        ...     def forward(self, x):
        ...         return self.fc(x)
        >>> net = Net()
        >>> net.compile(optimizer="sgd", loss="cross_entropy", lr=0.1)
        >>> type(net.optimizer).__name__, sorted(net.state_dict())
        ('SGD', ['fc.bias', 'fc.weight'])
    """

    # -- state (kept in __dict__, so nn.Module never registers it) ----------------------------
    def _set(self, name: str, value: Any) -> None:
        self.__dict__[name] = value

    @property
    def compiled(self) -> bool:
        """Whether :meth:`compile` has been called."""
        return bool(self.__dict__.get("_compiled", False))

    def compile(
        self,
        optimizer: Any = "adam",
        loss: str | Callable | None = None,
        metrics: Sequence[Any] | None = None,
        lr: float | None = None,
        jit_compile: bool = False,
    ) -> None:
        """Configure training: the optimizer, the loss and the metrics.

        Args:
            optimizer: a name (``"adam"``, ``"sgd"``, ``"adamw"``, ``"rmsprop"``, ...), an
                ``ember.optim.Optimizer`` over this model's parameters, or an optimizer class.
            loss: a name (``"cross_entropy"``/``"sparse_categorical_crossentropy"``,
                ``"mse"``, ``"mae"``, ``"bce"``, ``"bce_with_logits"``, ``"huber"``... see
                :data:`ember.training.losses_registry.LOSSES`), an ``nn`` loss module, or a
                callable ``loss(y_pred, y_true)``.
            metrics: names or objects for ``ember.metrics.get``, or functions
                ``fn(y_pred, y_true) -> value`` (averaged over the epoch under their
                ``__name__``).
            lr: the learning rate (overrides the optimizer's).
            jit_compile: run each training step's forward, loss and backward as graphs
                compiled with :func:`ember.compile` (one graph per batch shape); the
                optimizer then updates the weights with its fused in-place kernels.

        Example:
            >>> import ember
            >>> from ember.training import Model
            >>> model = Model(ember.nn.Linear(2, 2))
            >>> model.compile(ember.optim.SGD(model.parameters(), lr=0.1), loss="mse", lr=0.05)
            >>> model.optimizer.param_groups[0]["lr"]
            0.05
        """
        self._set("optimizer", get_optimizer(optimizer, self.parameters(), lr))
        self._set("loss", get_loss(loss))
        built = [_build_metric(m) for m in (metrics or [])]
        seen: dict[str, int] = {"loss": 1}
        for m in built:  # make names unique, as Keras does
            name = getattr(m, "name", None) or type(m).__name__
            if name in seen:
                seen[name] += 1
                name = f"{name}_{seen[name] - 1}"
                try:
                    m.name = name
                except AttributeError:
                    pass
            seen[name] = 1
        self._set("compiled_metrics", built)
        self._set("_loss_tracker", _Mean("loss"))
        self._set("_compiled", True)
        self._set("jit_compile", bool(jit_compile))
        self._set("stop_training", False)
        self._set("train_function", None)
        self._set("test_function", None)
        self._set("predict_function", None)

    def _assert_compiled(self) -> None:
        if not self.compiled:
            raise RuntimeError("you must call compile(optimizer=..., loss=...) before fit/evaluate")

    # -- metrics ------------------------------------------------------------------------------
    @property
    def metrics(self) -> list[Any]:
        """The loss tracker followed by the compiled metrics."""
        if not self.compiled:
            return []
        return [self.__dict__["_loss_tracker"], *self.__dict__["compiled_metrics"]]

    @property
    def metrics_names(self) -> list[str]:
        """``["loss", <metric names>...]``."""
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        """Reset the state of every metric (done at the start of each epoch and evaluation)."""
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> dict[str, Any]:
        """The current value of every metric: ``{"loss": ..., "accuracy": ...}``."""
        logs: dict[str, Any] = {}
        for m in self.metrics:
            value = _metric_value(m.result())
            if isinstance(value, Mapping):
                logs.update({k: _metric_value(v) for k, v in value.items()})
            else:
                logs[m.name] = value
        return logs

    # -- the steps ----------------------------------------------------------------------------
    def _forward_target(self) -> Callable:
        """The callable whose signature decides how dict inputs are passed."""
        return self.forward  # type: ignore[attr-defined]

    def _call_model(self, x: Any) -> Any:
        if isinstance(x, (tuple, list)):
            return self(*x)  # type: ignore[operator]
        if isinstance(x, Mapping):
            if self._takes_keywords(tuple(x)):
                return self(**x)  # type: ignore[operator]
            return self(x)  # type: ignore[operator]
        return self(x)  # type: ignore[operator]

    def _takes_keywords(self, keys: tuple) -> bool:
        cache = self.__dict__.setdefault("_kwargs_cache", {})
        if keys not in cache:
            try:
                params = inspect.signature(self._forward_target()).parameters
            except (TypeError, ValueError):
                cache[keys] = False
            else:
                named = {
                    n
                    for n, p in params.items()
                    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                }
                var_kw = any(p.kind == p.VAR_KEYWORD for p in params.values())
                cache[keys] = all(isinstance(k, str) for k in keys) and (
                    set(keys) <= named or (var_kw and not named - set(keys))
                )
        return cache[keys]

    def compute_loss(
        self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None
    ) -> Tensor:
        """The loss of a batch: ``loss(y_pred, y)``, weighted by ``sample_weight`` if given.

        With weights: ``sum(w_i * loss_i) / batch_size`` over the per-sample losses.
        Override it to add regularization terms.
        """
        loss_fn = self.__dict__.get("loss")
        if loss_fn is None:
            raise ValueError("no loss: pass compile(loss=...), or override compute_loss/train_step")
        return weighted_loss(loss_fn, y_pred, y, sample_weight)

    def compute_metrics(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None
    ) -> dict[str, Any]:
        """Update the compiled metrics with a batch and return :meth:`get_metrics_result`."""
        y_pred = _map_tensors(lambda t: t.detach(), y_pred)
        with no_grad():
            for m in self.__dict__.get("compiled_metrics", []):
                m.update_state(y_pred, y)
        return self.get_metrics_result()

    def train_step(self, data: Any) -> dict[str, Any]:
        """One training step on ``data = (x, y, sample_weight)``; returns the logs.

        Example:
            >>> import ember
            >>> from ember.training import Model
            >>> _ = ember.manual_seed(0)
            >>> model = Model(ember.nn.Linear(2, 1))
            >>> model.compile("sgd", "mse", lr=0.1)
            >>> logs = model.train_step((ember.ones(4, 2), ember.zeros(4, 1), None))
            >>> sorted(logs)
            ['loss']
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        optimizer = self.__dict__["optimizer"]
        optimizer.zero_grad()
        y_pred = self._call_model(x)
        loss = self.compute_loss(x, y, y_pred, sample_weight)
        loss.backward()
        optimizer.step()
        self.__dict__["_loss_tracker"].update_state(float(loss.item()), _batch_size(x) or 1)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: Any) -> dict[str, Any]:
        """One evaluation step on ``data = (x, y, sample_weight)`` (no update); returns the logs."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with no_grad():
            y_pred = self._call_model(x)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        self.__dict__["_loss_tracker"].update_state(float(loss.item()), _batch_size(x) or 1)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's output for the ``x`` of a batch (``y`` and weights are ignored)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        with no_grad():
            return self._call_model(x)

    def make_train_function(self, force: bool = False) -> Callable[[Any], dict[str, Any]]:
        """The callable ``fit`` runs on each batch (cached as ``self.train_function``).

        This is the one place to swap in a compiled step: override it and return, e.g.,
        ``ember.compile(self.train_step)``; it must take a batch and return the logs.

        Example:
            >>> import ember
            >>> from ember.training import Model
            >>> model = Model(ember.nn.Linear(2, 1))
            >>> model.compile("sgd", "mse")
            >>> model.make_train_function() is model.make_train_function()
            True
        """
        fn = self.__dict__.get("train_function")
        if fn is None or force:
            fn = self._compiled_train_step if self.__dict__.get("jit_compile") else self.train_step
            self._set("train_function", fn)
        return fn

    def _compiled_train_step(self, data: Any) -> dict[str, Any]:
        """:meth:`train_step` with forward, loss and backward running as compiled graphs."""
        from ..compiler import CompiledFunction

        step = self.__dict__.get("_compiled_forward_loss")
        if step is None:
            model = self

            def forward_loss(x, y, sample_weight):
                y_pred = model._call_model(x)
                return y_pred, model.compute_loss(x, y, y_pred, sample_weight)

            # one graph per batch shape: fit sees at most two (full batches and the last one),
            # and per-shape graphs keep Python scalars such as BatchNorm's n/(n-1) exact
            step = CompiledFunction(forward_loss, dynamic=False)
            self._set("_compiled_forward_loss", step)
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        optimizer = self.__dict__["optimizer"]
        optimizer.zero_grad()
        y_pred, loss = step(x, y, sample_weight)
        loss.backward()
        optimizer.step()
        self.__dict__["_loss_tracker"].update_state(float(loss.item()), _batch_size(x) or 1)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def make_test_function(self, force: bool = False) -> Callable[[Any], dict[str, Any]]:
        """The callable ``evaluate`` runs on each batch (cached as ``self.test_function``)."""
        fn = self.__dict__.get("test_function")
        if fn is None or force:
            fn = self.test_step
            self._set("test_function", fn)
        return fn

    def make_predict_function(self, force: bool = False) -> Callable[[Any], Any]:
        """The callable ``predict`` runs on each batch (cached as ``self.predict_function``)."""
        fn = self.__dict__.get("predict_function")
        if fn is None or force:
            fn = self.predict_step
            self._set("predict_function", fn)
        return fn

    # -- loops --------------------------------------------------------------------------------
    def _callback_list(self, callbacks: Any, add_history: bool, verbose: int, **params: Any):
        from ..callbacks import CallbackList

        if isinstance(callbacks, CallbackList):
            callbacks.set_model(self)
            callbacks.set_params({"verbose": verbose, **params})
            return callbacks
        return CallbackList(
            callbacks,
            add_history=add_history,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            **params,
        )

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int | str = "auto",
        callbacks: Sequence[Any] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: Mapping[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int | Sequence[int] = 1,
        jit_compile: bool | None = None,
    ):
        """Train for ``epochs`` epochs; returns the :class:`~ember.callbacks.History`.

        Args:
            x: inputs: arrays (NumPy/Tensors; a tuple/list of them for positional inputs, a
                dict for named inputs), a map-style ``Dataset`` of ``(x, y[, w])`` items, or a
                ``DataLoader``/iterable of ``(x, y[, w])`` batches.
            y: targets, when ``x`` holds arrays.
            batch_size: samples per batch for arrays and datasets (default 32).
            epochs: the index of the last epoch (training runs epochs
                ``initial_epoch .. epochs-1``).
            verbose: 0 silent, 1 progress bar (one line per epoch outside a terminal),
                2 one line per epoch; ``"auto"`` is 1.
            callbacks: ``ember.callbacks.Callback`` instances.
            validation_split: the fraction of the arrays (taken from the end, before
                shuffling) held out for validation.
            validation_data: ``(x_val, y_val)``, ``(x_val, y_val, w_val)``, a ``Dataset`` or
                a ``DataLoader``; its results are logged with a ``val_`` prefix.
            shuffle: reshuffle arrays/datasets every epoch.
            class_weight: ``{class_index: weight}``, multiplied into the sample weights.
            sample_weight: one weight per training sample.
            initial_epoch: the epoch to start from (to resume a run).
            steps_per_epoch: batches per epoch (the data stream then continues across
                epochs, starting a new pass when one ends).
            validation_steps: batches per validation (default: all).
            validation_batch_size: batch size for validation arrays (default ``batch_size``).
            validation_freq: validate every N epochs, or at the listed (1-based) epochs.
            jit_compile: override ``compile(jit_compile=...)`` for this run (see there).

        Example:
            >>> import numpy as np
            >>> import ember
            >>> from ember import nn
            >>> from ember.training import Model
            >>> _ = ember.manual_seed(0)
            >>> rng = np.random.default_rng(0)
            >>> x = rng.normal(size=(200, 2))
            >>> y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
            >>> model = Model(nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)))
            >>> model.compile("adam", "cross_entropy", lr=0.05)
            >>> h = model.fit(x, y, epochs=5, validation_split=0.25, verbose=0)
            >>> sorted(h.history), h.history["val_loss"][-1] < h.history["val_loss"][0]
            (['loss', 'val_loss'], True)
        """
        self._assert_compiled()
        if jit_compile is not None and bool(jit_compile) != self.__dict__.get("jit_compile"):
            self._set("jit_compile", bool(jit_compile))
            self._set("train_function", None)
        verbose = _resolve_verbose(verbose)
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = train_validation_split(
                x, y, sample_weight, validation_split
            )
        seed = int(default_generator._rng.integers(0, 2**63 - 1))
        adapter = get_data_adapter(
            x,
            y,
            sample_weight,
            batch_size=batch_size,
            shuffle=shuffle,
            generator=Generator().manual_seed(seed),
        )
        train_iter = EpochIterator(adapter, steps_per_epoch, class_weight)
        val_adapter = None
        if validation_data is not None:
            vx, vy, vsw = _unpack_validation(validation_data)
            val_adapter = get_data_adapter(
                vx, vy, vsw, batch_size=validation_batch_size or batch_size, shuffle=False
            )
        cbs = self._callback_list(callbacks, True, verbose, epochs=epochs, steps=train_iter.steps)
        self._set("stop_training", False)
        self._set("_fit_iterator", train_iter)
        was_training = bool(self.training)  # type: ignore[attr-defined]
        train_function = self.make_train_function()
        training_logs: dict[str, Any] = {}
        try:
            cbs.on_train_begin()
            start = max(int(initial_epoch), int(self.__dict__.pop("_resume_epoch", 0)))
            for epoch in range(start, epochs):
                self.reset_metrics()
                cbs.on_epoch_begin(epoch)
                self.train()  # type: ignore[attr-defined]
                logs: dict[str, Any] = {}
                for step, batch in train_iter.epoch():
                    cbs.on_train_batch_begin(step)
                    logs = train_function(batch)
                    cbs.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
                epoch_logs = dict(self.get_metrics_result()) if logs else dict(logs)
                if val_adapter is not None and _should_validate(epoch, validation_freq):
                    val_logs = self._evaluate_loop(
                        EpochIterator(val_adapter, validation_steps), cbs
                    )
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, epoch_logs)
                training_logs = epoch_logs
                if self.stop_training:
                    break
            cbs.on_train_end(training_logs)
        finally:
            self.__dict__.pop("_fit_iterator", None)
            self.__dict__.pop("_resume_epoch", None)
            self.train(was_training)  # type: ignore[attr-defined]
        return cbs.history

    def _evaluate_loop(self, iterator: EpochIterator, callbacks: Any) -> dict[str, Any]:
        was_training = bool(self.training)  # type: ignore[attr-defined]
        self.eval()  # type: ignore[attr-defined]
        test_function = self.make_test_function()
        self.reset_metrics()
        try:
            callbacks.on_test_begin()
            logs: dict[str, Any] = {}
            with no_grad():
                for step, batch in iterator.epoch():
                    callbacks.on_test_batch_begin(step)
                    logs = test_function(batch)
                    callbacks.on_test_batch_end(step, logs)
            logs = self.get_metrics_result()
            callbacks.on_test_end(logs)
        finally:
            self.train(was_training)  # type: ignore[attr-defined]
        return logs

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Sequence[Any] | None = None,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        """The loss and metrics on the given data (in eval mode, without gradients).

        Returns the loss alone when there are no metrics, else ``[loss, *metrics]``, or a
        dict ``{"loss": ..., name: ...}`` with ``return_dict=True``.

        Example:
            >>> import ember
            >>> from ember.training import Model
            >>> model = Model(ember.nn.Linear(2, 1))
            >>> model.compile("sgd", "mse", metrics=[lambda p, t: (p - t).abs().mean()])
            >>> sorted(model.evaluate(ember.ones(8, 2), ember.ones(8, 1), verbose=0,
            ...                       return_dict=True))
            ['<lambda>', 'loss']
        """
        self._assert_compiled()
        verbose = _resolve_verbose(verbose)
        adapter = get_data_adapter(x, y, sample_weight, batch_size=batch_size, shuffle=False)
        iterator = EpochIterator(adapter, steps)
        cbs = self._callback_list(callbacks, False, verbose, epochs=1, steps=iterator.steps)
        logs = self._evaluate_loop(iterator, cbs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        steps: int | None = None,
        callbacks: Sequence[Any] | None = None,
    ) -> Any:
        """The model's outputs as NumPy arrays, computed in batches (eval mode, no_grad).

        Equals calling the model on all of ``x`` at once in eval mode. Tuple or dict
        outputs come back as tuples or dicts of arrays.

        Example:
            >>> import numpy as np
            >>> import ember
            >>> from ember.training import Model
            >>> model = Model(ember.nn.Linear(3, 2))
            >>> x = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
            >>> out = model.predict(x, batch_size=4, verbose=0)
            >>> np.allclose(out, model(ember.from_numpy(x)).detach().numpy(), atol=1e-6)
            True
        """
        verbose = _resolve_verbose(verbose)
        adapter = get_data_adapter(x, None, None, batch_size=batch_size, shuffle=False)
        iterator = EpochIterator(adapter, steps)
        cbs = self._callback_list(callbacks, False, verbose, epochs=1, steps=iterator.steps)
        predict_function = self.make_predict_function()
        was_training = bool(self.training)  # type: ignore[attr-defined]
        self.eval()  # type: ignore[attr-defined]
        outputs: list = []
        try:
            cbs.on_predict_begin()
            with no_grad():
                for step, batch in iterator.epoch():
                    cbs.on_predict_batch_begin(step)
                    out = _to_numpy(predict_function(batch))
                    outputs.append(out)
                    cbs.on_predict_batch_end(step, {"outputs": out})
            cbs.on_predict_end()
        finally:
            self.train(was_training)  # type: ignore[attr-defined]
        if not outputs:
            raise ValueError("predict: the input held no batches")
        return _concat(outputs)

    # -- conveniences -------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of the ``state_dict`` values as NumPy arrays, in ``state_dict`` order."""
        return [np.array(v.numpy(), copy=True) for v in self.state_dict().values()]  # type: ignore[attr-defined]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Load arrays from :meth:`get_weights` (same order and shapes)."""
        keys = list(self.state_dict())  # type: ignore[attr-defined]
        if len(keys) != len(weights):
            raise ValueError(f"set_weights: expected {len(keys)} arrays, got {len(weights)}")
        self.load_state_dict(  # type: ignore[attr-defined]
            {k: Tensor._wrap(np.array(np.asarray(w), copy=True)) for k, w in zip(keys, weights)}
        )

    def summary(
        self,
        example_inputs: Any = None,
        input_size: Any = None,
        print_fn: Callable[[str], Any] | None = print,
    ) -> str:
        """Print (with ``print_fn``) and return the table of ``ember.utils.summary.summary``."""
        from ..utils.summary import summary

        text = summary(self._summary_target(), example_inputs=example_inputs, input_size=input_size)
        if print_fn is not None:
            print_fn(text)
        return text

    def _summary_target(self) -> Any:
        return self

    # -- fit state (BackupAndRestore) ------------------------------------------------------------
    def _get_fit_state(self) -> dict[str, Any]:
        """Everything the rest of a ``fit`` depends on (weights, optimizer, RNGs, data position)."""
        keys, pos, has_gauss, cached = np.random.get_state()[1:]
        py_version, py_state, py_gauss = _pyrandom.getstate()
        optimizer = self.__dict__.get("optimizer")
        iterator = self.__dict__.get("_fit_iterator")
        return {
            "model": self.state_dict(),  # type: ignore[attr-defined]
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "rng": {
                "ember": get_rng_state(),
                "numpy": {
                    "keys": np.asarray(keys, dtype=np.int64),
                    "pos": int(pos),
                    "has_gauss": int(has_gauss),
                    "cached": float(cached),
                },
                "python": {
                    "version": int(py_version),
                    "state": np.asarray(py_state, dtype=np.int64),
                    "gauss": py_gauss,
                },
            },
            "data": iterator.get_state() if iterator is not None else None,
        }

    def _load_fit_state(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`_get_fit_state` (the data position first, the global RNGs last)."""
        self.load_state_dict(state["model"])  # type: ignore[attr-defined]
        optimizer = self.__dict__.get("optimizer")
        if optimizer is not None and state.get("optimizer") is not None:
            optimizer.load_state_dict(state["optimizer"])
        iterator = self.__dict__.get("_fit_iterator")
        if iterator is not None and state.get("data") is not None:
            iterator.set_state(state["data"])
        rng = state["rng"]
        set_rng_state(rng["ember"])
        npst = rng["numpy"]
        keys = npst["keys"].numpy() if isinstance(npst["keys"], Tensor) else npst["keys"]
        np.random.set_state(
            (
                "MT19937",
                np.asarray(keys, dtype=np.uint32),
                int(npst["pos"]),
                int(npst["has_gauss"]),
                float(npst["cached"]),
            )
        )
        pyst = rng["python"]
        py_state = pyst["state"].numpy() if isinstance(pyst["state"], Tensor) else pyst["state"]
        _pyrandom.setstate((int(pyst["version"]), tuple(int(v) for v in py_state), pyst["gauss"]))


def _unpack_validation(validation_data: Any) -> tuple[Any, Any, Any]:
    if isinstance(validation_data, (tuple, list)):
        if len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be (x, y), (x, y, sample_weight), a Dataset or a "
                f"DataLoader; got a sequence of {len(validation_data)}"
            )
        return unpack_x_y_sample_weight(tuple(validation_data))
    return validation_data, None, None


def _should_validate(epoch: int, freq: int | Sequence[int]) -> bool:
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return epoch + 1 in freq
