"""Elementwise fusion: merge trees of elementwise ops (and the reductions that end them) into one
``fused`` node, so one loop computes them without writing the intermediates to memory.

A group is a set of nodes with one *iteration shape*: every elementwise member produces that
shape, and its operands either come from the group (same shape) or from outside it with
broadcasting (a bias row ``(C,)``, a per-row statistic ``(N, 1)``, a scalar). ``expand`` joins
as a broadcast. A group may end in reductions (``sum``, ``amax``, ``amin``) of its values when
the reduced axes are the trailing axes (a row reduction: LayerNorm statistics, softmax sums) or
the leading axes (a column reduction: bias gradients) at one common split point; reduction
results leave the group (nothing inside it may read them, as that would need a second pass).

Nodes join greedily in execution order. A node may join a group only if no path leads from the
group to the node through a node outside it (that would make the fused node depend on itself).
The fused node lists the group's outside operands as inputs and, as outputs, the members'
values that are read outside the group; it carries a :class:`FusedGroup` in
``attrs["group"]``. Finally the nodes are put back in a valid execution order.

Which ops and dtypes may fuse is decided by ``can_fuse(graph, node)`` (the executor passes the
C renderer's table); the default accepts every op of :data:`ELEMENTWISE` and
:data:`REDUCTIONS`.

Example:
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes import fuse_elementwise
    >>> g = Graph()
    >>> x = g.add_input((4, 8), "float32", name="x")
    >>> b = g.add_input((8,), "float32", name="b")
    >>> (s,) = g.add_node("add", [x, b], {}, [((4, 8), "float32")])
    >>> (e,) = g.add_node("exp", [s], {}, [((4, 8), "float32")])
    >>> (r,) = g.add_node("sum", [e], {"axes": (1,), "keepdim": True, "dtype": None},
    ...                   [((4, 1), "float32")])
    >>> g.outputs = [r]
    >>> fused = fuse_elementwise(g)
    >>> [n.op for n in fused.nodes], fused.nodes[0].attrs["group"].ops()
    (['fused'], ['add', 'exp', 'sum'])
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from ...ir.graph import Graph, Node
from ._rewrite import copy_graph, prune_values

__all__ = ["fuse_elementwise", "FusedGroup", "ELEMENTWISE", "REDUCTIONS", "reduction_split"]

#: Primitives computed element by element (with broadcasting) that may join a group.
ELEMENTWISE = frozenset(
    """neg abs exp exp2 log log2 log10 log1p expm1 sqrt rsqrt sin cos tan asin acos atan sinh
    cosh tanh erf reciprocal sigmoid relu sign floor ceil trunc round isnan isinf isfinite
    signbit logical_not bitwise_not cast clamp clone add sub mul div pow maximum minimum atan2
    fmod remainder floor_divide eq ne lt le gt ge logical_and logical_or logical_xor
    bitwise_and bitwise_or bitwise_xor where relu_grad gelu gelu_backward expand""".split()
)

_NO_WORK = frozenset({"expand"})

#: Reductions that may end a group.
REDUCTIONS = frozenset({"sum", "amax", "amin"})


@dataclass
class FusedGroup:
    """The nodes of one fused kernel and how they see memory.

    ``nodes`` are the members in execution order; ``inputs`` the outside values they read,
    ``outputs`` the values they give to the rest of the graph; ``shape`` the iteration shape;
    ``split`` the number of leading axes kept by row reductions (and reduced by column
    reductions), or None without reductions; ``types`` maps every value the group touches to
    ``(shape, dtype)``.
    """

    nodes: list[Node]
    inputs: list[int]
    outputs: list[int]
    shape: tuple
    split: int | None
    types: dict[int, tuple] = field(default_factory=dict)

    def ops(self) -> list[str]:
        """The member ops in order."""
        return [n.op for n in self.nodes]

    def __repr__(self) -> str:
        ops = ",".join(self.ops())
        if len(ops) > 60:
            ops = ops[:57] + "..."
        return f"<{len(self.nodes)} ops: {ops}>"


def reduction_split(node: Node, in_shape: tuple) -> tuple[str, int] | None:
    """``("row", p)`` if ``node`` reduces axes ``p..end``, ``("col", p)`` for axes ``0..p-1``."""
    axes = node.attrs.get("axes")
    rank = len(in_shape)
    if axes is None:
        axes = tuple(range(rank))
    axes = tuple(sorted(int(a) for a in axes))
    if not axes or rank == 0:
        return None
    if axes == tuple(range(rank - len(axes), rank)):
        return ("row", rank - len(axes))
    if axes == tuple(range(len(axes))):
        return ("col", len(axes))
    return None


class _Groups:
    """Union-find over group ids with the per-group facts fusion needs."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.shape: list = []
        self.split: list = []
        self.members: list[list[int]] = []
        self.reduced: list[set] = []  # value ids produced by the group's reductions

    def new(self, shape, split) -> int:
        gid = len(self.parent)
        self.parent.append(gid)
        self.shape.append(shape)
        self.split.append(split)
        self.members.append([])
        self.reduced.append(set())
        return gid

    def find(self, gid: int) -> int:
        while self.parent[gid] != gid:
            self.parent[gid] = self.parent[self.parent[gid]]
            gid = self.parent[gid]
        return gid

    def union(self, a: int, b: int) -> int:
        a, b = self.find(a), self.find(b)
        if a == b:
            return a
        self.parent[b] = a
        self.members[a].extend(self.members[b])
        self.reduced[a] |= self.reduced[b]
        if self.split[a] is None:
            self.split[a] = self.split[b]
        return a


