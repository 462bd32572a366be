"""A loaded bundle: a callable from named NumPy arrays to named NumPy arrays.

``bundle(x)`` / ``bundle(x=...)`` / ``bundle(**arrays)`` checks every input against the
signature (name, dtype, shape, one batch size across inputs) and runs the graph with an
executor from :func:`ember.compiler.executor.make_executor` (or the NumPy
:class:`~ember.ir.Interpreter` where the compiler package cannot be imported). No Tensor is
created and autograd is not involved.

Example:
    >>> import numpy as np
    >>> from ember.ir import Graph
    >>> from ember.export.bundle import Bundle
    >>> from ember.export.signature import Signature, TensorSpec
    >>> from ember.ir.symbolic import SymInt
    >>> g = Graph()
    >>> x = g.add_input((SymInt(1, 0), 2), "float32", name="x")
    >>> (y,) = g.add_node("exp", [x], {}, [((SymInt(1, 0), 2), "float32")])
    >>> g.outputs = [y]
    >>> b = Bundle(g, {}, Signature([TensorSpec("x", "float32", (None, 2))],
    ...                             [TensorSpec("y", "float32", (None, 2))]), {})
    >>> b(np.zeros((3, 2), np.float32))["y"].shape
    (3, 2)
    >>> b(x=np.zeros((3, 5), np.float32))
    Traceback (most recent call last):
    ...
    ValueError: input 'x': expected shape (N, 2), got (3, 5)
    >>> b(x=np.zeros((3, 2)))
    Traceback (most recent call last):
    ...
    TypeError: input 'x': expected dtype float32, got float64
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from .signature import Signature

__all__ = ["Bundle"]


class Bundle:
    """A model loaded from a bundle directory (see :func:`ember.export.load_bundle`).

    Attributes: ``signature`` (``.inputs`` / ``.outputs``: lists of
    :class:`~ember.export.TensorSpec`), ``metadata`` (the ``metadata.json`` dict), ``graph``
    (the :class:`~ember.ir.Graph`), ``path``, ``executor_name`` (what runs it: the compiled
    executor and its backend, or the NumPy interpreter).
    """

    def __init__(
        self,
        graph,
        weights: dict[str, np.ndarray],
        signature: Signature,
        metadata: dict,
        path: str | Path | None = None,
    ):
        self.graph = graph
        self.signature = signature
        self.metadata = metadata
        self.path = Path(path) if path is not None else None
        self._weights = weights
        self._executor, self.executor_name = _executor_for(graph)
        self._batch_dims = _batch_dims(graph)
        # outputs that are inputs or stored arrays are copied, so callers cannot edit weights
        self._copy_outputs = [graph.values[v].kind != "node" for v in graph.outputs]
        static = signature.inputs and not any(None in s.shape for s in signature.inputs)
        self._static_hint = (
            " (the bundle was saved for this exact shape: dynamic_batch=False)" if static else ""
        )

    @property
    def weights(self) -> dict[str, np.ndarray]:
        """The arrays the graph reads, by name (parameters and constants); do not modify them."""
        return self._weights

    def __call__(self, *args, **kwargs) -> dict[str, np.ndarray]:
        arrays = self._bind(args, kwargs)
        self._check(arrays)
        outs = self._executor.run(arrays, self._weights)
        return {
            spec.name: (np.array(o, copy=True) if copy else o)
            for spec, o, copy in zip(self.signature.outputs, outs, self._copy_outputs)
        }

    def _bind(self, args: tuple, kwargs: dict) -> list[np.ndarray]:
        specs = self.signature.inputs
        names = [s.name for s in specs]
        if len(args) > len(specs):
            raise TypeError(f"the bundle takes {len(specs)} input(s) {names}, got {len(args)}")
        given = dict(zip(names, args))
        for name, value in kwargs.items():
            if name not in names:
                raise TypeError(f"unknown input {name!r} (the bundle's inputs: {names})")
            if name in given:
                raise TypeError(f"input {name!r} given both by position and by name")
            given[name] = value
        missing = [n for n in names if n not in given]
        if missing:
            raise TypeError(f"missing input(s) {missing} (the bundle's inputs: {names})")
        return [_as_array(given[s.name], s.dtype) for s in specs]

    def _check(self, arrays: list[np.ndarray]) -> None:
        n = None
        for k, (arr, spec) in enumerate(zip(arrays, self.signature.inputs)):
            if arr.dtype.name != spec.dtype:
                raise TypeError(
                    f"input {spec.name!r}: expected dtype {spec.dtype}, got {arr.dtype.name}"
                )
            bad = arr.ndim != len(spec.shape) or any(
                d is not None and d != s for d, s in zip(spec.shape, arr.shape)
            )
            if bad:
                raise ValueError(
                    f"input {spec.name!r}: expected shape {spec.shape_str()}, got "
                    f"{tuple(arr.shape)}{self._static_hint}"
                )
            for axis, sym in self._batch_dims.get(k, ()):
                size = arr.shape[axis]
                here, rem = divmod(size - sym.offset, sym.coef)
                if rem or here < 1:
                    raise ValueError(
                        f"input {spec.name!r}: axis {axis} has size {size}, which is not "
                        f"{sym} for a batch size N >= 1"
                    )
                if n is not None and here != n:
                    raise ValueError(
                        f"input {spec.name!r}: batch size {here} differs from the other "
                        f"inputs' batch size {n}"
                    )
                n = here

    def __repr__(self) -> str:
        ins = ", ".join(f"{s.name}: {s.dtype}{s.shape_str()}" for s in self.signature.inputs)
        outs = ", ".join(f"{s.name}: {s.dtype}{s.shape_str()}" for s in self.signature.outputs)
        where = f" from {self.path}" if self.path is not None else ""
        return f"<ember.export.Bundle{where}: ({ins}) -> ({outs})>"


def _as_array(value, dtype: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple, int, float, bool)):
        return np.asarray(value, dtype=np.dtype(dtype))  # Python data has no dtype of its own
    return np.asarray(value)


def _batch_dims(graph) -> dict[int, list]:
    from ..ir.symbolic import SymInt

    dims: dict[int, list] = {}
    for k, vid in enumerate(graph.inputs):
        for axis, d in enumerate(graph.values[vid].shape):
            if isinstance(d, SymInt):
                dims.setdefault(k, []).append((axis, d))
    return dims


def _executor_for(graph):
    try:
        from ..compiler.executor import make_executor
    except ImportError:
        make_executor = None
    if make_executor is not None:
        try:  # on a private copy: optimization passes may rewrite the graph they are given
            executor = make_executor(_copy_graph(graph), {})
            return executor, f"compiler ({getattr(executor, 'backend', 'default')} backend)"
        except Exception as exc:  # a broken optional backend must not stop a bundle loading
            warnings.warn(
                f"ember.export: the compiled executor failed ({type(exc).__name__}: {exc}); "
                "running the bundle with the NumPy interpreter",
                RuntimeWarning,
                stacklevel=3,
            )
    from ..ir.interpret import Interpreter

    return _InterpreterExecutor(Interpreter(graph)), "interpreter"


def _copy_graph(graph):
    """A copy of ``graph`` whose values, nodes and lists can be rewritten (arrays are shared)."""
    from ..ir.graph import Graph, Node

    g = Graph()
    g.values = {k: dataclasses.replace(v) for k, v in graph.values.items()}
    g.nodes = [Node(n.op, list(n.inputs), list(n.outputs), dict(n.attrs)) for n in graph.nodes]
    g.inputs, g.outputs = list(graph.inputs), list(graph.outputs)
    g.params, g.consts = dict(graph.params), dict(graph.consts)
    g.mutations = list(graph.mutations)
    g._next = graph._next
    return g


class _InterpreterExecutor:
    def __init__(self, interp):
        self.interp = interp

    def run(self, arrays, params):
        return self.interp.run(arrays, params, check=False)
