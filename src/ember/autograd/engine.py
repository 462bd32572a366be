"""The backward engine: an iterative walk of the graph in dependency order.

No recursion anywhere, so a chain of 100,000 ops backpropagates; gradients arriving at the
same node output are summed before the node runs, so a value used twice gets both.

Example:
    >>> import ember
    >>> x = ember.tensor(3.0, requires_grad=True)
    >>> (gx,) = ember.autograd.grad(x * x * x, x, create_graph=True)
    >>> gx
    tensor(27., grad_fn=<AddBackward0>)
    >>> ember.autograd.grad(gx, x)[0]
    tensor(18.)
"""

from __future__ import annotations

import sys

import numpy as np

from ..tensor import Tensor
from .grad_mode import STATE
from .graph import AccumulateGrad, Node, accumulator_for, edge_of

__all__ = ["backward", "grad"]


def _as_tensor_list(x) -> list:
    if x is None:
        return []
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _root_grads(outputs: list, grad_outputs: list, create_graph: bool) -> list:
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"grad_outputs has {len(grad_outputs)} tensors but outputs has {len(outputs)}"
        )
    result = []
    for out, g in zip(outputs, grad_outputs):
        if not out._requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; got shape "
                    f"{tuple(out.shape)}: pass gradient= with that shape"
                )
            g = Tensor._wrap(np.ones(out._data.shape, out._data.dtype))
        elif not isinstance(g, Tensor):
            g = Tensor._wrap(np.asarray(g, dtype=out._data.dtype))
        if g._data.shape != out._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output has a shape of {tuple(g.shape)} and output has a "
                f"shape of {tuple(out.shape)}"
            )
        if not create_graph:
            g = g.detach()
        result.append(g)
    return result


def _dependencies(roots) -> dict:
    """How many edges point at each node reachable from ``roots`` (iterative DFS)."""
    deps: dict = {}
    stack = list(roots)
    seen = set(stack)
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if edge is None:
                continue
            child = edge[0]
            deps[child] = deps.get(child, 0) + 1
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return deps


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _run(roots, root_grads, *, retain_graph, create_graph, capture=None, accumulate=True):
    """Walk the graph from ``roots`` (edges) with ``root_grads``; return captured grads."""
    buffers: dict = {}
    for (node, nr), g in zip(roots, root_grads):
        buf = buffers.setdefault(node, [None] * _num_outputs(node))
        buf[nr] = _add(buf[nr], g)
    root_nodes = list(buffers)
    deps = _dependencies(root_nodes)
    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    captured = {} if capture is not None else None
    prev_mode = STATE.enabled
    STATE.enabled = create_graph
    wrap = Tensor._wrap
    # the loop below runs once per recorded op: the helpers of the rare cases (hooks, retained
    # grads, capture, multi-output nodes) are called only when they apply
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            if type(node) is AccumulateGrad:
                _accumulate(
                    node, grads[0] if grads else None, create_graph, capture, captured, accumulate
                )
                continue
            in_grads = None
            if grads is not None and (
                grads[0] is not None if len(grads) == 1 else any(g is not None for g in grads)
            ):
                if node._pre_hooks or node._retain:
                    grads = _run_pre_hooks(node, grads)
                if capture is not None:
                    for nr, g in enumerate(grads):
                        key = (node, nr)
                        if key in capture:
                            captured[key] = g
                if len(grads) > 1:
                    grads = _fill_missing(node, grads)
                if type(node) is Node:
                    in_grads = node.prim.vjp(node, *grads)
                else:  # a custom Function's node
                    in_grads = node.apply(grads)
                if not retain_graph:
                    node.release()
                if len(in_grads) != len(node.next_edges):
                    _check_grads(node, in_grads)
            i = -1
            for edge in node.next_edges:
                i += 1
                if edge is None:
                    continue
                child, nr = edge
                if in_grads is not None:
                    g = in_grads[i]
                    if g is not None:
                        if type(g) is not Tensor and not isinstance(g, Tensor):
                            g = wrap(np.asarray(g))
                        buf = buffers.get(child)
                        if buf is None:
                            buf = buffers[child] = [None] * _num_outputs(child)
                        prev = buf[nr]
                        buf[nr] = g if prev is None else prev + g
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    ready.append(child)
    finally:
        STATE.enabled = prev_mode
    return captured


def _num_outputs(node) -> int:
    return 1 if type(node) is AccumulateGrad else len(node.out_meta)


def _run_pre_hooks(node, grads: list) -> list:
    hooks = node._pre_hooks
    if hooks:
        grads = list(grads)
        for nr, fns in hooks.items():
            for fn in list(fns):
                if grads[nr] is None:
                    continue
                res = fn(grads[nr])
                if res is not None:
                    grads[nr] = res
    retain = node._retain
    if retain:
        for nr, ref in retain.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                g = grads[nr] if STATE.enabled else grads[nr].detach()
                t.grad = g if t.grad is None else t.grad + g
    return grads


