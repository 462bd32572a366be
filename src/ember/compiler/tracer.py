"""Tracing: run a function once and record the registry primitives it calls as a graph.

The tracer installs the dispatch hooks of :mod:`ember._dispatch`, runs the function on the
real inputs and maps every NumPy array it sees to a graph value (arrays, not Tensor objects,
carry identity: views, ``detach()`` and saved tensors re-wrap the same array). Tensors that
come from outside the call are graph inputs (the arguments), parameters (the module's
parameters and buffers, or any live tensor the function reads, by reference so optimizer
updates are seen) or constants (temporaries made from Python values inside the call).

What cannot be captured faithfully is refused with :class:`TraceError`, naming the user's line:
reading a traced value as Python data (``.item()``, ``.tolist()``, ``.numpy()``, ``bool()``,
``float()``, ``int()``), ops whose output shape depends on data (``nonzero``, ``unique``), and
writes to tensors that bypass the registry (``optimizer.step()`` inside the function).

When gradients are needed, the backward pass is traced too, by running the registry's vjp rules
(:func:`ember.autograd.grad`) under the same hooks: the result is a forward graph and a
backward graph (see :class:`Traced`).
"""

from __future__ import annotations

import os
import sys
import weakref
from dataclasses import dataclass, field

import numpy as np

from .. import _dispatch
from ..autograd.grad_mode import STATE as _GRAD
from ..ir.graph import Graph
from ..tensor import Tensor

__all__ = ["TraceError", "Traced", "trace"]

_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DEPENDENT_OPS = {"nonzero", "unique"}


class TraceError(RuntimeError):
    """Something in the traced function cannot be captured in a graph."""


@dataclass
class Traced:
    """The result of tracing one call.

    ``graph`` computes the outputs (and, with ``backward``, the values the backward graph
    needs, listed after the outputs). ``backward`` takes those saved values followed by one
    gradient per differentiable output and returns one gradient per entry of ``grad_targets``.
    """

    graph: Graph
    out_tree: object
    live: dict = field(default_factory=dict)  # param name -> Tensor read at run time
    backward: Graph | None = None
    n_outputs: int = 0
    diff_outputs: list = field(default_factory=list)  # positions of outputs that get grads
    grad_targets: list = field(default_factory=list)  # ("input", k) or ("param", name)
    mutated: dict = field(default_factory=dict)  # param name / input index -> True
    result: object = None  # the eager result of the traced call
    snapshots: dict = field(default_factory=dict)  # for :func:`restore`
    const_origin: dict = field(default_factory=dict)  # const id -> (consumer op, user line)
    dynamic_ok: bool = True  # False when a dynamic-batch trace could not be unified
    dynamic_error: str = ""
    # set when the backward pass cannot run (the function modified a tensor saved for backward
    # in place): the forward graph runs, and backward raises this, as eager mode's would
    backward_error: str = ""


def _dt_name(arr: np.ndarray) -> str:
    return arr.dtype.name


def user_line() -> str:
    """``file:line: source`` of the innermost frame outside the ember package."""
    f = sys._getframe(1)
    while f is not None:
        fname = os.path.abspath(f.f_code.co_filename)
        if not fname.startswith(_EMBER_DIR + os.sep):
            import linecache

            src = linecache.getline(fname, f.f_lineno).strip()
            return f"{f.f_code.co_filename}:{f.f_lineno}: {src}"
        f = f.f_back
    return "<unknown line>"


