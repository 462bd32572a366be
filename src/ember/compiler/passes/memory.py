"""Memory planning: which intermediate values share a buffer, and how many bytes a run needs.

The planner walks the nodes in execution order with the liveness of every value (from the
node that makes it to the last node that reads it, or to the end of the run for graph outputs
and mutation sources). Values are *planned* when their node can write into a buffer it is
given (``writes_into``: fused kernels, GEMMs with ``out=``...); a planned value takes a buffer
freed by a value that died before, or the buffer of an operand that dies at this very node
when the node may work in place (``inplace``: same bytes, elementwise), or a new one. A node
that may work in place on an operand with fresh memory (the result of a NumPy forward) that
dies there takes that array over (``reuse``) instead of any buffer, even for a graph output.

Aliasing: a view (``reshape``, ``permute``, ``slice``..., or any node ``is_view`` says may
return memory shared with its operands) keeps its operands' buffers alive for as long as it
lives; other nodes return new memory (the executor checks this on its first run). Graph
outputs, and every buffer they may alias, are never planned: the caller keeps them after the
run, so they get fresh memory on every run. Inputs, parameters and constants are never
written.

:func:`plan_memory` returns a :class:`MemoryPlan` with the buffer of each planned value, the
arena (all buffers) and ``peak_bytes``: arena bytes plus the largest total of freshly
allocated values alive at once. ``unplanned_peak_bytes`` is the same measure when every
intermediate gets its own memory and is freed after its last use (what the reference
:class:`~ember.ir.interpret.Interpreter` does).

Example:
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes import plan_memory
    >>> g = Graph()
    >>> x = g.add_input((1024,), "float32", name="x")
    >>> (a,) = g.add_node("exp", [x], {}, [((1024,), "float32")])
    >>> (b,) = g.add_node("neg", [a], {}, [((1024,), "float32")])
    >>> (c,) = g.add_node("exp", [b], {}, [((1024,), "float32")])
    >>> (y,) = g.add_node("sum", [c], {"axes": None, "keepdim": False, "dtype": None},
    ...                   [((), "float32")])
    >>> g.outputs = [y]
    >>> plan = plan_memory(g, writes_into=lambda n: n.op != "sum",
    ...                    inplace=lambda n: [(0, 0)])
    >>> len(plan.buffers), plan.peak_bytes, plan.unplanned_peak_bytes
    (1, 4100, 8192)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...ir.graph import Graph, Node
from ...ir.symbolic import SymInt

__all__ = ["plan_memory", "MemoryPlan", "value_nbytes"]


@dataclass
class MemoryPlan:
    """Buffers for planned values and the byte counts of a run (see the module docstring)."""

    buffer_of: dict[int, int] = field(default_factory=dict)  # value id -> buffer index
    buffers: list[int] = field(default_factory=list)  # buffer index -> bytes
    inplace: dict[int, int] = field(default_factory=dict)  # value id -> operand it overwrites
    reuse: dict[int, int] = field(default_factory=dict)  # value id -> fresh operand it takes
    last_use: dict[int, int] = field(default_factory=dict)  # value id -> index of last reader
    peak_bytes: int = 0
    unplanned_peak_bytes: int = 0

    @property
    def arena_bytes(self) -> int:
        return sum(self.buffers)

    def describe(self) -> str:
        """One line per buffer: its size and the values that use it."""
        users: dict[int, list[int]] = {}
        for v, b in self.buffer_of.items():
            users.setdefault(b, []).append(v)
        lines = [
            f"buffer {b}: {size} bytes, values " + ", ".join(f"%{v}" for v in sorted(users[b]))
            for b, size in enumerate(self.buffers)
        ]
        lines.append(
            f"peak {self.peak_bytes} bytes (arena {self.arena_bytes}); "
            f"without planning {self.unplanned_peak_bytes}"
        )
        return "\n".join(lines)


def value_nbytes(shape, dtype: str, n: int | None = None) -> int:
    """Bytes of a value; SymInt dimensions are taken at batch size ``n`` (1 when None)."""
    size = 1
    for d in shape:
        size *= d.at(n if n is not None else 1) if isinstance(d, SymInt) else int(d)
    try:
        return size * np.dtype(dtype).itemsize
    except TypeError:  # e.g. bfloat16 without ml_dtypes
        return size * 2


def plan_memory(
    graph: Graph,
    *,
    writes_into: Callable[[Node], bool],
    inplace: Callable[[Node], list] | None = None,
    is_view: Callable[[Node], bool] | None = None,
    n: int | None = None,
) -> MemoryPlan:
    """Plan buffers for ``graph`` (see the module docstring).

    ``writes_into(node)``: the node can write all its outputs into given buffers.
    ``inplace(node)``: ``(output position, input position)`` pairs the node may overwrite.
    ``is_view(node)``: its outputs share memory with its operands and take no new bytes
    (default: the registry's ``is_view``). ``n``: the batch size of SymInt shapes.
    """
    view = is_view or _registry_view
    steps = graph.nodes
    end = len(steps)
    size = {v: value_nbytes(val.shape, val.dtype, n) for v, val in graph.values.items()}
    last_use: dict[int, int] = {}
    for k, node in enumerate(steps):
        for i in node.inputs:
            last_use[i] = k
    for v in graph.outputs:
        last_use[v] = end
    for _, s in graph.mutations:
        last_use[s] = end

    # which memory each value may share: inputs, parameters and constants are roots too (a
    # view of an input is the caller's memory, never fresh)
    roots: dict[int, frozenset] = {
        v: frozenset((v,)) for v in (*graph.inputs, *graph.params, *graph.consts)
    }
    into = [writes_into(node) for node in steps]
    for k, node in enumerate(steps):
        shares = not into[k] and view(node)
        for o in node.outputs:
            if shares:
                shared = frozenset().union(*(roots.get(i, frozenset()) for i in node.inputs))
                roots[o] = shared | {o}
            else:
                roots[o] = frozenset((o,))
    escaping = set()
    for v in graph.outputs:
        escaping |= roots.get(v, frozenset())
    # a root lives until the last use of anything that may alias it
    defined = {o: k for k, node in enumerate(steps) for o in node.outputs}
    root_end: dict[int, int] = {}
    for v, rs in roots.items():
        t = last_use.get(v, defined.get(v, -1))
        for r in rs:
            root_end[r] = max(root_end.get(r, -1), t)

    plan = MemoryPlan(last_use=last_use)
    free: list[int] = []  # buffer indices
    dying_at: dict[int, list[int]] = {}  # step -> buffers to release after it
    busy_until: dict[int, int] = {}  # buffer -> last step its current value is alive
    for k, node in enumerate(steps):
        taken: set[int] = set()
        if into[k]:
            pairs = dict(inplace(node)) if inplace is not None else {}
            for pos, o in enumerate(node.outputs):
                fresh = _fresh_operand(plan, node, pos, pairs, size, roots, root_end, k, o, defined)
                if fresh is not None:
                    plan.reuse[o] = fresh
                    continue
                if o in escaping:
                    continue
                buf = _inplace_buffer(plan, node, pos, pairs, size, root_end, k, taken, o)
                if buf is None:
                    buf = _take(plan, free, size[o])
                else:
                    plan.inplace[o] = node.inputs[pairs[pos]]
                taken.add(buf)
                plan.buffer_of[o] = buf
                busy_until[buf] = root_end.get(o, k)
                dying_at.setdefault(busy_until[buf], []).append(buf)
        for buf in dying_at.pop(k, ()):
            if busy_until[buf] <= k:
                free.append(buf)
    plan.peak_bytes = plan.arena_bytes + _fresh_peak(
        graph, steps, roots, plan.buffer_of, last_use, size, view, plan.reuse
    )
    plan.unplanned_peak_bytes = _fresh_peak(graph, steps, roots, {}, last_use, size, view)
    return plan


def _registry_view(node: Node) -> bool:
    from ...registry import REGISTRY

    prim = REGISTRY.get(node.op)
    return prim is not None and prim.is_view


def _fresh_operand(plan, node, pos, pairs, size, roots, root_end, k, out, defined):
    """The operand whose fresh array ``out`` may take over: not planned, not a view, nothing
    else reads or views it after step ``k``, same bytes."""
    if pos not in pairs:
        return None
    src = node.inputs[pairs[pos]]
    if src in plan.buffer_of or roots.get(src) != frozenset((src,)) or root_end.get(src) != k:
        return None
    if src not in defined:  # an input, parameter or constant: not ours to write
        return None
    if size[src] != size[out] or node.inputs.count(src) != 1:
        return None
    return src


def _inplace_buffer(plan, node, pos, pairs, size, root_end, k, taken, out):
    """The buffer of the operand ``out`` may overwrite, if that operand dies at step ``k``."""
    if pos not in pairs:
        return None
    src = node.inputs[pairs[pos]]
    buf = plan.buffer_of.get(src)
    if buf is None or buf in taken or root_end.get(src) != k:
        return None
    if size[src] != size[out] or node.inputs.count(src) != 1:
        return None
    return buf


def _take(plan: MemoryPlan, free: list[int], nbytes: int) -> int:
    best = None
    for pos, buf in enumerate(free):
        if plan.buffers[buf] >= nbytes and (
            best is None or plan.buffers[buf] < plan.buffers[free[best]]
        ):
            best = pos
    if best is not None:
        return free.pop(best)
    if free:  # none is large enough: grow the largest free one (the arena grows the least)
        pos = max(range(len(free)), key=lambda p: plan.buffers[free[p]])
        buf = free.pop(pos)
        plan.buffers[buf] = nbytes
        return buf
    plan.buffers.append(nbytes)
    return len(plan.buffers) - 1


def _fresh_peak(graph, steps, roots, buffer_of, last_use, size, view, reuse=None) -> int:
    """Largest total of fresh (unplanned, non-view) intermediates alive at once."""
    reuse = reuse or {}
    alive: dict[int, int] = {}  # root value -> bytes
    root_end: dict[int, int] = {}
    defined = {o: k for k, node in enumerate(steps) for o in node.outputs}
    for v, rs in roots.items():
        t = last_use.get(v, defined.get(v, -1))
        for r in rs:
            root_end[r] = max(root_end.get(r, -1), t)
    peak = cur = 0
    ends: dict[int, list[int]] = {}  # step -> fresh values whose memory is free after it
    for k, node in enumerate(steps):
        fresh_here = [] if view(node) else node.outputs
        for o in fresh_here:
            if o in reuse and reuse[o] in alive:
                alive[o] = alive.pop(reuse[o])  # takes over the operand's array
            elif o not in buffer_of:
                alive[o] = size[o]
                cur += size[o]
            ends.setdefault(max(root_end.get(o, k), k), []).append(o)
        peak = max(peak, cur)
        for r in ends.pop(k, ()):
            if r in alive:
                cur -= alive.pop(r)
    return peak
