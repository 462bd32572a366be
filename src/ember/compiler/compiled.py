"""``ember.compile``: trace once per input signature, then run the graph.

A compiled callable keeps one entry per *key* (input shapes, dtypes and requires_grad, the
Python values among the arguments, grad mode, the train/eval mode of the modules it uses).
A new key traces again. Each entry runs its forward graph with the executor; when gradients are
needed the outputs get one autograd node whose backward runs the traced backward graph, so
``loss = compiled(x, y); loss.backward(); opt.step()`` works as in eager mode.
"""

from __future__ import annotations

import warnings

from ..autograd.function import Function
from ..autograd.grad_mode import STATE as _GRAD
from ..nn.modules.module import _structure  # [version], bumped on any structure change
from ..tensor import Tensor
from .executor import make_executor
from .tracer import (
    Traced,
    TraceError,
    alias_pattern,
    check_same_constants,
    flatten,
    map_leaves,
    perturbed,
    restore,
    trace,
    unflatten,
    unique_leaves,
)

__all__ = ["CompiledFunction"]


class _Entry:
    """One traced signature, ready to run."""

    def __init__(self, traced: Traced, options: dict):
        self.traced = traced
        self.forward = make_executor(traced.graph, options)
        self.backward = (
            make_executor(traced.backward, options) if traced.backward is not None else None
        )
        self.n_out = traced.n_outputs
        self.live = traced.live
        self.mutated_names = [n for n in traced.mutated if n in traced.live]
        self.mutated_inputs = [
            int(n.rsplit("_", 1)[1]) for n in traced.mutated if n.startswith("input_")
        ]
        self.param_targets = [name for kind, name in traced.grad_targets if kind == "param"]
        self.input_targets = [k for kind, k in traced.grad_targets if kind == "input"]
        self.backward_error = traced.backward_error
        if self.backward_error:
            # outputs still need an autograd node (its backward raises the error, as eager's
            # would): connect it to every parameter that requires grad
            self.param_targets = [n for n, t in traced.live.items() if t._requires_grad]

    def params(self) -> dict:
        return {name: t._data for name, t in self.live.items()}

    def run(self, leaves: list):
        arrays = [t._data for t in leaves]
        if (self.backward is None and not self.backward_error) or not _GRAD.enabled:
            outs = self.forward.run(arrays, self.params())
            result = [Tensor._wrap(a) for a in outs[: self.n_out]]
        else:
            diff_params = [self.live[n] for n in self.param_targets]
            result = list(_CompiledCall.apply(self, len(leaves), *leaves, *diff_params))
        self._bump_versions(leaves)
        return result

    def _bump_versions(self, leaves) -> None:
        for name in self.mutated_names:
            self.live[name]._version.value += 1
        for k in self.mutated_inputs:
            leaves[k]._version.value += 1


class _CompiledCall(Function):
    """The autograd node of a compiled call: backward runs the traced backward graph."""

    @staticmethod
    def forward(ctx, entry: _Entry, n_leaves: int, *tensors):
        leaves = tensors[:n_leaves]
        outs = entry.forward.run([t._data for t in leaves], entry.params())
        ctx.entry = entry
        ctx.saved_arrays = outs[entry.n_out :]
        ctx.n_leaves = n_leaves
        result = tuple(Tensor._wrap(a) for a in outs[: entry.n_out])
        diff = set(entry.traced.diff_outputs)
        ctx.mark_non_differentiable(*(t for k, t in enumerate(result) if k not in diff))
        return result

    @staticmethod
    def backward(ctx, *grads):
        entry = ctx.entry
        if entry.backward_error:
            from ..autograd.graph import SavedTensorError

            raise SavedTensorError(entry.backward_error)
        if ctx.saved_arrays is None:
            raise RuntimeError(
                "Trying to backward through a compiled graph a second time; saved values were "
                "freed (pass retain_graph=True to keep them)"
            )
        g_arrays = []
        for k in entry.traced.diff_outputs:
            g = grads[k]
            out_dtype = entry.traced.graph.values[entry.traced.graph.outputs[k]].dtype
            arr = g._data if g is not None else None
            if arr is None:
                shape = grads[k].shape if g is not None else None
                raise RuntimeError(f"compiled backward: missing gradient for output {k} {shape}")
            if arr.dtype.name != out_dtype:
                arr = arr.astype(out_dtype)
            g_arrays.append(arr if arr.flags.c_contiguous else arr.copy(order="C"))
        saved = list(ctx.saved_arrays)
        in_grads = entry.backward.run(saved + g_arrays, entry.params())
        out = [None, None] + [None] * (ctx.n_leaves + len(entry.param_targets))
        targets = entry.traced.grad_targets
        n_in = ctx.n_leaves
        p_index = {name: k for k, name in enumerate(entry.param_targets)}
        for (kind, which), arr in zip(targets, in_grads):
            pos = which if kind == "input" else n_in + p_index[which]
            out[2 + pos] = Tensor._wrap(arr)
        return tuple(out)