def _fill_missing(node, grads: list) -> list:
    """Zero grads for float outputs that received none (so vjp rules see full grads).

    The zeros are a read-only broadcast of one scalar: no allocation or memset for the
    unused outputs of multi-output primitives (standardize's mean and rstd, gelu's CDF, a
    max-pool's indices), and ``ops._helpers.grad_is_live`` recognises them in O(1).
    """
    if len(grads) == 1:
        return grads
    out = list(grads)
    for i, g in enumerate(out):
        if g is None:
            shape, npdtype = node.out_meta[i]
            if npdtype is not None and (npdtype.kind == "f" or npdtype.name == "bfloat16"):
                out[i] = Tensor._wrap(np.broadcast_to(np.zeros((), npdtype), shape))
    return out


def _check_grads(node, in_grads) -> None:
    if len(in_grads) != len(node.next_edges):
        raise RuntimeError(
            f"{node.name()}: vjp returned {len(in_grads)} gradients for "
            f"{len(node.next_edges)} inputs"
        )


def _owned_grad(g):
    """A detached grad tensor that no one else writes to: the engine's own fresh array when
    nothing else references it (the common case; saves a copy per parameter per step), else a
    copy. ``getrefcount`` sees the array's holders: ``g._data``, ``arr`` and its own argument."""
    arr = g._data
    if arr.flags.owndata and arr.flags.writeable and sys.getrefcount(arr) <= 3:
        return Tensor._wrap(arr)
    return Tensor._wrap(arr.copy())


def _accumulate(acc, g, create_graph, capture, captured, accumulate) -> None:
    leaf = acc.variable
    if g is None:
        return
    if leaf._hooks:
        for fn in list(leaf._hooks):
            res = fn(g)
            if res is not None:
                g = res
    if capture is not None and (acc, 0) in capture:
        captured[(acc, 0)] = g
    if not accumulate:
        return
    if tuple(g.shape) != tuple(leaf.shape):
        raise RuntimeError(
            f"AccumulateGrad: gradient of shape {tuple(g.shape)} for a leaf of shape "
            f"{tuple(leaf.shape)}"
        )
    if g._data.dtype != leaf._data.dtype:
        g = g.type(leaf.dtype)
    if leaf.grad is None:
        leaf.grad = g if create_graph else _owned_grad(g)
    elif create_graph or leaf.grad._requires_grad:
        leaf.grad = leaf.grad + g
    else:
        leaf.grad._data += g._data
        leaf.grad._version.value += 1


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves of the graph.

    Example:
        >>> import ember
        >>> w = ember.ones(3, requires_grad=True)
        >>> ember.autograd.backward((w * 2).sum())
        >>> w.grad
        tensor([2., 2., 2.])
    """
    outputs = _as_tensor_list(tensors)
    grads = _as_tensor_list(grad_tensors) if grad_tensors is not None else [None] * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    root_grads = _root_grads(outputs, grads, create_graph)
    roots = [edge_of(t) for t in outputs]
    if inputs is not None:
        targets = _as_tensor_list(inputs)
        capture = {_target_edge(t): t for t in targets}
        captured = _run(
            roots,
            root_grads,
            retain_graph=retain_graph,
            create_graph=create_graph,
            capture=capture,
            accumulate=False,
        )
        for key, t in capture.items():
            g = captured.get(key)
            if g is None:
                continue
            g = g if create_graph else g.detach()
            t.grad = g.clone() if t.grad is None else t.grad + g
        return
    _run(roots, root_grads, retain_graph=retain_graph, create_graph=create_graph)


def _target_edge(t):
    if not t._requires_grad:
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    if t._grad_fn is None:
        return (accumulator_for(t), 0)
    return (t.grad_fn, t._output_nr)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    allow_unused=None,
    materialize_grads=False,
):
    """Return d(outputs)/d(inputs) without touching ``.grad``.

    With ``create_graph=True`` the result is itself differentiable (higher-order gradients).

    Example:
        >>> import ember
        >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> ember.autograd.grad((x ** 2).sum(), x)
        (tensor([2., 4.]),)
    """
    outs = _as_tensor_list(outputs)
    targets = _as_tensor_list(inputs)
    single = isinstance(inputs, Tensor)
    gouts = _as_tensor_list(grad_outputs) if grad_outputs is not None else [None] * len(outs)
    if retain_graph is None:
        retain_graph = create_graph
    root_grads = _root_grads(outs, gouts, create_graph)
    roots = [edge_of(t) for t in outs]
    keys = [_target_edge(t) for t in targets]
    captured = _run(
        roots,
        root_grads,
        retain_graph=retain_graph,
        create_graph=create_graph,
        capture=set(keys),
        accumulate=False,
    )
    result = []
    for t, key in zip(targets, keys):
        g = captured.get(key)
        if g is None:
            if materialize_grads:
                g = Tensor._wrap(np.zeros_like(t._data))
            elif not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
        elif not create_graph:
            g = g.detach()
        result.append(g)
    del single
    return tuple(result)
