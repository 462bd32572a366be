"""ONNX functions: model-local ``FunctionProto`` s and the function bodies of the ONNX spec.

An op without an ember handler whose schema defines a function body (Attention, the loss ops,
the window functions, ...) runs that body, node by node, on the handlers of the op table. The
caller's attributes replace the body's attribute references (``ref_attr_name``), defaults come
from the function or the op schema, and context-dependent bodies (built by onnx from the input
types) are built on the first call for each combination of input types.

Example:
    >>> import ember
    >>> from onnx import helper
    >>> from ember.onnx.import_ops._graph import Graph, Scope
    >>> node = helper.make_node("HannWindow", ["n"], ["w"])  # no ember handler: its body runs
    >>> graph = Graph([node], ["n"], ["w"], Scope({"": 17}, {}))
    >>> graph.run(None, [ember.tensor(4)])
    [tensor([0.0000, 0.5000, 1.0000, 0.5000])]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._registry import OpContext
from ._values import dtype_elem_type

if TYPE_CHECKING:
    from ._graph import Scope

__all__ = ["FunctionCall", "ContextFunction", "schema_function"]


class FunctionCall:
    """Runs a FunctionProto body for one call site (its attributes substituted at load time).

    Attributes the node leaves out take the function's defaults, or the op schema's."""

    def __init__(self, fproto, node, scope: Scope, schema=None):
        attr_scope = {}
        if schema is not None:
            for name, attr in schema.attributes.items():
                if attr.default_value.type:  # an AttributeProto with a value
                    attr_scope[name] = attr.default_value
        attr_scope.update({a.name: a for a in fproto.attribute_proto})
        attr_scope.update({a.name: a for a in node.attribute})
        from ._graph import Graph  # the graph module imports this one

        self.body = Graph(
            fproto.node,
            list(fproto.input),
            list(fproto.output),
            scope.with_opsets(fproto.opset_import),
            attr_scope=attr_scope,
            lenient=True,
            what=f"function {fproto.name!r}",
        )

    def __call__(self, ctx: OpContext, *args):
        return tuple(self.body.run(None, args))


def schema_function(node, opset: int, scope: Scope):
    """A callable running the ONNX-spec function body of ``node``'s op, or None if it has none."""
    import onnx
    import onnx.defs

    try:
        schema = onnx.defs.get_schema(node.op_type, opset, "")
    except onnx.defs.SchemaError:
        return None
    if schema.has_function:
        versions = [v for v in schema.function_opset_versions if v <= opset]
        body = schema.get_function_with_opset_version(max(versions) if versions else opset)
        fproto = onnx.FunctionProto()
        fproto.ParseFromString(body)
        return FunctionCall(fproto, node, scope, schema)
    if schema.has_context_dependent_function:
        return ContextFunction(schema, node, opset, scope)
    return None


class ContextFunction:
    """A spec function whose body depends on the input types: built on first call per types."""

    def __init__(self, schema, node, opset: int, scope: Scope):
        versions = [v for v in schema.context_dependent_function_opset_versions if v <= opset]
        self.schema = schema
        self.version = max(versions) if versions else opset
        self.node = node
        self.node_bytes = node.SerializeToString()
        self.scope = scope
        self.cache: dict = {}

    def __call__(self, ctx: OpContext, *args):
        key = tuple(_type_key(a) for a in args)
        call = self.cache.get(key)
        if call is None:
            call = self.cache[key] = self._build(args)
        return call(ctx, *args)

    def _build(self, args) -> FunctionCall:
        import onnx
        from onnx import helper

        def type_of(a):
            if a is None:
                return onnx.TypeProto()
            if isinstance(a, list):
                first = type_of(a[0]) if a else helper.make_tensor_type_proto(1, None)
                return helper.make_sequence_type_proto(first)
            return helper.make_tensor_type_proto(dtype_elem_type(a.dtype), list(a.shape))

        types = [type_of(a).SerializeToString() for a in args]
        body = self.schema.get_context_dependent_function_with_opset_version(
            self.version, self.node_bytes, types
        )
        fproto = onnx.FunctionProto()
        fproto.ParseFromString(body)
        return FunctionCall(fproto, self.node, self.scope, self.schema)


def _type_key(value):
    if value is None:
        return None
    if isinstance(value, list):
        return ("seq", _type_key(value[0]) if value else None)
    return (value.dtype, tuple(value.shape))