def _freeze(tree):
    if isinstance(tree, list):
        return tuple(_freeze(t) for t in tree)
    if isinstance(tree, tuple):
        return tuple(_freeze(t) for t in tree)
    try:
        hash(tree)
        return tree
    except TypeError:
        return ("unhashable", type(tree).__name__, repr(tree))


class CompiledFunction:
    """A function or module compiled with :func:`ember.compile` (call it like the original)."""

    def __init__(self, fn, *, dynamic: bool = False, fullgraph: bool = True, options=None):
        self.fn = fn
        self.dynamic = dynamic
        self.fullgraph = fullgraph
        self.options = dict(options or {})
        self._cache: dict = {}
        self._modules = _modules_used_by(fn)
        self._seen_structure = -1  # nn structure_version() when the lists below were collected
        # the modules' Python-number attributes (their __dict__s and names) and parameters
        self._attr_dicts: list = []
        self._attr_names: list = []
        self._params_read: list = []
        self._identity: tuple = ()
        self._generation = 0  # bumped when the modules' parameters/buffers/children change
        self._lazy = False  # some module still holds an UninitializedParameter (lazy layer)
        self._guards: tuple | None = None  # (closure cells, (globals, name)) holding numbers
        self.traces = 0  # how many times this function was traced (tests and benchmarks read it)

    def _params(self) -> dict:
        out = {}
        for prefix, m in self._modules:
            for name, p in m.named_parameters(prefix=prefix):
                out.setdefault(name, p)
            for name, b in m.named_buffers(prefix=prefix):
                if b is not None:
                    out.setdefault(name, b)
        return out

    def _module_state(self) -> tuple:
        """(generation, Python-number attributes, requires_grad flags) of the modules ``fn`` reads.

        The number attributes include each module's ``training`` flag and settings a graph
        freezes (``Dropout.p``, ``LeakyReLU.negative_slope``...). The module tree is walked
        again only after some module's structure changed; a replaced parameter or buffer starts
        a new generation (the traced graphs read the old tensors).
        """
        version = _structure[0]
        if version != self._seen_structure:
            mods = [m for _, mod in self._modules for m in mod.modules()]
            params = [p for _, mod in self._modules for p in mod.parameters()]
            buffers = [b for _, mod in self._modules for b in mod.buffers()]
            identity = tuple(map(id, mods + params + buffers))
            if identity != self._identity:
                self._identity = identity
                self._generation += 1
            attrs = [
                (m.__dict__, name)
                for m in mods
                for name, value in m.__dict__.items()
                if type(value) in _NUMBER_TYPES
            ]
            self._attr_dicts = [d for d, _ in attrs]
            self._attr_names = [name for _, name in attrs]
            self._params_read = params
            self._seen_structure = version
            self._lazy = _has_uninitialized(params)
        return (
            self._generation,
            tuple(map(dict.get, self._attr_dicts, self._attr_names)),
            tuple([p._requires_grad for p in self._params_read]),
        )

    def _key(self, tree, leaves) -> tuple:
        module_state = self._module_state()
        if self.dynamic:
            shapes = tuple(
                ((None,) + t._data.shape[1:], t._data.dtype.str, t._requires_grad) for t in leaves
            )
        else:
            shapes = tuple((t._data.shape, t._data.dtype.str, t._requires_grad) for t in leaves)
        try:
            hash(tree)  # the usual case: tensors and hashable Python values
        except TypeError:
            tree = _freeze(tree)
        key = (tree, shapes, alias_pattern(leaves), _GRAD.enabled, module_state)
        guards = self._guards
        if guards is None:
            guards = self._guards = _number_guards(self.fn, self._modules)
        if guards:
            cells, names = guards
            values = [c.cell_contents for c in cells] + [g.get(n) for g, n in names]
            key += tuple([v if type(v) in _NUMBER_TYPES else _guard_value(v) for v in values])
        return key

    def __call__(self, *args, **kwargs):
        leaves: list = []
        tree = flatten((args, kwargs), leaves)
        key = self._key(tree, leaves)
        if self._lazy:
            return self._call_lazy(args, kwargs)
        entry = self._cache.get(key)
        if entry is None:
            entry = self._compile(args, kwargs, key)
            if entry is None:  # fullgraph=False and the trace failed: eager for this key
                return self.fn(*args, **kwargs)
        if entry == "eager":
            return self.fn(*args, **kwargs)
        if not entry.stale_check():
            entry = self._compile(args, kwargs, key)
        outs = entry.run(unique_leaves(leaves))
        return unflatten(entry.traced.out_tree, outs)

    def _call_lazy(self, args, kwargs):
        """A lazy layer infers its parameters' shapes on its first call and initializes them:
        run that call eagerly (its only effects are eager mode's); the next call traces."""
        out = self.fn(*args, **kwargs)
        if not _has_uninitialized(self._params_read):
            self._lazy = False
            self._seen_structure = -1  # re-read the modules: parameters have their shapes now
        return out

    def _compile(self, args, kwargs, key):
        from ..random import default_generator

        rng_state = default_generator.get_state()
        self.traces += 1
        traced = None
        try:
            traced = _trace_twice(self.fn, args, kwargs, self._params(), dynamic=self.dynamic)
            if self.dynamic and not traced.dynamic_ok:
                # one graph for all batch sizes is impossible here (e.g. a Python scalar such
                # as BatchNorm's n/(n-1) depends on the batch size): specialise per shape
                warnings.warn(
                    f"ember.compile(dynamic=True): {traced.dynamic_error}; compiling one graph "
                    "per batch size instead",
                    stacklevel=3,
                )
                self.dynamic = False
                leaves: list = []
                key = self._key(flatten((args, kwargs), leaves), leaves)
        except TraceError as exc:
            if self.fullgraph:
                raise
            warnings.warn(
                f"ember.compile: falling back to eager for this input signature: {exc}",
                stacklevel=3,
            )
            self._cache[key] = "eager"
            return None
        finally:
            default_generator.set_state(rng_state)
            if traced is not None:
                restore(traced.snapshots)
        traced.snapshots = {}
        entry = _Entry(traced, self.options)
        entry.stale_check = _shape_guard(traced)
        self._cache[key] = entry
        return entry