class _Recorder:
    """Builds the graph from dispatch-hook calls."""

    def __init__(self, param_names: dict[int, str]):
        self.graph = Graph()
        self.by_array: dict[int, int] = {}  # id(ndarray) -> value id
        self.keep: list = []  # arrays kept alive so their ids stay unique
        self.param_names = param_names  # id(Tensor) -> name, for module params/buffers
        self.param_tensors: dict[str, Tensor] = {}
        self.param_values: dict[str, int] = {}
        self.captured: list = []  # (value id, weakref to tensor, array)
        self.input_values: dict[int, int] = {}  # id(Tensor) -> input value id
        self.initial: dict[int, int] = {}  # value id of an input/param -> itself (for mutations)
        self.final: dict[int, int] = {}  # input/param value id -> its value after writes
        self.owner: dict[int, object] = {}  # input/param value id -> Tensor
        self.const_origin: dict[int, tuple] = {}  # const id -> (first consumer op, user line)
        self.current_op = "an output"
        self.snapshots: dict[int, tuple] = {}  # root value id -> (Tensor, copy before the call)

    # -- values -------------------------------------------------------------------------------
    def bind(self, arr: np.ndarray, vid: int) -> None:
        self.by_array[id(arr)] = vid
        self.keep.append(arr)

    def add_input(self, t: Tensor, name: str) -> int:
        vid = self.graph.add_input(t._data.shape, _dt_name(t._data), name)
        self.bind(t._data, vid)
        self.input_values[id(t)] = vid
        self.owner[vid] = t
        self.snapshots[vid] = (t, t._data.copy())
        return vid

    def value_of(self, t: Tensor) -> int:
        vid = self.by_array.get(id(t._data))
        if vid is not None:
            return vid
        name = self.param_names.get(id(t))
        if name is None and t._base is not None:
            name = self.param_names.get(id(t._base))
            if name is not None:  # a view of a parameter made outside the hook (rare)
                name = None
        if name is not None:
            vid = self.graph.add_param(t._data.shape, _dt_name(t._data), name)
            self.param_tensors[name] = t
            self.param_values[name] = vid
            self.owner[vid] = t
        else:
            vid = self.graph.add_const(t._data)
            self.captured.append((vid, weakref.ref(t), t))
            self.const_origin[vid] = (self.current_op, user_line())
        self.snapshots[vid] = (t, t._data.copy())
        self.bind(t._data, vid)
        return vid

    # -- hooks --------------------------------------------------------------------------------
    def on_op(self, prim, inputs, attrs, outputs) -> None:
        if prim.name in DATA_DEPENDENT_OPS:
            raise TraceError(
                f"{prim.name}: its output shape depends on the data, so it cannot be compiled "
                f"into a graph (at {user_line()}). Move it out of the compiled function."
            )
        self.current_op = prim.name
        ins = [self.value_of(t) for t in inputs]
        self.current_op = "an output"
        types = [(o._data.shape, _dt_name(o._data)) for o in outputs]
        outs = self.graph.add_node(prim.name, ins, attrs, types)
        for o, vid in zip(outputs, outs):
            self.bind(o._data, vid)

    def on_inplace(self, target: Tensor, result: Tensor) -> None:
        src = self.value_of(result)
        dst_arr = target._data
        want = (dst_arr.shape, _dt_name(dst_arr))
        if self.graph.values[src].dtype != want[1]:
            from .. import dtypes as _dt

            (src,) = self.graph.add_node(
                "cast",
                [src],
                {"dtype": _dt.from_numpy_dtype(dst_arr.dtype)},
                [(result._data.shape, want[1])],
            )
        if tuple(self.graph.values[src].shape) != tuple(dst_arr.shape):
            (src,) = self.graph.add_node("expand", [src], {"shape": tuple(dst_arr.shape)}, [want])
        if target._base is not None:
            base = target._base
            base_vid = self.value_of(base)
            (new_base,) = self.graph.add_node(
                "view_scatter",
                [base_vid, src],
                {"chain": tuple(target._view_chain)},
                [(base._data.shape, _dt_name(base._data))],
            )
            self._rebind_owner(base, base_vid, new_base)
            self.bind(base._data, new_base)
        else:
            old = self.by_array.get(id(dst_arr))
            if old is None:
                old = self.value_of(target)
            self._rebind_owner(target, old, src)
        self.bind(dst_arr, src)

    def _rebind_owner(self, t: Tensor, old_vid: int, new_vid: int) -> None:
        v = self.graph.values[old_vid]
        root = old_vid if v.kind in ("input", "param", "const") else self.latest_root.get(old_vid)
        if root is not None:
            self.final[root] = new_vid
            self.latest_root[new_vid] = root

    latest_root: dict