def fuse_elementwise(
    graph: Graph,
    can_fuse: Callable[[Graph, Node], bool] | None = None,
) -> Graph:
    """A copy of ``graph`` where fusable nodes are merged into ``fused`` nodes."""
    g = copy_graph(graph)
    ok = can_fuse or _default_can_fuse
    groups = _Groups()
    node_group: dict[int, int] = {}  # node index -> group id
    value_group: dict[int, int] = {}  # value id -> group id of its producer
    deps: dict[int, set] = {}  # value id -> ids of groups it depends on (transitively)

    for k, n in enumerate(g.nodes):
        in_deps: set = set()
        for i in n.inputs:
            in_deps |= deps.get(i, set())
            if i in value_group:
                in_deps.add(value_group[i])
        gid = None
        if n.op in REDUCTIONS and ok(g, n):
            gid = _join_reduction(g, n, groups, value_group, deps)
        elif n.op in ELEMENTWISE and _one_shape(g, n) and ok(g, n):
            gid = _join_elementwise(g, n, groups, value_group, deps)
            if gid is None:
                gid = groups.new(tuple(g.values[n.outputs[0]].shape), None)
        if gid is not None:
            groups.members[groups.find(gid)].append(k)
            node_group[k] = gid
            for o in n.outputs:
                value_group[o] = gid
        for o in n.outputs:
            deps[o] = in_deps
    return _rebuild(g, groups, node_group)


def _default_can_fuse(g: Graph, n: Node) -> bool:
    return True


def _one_shape(g: Graph, n: Node) -> bool:
    shapes = {tuple(g.values[o].shape) for o in n.outputs}
    return len(shapes) == 1


def _roots(groups: _Groups, ids) -> set:
    return {groups.find(x) for x in ids}


def _depends_outside(g: Graph, n: Node, target: int, groups, value_group, deps, allow=()) -> bool:
    """True if an operand of ``n`` that is not produced inside ``target`` (or ``allow``)
    depends on ``target``: joining would create a cycle."""
    for i in n.inputs:
        owner = value_group.get(i)
        if owner is not None and groups.find(owner) in (target, *allow):
            continue
        if target in _roots(groups, deps.get(i, ())):
            return True
    return False


def _join_elementwise(g: Graph, n: Node, groups: _Groups, value_group, deps) -> int | None:
    shape = tuple(g.values[n.outputs[0]].shape)
    candidates = []
    for i in n.inputs:
        owner = value_group.get(i)
        if owner is None:
            continue
        root = groups.find(owner)
        if root in candidates or groups.shape[root] != shape or i in groups.reduced[root]:
            continue
        candidates.append(root)
    joined = None
    for root in candidates:
        root = groups.find(root)
        if joined is None:
            if not _depends_outside(g, n, root, groups, value_group, deps):
                joined = root
            continue
        if root == joined or not _can_merge(g, groups, joined, root, n, value_group, deps):
            continue
        joined = groups.union(joined, root)
    if joined is not None and _reads_own_reduction(n, groups, joined):
        return None
    return joined


def _reads_own_reduction(n: Node, groups: _Groups, gid: int) -> bool:
    return any(i in groups.reduced[groups.find(gid)] for i in n.inputs)


