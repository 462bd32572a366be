"""Render a fused group (:class:`~ember.compiler.passes.fusion.FusedGroup`) as a C function.

The text depends only on the group, never on how it will be built or called, so the C model
exporter can reuse it. The function takes one pointer per operand (C-contiguous arrays of the
operand's own shape), one per output, and the loop sizes ``sz`` (see :meth:`KernelSource.sizes`);
it returns 0, or 1 if it could not allocate its scratch memory (reductions)::

    int ek_<hash>(const float *in0, const float *in1, float *out0, const int64_t *sz);

Sizes are arguments, not constants, so one function serves every batch size and every model
with the same structure (its name is the hash of its text). Kernels without column reductions
share their outer loop among ``sz[len(dims)]`` OpenMP threads (built with ``-fopenmp``;
otherwise the pragmas are ignored and the kernel runs on one thread).

Broadcasting is handled with strides worked out here: the iteration shape is split into
*collapsed* dimensions (adjacent axes merge when every operand is either fully present or
broadcast in both; axes of size 1 disappear), so the common cases become one flat loop
(same shapes), rows x columns (a bias row, a per-row statistic) or a few nested loops; the
innermost loop has unit or zero strides only and is marked ``#pragma omp simd`` so the
compiler vectorises it. Operands broadcast along the innermost loop are loaded once outside
it. Scalar constants are written into the source as exact literals.

Reductions (``sum``, ``amax``, ``amin``) end a group: row reductions (over the trailing axes)
and column reductions (over the leading axes). Float sums add in the order of NumPy's
``np.sum``: a row's values are written to a scratch row and summed pairwise (blocks of up to
128 with eight partial sums, larger rows split in halves), columns accumulate row after row in
the output dtype. Integer sums wrap like NumPy's.

Example:
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes import fuse_elementwise
    >>> from ember.compiler.codegen.c_render import render_group
    >>> g = Graph()
    >>> x = g.add_input((4, 8), "float32", name="x")
    >>> b = g.add_input((8,), "float32", name="b")
    >>> (y,) = g.add_node("add", [x, b], {}, [((4, 8), "float32")])
    >>> (z,) = g.add_node("relu", [y], {}, [((4, 8), "float32")])
    >>> g.outputs = [z]
    >>> kernel = render_group(fuse_elementwise(g).nodes[0].attrs["group"])
    >>> kernel.sizes()
    [4, 8]
    >>> print(kernel.source)  # doctest: +ELLIPSIS
    int ek_...(const float *in0, const float *in1, float *out0, const int64_t *sz) {
        const int64_t d0 = sz[0], d1 = sz[1];
        int em_failed = 0;
        #pragma omp parallel num_threads((int)sz[2]) if(sz[2] > 1)
        {
            {
                #pragma omp for schedule(static) nowait
                for (int64_t i0 = 0; i0 < d0; i0++) {
                    #pragma omp simd
                    for (int64_t i1 = 0; i1 < d1; i1++) {
                        const float v0 = in0[i0 * d1 + i1];
                        const float v1 = in1[i1];
                        const float v2 = (v0 + v1);
                        const float v3 = (((v2) > 0 || (v2) != (v2)) ? (v2) : ((float)0x0.0p+0f));
                        out0[i0 * d1 + i1] = v3;
                    }
                }
            }
        }
        return em_failed;
    }
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ...ir.symbolic import SymInt
from ..passes.fusion import REDUCTIONS, FusedGroup, reduction_split
from .c_ops import ctype, literal, render_op

_FLOATS = ("float32", "float64")

__all__ = ["KernelSource", "render_group", "RenderError"]


class RenderError(ValueError):
    """A group the C renderer cannot express (the executor then runs it with NumPy)."""


@dataclass
class KernelSource:
    """One rendered kernel: its C text and how its parameters map to graph values."""

    name: str
    source: str
    inputs: list[int]  # value ids, one pointer parameter each, in order
    outputs: list[int]  # value ids, one pointer parameter each, after the inputs
    dims: list  # loop sizes: each the product of these iteration-shape sizes (ints, SymInts)
    allocates: bool = False  # uses scratch memory: returns 1 when it cannot get it
    parallel: bool = False  # its outer loop is shared by sz[len(dims)] OpenMP threads

    def sizes(self, n: int | None = None) -> list[int]:
        """Loop sizes at batch size ``n``: the start of the ``sz[]`` argument, which ends with
        the number of threads for kernels that can share their rows (``parallel``)."""
        out = []
        for parts in self.dims:
            size = 1
            for d in parts:
                size *= d.at(n) if isinstance(d, SymInt) else int(d)
            out.append(size)
        return out


def render_group(group: FusedGroup, consts: dict | None = None) -> KernelSource:
    """The C function computing ``group``; ``consts`` (value id -> array) are inlined when
    they hold a single element."""
    return _Renderer(group, consts or {}).render()


def _is_one(d) -> bool:
    return not isinstance(d, SymInt) and int(d) == 1


class _Renderer:
    def __init__(self, group: FusedGroup, consts: dict):
        self.g = group
        self.consts = consts
        self.shape = tuple(group.shape)
        self.rank = len(self.shape)

    # -- layout --------------------------------------------------------------------------
    def _pattern(self, vid: int) -> tuple:
        """Per iteration axis: True if the operand varies along it."""
        shape = tuple(self.g.types[vid][0])
        if len(shape) > self.rank:
            raise RenderError(f"operand %{vid} has more axes than the iteration shape")
        padded = (1,) * (self.rank - len(shape)) + shape
        out = []
        for d, s in zip(padded, self.shape):
            if _is_one(s):
                out.append(False)
            elif _is_one(d):
                out.append(False)
            elif d == s:
                out.append(True)
            else:
                raise RenderError(f"operand %{vid} of shape {shape} does not broadcast")
        return tuple(out)

    def _collapse(self, operands: list[int]) -> tuple[list[list], dict]:
        """Collapsed dims (lists of original sizes) and, per operand, its pattern over them."""
        split = self.g.split
        pats = {v: self._pattern(v) for v in operands}
        dims: list[list] = []
        dim_pats: list[tuple] = []
        boundary = []  # collapsed index where the split falls
        for axis, size in enumerate(self.shape):
            if split is not None and axis == split:
                boundary.append(len(dims))
            if _is_one(size):
                continue
            pat = tuple(pats[v][axis] for v in operands)
            can_merge = dims and dim_pats[-1] == pat and not (split is not None and axis == split)
            if can_merge and boundary and boundary[-1] == len(dims):
                can_merge = False
            if can_merge:
                dims[-1].append(size)
            else:
                dims.append([size])
                dim_pats.append(pat)
        if split is not None and split >= self.rank:
            boundary.append(len(dims))
        self.split_at = boundary[0] if boundary else None
        if self.split_at is not None:
            # make sure each side has at least one (possibly size-1) loop
            if self.split_at == 0:
                dims.insert(0, [1])
                dim_pats.insert(0, tuple(False for _ in operands))
                self.split_at = 1
            if self.split_at == len(dims):
                dims.append([1])
                dim_pats.append(tuple(False for _ in operands))
        if not dims:
            dims.append([1])
            dim_pats.append(tuple(False for _ in operands))
        per_operand = {v: tuple(p[k] for p in dim_pats) for k, v in enumerate(operands)}
        return dims, per_operand

    # -- rendering -----------------------------------------------------------------------
    def var(self, vid: int) -> str:
        """The C name of a value: numbered in order of appearance, so equal groups (the
        layers of a network) render to the same text and share one compiled function."""
        return f"v{self.local[vid]}"

    def render(self) -> KernelSource:
        g = self.g
        self.local = {}
        for v in g.inputs:
            self.local.setdefault(v, len(self.local))
        for node in g.nodes:
            for o in node.outputs:
                self.local.setdefault(o, len(self.local))
        inline = {}
        for v in g.inputs:
            arr = self.consts.get(v)
            if arr is not None and np.asarray(arr).size == 1:
                inline[v] = np.asarray(arr).reshape(-1)[0]
        params_in = [v for v in g.inputs if v not in inline]
        self.reductions = {}
        for node in g.nodes:
            if node.op in REDUCTIONS:
                src = node.inputs[0]
                kind, p = reduction_split(node, tuple(g.types[src][0]))
                if p != g.split:
                    raise RenderError("reductions at different split points")
                self.reductions[node.outputs[0]] = (node.op, kind, src)
        red = self.reductions
        elem_outputs = [o for o in g.outputs if o not in red]
        dims, pats = self._collapse(params_in + elem_outputs)
        k = len(dims)
        sizes = [f"d{e}" for e in range(k)]  # loop sizes, given at run time in sz[]
        self.sizes = sizes
        split = self.split_at
        out_index = {v: j for j, v in enumerate(g.outputs)}
        full = tuple(True for _ in range(k))

        def offset(pat: tuple, lo: int, hi: int) -> str:
            """Flat offset of an operand varying along ``pat`` over loops lo..hi-1."""
            terms = []
            for d in range(lo, hi):
                if not pat[d]:
                    continue
                stride = [sizes[e] for e in range(d + 1, hi) if pat[e]]
                terms.append(f"i{d}" if not stride else f"i{d} * " + " * ".join(stride))
            return " + ".join(terms) if terms else "0"

        sig = [f"const {ctype(g.types[v][1])} *in{j}" for j, v in enumerate(params_in)]
        sig += [f"{ctype(g.types[v][1])} *out{j}" for j, v in enumerate(g.outputs)]
        sig.append("const int64_t *sz")

        col = [o for o in red if red[o][1] == "col"]
        row = [o for o in red if red[o][1] == "row"]
        row_pairwise = [o for o in row if self._pairwise(o)]
        row_scalar = [o for o in row if not self._pairwise(o)]
        inner_size = " * ".join(sizes[split:]) if red else "1"
        if red and split < k - 1:
            inner_size = f"({inner_size})"
        inner_pos = offset(full, split, k) if red else "0"

        head = ", ".join(f"{d} = sz[{e}]" for e, d in enumerate(sizes))
        code: list[str] = [f"const int64_t {head};"]
        parallel = not col  # column accumulators are shared by all rows: one thread
        consts = [
            f"const {ctype(g.types[v][1])} {self.var(v)} = {literal(val, g.types[v][1])};"
            for v, val in inline.items()
        ]

        # the loop nest, indented relative to its first loop
        ind = "    "
        nest: list[str] = []
        depth = 0
        for d in range(k):
            if split is not None and d == split:
                for o in row_scalar:
                    nest.append(
                        ind * depth
                        + f"{self._acc_type(o)} acc{out_index[o]} = {self._acc_init(o)};"
                    )
            if d == k - 1:  # operands constant along the innermost loop: load them once
                for j, v in enumerate(params_in):
                    if not pats[v][d]:
                        ct = ctype(g.types[v][1])
                        nest.append(
                            ind * depth
                            + f"const {ct} {self.var(v)} = in{j}[{offset(pats[v], 0, k)}];"
                        )
            pragma = ""
            if d == k - 1:
                sums = [f"acc{out_index[o]}" for o in row_scalar if red[o][0] == "sum"]
                if len(sums) == len(row_scalar):
                    pragma = "#pragma omp simd"
                    if sums:
                        pragma += " reduction(+:" + ", ".join(sums) + ")"
            if d == 0 and parallel:  # rows (or the one flat loop) shared among the threads
                pragma = (
                    "#pragma omp for simd schedule(static) nowait"
                    if k == 1
                    else "#pragma omp for schedule(static) nowait"
                )
            if pragma:
                nest.append(ind * depth + pragma)
            nest.append(ind * depth + f"for (int64_t i{d} = 0; i{d} < {sizes[d]}; i{d}++) {{")
            depth += 1
        inner = ind * depth
        for j, v in enumerate(params_in):
            if pats[v][k - 1]:
                ct = ctype(g.types[v][1])
                nest.append(inner + f"const {ct} {self.var(v)} = in{j}[{offset(pats[v], 0, k)}];")
        for node in g.nodes:
            if node.op in REDUCTIONS:
                o = node.outputs[0]
                nest.append(inner + self._accumulate(o, out_index[o], inner_pos))
                continue
            args = [self.var(i) for i in node.inputs]
            di = [g.types[i][1] for i in node.inputs]
            do = [g.types[o][1] for o in node.outputs]
            for o, e in zip(node.outputs, render_op(node.op, args, di, do, node.attrs)):
                nest.append(inner + f"const {ctype(g.types[o][1])} {self.var(o)} = {e};")
        for o in elem_outputs:
            nest.append(inner + f"out{out_index[o]}[{offset(full, 0, k)}] = {self.var(o)};")
        for d in range(k - 1, -1, -1):  # close the loops; finish row reductions
            depth -= 1
            nest.append(ind * depth + "}")
            if split is not None and d == split:
                pos = offset(full, 0, split)
                for o in row:
                    j = out_index[o]
                    ct = ctype(g.types[o][1])
                    if o in row_pairwise:
                        fn = "em_pairwise_f32" if g.types[o][1] == "float32" else "em_pairwise_f64"
                        value = f"{fn}(acc{j}, {inner_size})"
                    else:
                        value = f"({ct})acc{j}"
                    nest.append(ind * depth + f"out{j}[{pos}] = {value};")

        def alloc(outs) -> list[str]:
            lines = []
            for o in outs:
                j, t = out_index[o], self._acc_type(o)
                lines.append(
                    f"{t} *acc{j} = ({t} *)malloc(sizeof({t}) * "
                    f"(size_t)({inner_size} > 0 ? {inner_size} : 1));"
                )
            return lines

        scratch_outs = col + row_pairwise
        scratch = [f"acc{out_index[o]}" for o in scratch_outs]
        missing = " || ".join("!" + a for a in scratch)
        if parallel:
            # a team of sz[k] threads (1: no team); each allocates its own scratch row
            code.append("int em_failed = 0;")
            code.append(f"#pragma omp parallel num_threads((int)sz[{k}]) if(sz[{k}] > 1)")
            code.append("{")
            code.extend(ind + line for line in alloc(scratch_outs))
            code.append(ind + (f"if ({missing}) {{" if scratch else "{"))
            if scratch:
                code.append(ind * 2 + "#pragma omp atomic write")
                code.append(ind * 2 + "em_failed = 1;")
                code.append(ind + "} else {")
            code.extend(ind * 2 + line for line in consts + nest)
            code.append(ind + "}")
            code.extend(ind + f"free({a});" for a in scratch)
            code.append("}")
            code.append("return em_failed;")
        else:
            code.extend(alloc(scratch_outs))
            if scratch:  # out of memory: free what was allocated and report it
                code.append(f"if ({missing}) {{")
                code.extend(f"    free({a});" for a in scratch)
                code.append("    return 1;")
                code.append("}")
            for o in col:
                j = out_index[o]
                code.append(
                    f"for (int64_t j = 0; j < {inner_size}; j++) acc{j}[j] = {self._acc_init(o)};"
                )
            code.extend(consts + nest)
            for o in col:
                j = out_index[o]
                code.append(
                    f"for (int64_t j = 0; j < {inner_size}; j++) "
                    f"out{j}[j] = ({ctype(g.types[o][1])})acc{j}[j];"
                )
            code.extend(f"free({a});" for a in scratch)
            code.append("return 0;")
        body_text = "{\n" + "\n".join("    " + c for c in code) + "\n}"
        signature = ", ".join(sig)
        digest = hashlib.sha256((signature + body_text).encode()).hexdigest()[:20]
        name = f"ek_{digest}"
        source = f"int {name}({signature}) " + body_text
        return KernelSource(name, source, params_in, list(g.outputs), dims, bool(scratch), parallel)

    def _pairwise(self, o: int) -> bool:
        """Float sums over rows use NumPy's pairwise order over a row buffer (same bits)."""
        op, _, src = self.reductions[o]
        return op == "sum" and self.g.types[o][1] in _FLOATS

    def _acc_type(self, o: int) -> str:
        op = self.reductions[o][0]
        dt = self.g.types[o][1]
        if op == "sum" and dt not in _FLOATS:
            return "uint8_t" if dt == "bool" else "uint64_t"
        return ctype(dt)

    def _acc_init(self, o: int) -> str:
        op = self.reductions[o][0]
        dt = self.g.types[o][1]
        if op == "sum":
            return "0"
        if dt in _FLOATS:
            return "-INFINITY" if op == "amax" else "INFINITY"
        info = np.iinfo(np.dtype(dt))
        return literal(info.min if op == "amax" else info.max, dt)

    def _accumulate(self, o: int, j: int, inner_pos: str) -> str:
        op, kind, src = self.reductions[o]
        dt = self.g.types[o][1]
        pos = f"acc{j}[{inner_pos}]" if kind == "col" or self._pairwise(o) else f"acc{j}"
        if op == "sum":
            if dt in _FLOATS:
                value = f"({ctype(dt)}){self.var(src)}"
                if kind == "row":
                    return f"{pos} = {value};"
                return f"{pos} = {pos} + {value};"
            if dt == "bool":
                return f"{pos} = (uint8_t)({pos} | ({self.var(src)} != 0));"
            return f"{pos} += (uint64_t)(({ctype(dt)}){self.var(src)});"
        mx = "EM_MAX" if op == "amax" else "EM_MIN"
        if dt not in _FLOATS:
            mx = "EM_IMAX" if op == "amax" else "EM_IMIN"
        return f"{pos} = {mx}({pos}, {self.var(src)});"