def _guarded(name: str, original, recorder_ref):
    def guard(self, *args, **kwargs):
        rec = recorder_ref()
        if rec is not None:
            vid = rec.by_array.get(id(self._data))
            if vid is not None and rec.graph.values[vid].kind != "const":
                raise TraceError(
                    f"Tensor.{name}() reads a traced value as Python data, which a compiled graph "
                    f"cannot do (at {user_line()}). Keep data-dependent Python logic outside the "
                    "compiled function, or use ember ops (e.g. ember.where) instead of branches."
                )
        return original(self, *args, **kwargs)

    guard.__name__ = name
    return guard


_GUARDED = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__", "__array__")


class _Session:
    """Installs the hooks and Tensor guards for the duration of a trace."""

    def __init__(self, rec: _Recorder):
        self.rec = rec

    def __enter__(self):
        if _dispatch._hook is not None:
            raise TraceError("ember.compile: nested tracing is not supported")
        self.old_hook = _dispatch.set_dispatch_hook(self.rec.on_op)
        self.old_inplace = _dispatch.set_inplace_hook(self.rec.on_inplace)
        ref = weakref.ref(self.rec)
        self.saved = {n: Tensor.__dict__[n] for n in _GUARDED if n in Tensor.__dict__}
        for n, orig in self.saved.items():
            setattr(Tensor, n, _guarded(n.strip("_"), orig, ref))
        from .. import autograd
        from ..autograd import engine

        self.saved_backward = engine.backward
        engine.backward = autograd.backward = _refuse_backward(self.saved_backward)
        return self

    def __exit__(self, *exc):
        _dispatch.set_dispatch_hook(self.old_hook)
        _dispatch.set_inplace_hook(self.old_inplace)
        for n, orig in self.saved.items():
            setattr(Tensor, n, orig)
        from .. import autograd
        from ..autograd import engine

        engine.backward = autograd.backward = self.saved_backward
        return False


def _refuse_backward(original):
    """``Tensor.backward()`` / ``ember.autograd.backward()`` during a trace (in the tracing
    thread): its ``.grad`` accumulation is not a registry op, so a graph could not replay it."""
    import threading

    tracing_thread = threading.get_ident()

    def backward(*args, **kwargs):
        if threading.get_ident() != tracing_thread:
            return original(*args, **kwargs)
        raise TraceError(
            f"backward() inside a compiled function is not supported (at {user_line()}): the "
            "gradients it accumulates into .grad cannot be replayed by a graph. Return the loss "
            "and call backward outside: loss = compiled(x, y); loss.backward(); opt.step()."
        )

    return backward


def flatten(obj, leaves: list):
    """Split a pytree of tuples/lists/dicts into leaves and a structure (nested tuples:
    hashable unless a non-tensor leaf is not)."""
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return ("T", len(leaves) - 1)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return ("namedtuple", (type(obj), tuple([flatten(o, leaves) for o in obj])))
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__, tuple([flatten(o, leaves) for o in obj]))
    if isinstance(obj, dict):
        return ("dict", tuple([(k, flatten(v, leaves)) for k, v in obj.items()]))
    return ("py", obj)


def unique_leaves(leaves: list) -> list:
    """The distinct tensors among ``leaves``, in order of first appearance (graph inputs)."""
    seen: dict = {}
    for t in leaves:
        seen.setdefault(id(t), t)
    return list(seen.values())


def alias_pattern(leaves: list) -> tuple:
    """For each leaf, the index of its tensor among :func:`unique_leaves` (part of the key)."""
    first: dict = {}
    return tuple(first.setdefault(id(t), len(first)) for t in leaves)


def map_leaves(leaves: list, fn) -> list:
    """``fn`` applied once per distinct tensor, keeping the aliasing of ``leaves``."""
    done: dict = {}
    return [done[id(t)] if id(t) in done else done.setdefault(id(t), fn(t)) for t in leaves]


