"""From a module or function and example inputs to what a bundle stores.

:func:`capture_model` traces ``module_or_fn`` for inference (eval mode, no grad; the module's
mode is restored afterwards) with :func:`ember.compiler.dynamic.capture`, names the graph's
inputs and outputs and collects the arrays it reads: a :class:`CapturedModel` holds the graph,
the weights (state_dict names, plus ``captured_<id>`` for other tensors the call read), the
signature and the eager outputs of the traced call. The bundle writer and the ONNX target
both start here, so they agree on names and dynamic axes.

Example:
    >>> import ember
    >>> from ember.export.capture_model import capture_model
    >>> cm = capture_model(ember.nn.Linear(4, 3), (ember.ones(2, 4),))
    >>> cm.signature.inputs, sorted(cm.weights)
    ([TensorSpec(name='input', dtype='float32', shape=(None, 4))], ['bias', 'weight'])
"""

from __future__ import annotations

import contextlib
import inspect
from dataclasses import dataclass

import numpy as np

from .signature import DTYPES, Signature, TensorSpec

__all__ = ["CapturedModel", "capture_model", "as_example_tensors", "eval_mode", "flat_outputs"]


@dataclass
class CapturedModel:
    """A traced inference graph, the arrays it reads by name, and its signature."""

    graph: object
    weights: dict
    signature: Signature


def as_example_tensors(example_inputs) -> tuple:
    """``example_inputs`` (one array/tensor or a tuple/list of them) as a tuple of Tensors."""
    from ..tensor import Tensor

    items = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    out = []
    for k, item in enumerate(items):
        if isinstance(item, Tensor):
            out.append(item.detach())
        elif isinstance(item, np.ndarray) or np.isscalar(item):
            out.append(Tensor._wrap(np.array(item, copy=True)))
        else:
            raise TypeError(
                f"example_inputs[{k}]: expected an ember Tensor or a NumPy array, got "
                f"{type(item).__name__} (nested structures are not supported: pass one tensor "
                "per model input)"
            )
    return tuple(out)


def capture_model(
    module_or_fn,
    example_inputs,
    *,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    dynamic_batch: bool = True,
) -> CapturedModel:
    """Trace ``module_or_fn(*example_inputs)`` into an inference graph with named inputs/outputs."""
    from ..compiler.dynamic import capture
    from ..nn.modules.module import Module

    args = as_example_tensors(example_inputs)
    params = {}
    if isinstance(module_or_fn, Module):
        params = {**dict(module_or_fn.named_parameters()), **dict(module_or_fn.named_buffers())}
    with eval_mode(module_or_fn):
        cap = capture(module_or_fn, args, params=params, dynamic_batch=dynamic_batch)
    graph = cap.graph
    leaves = flat_outputs(cap.result)
    _check_output_tree(cap.out_tree)
    in_names = _names(input_names, _default_input_names(module_or_fn, len(args)), "input")
    out_names = _names(output_names, _default_output_names(cap.out_tree, len(leaves)), "output")
    if len(in_names) != len(graph.inputs):
        raise ValueError(f"input_names: {len(in_names)} names given for {len(graph.inputs)} inputs")
    if len(out_names) != len(graph.outputs):
        raise ValueError(
            f"output_names: {len(out_names)} names given for {len(graph.outputs)} outputs"
        )
    for vid, name in zip(graph.inputs, in_names):
        graph.values[vid].name = name
    _check_mutations(graph)
    weights = _collect_weights(graph, cap.live)
    signature = Signature(
        [_spec(graph.values[v], n, "input") for v, n in zip(graph.inputs, in_names)],
        [_spec(graph.values[v], n, "output") for v, n in zip(graph.outputs, out_names)],
    )
    return CapturedModel(graph, weights, signature)


@contextlib.contextmanager
def eval_mode(module_or_fn):
    """Put a module (every submodule) in eval mode for the block, then restore each one's mode."""
    modules = list(module_or_fn.modules()) if hasattr(module_or_fn, "modules") else []
    modes = [(m, m.training) for m in modules]
    for m in modules:
        m.training = False
    try:
        yield module_or_fn
    finally:
        for m, mode in modes:
            m.training = mode


def flat_outputs(result) -> list:
    """The tensors in a model's (possibly nested) result, in the graph's output order."""
    from ..compiler.tracer import flatten

    leaves: list = []
    flatten(result, leaves)
    return leaves


def _check_output_tree(tree) -> None:
    kind, body = tree
    if kind == "py":
        if body is not None:
            raise TypeError(
                f"the model returns a {type(body).__name__} ({body!r}) among its outputs; a "
                "bundle's outputs are tensors only"
            )
        return
    if kind == "T":
        return
    for item in body:
        _check_output_tree(item[1] if kind == "dict" else item)


def _default_input_names(fn, n: int) -> list[str]:
    target = getattr(fn, "forward", fn)
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return [f"input_{k}" for k in range(n)]
    positional = [
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(positional) >= n and len(set(positional[:n])) == n:
        return positional[:n]
    return [f"input_{k}" for k in range(n)]


def _default_output_names(tree, n: int) -> list[str]:
    kind, body = tree
    if kind == "dict" and all(v[0] == "T" for _, v in body) and len(body) == n:
        return [str(k) for k, _ in body]
    return [f"output_{k}" for k in range(n)]


def _names(given, default: list[str], what: str) -> list[str]:
    names = list(default if given is None else given)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{what}_names: {name!r} is not a non-empty string")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{what}_names: duplicate name(s) {dup}")
    return names


def _check_mutations(graph) -> None:
    """Refuse in-place writes to weights; drop those to inputs (the outputs already see them)."""
    params = [graph.values[t].name for t, _ in graph.mutations if graph.values[t].kind == "param"]
    if params:
        raise ValueError(
            f"the forward pass updates {sorted(set(params))} in place (for example a buffer "
            "written with an in-place op); a bundle holds fixed weights, so such a model "
            "cannot be exported"
        )
    # in-place writes to the inputs: the outputs already read the written values, and a
    # deployed model must not write into its callers' arrays
    graph.mutations = []


def _collect_weights(graph, live: dict) -> dict:
    weights = {}
    for name in graph.params.values():
        if name not in live:
            raise ValueError(f"the graph reads parameter {name!r}, which the capture did not keep")
        arr = np.array(live[name]._data, order="C", copy=True)
        _check_dtype(arr.dtype.name, f"parameter {name!r}")
        weights[name] = arr
    for vid in graph.consts:
        _check_dtype(graph.values[vid].dtype, f"a constant read by the graph (%{vid})")
    return weights


def _spec(value, name: str, what: str) -> TensorSpec:
    from ..ir.symbolic import SymInt

    _check_dtype(value.dtype, f"{what} {name!r}")
    shape = tuple(None if isinstance(d, SymInt) else int(d) for d in value.shape)
    return TensorSpec(name, value.dtype, shape)


def _check_dtype(dtype: str, what: str) -> None:
    if dtype not in DTYPES:
        raise TypeError(
            f"{what} has dtype {dtype}, which a bundle cannot store "
            f"(supported: {', '.join(sorted(DTYPES))})"
        )
