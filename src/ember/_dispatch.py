"""Running a registry primitive eagerly: NumPy forward, then autograd recording.

The forward run is ``prim.eager``: the NumPy ``forward``, or a native (C) version of it that
the registry picked once for this primitive (``ember.ops._native``; ``ember.set_native_kernels``).

``apply`` is the only way an op reaches NumPy. It also keeps view bookkeeping (views share
a version counter with their base and remember how to be replayed from it), and
``apply_inplace`` implements in-place ops on top of out-of-place primitives, including
in-place writes through views of tensors that require grad (PyTorch's CopySlices).

A tracer (``ember.compile``) can observe every call by installing a hook with
:func:`set_dispatch_hook`.
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .autograd.grad_mode import STATE as _GRAD
from .autograd.graph import Node, accumulator_for, edge_of
from .registry import Primitive, Spec
from .tensor import Tensor

__all__ = [
    "apply",
    "apply_inplace",
    "set_dispatch_hook",
    "set_inplace_hook",
    "is_traced",
    "explain_failure",
]

_hook = None
_inplace_hook = None
_ndarray = np.ndarray
_wrap = Tensor._wrap


def set_dispatch_hook(hook) -> object:
    """Install ``hook(prim, inputs, attrs, outputs)`` called after every primitive; returns the old one."""
    global _hook
    old, _hook = _hook, hook
    return old


def set_inplace_hook(hook) -> object:
    """Install ``hook(target, result)`` called after an in-place write; returns the old one."""
    global _inplace_hook
    old, _inplace_hook = _inplace_hook, hook
    return old


def is_traced() -> bool:
    """True while a tracer observes primitives (fast paths that bypass ``apply`` must not run)."""
    return _hook is not None


def apply(prim: Primitive, *inputs: Tensor, **attrs):
    """Run ``prim`` on tensors; record a backward node when any input requires grad."""
    # the common arities without building an argument list (this is the eager hot path)
    # prim.eager is prim.forward, or its native version where one is registered (registry.py)
    try:
        if len(inputs) == 1:
            out = prim.eager(inputs[0]._data, **attrs)
        elif len(inputs) == 2:
            out = prim.eager(inputs[0]._data, inputs[1]._data, **attrs)
        else:
            out = prim.eager(*[t._data for t in inputs], **attrs)
    except (ValueError, IndexError, TypeError, np.exceptions.AxisError) as exc:
        raise explain_failure(prim, inputs, attrs, exc) from None
    record = False
    if _GRAD.enabled and prim.vjp is not None:
        for t in inputs:
            if t._requires_grad:
                record = True
                break
    if prim.num_outputs == 1:
        result = _wrap(out if type(out) is _ndarray else np.asarray(out))
        outputs = (result,)
    else:
        outputs = tuple(_wrap(o if type(o) is _ndarray else np.asarray(o)) for o in out)
        result = outputs
    if prim.is_view:
        _mark_view(outputs[0], inputs[0], prim, attrs)
    if record:
        _record(prim, inputs, attrs, outputs)
    if _hook is not None:
        _hook(prim, inputs, attrs, outputs)
    return result


def _record(prim, inputs, attrs, outputs) -> Node:
    edges = []
    for t in inputs:  # edge_of, inlined
        if t._base is not None:
            edges.append(_view_edge(t))
        elif not t._requires_grad:
            edges.append(None)
        elif t._grad_fn is None:
            edges.append((accumulator_for(t), 0))
        else:
            edges.append((t._grad_fn, t._output_nr))
    node = Node(
        prim,
        attrs,
        tuple(edges),
        tuple([(t._data.shape, t._data.dtype) for t in inputs]),
        tuple([(o._data.shape, o._data.dtype) for o in outputs]),
    )
    if prim.saves_inputs:
        node.save_inputs(inputs, prim.saves_inputs)
    for nr, o in enumerate(outputs):
        if o._data.dtype.kind == "f" or o._data.dtype is _BF16:
            o._requires_grad = True
            o._grad_fn = node
            o._output_nr = nr
    if prim.saves_outputs:
        node.save_outputs(outputs, prim.saves_outputs)
    return node


_BF16 = _dt.bfloat16.np if _dt.bfloat16 is not None else None


def _view_edge(t):
    if t._requires_grad and t._grad_fn is not None:
        refresh_view_history(t)
    return edge_of(t)


# -- views -----------------------------------------------------------------------------------
def _mark_view(out: Tensor, src: Tensor, prim, attrs) -> None:
    o, i = out._data, src._data
    b = o.base
    # NumPy points a view's base at the array owning the memory: that settles the common cases
    # without the bounds arithmetic of may_share_memory
    if b is None or not o.size or not (b is i or (i.base is not None and b is i.base)):
        if b is None or not np.may_share_memory(o, i):
            return
    base = src._base if src._base is not None else src
    out._base = base
    out._version = src._version
    chain = src._view_chain or ()
    out._view_chain = chain + ((prim, attrs),)
    out._view_fn_version = src._version.value


def replay_view(base: Tensor, chain) -> Tensor:
    """Re-create a view of ``base`` by applying its recorded view primitives."""
    t = base
    for prim, attrs in chain:
        t = apply(prim, t, **attrs)
    return t


def refresh_view_history(view: Tensor) -> None:
    """After an in-place write through another alias, rebuild a view's grad_fn from its base."""
    base = view._base
    if view._view_fn_version == view._version.value or not base._requires_grad:
        return
    if base._grad_fn is None and view._grad_fn is None:
        return
    regen = replay_view(base, view._view_chain)
    view._grad_fn = regen._grad_fn
    view._output_nr = regen._output_nr
    view._requires_grad = regen._requires_grad
    view._view_fn_version = view._version.value