def unflatten(tree, leaves: list):
    kind, body = tree
    if kind == "T":
        return leaves[body]
    if kind == "py":
        return body
    if kind == "dict":
        return {k: unflatten(v, leaves) for k, v in body}
    if kind == "namedtuple":
        cls, fields = body
        return cls(*(unflatten(v, leaves) for v in fields))
    items = [unflatten(v, leaves) for v in body]
    return tuple(items) if kind == "tuple" else items


def trace(
    fn,
    args: tuple,
    kwargs: dict,
    *,
    params: dict[str, Tensor] | None = None,
    want_backward: bool = True,
) -> Traced:
    """Trace ``fn(*args, **kwargs)``; ``params`` names the tensors read by reference.

    A trace that fails leaves no writes behind (inputs and parameters are restored). When the
    backward pass fails because the function modified a tensor saved for backward in place,
    the forward graph is traced alone and ``Traced.backward_error`` holds the error, which the
    compiled call raises from ``backward()`` as eager mode does.
    """
    from ..autograd.graph import SavedTensorError
    from ..random import default_generator

    rng_state = default_generator.get_state() if want_backward and _GRAD.enabled else None
    try:
        return _trace(fn, args, kwargs, params or {}, want_backward)
    except _BackwardFailedError as failed:
        default_generator.set_state(rng_state)
        error = failed.__cause__
        if not isinstance(error, SavedTensorError):
            raise error from None
    traced = _trace(fn, args, kwargs, params or {}, False)
    traced.backward_error = str(error)
    traced.diff_outputs = _diff_outputs(traced.result)
    return traced


class _BackwardFailedError(Exception):
    """The vjp rules raised while tracing the backward pass (the cause is the error)."""


def _diff_outputs(result) -> list:
    out_leaves: list = []
    flatten(result, out_leaves)
    return [k for k, t in enumerate(out_leaves) if t._requires_grad and t._data.dtype.kind == "f"]


def _trace(fn, args, kwargs, params, want_backward) -> Traced:
    rec = _Recorder({id(t): n for n, t in params.items()})
    rec.latest_root = {}
    in_leaves: list = []
    flatten((args, kwargs), in_leaves)
    try:
        with _Session(rec):
            for k, t in enumerate(unique_leaves(in_leaves)):
                rec.add_input(t, f"input_{k}")
            result = fn(*args, **kwargs)
            out_leaves: list = []
            out_tree = flatten(result, out_leaves)
            out_vids = [rec.value_of(t) for t in out_leaves]
            backward_info = None
            if want_backward and _GRAD.enabled:
                # before the backward pass, which an untracked write (optimizer.step() inside
                # the function) would break with a less helpful autograd error
                _check_untracked_writes(rec, rec.graph)
                try:
                    backward_info = _trace_backward(rec, in_leaves, out_leaves, out_vids)
                except TraceError:
                    raise
                except Exception as exc:
                    raise _BackwardFailedError() from exc
        return _finish(rec, in_leaves, out_leaves, out_vids, out_tree, result, backward_info)
    except BaseException:
        restore(rec.snapshots)  # a refused trace leaves no writes behind
        raise


