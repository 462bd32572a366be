"""Algebraic simplification: rewrite nodes that compute nothing, or compute it the long way.

Every rule gives the value the original node gives (no re-association, no change of
rounding; at most the sign of a zero differs, as ``-0.0 + 0`` is ``+0.0``):

============================================  ===================================
pattern                                       becomes
============================================  ===================================
``x * 1``, ``1 * x``, ``x / 1``, ``x ** 1``   ``x``
``x + 0``, ``0 + x``, ``x - 0``               ``x``
``x * -1``, ``-1 * x``, ``0 - x``             ``neg(x)``
``x ** 2``                                    ``x * x``
``neg(neg(x))``                               ``x``
``reshape(x)`` / ``expand(x)`` to x's shape   ``x``
``reshape(reshape(x, a), b)``                 ``reshape(x, b)``
``permute(x)`` by the identity                ``x``
``permute(permute(x, p), q)``                 ``permute(x, p then q)`` (or ``x``)
``cast(x)`` to x's own dtype                  ``x``
``cast(cast(x, a), b)`` with a lossless       ``cast(x, b)``
``clone(x)`` not returned, nor viewed          ``x``
sum of ``view_scatter(zeros, v_i, [i])``      ``cat`` of the ``v_i`` (every ``i``)
============================================  ===================================

The identities only apply when the constant does not change the result's shape or dtype
(``x + zeros(3, 3)`` with ``x`` of shape ``(3,)`` broadcasts, so it stays). Nodes made dead by
a rewrite (the inner ``neg`` of ``neg(neg(x))`` when nothing else reads it) are removed by
:func:`~ember.compiler.passes.dce.eliminate_dead_code` afterwards.

Example:
    >>> import numpy as np
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes import simplify, eliminate_dead_code
    >>> g = Graph()
    >>> x = g.add_input((2, 3), "float32", name="x")
    >>> one = g.add_const(np.array(1.0, np.float32))
    >>> (a,) = g.add_node("mul", [x, one], {}, [((2, 3), "float32")])
    >>> (b,) = g.add_node("reshape", [a], {"shape": (2, 3)}, [((2, 3), "float32")])
    >>> (c,) = g.add_node("neg", [b], {}, [((2, 3), "float32")])
    >>> (d,) = g.add_node("neg", [c], {}, [((2, 3), "float32")])
    >>> (y,) = g.add_node("exp", [d], {}, [((2, 3), "float32")])
    >>> g.outputs = [y]
    >>> print(eliminate_dead_code(simplify(g)).table())
    %0 = input x                 float32[2, 3]
    %6 = exp(%0)                 float32[2, 3]
    return %6
"""

from __future__ import annotations

from ...ir.graph import Graph, Node
from ._rewrite import const_scalar, copy_graph, rename_uses

__all__ = ["simplify"]

# (from, to) casts that lose nothing, so cast(cast(x, from->to), other) == cast(x, other)
_LOSSLESS = {
    ("float32", "float64"),
    ("float16", "float32"),
    ("float16", "float64"),
    ("int8", "int16"),
    ("int8", "int32"),
    ("int8", "int64"),
    ("int16", "int32"),
    ("int16", "int64"),
    ("int32", "int64"),
    ("uint8", "int16"),
    ("uint8", "int32"),
    ("uint8", "int64"),
    ("bool", "uint8"),
    ("bool", "int8"),
    ("bool", "int16"),
    ("bool", "int32"),
    ("bool", "int64"),
}


def simplify(graph: Graph) -> Graph:
    """A copy of ``graph`` with the rewrites of the table above applied until none applies."""
    g = copy_graph(graph)
    for _ in range(8):  # chains (neg(neg(neg(neg x)))) need a few rounds
        if not _one_round(g):
            break
    _scatter_sums_to_cat(g)
    return g


def _scatter_sums_to_cat(g: Graph) -> None:
    """``add`` trees of ``view_scatter(zeros, v_i, [i])`` covering every ``i`` -> ``cat``.

    The backward of ``x[0], x[1], x[2]`` (a fused QKV projection split in three) writes each
    gradient into zeros of ``x``'s shape and adds the three: the rewrite stacks them in one
    copy instead of three copies and two additions. Zeros added to a value change nothing.
    """
    producer = {o: n for n in g.nodes for o in n.outputs}
    readers: dict[int, int] = {}
    for n in g.nodes:
        for i in n.inputs:
            readers[i] = readers.get(i, 0) + 1
    for o in (*g.outputs, *(src for _, src in g.mutations)):
        readers[o] = readers.get(o, 0) + 1
    replaced: dict[int, list[Node]] = {}  # root add node id -> new nodes
    dropped: set[int] = set()
    for n in g.nodes:
        if n.op != "add" or id(n) in dropped:
            continue
        leaves, inner = [], []
        if not _collect_scatters(g, n, producer, readers, leaves, inner, top=True):
            continue
        out = g.values[n.outputs[0]]
        rows = out.shape[0] if out.shape else 0
        keys = sorted(k for k, _ in leaves)
        if keys != list(range(rows)) or not isinstance(rows, int):
            continue
        new_nodes, parts = [], []
        for _index, value in sorted(leaves):
            part = g.new_value((1, *out.shape[1:]), out.dtype, "node")
            new_nodes.append(Node("reshape", [value], [part], {"shape": (1, *out.shape[1:])}))
            parts.append(part)
        new_nodes.append(Node("cat", parts, [n.outputs[0]], {"dim": 0}))
        replaced[id(n)] = new_nodes
        dropped.update(id(m) for m in inner)
    if not replaced:
        return
    kept = []
    for n in g.nodes:
        if id(n) in replaced:
            kept.extend(replaced[id(n)])
        elif id(n) not in dropped:
            kept.append(n)
    g.nodes = kept


