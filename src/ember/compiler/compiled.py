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

    def params(self) -> dict:
        return {name: t._data for name, t in self.live.items()}

    def run(self, leaves: list):
        arrays = [t._data for t in leaves]
        if self.backward is None or not _GRAD.enabled:
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
        self._seen_structure = -1  # nn structure_version() when _flat was collected
        self._flat: tuple = ((), (), ())
        self._identity: tuple = ()
        self._generation = 0  # bumped when the modules' parameters/buffers/children change
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
        """(generation, train/eval modes, requires_grad flags) of the modules ``fn`` reads.

        The module tree is walked again only after some module's structure changed; a replaced
        parameter or buffer starts a new generation (the traced graphs read the old tensors).
        """
        from ..nn.modules.module import structure_version

        version = structure_version()
        if version != self._seen_structure:
            mods = [m for _, mod in self._modules for m in mod.modules()]
            params = [p for _, mod in self._modules for p in mod.parameters()]
            buffers = [b for _, mod in self._modules for b in mod.buffers()]
            identity = tuple(map(id, mods + params + buffers))
            if identity != self._identity:
                self._identity = identity
                self._generation += 1
            self._flat = (mods, params)
            self._seen_structure = version
        mods, params = self._flat
        return (
            self._generation,
            tuple([m.training for m in mods]),
            tuple([p._requires_grad for p in params]),
        )

    def _key(self, tree, leaves) -> tuple:
        module_state = self._module_state()
        if self.dynamic:
            shapes = tuple(
                ((None,) + t._data.shape[1:], t._data.dtype.str, t._requires_grad) for t in leaves
            )
        else:
            shapes = tuple((t._data.shape, t._data.dtype.str, t._requires_grad) for t in leaves)
        return (_freeze(tree), shapes, alias_pattern(leaves), _GRAD.enabled, module_state)

    def __call__(self, *args, **kwargs):
        leaves: list = []
        tree = flatten((args, kwargs), leaves)
        key = self._key(tree, leaves)
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
    """Re-trace when a tensor read by reference changed shape or dtype since tracing."""
    checks = [(t, t._data.shape, t._data.dtype) for t in traced.live.values()]

    def ok() -> bool:
        for t, shape, dtype in checks:
            if t._data.shape != shape or t._data.dtype != dtype:
                return False
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