def _trace_backward(rec: _Recorder, in_leaves, out_leaves, out_vids):
    from ..autograd import grad as _grad

    diff_out = [
        k for k, t in enumerate(out_leaves) if t._requires_grad and t._data.dtype.kind == "f"
    ]
    targets = []
    target_tensors = []
    for k, t in enumerate(in_leaves):
        if t._requires_grad:
            targets.append(("input", k))
            target_tensors.append(t)
    for name, t in rec.param_tensors.items():
        if t._requires_grad and t._grad_fn is None:
            targets.append(("param", name))
            target_tensors.append(t)
    for vid, _ref, t in rec.captured:
        if t._requires_grad and t._grad_fn is None:
            name = f"captured_{vid}"
            rec.graph.values[vid].kind = "param"
            rec.graph.values[vid].name = name
            rec.graph.params[vid] = name
            del rec.graph.consts[vid]
            rec.param_tensors[name] = t
            rec.param_values[name] = vid
            targets.append(("param", name))
            target_tensors.append(t)
    if not diff_out or not targets:
        return None
    split = len(rec.graph.nodes)
    grad_inputs = []
    grad_tensors = []
    for k in diff_out:
        t = out_leaves[k]
        g = Tensor._wrap(np.ones_like(t._data))
        grad_inputs.append(rec.add_input(g, f"grad_output_{k}"))
        grad_tensors.append(g)
    grads = _grad(
        [out_leaves[k] for k in diff_out],
        target_tensors,
        grad_outputs=grad_tensors,
        retain_graph=False,
        allow_unused=True,
    )
    # a target that gets no gradient (unused, or reached only through non-differentiable
    # ops) is left out, so its .grad stays None as in eager mode
    kept = [(target, g) for target, g in zip(targets, grads) if g is not None]
    targets = [target for target, _ in kept]
    grad_vids = [rec.value_of(g) for _, g in kept]
    return split, grad_inputs, grad_vids, diff_out, targets


def _finish(rec, in_leaves, out_leaves, out_vids, out_tree, result, backward_info) -> Traced:
    g = rec.graph
    live = dict(rec.param_tensors)
    # captured tensors still alive after the call are read live (a global, a module attribute);
    # temporaries that died with the call are constants made from Python values
    out_ids = {id(t) for t in out_leaves}
    for vid, _ref, t in rec.captured:
        if g.values[vid].kind != "const":
            continue
        # holders we know of: rec.captured, rec.snapshots, this loop and getrefcount's argument
        alive = sys.getrefcount(t) > 4 and id(t) not in out_ids
        if alive:
            name = f"captured_{vid}"
            g.values[vid].kind = "param"
            g.values[vid].name = name
            g.params[vid] = name
            del g.consts[vid]
            live[name] = t
    rec.captured.clear()
    mutated = {}
    for root, final in rec.final.items():
        if final != root and g.values[root].kind in ("input", "param"):
            g.mutations.append((root, final))
            mutated[g.values[root].name] = True
    _check_untracked_writes(rec, g)
    traced = Traced(graph=g, out_tree=out_tree, live=live, n_outputs=len(out_vids), result=result)
    traced.snapshots = rec.snapshots
    traced.const_origin = rec.const_origin
    traced.mutated = mutated
    if backward_info is None:
        g.outputs = list(out_vids)
        g.validate()
        return traced
    split, grad_inputs, grad_vids, diff_out, targets = backward_info
    fwd, bwd = _partition(g, split, out_vids, grad_inputs, grad_vids)
    traced.graph = fwd
    traced.backward = bwd
    traced.diff_outputs = diff_out
    traced.grad_targets = targets
    return traced


def _check_untracked_writes(rec: _Recorder, g: Graph) -> None:
    """Refuse writes to inputs/parameters that bypassed the registry (e.g. optimizer.step())."""
    for vid, (t, before) in rec.snapshots.items():
        v = g.values.get(vid)
        if v is None or v.kind not in ("input", "param") or vid in rec.final:
            continue
        now = t._data
        if now.shape != before.shape or not np.array_equal(now, before, equal_nan=True):
            raise TraceError(
                f"{v.kind} {v.name!r} was modified during the call without going through the op "
                "registry (for example by optimizer.step() or a direct NumPy write), so a graph "
                "cannot replay it. Call the optimizer outside the compiled function: "
                "loss = compiled(x, y); loss.backward(); opt.step()."
            )


def restore(rec_snapshots: dict) -> None:
    """Put every input/parameter the trace touched back to its value before the call."""
    for t, before in rec_snapshots.values():
        arr = t._data
        if arr.shape == before.shape and arr.flags.writeable:
            np.copyto(arr, before)


