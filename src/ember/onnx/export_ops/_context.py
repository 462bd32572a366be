"""What a lowering sees: the ember graph, the ONNX nodes emitted so far, and helpers.

A lowering is called as ``fn(ctx, node, *input_names)`` for one ember node and returns the ONNX
name of each output (one string, or a tuple with ``None`` for an output it cannot produce). It
emits ONNX nodes with :meth:`LoweringContext.op` and reads ember shapes and dtypes with
:meth:`~LoweringContext.shape` and :meth:`~LoweringContext.dtype`. Sizes may be
:class:`~ember.ir.symbolic.SymInt` (``a * N + c``, N the batch size): :meth:`~LoweringContext.ints`
turns a tuple of sizes into a 1-D int64 tensor, computed at run time from the batch input's
shape when a size is symbolic, and :meth:`~LoweringContext.static` asks for a plain integer.

Example:
    >>> import numpy as np
    >>> from ember.ir import Graph, SymInt
    >>> from ember.onnx.export_ops._context import LoweringContext
    >>> g = Graph()
    >>> x = g.add_input((SymInt(1, 0), 3), "float32", name="x")
    >>> ctx = LoweringContext(g, opset=17)
    >>> ctx.bind(x, "x")
    >>> sizes = ctx.ints((SymInt(2, 1), 3))  # 2 * N + 1, then 3
    >>> [n.op_type for n in ctx.nodes]
    ['Shape', 'Gather', 'Mul', 'Add', 'Concat']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ...ir.graph import Graph, Node
from ...ir.symbolic import SymInt
from .errors import OnnxExportError, UnsupportedOperatorError

__all__ = ["LoweringContext", "onnx_type", "np_dtype"]

_TYPES = {
    "float32": TensorProto.FLOAT,
    "float64": TensorProto.DOUBLE,
    "float16": TensorProto.FLOAT16,
    "bfloat16": TensorProto.BFLOAT16,
    "int8": TensorProto.INT8,
    "int16": TensorProto.INT16,
    "int32": TensorProto.INT32,
    "int64": TensorProto.INT64,
    "uint8": TensorProto.UINT8,
    "bool": TensorProto.BOOL,
}


def onnx_type(dtype) -> int:
    """The ``TensorProto`` element type of an ember/NumPy dtype name."""
    name = getattr(dtype, "name", None) or str(dtype)
    try:
        return _TYPES[name]
    except KeyError:
        raise OnnxExportError(f"ember.onnx.export: dtype {name} has no ONNX equivalent") from None


def np_dtype(dtype) -> np.dtype:
    """The NumPy dtype of an ember dtype, dtype name or NumPy dtype."""
    inner = getattr(dtype, "np", None)
    return inner if isinstance(inner, np.dtype) else np.dtype(dtype)


def _dtype_name(dtype) -> str:
    return getattr(dtype, "name", None) or np.dtype(dtype).name


class LoweringContext:
    """ONNX nodes and initializers under construction for one ember graph."""

    def __init__(self, graph: Graph, opset: int):
        self.graph = graph
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self.node: Node | None = None  # the ember node being lowered (for error messages)
        self._names: dict[int, str] = {}
        self._used: set[str] = set()
        self._consts: dict[tuple, str] = {}
        self._batch: str | None = None
        self._users = graph.users()
        self.live_values = set(graph.outputs) | set(self._users)
        self._producers = graph.producers()
        self._counter = 0

    # -- names ------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A tensor or node name not used yet, starting with ``hint``."""
        while True:
            self._counter += 1
            name = f"{hint}_{self._counter}"
            if name not in self._used:
                self._used.add(name)
                return name

    def reserve(self, name: str) -> str:
        if name in self._used:
            raise OnnxExportError(f"ember.onnx.export: the name {name!r} is used twice")
        self._used.add(name)
        return name

    def bind(self, vid: int, name: str) -> None:
        """Record that ember value ``vid`` is the ONNX tensor ``name``."""
        self._used.add(name)
        self._names[vid] = name

    def name(self, vid: int) -> str:
        try:
            return self._names[vid]
        except KeyError:
            raise OnnxExportError(
                f"ember.onnx.export: value %{vid} is read before it is computed"
            ) from None

    def is_bound(self, vid: int) -> bool:
        return vid in self._names

    # -- the ember graph --------------------------------------------------------------------
    def shape(self, vid: int) -> tuple:
        return tuple(self.graph.values[vid].shape)

    def dtype(self, vid: int) -> str:
        return self.graph.values[vid].dtype

    def rank(self, vid: int) -> int:
        return len(self.graph.values[vid].shape)

    def set_live(self, nodes: list[Node]) -> None:
        """Only ``nodes`` will be lowered: users and live values count those alone."""
        self._users = {}
        for n in nodes:
            for i in n.inputs:
                self._users.setdefault(i, []).append(n)
        self.live_values = set(self.graph.outputs) | set(self._users)

    def users(self, vid: int) -> list[Node]:
        return self._users.get(vid, [])

    def producer(self, vid: int) -> Node | None:
        return self._producers.get(vid)

    # -- emitting ---------------------------------------------------------------------------
    def op(self, op_type: str, *inputs, outputs: int = 1, name: str | None = None, **attrs):
        """Append an ONNX node; returns its output name (a list when ``outputs`` > 1).

        ``None`` inputs become ONNX's empty name (an omitted optional input); attributes
        whose value is None are left out.
        """
        outs = [self.fresh(name or op_type.lower()) for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        ins = ["" if i is None else i for i in inputs]
        node_name = self.fresh(op_type)
        doc = f"ember {self.node.op}" if self.node is not None else None
        self.nodes.append(
            helper.make_node(op_type, ins, outs, name=node_name, doc_string=doc, **attrs)
        )
        return outs[0] if outputs == 1 else outs

    def const(self, value, dtype=None, name: str = "const") -> str:
        """An initializer holding ``value`` (shared between identical constants)."""
        arr = np.asarray(value, dtype=None if dtype is None else np_dtype(dtype))
        if arr.dtype == np.float64 and dtype is None and not isinstance(value, np.ndarray):
            raise TypeError("LoweringContext.const: give a dtype for Python floats")
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        hit = self._consts.get(key)
        if hit is not None:
            return hit
        tname = self.fresh(name)
        self.initializers.append(numpy_helper.from_array(np.array(arr, order="C"), tname))
        self._consts[key] = tname
        return tname

    def scalar(self, value, dtype) -> str:
        """A 0-d constant of ``dtype``."""
        return self.const(np.asarray(value).astype(np_dtype(dtype)), name="scalar")

    def add_initializer(self, array: np.ndarray, name: str) -> str:
        self.reserve(name)
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    # -- sizes --------------------------------------------------------------------------------
    def static(self, value, what: str):
        """``value`` with no SymInt in it, or an error naming ``what`` and the primitive."""
        from ...ir.symbolic import has_sym

        if has_sym(value):
            raise self.unsupported(f"{what} depends on the batch size ({value!r})")
        return value

    def batch(self) -> str:
        """A 1-D int64 tensor ``[N]``: the batch size, read from the first dynamic input."""
        if self._batch is not None:
            return self._batch
        for vid in self.graph.inputs:
            for axis, d in enumerate(self.shape(vid)):
                if isinstance(d, SymInt):
                    size = self.dim_of(self.name(vid), axis)
                    if d.offset:
                        size = self.op("Sub", size, self.const([d.offset], np.int64))
                    if d.coef != 1:
                        size = self.op("Div", size, self.const([d.coef], np.int64))
                    self._batch = size
                    return size
        raise OnnxExportError("ember.onnx.export: a symbolic size but no dynamic graph input")

    def dim_of(self, tensor: str, axis: int) -> str:
        """A 1-D int64 tensor ``[size of axis]`` of the ONNX tensor ``tensor``, at run time."""
        shape = self.op("Shape", tensor, name="shape")
        return self.op("Gather", shape, self.const([axis], np.int64), name="dim")

    def sym(self, size) -> str:
        """A 1-D int64 tensor ``[size]`` (``size`` an int or a SymInt)."""
        if not isinstance(size, SymInt):
            return self.const([int(size)], np.int64)
        out = self.batch()
        if size.coef != 1:
            out = self.op("Mul", out, self.const([size.coef], np.int64))
        if size.offset:
            out = self.op("Add", out, self.const([size.offset], np.int64))
        return out

    def ints(self, values: Sequence) -> str:
        """A 1-D int64 tensor holding ``values`` (computed at run time where one is a SymInt)."""
        values = list(values)
        if not any(isinstance(v, SymInt) for v in values):
            return self.const(np.array([int(v) for v in values], np.int64).reshape(-1))
        parts, run = [], []
        for v in values:
            if isinstance(v, SymInt):
                if run:
                    parts.append(self.const(np.array(run, np.int64)))
                    run = []
                parts.append(self.sym(v))
            else:
                run.append(int(v))
        if run:
            parts.append(self.const(np.array(run, np.int64)))
        return self.op("Concat", *parts, axis=0, name="ints")

    def shape_of(self, vid: int) -> str:
        """The shape of ember value ``vid`` as a 1-D int64 tensor (a constant when static)."""
        return self.ints(self.shape(vid))

    # -- common patterns ----------------------------------------------------------------------
    def cast(self, x: str, from_dtype, to_dtype) -> str:
        if _dtype_name(from_dtype) == _dtype_name(to_dtype):
            return x
        return self.op("Cast", x, to=onnx_type(_dtype_name(to_dtype)))

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """``op_type`` (ReduceSum, ReduceMax...) over ``axes`` (None: all), opset-aware."""
        keep = int(bool(keepdims))
        axes_input = op_type == "ReduceSum" or self.opset >= 18
        if axes is None:
            return self.op(op_type, x, keepdims=keep)
        axes = [int(a) for a in axes]
        if not axes:
            return self.op("Identity", x)
        if axes_input:
            return self.op(op_type, x, self.const(np.array(axes, np.int64)), keepdims=keep)
        return self.op(op_type, x, axes=axes, keepdims=keep)

    def unsqueeze(self, x: str, axes) -> str:
        return self.op("Unsqueeze", x, self.const(np.array(list(axes), np.int64).reshape(-1)))

    def squeeze(self, x: str, axes) -> str:
        axes = list(axes)
        if not axes:
            return x
        return self.op("Squeeze", x, self.const(np.array(axes, np.int64)))

    def transpose(self, x: str, perm) -> str:
        perm = [int(p) for p in perm]
        if perm == sorted(perm):
            return x
        return self.op("Transpose", x, perm=perm)

    def reshape(self, x: str, shape) -> str:
        """Reshape to ``shape`` (ints, SymInts and at most one -1)."""
        shape = list(shape)
        syms = [k for k, s in enumerate(shape) if isinstance(s, SymInt)]
        if len(syms) == 1 and -1 not in shape and 0 not in shape:
            shape[syms[0]] = -1  # the other sizes are static: -1 is exactly the batch size
        allowzero = 1 if 0 in shape and self.opset >= 14 else None
        if 0 in shape and allowzero is None:
            raise self.unsupported("a reshape to a size-0 dimension needs opset >= 14")
        return self.op("Reshape", x, self.ints(shape), allowzero=allowzero)

    def where_nan(self, x: str, then: str, otherwise: str) -> str:
        return self.op("Where", self.op("IsNaN", x), then, otherwise)

    # -- errors -------------------------------------------------------------------------------
    def unsupported(self, reason: str) -> UnsupportedOperatorError:
        prim = self.node.op if self.node is not None else "?"
        return UnsupportedOperatorError(prim, self.opset, reason)