def _collect_scatters(g, n, producer, readers, leaves, inner, top=False) -> bool:
    """Gather the ``(index, value)`` leaves of an ``add`` tree of zero-based scatters."""
    if n.op == "add":
        if not top and readers.get(n.outputs[0], 0) != 1:
            return False
        shape = tuple(g.values[n.outputs[0]].shape)
        for i in n.inputs:
            m = producer.get(i)
            if m is None or tuple(g.values[i].shape) != shape:
                return False
            if not _collect_scatters(g, m, producer, readers, leaves, inner):
                return False
        if not top:
            inner.append(n)
        return True
    if n.op != "view_scatter" or readers.get(n.outputs[0], 0) != 1:
        return False
    base, value = n.inputs
    chain = n.attrs.get("chain", ())
    if len(chain) != 1 or const_scalar(g, base) != 0:
        return False
    prim, attrs = chain[0]
    key = attrs.get("key") if getattr(prim, "name", None) == "slice" else None
    if not (isinstance(key, tuple) and len(key) == 1 and isinstance(key[0], int)):
        return False
    if g.values[value].dtype != g.values[n.outputs[0]].dtype:
        return False
    rows = g.values[n.outputs[0]].shape[0]
    leaves.append((key[0] % rows if isinstance(rows, int) else key[0], value))
    inner.append(n)
    return True


def _one_round(g: Graph) -> bool:
    from ...registry import REGISTRY

    producer = {o: n for n in g.nodes for o in n.outputs}
    returned = set(g.outputs) | {s for _, s in g.mutations}
    for n in g.nodes:  # a view of a clone must not become a view of the original
        prim = REGISTRY.get(n.op)
        if prim is not None and prim.is_view:
            returned.update(n.inputs)
    mapping: dict[int, int] = {}
    changed = False
    kept = []
    for n in g.nodes:
        n.inputs = [_follow(mapping, i) for i in n.inputs]
        same = _identity_of(g, n, producer, returned)
        if same is not None:
            mapping[n.outputs[0]] = same
            changed = True
            continue
        if _rewrite(g, n, producer):
            changed = True
        kept.append(n)
    g.nodes = kept
    rename_uses(g, mapping)
    return changed


def _follow(mapping: dict, v: int) -> int:
    while v in mapping:
        v = mapping[v]
    return v


def _type(g: Graph, v: int):
    val = g.values[v]
    return tuple(val.shape), val.dtype


def _identity_of(g: Graph, n: Node, producer: dict, returned: set):
    """The value ``n``'s single output always equals, or None."""
    if len(n.outputs) != 1:
        return None
    out = n.outputs[0]
    out_type = _type(g, out)
    op, ins = n.op, n.inputs
    if op in ("reshape", "expand") and _type(g, ins[0]) == out_type:
        return ins[0]
    if op == "permute" and tuple(n.attrs["dims"]) == tuple(range(len(n.attrs["dims"]))):
        return ins[0]
    if op == "cast" and g.values[ins[0]].dtype == g.values[out].dtype:
        return ins[0]
    if op == "clone" and out not in returned:
        return ins[0]
    if op == "neg":
        inner = producer.get(ins[0])
        if inner is not None and inner.op == "neg" and _type(g, inner.inputs[0]) == out_type:
            return inner.inputs[0]
    if len(ins) != 2:
        return None
    a, b = ins
    if op in ("mul", "add"):
        unit = 1 if op == "mul" else 0
        for x, c in ((a, b), (b, a)):
            if const_scalar(g, c) == unit and _type(g, x) == out_type:
                return x
    if op in ("div", "pow") and const_scalar(g, b) == 1 and _type(g, a) == out_type:
        return a
    if op == "sub" and const_scalar(g, b) == 0 and _type(g, a) == out_type:
        return a
    return None


def _rewrite(g: Graph, n: Node, producer: dict) -> bool:
    """Replace ``n`` in place by a cheaper node computing the same value; True if done."""
    op, ins = n.op, n.inputs
    out_type = _type(g, n.outputs[0]) if len(n.outputs) == 1 else None
    if op in ("reshape", "permute", "cast"):
        inner = producer.get(ins[0])
        if inner is None or inner.op != op:
            return False
        if op == "reshape":
            n.inputs = [inner.inputs[0]]
            return True
        if op == "permute":
            p, q = inner.attrs["dims"], n.attrs["dims"]
            n.attrs = {**n.attrs, "dims": tuple(p[d] for d in q)}
            n.inputs = [inner.inputs[0]]
            return True
        src = g.values[inner.inputs[0]].dtype
        mid = g.values[inner.outputs[0]].dtype
        if (src, mid) in _LOSSLESS:
            n.inputs = [inner.inputs[0]]
            return True
        return False
    if len(ins) != 2 or out_type is None:
        return False
    a, b = ins
    if op == "mul":
        for x, c in ((a, b), (b, a)):
            if const_scalar(g, c) == -1 and _type(g, x) == out_type:
                n.op, n.inputs, n.attrs = "neg", [x], {}
                return True
    if op == "sub" and const_scalar(g, a) == 0 and _type(g, b) == out_type:
        if g.values[b].dtype != "bool":
            n.op, n.inputs, n.attrs = "neg", [b], {}
            return True
    if op == "pow" and const_scalar(g, b) == 2 and _type(g, a) == out_type:
        if g.values[a].dtype.startswith("float"):
            n.op, n.inputs, n.attrs = "mul", [a, a], {}
            return True
    return False