def perturbed(t: Tensor) -> Tensor:
    """A tensor of the same shape and dtype whose elements are rolled by one position."""
    arr = np.roll(t._data.reshape(-1), 1).reshape(t._data.shape) if t._data.size > 1 else t._data
    out = Tensor._wrap(np.array(arr, copy=True))
    if t._requires_grad:
        out.requires_grad_(True)
    return out


def check_same_constants(a: Traced, b: Traced) -> None:
    """Refuse constants that differ between two traces on different data (frozen values).

    A constant that changes when only the input *values* change was computed from traced data
    outside the op registry; a graph would silently freeze it.
    """
    for ga, gb in ((a.graph, b.graph), (a.backward, b.backward)):
        if ga is None or gb is None:
            continue
        if [n.op for n in ga.nodes] != [n.op for n in gb.nodes]:
            raise TraceError(
                "the sequence of ops depends on the input values (a Python branch on tensor "
                "data?), so the function cannot be compiled into one graph"
            )
    for vid in a.const_origin:
        arr, other = a.snapshots.get(vid), b.snapshots.get(vid)
        arr = arr[1] if arr is not None else None
        other = other[1] if other is not None else None
        if arr is not None:
            if (
                other is None
                or other.shape != arr.shape
                or not np.array_equal(other, arr, equal_nan=True)
            ):
                op, line = a.const_origin.get(vid, ("an op", "<unknown line>"))
                raise TraceError(
                    f"a tensor read by {op} was computed from traced data outside the op "
                    f"registry, so a graph would freeze its value (at {line}). This op cannot "
                    "be compiled yet; call it outside the compiled function."
                )


def _partition(g: Graph, split: int, out_vids, grad_inputs, grad_vids):
    """Split the joint graph into forward (outputs + saved values) and backward graphs."""
    fwd_nodes, bwd_nodes = g.nodes[:split], g.nodes[split:]
    fwd_defined = {o for n in fwd_nodes for o in n.outputs}
    grad_set = set(grad_inputs)
    needed = []
    seen = set()
    for n in bwd_nodes:
        for i in n.inputs:
            if i in seen:
                continue
            seen.add(i)
            if i in fwd_defined or (g.values[i].kind == "input" and i not in grad_set):
                needed.append(i)
    for i in grad_vids:
        if (
            i not in seen
            and (i in fwd_defined or g.values[i].kind == "input")
            and i not in grad_set
        ):
            seen.add(i)
            needed.append(i)

    fwd = Graph()
    fwd.values = {k: v for k, v in g.values.items()}
    fwd._next = g._next
    fwd.nodes = fwd_nodes
    fwd.inputs = [i for i in g.inputs if i not in grad_set]
    fwd.params = {k: v for k, v in g.params.items()}
    fwd.consts = dict(g.consts)
    fwd.mutations = list(g.mutations)
    fwd.outputs = list(out_vids) + needed
    _prune(fwd)

    bwd = Graph()
    bwd._next = g._next
    bwd.values = {}
    for i in needed:
        v = g.values[i]
        bwd.values[i] = type(v)(v.id, v.shape, v.dtype, "input", v.name or f"saved_{i}")
    for i in grad_inputs:
        bwd.values[i] = g.values[i]
    bwd.inputs = needed + list(grad_inputs)
    used = {i for n in bwd_nodes for i in n.inputs} | set(grad_vids)
    for k, name in g.params.items():
        if k in used and k not in bwd.values:
            bwd.values[k] = g.values[k]
            bwd.params[k] = name
    for k, arr in g.consts.items():
        if k in used and k not in bwd.values:
            bwd.values[k] = g.values[k]
            bwd.consts[k] = arr
    for n in bwd_nodes:
        for o in n.outputs:
            bwd.values[o] = g.values[o]
    bwd.nodes = bwd_nodes
    bwd.outputs = list(grad_vids)
    _prune(bwd)
    return fwd, bwd


def _prune(g: Graph) -> None:
    """Drop values no node, input or output refers to (after partitioning)."""
    from .passes._rewrite import prune_values

    prune_values(g)
    g.validate()