def _can_merge(g: Graph, groups: _Groups, a: int, b: int, n: Node, value_group, deps) -> bool:
    """May groups ``a`` (which ``n`` joins) and ``b`` become one?"""
    if groups.split[a] is not None and groups.split[b] is not None:
        if groups.split[a] != groups.split[b]:
            return False
    if _reads_own_reduction(n, groups, b):
        return False
    members = [g.nodes[k] for k in groups.members[a]] + [n]
    for m in members:
        if _depends_outside(g, m, b, groups, value_group, deps, allow=(a,)):
            return False
        if any(i in groups.reduced[b] for i in m.inputs):
            return False
    for k in groups.members[b]:
        m = g.nodes[k]
        if _depends_outside(g, m, a, groups, value_group, deps, allow=(b,)):
            return False
        if any(i in groups.reduced[a] for i in m.inputs):
            return False
    return True


def _join_reduction(g: Graph, n: Node, groups: _Groups, value_group, deps) -> int | None:
    (src,) = n.inputs[:1]
    if len(n.inputs) != 1 or src not in value_group:
        return None
    root = groups.find(value_group[src])
    in_shape = tuple(g.values[src].shape)
    if groups.shape[root] != in_shape or src in groups.reduced[root]:
        return None
    where = reduction_split(n, in_shape)
    if where is None:
        return None
    split = where[1]
    if groups.split[root] is not None and groups.split[root] != split:
        return None
    groups.split[root] = split
    groups.reduced[root].update(n.outputs)
    return root


def _rebuild(g: Graph, groups: _Groups, node_group: dict[int, int]) -> Graph:
    by_root: dict[int, list[int]] = {}
    for k, gid in node_group.items():
        by_root.setdefault(groups.find(gid), []).append(k)
    readers: dict[int, set] = {}  # value id -> indices of nodes reading it
    for k, n in enumerate(g.nodes):
        for i in n.inputs:
            readers.setdefault(i, set()).add(k)
    escaping = set(g.outputs) | {s for _, s in g.mutations}
    units = []  # (first member index, node)
    fused_nodes = set()
    for root, idx in by_root.items():
        idx.sort()
        if all(g.nodes[k].op in _NO_WORK for k in idx):
            continue  # only broadcasts or copies: they stay views, fusing would copy data
        fused_nodes.update(idx)
        members = [g.nodes[k] for k in idx]
        units.append((idx[0], _make_fused(g, groups, root, idx, members, readers, escaping)))
    for k, n in enumerate(g.nodes):
        if k not in fused_nodes:
            units.append((k, n))
    g.nodes = _schedule(g, units)
    prune_values(g)
    return g


def _make_fused(g, groups, root, idx, members, readers, escaping) -> Node:
    inside = set(idx)
    produced = {o for m in members for o in m.outputs}
    inputs: list[int] = []
    for m in members:
        for i in m.inputs:
            if i not in produced and i not in inputs:
                inputs.append(i)
    outputs = [
        o for m in members for o in m.outputs if o in escaping or (readers.get(o, set()) - inside)
    ]
    types = {v: (tuple(g.values[v].shape), g.values[v].dtype) for v in (*inputs, *produced)}
    group = FusedGroup(
        nodes=members,
        inputs=inputs,
        outputs=outputs,
        shape=groups.shape[root],
        split=groups.split[root],
        types=types,
    )
    return Node("fused", list(inputs), list(outputs), {"group": group})


def _schedule(g: Graph, units: list) -> list[Node]:
    """Order nodes so each runs after its operands, staying close to the traced order."""
    produced_by: dict[int, int] = {}
    for u, (_, n) in enumerate(units):
        for o in n.outputs:
            produced_by[o] = u
    waiting = [0] * len(units)
    users: dict[int, list[int]] = {}
    for u, (_, n) in enumerate(units):
        for p in {produced_by[i] for i in n.inputs if i in produced_by}:
            waiting[u] += 1
            users.setdefault(p, []).append(u)
    ready = [(units[u][0], u) for u in range(len(units)) if waiting[u] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, u = heapq.heappop(ready)
        order.append(units[u][1])
        for v in users.get(u, ()):
            waiting[v] -= 1
            if waiting[v] == 0:
                heapq.heappush(ready, (units[v][0], v))
    if len(order) != len(units):
        raise RuntimeError("fuse_elementwise: the fused graph has a cycle (a fusion bug)")
    return order