# -- in-place ---------------------------------------------------------------------------------
def apply_inplace(target: Tensor, fn, *args, **kwargs) -> Tensor:
    """Write ``fn(target, *args, **kwargs)`` into ``target``'s memory, keeping autograd right.

    ``fn`` is an out-of-place ember function. ``target`` must be able to hold the result dtype.
    """
    recording = _GRAD.enabled and (
        target._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)
    )
    if recording:
        _check_inplace_allowed(target)
        snapshot = _snapshot(target)
        result = fn(snapshot, *args, **kwargs)
    else:
        prev = _GRAD.enabled
        _GRAD.enabled = False
        try:
            result = fn(target, *args, **kwargs)
        finally:
            _GRAD.enabled = prev
    if recording and result._requires_grad and result._grad_fn is None:
        from .ops.movement import clone

        result = clone(result)  # fn returned a leaf unchanged: give the target its own node
    _write(target, result, fn)
    if recording and result._requires_grad:
        _rebase_history(target, result)
    return target


def _check_inplace_allowed(target: Tensor) -> None:
    if target._requires_grad and target._grad_fn is None and target._base is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. "
            "Wrap the update in `with ember.no_grad():` or clone() the tensor first."
        )
    base = target._base
    if base is not None and base._requires_grad and base._grad_fn is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )


def _snapshot(target: Tensor) -> Tensor:
    """A copy of ``target``'s current value that keeps its autograd identity."""
    if target._requires_grad and target._base is not None:
        refresh_view_history(target)
    snap = _with_identity(target, target._data.copy())
    if _hook is not None:  # a tracer must see the copy as a value computed from the target
        from .registry import REGISTRY

        _hook(REGISTRY["clone"], (target,), {}, (snap,))
    return snap


def _with_identity(src: Tensor, data) -> Tensor:
    """A tensor over ``data`` that stands for ``src`` in the graph (same edge into backward)."""
    out = Tensor._wrap(data)
    if src._requires_grad:
        out._requires_grad = True
        out._grad_fn = src._grad_fn
        out._output_nr = src._output_nr
        out._accumulator = src._accumulator
    return out


def _write(target: Tensor, result: Tensor, fn) -> None:
    src, dst = result._data, target._data
    if src.dtype != dst.dtype:
        rd, td = _dt.from_numpy_dtype(src.dtype), _dt.from_numpy_dtype(dst.dtype)
        if not _dt.can_cast(rd, td):
            raise RuntimeError(
                f"{getattr(fn, '__name__', 'in-place op')}_: result type {rd} can't be cast to the "
                f"desired output type {td}"
            )
    if src.shape != dst.shape:
        try:
            np.broadcast_to(src, dst.shape)
        except ValueError:
            raise RuntimeError(
                f"{getattr(fn, '__name__', 'in-place op')}_: output with shape {tuple(dst.shape)} "
                f"doesn't match the broadcast shape {tuple(src.shape)}"
            ) from None
    try:
        np.copyto(dst, src, casting="unsafe")
    except ValueError as exc:
        raise RuntimeError(
            f"in-place write into a tensor of shape {tuple(dst.shape)} failed ({exc}); "
            "expanded tensors cannot be written in place"
        ) from None
    target._version.value += 1
    if _inplace_hook is not None:
        _inplace_hook(target, result)


def _rebase_history(target: Tensor, result: Tensor) -> None:
    if target._base is None:
        target._grad_fn = result._grad_fn
        target._output_nr = result._output_nr
        target._requires_grad = True
        return
    from .ops.view_scatter import view_scatter

    base = target._base
    # the base's memory already holds the new values; view_scatter only needs the old
    # autograd identity and (for the forward) any array of the right shape
    snap_base = _with_identity(base, base._data)
    new_base = view_scatter(snap_base, result, target._view_chain)
    base._grad_fn = new_base._grad_fn
    base._output_nr = new_base._output_nr
    base._requires_grad = True
    target._view_fn_version = -1  # forces refresh_view_history on next use
    refresh_view_history(target)


# -- errors --------------------------------------------------------------------------------
def explain_failure(prim: Primitive, inputs, attrs, exc: Exception) -> Exception:
    """Turn a NumPy failure into an error naming the op, shapes and dtypes."""
    specs = [Spec(tuple(t._data.shape), _dt.from_numpy_dtype(t._data.dtype)) for t in inputs]
    try:
        prim.rule(*specs, **attrs)
    except Exception as rule_error:  # the rule's own message is the clear one
        return rule_error
    if str(exc).startswith(prim.name + ":"):
        return exc
    shapes = ", ".join(str(tuple(s.shape)) for s in specs)
    dtypes_ = ", ".join(str(s.dtype) for s in specs)
    return type(exc)(
        f"{prim.name}: failed for inputs of shapes {shapes} and dtypes {dtypes_}: {exc}"
    )