def _trace_twice(fn, args, kwargs, params, dynamic=False):
    """Trace on the real inputs and on value-perturbed copies; refuse frozen data.

    With ``dynamic``, a third trace at another batch size makes batch-dependent sizes symbolic.
    """
    from ..random import default_generator

    first = trace(fn, args, kwargs, params=params)
    restore(first.snapshots)
    leaves: list = []
    tree = flatten((args, kwargs), leaves)
    probe = unflatten_args(tree, map_leaves(leaves, perturbed))
    state = default_generator.get_state()
    second = None
    try:
        second = trace(fn, probe[0], probe[1], params=params)
    finally:
        default_generator.set_state(state)
        if second is not None:
            restore(second.snapshots)
    check_same_constants(first, second)
    if dynamic:
        from .dynamic import _retrace, batch_of, unify_traces

        n_a = batch_of(args, kwargs)
        third = _retrace(fn, args, kwargs, params, n_a + 1, True)
        graphs = (first.graph, first.backward)
        try:
            unify_traces(first, third, n_a, n_a + 1)
        except TraceError as exc:
            first.graph, first.backward = graphs
            first.dynamic_ok = False
            first.dynamic_error = str(exc)
    return first


def unflatten_args(tree, leaves):
    args, kwargs = unflatten(tree, leaves)
    return tuple(args), dict(kwargs)


def _shape_guard(traced: Traced):
    """Re-trace when a tensor read by reference changed shape or dtype since tracing.

    A tensor that still holds the array it had at the last check passes at once (ember never
    reshapes an array object in place); a new array (``p.data = ...``) is compared by shape and
    dtype, and remembered when it matches.
    """
    tensors = list(traced.live.values())
    arrays = [t._data for t in tensors]
    expected = [(a.shape, a.dtype) for a in arrays]

    def ok() -> bool:
        for k, t in enumerate(tensors):
            a = t._data
            if a is not arrays[k]:
                if a.shape != expected[k][0] or a.dtype != expected[k][1]:
                    return False
                arrays[k] = a
        return True

    return ok


def _modules_used_by(fn) -> list:
    """The nn.Modules a function reads: itself, its ``self``, closure cells and globals."""
    from ..nn.modules.module import Module

    found: list = []
    seen: set = set()

    def add(prefix, m):
        if isinstance(m, Module) and id(m) not in seen:
            seen.add(id(m))
            found.append((prefix, m))

    add("", fn)
    add("", getattr(fn, "__self__", None))
    code = getattr(fn, "__code__", None) or getattr(getattr(fn, "__func__", None), "__code__", None)
    func = fn if hasattr(fn, "__code__") else getattr(fn, "__func__", None)
    if func is not None:
        for name, cell in zip(code.co_freevars, func.__closure__ or ()):
            try:
                add(name, cell.cell_contents)
            except ValueError:
                pass
        g = func.__globals__
        for name in code.co_names:
            if name in g:
                add(name, g[name])
    if len(found) > 1:  # prefix names so parameters of different modules never collide
        found = [(p or f"m{k}", m) for k, (p, m) in enumerate(found)]
    return found


def _has_uninitialized(params) -> bool:
    from ..nn.parameter import UninitializedParameter

    return any(isinstance(p, UninitializedParameter) for p in params)


# Python numbers read from closures and globals are part of the key (their values are frozen
# into the graph when it is traced)
_NUMBER_TYPES = frozenset({int, float, bool, complex})
_SCAN_DEPTH = 3  # how deep user functions called by name are scanned for the numbers they read


def _is_number(v) -> bool:
    import numpy as np

    return isinstance(v, (int, float, complex, np.number))


def _guard_value(v):
    """A hashable stand-in for a guarded value that is no longer a plain Python number."""
    if _is_number(v):
        return v
    try:
        hash(v)
        return (type(v), v)
    except TypeError:
        return (type(v), id(v))


def _number_guards(fn, modules) -> tuple:
    """The closure cells and globals holding Python numbers that ``fn`` reads.

    Scans ``fn``'s code (with its nested lambdas and comprehensions), the user functions it
    calls by name (a few levels deep) and the ``forward`` of user-defined modules it uses; code
    inside the ember package is not scanned. Runs once, on the first call; comparing the
    values found then costs one read per name on every call.
    """
    import types

    cells: dict = {}
    names: dict = {}
    seen: set = set()
    ember_dir = _ember_dir()

    def scan_function(func, depth: int) -> None:
        code = getattr(func, "__code__", None)
        if code is None or id(code) in seen or _inside(code.co_filename, ember_dir):
            return
        seen.add(id(code))
        for cell in func.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # not assigned yet
                continue
            if _is_number(value):
                cells.setdefault(id(cell), cell)
            elif depth and isinstance(value, (types.FunctionType, types.MethodType)):
                scan_function(getattr(value, "__func__", value), depth - 1)
        scan_code(code, func.__globals__, depth)

    def scan_code(code, g: dict, depth: int) -> None:
        for name in code.co_names:
            if name not in g:
                continue
            value = g[name]
            if _is_number(value):
                names.setdefault((id(g), name), (g, name))
            elif depth and isinstance(value, types.FunctionType):
                scan_function(value, depth - 1)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                scan_code(const, g, depth)

    func = getattr(fn, "__func__", fn)
    if isinstance(func, types.FunctionType):
        scan_function(func, _SCAN_DEPTH)
    classes = {type(m) for _, mod in modules for m in mod.modules()}
    for cls in classes:
        forward = getattr(cls, "forward", None)
        if isinstance(forward, types.FunctionType):
            scan_function(forward, _SCAN_DEPTH)
    if not cells and not names:
        return ()
    return (list(cells.values()), list(names.values()))


def _ember_dir() -> str:
    import os

    return os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _inside(filename: str, directory: str) -> bool:
    import os

    return os.path.abspath(filename).startswith(directory)
