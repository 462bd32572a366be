"""From a traced graph to something that runs: optimization passes, kernels, then a run function.

``make_executor(graph, options)`` is the one place that decides how a graph runs. It returns
an :class:`Executor` (or, with ``options["executor"] == "interpreter"``, the reference
:class:`~ember.ir.interpret.Interpreter` behind the same ``run`` call):

1. **passes** (:mod:`ember.compiler.passes`): dead code, constant folding, algebraic
   simplification, common subexpressions, and with the C backend bias splitting and
   elementwise fusion;
2. **kernels** (:mod:`ember.compiler.codegen`): every fused group rendered to C, all of a
   graph's kernels built as one library (cached on disk by content hash; built in a worker
   thread) and called through ctypes; groups the renderer cannot express, or all of them
   without a compiler, run member by member with the registry's NumPy forwards. GEMMs stay on
   BLAS (``matmul`` and ``linear`` write into planned buffers with ``out=``); convolution
   windows and row primitives (softmax, standardize, cross entropy...) use the C versions of
   :mod:`~ember.compiler.codegen.native`;
3. **memory plan** (:func:`~ember.compiler.passes.plan_memory`) per batch size: intermediates
   written by kernels and GEMMs live in preallocated buffers reused across steps and runs
   (in place where an operand dies at the node), outputs get fresh arrays each run;
4. **run function**: Python source generated for the plan (``executor.source()``), one
   line per step with every buffer, constant and function bound as a global, so a step costs
   one call. Its first run also checks that no primitive returned a view of its operands
   without saying so (and plans again if one did).

Threading: a graph runs its GEMMs one of two ways, because on few cores the two do not mix
(OpenBLAS's threads busy-wait ~0.1 s after each multi-threaded call and take the core ember's
own threads need). ``"blas"``: GEMMs go to BLAS with its own threads, everything else runs on
the executor's thread. ``"split"``: as in eager mode, GEMMs and the native row/window kernels
are split over ember's intra-op threads with BLAS on one thread. ``"auto"`` (the default)
picks ``"split"`` for graphs with convolutions or pooling, whose window kernels then run on
all threads (the CNN benchmark's train step: 32.4 -> 26.1 ms, medians of 5 alternating
rounds on 2 cores), and ``"blas"`` otherwise (the MLP step was 4.9 ms with it, 7.5 ms split).

Options: ``backend`` is ``"auto"`` (C where a compiler works, else NumPy with a one-line
notice), ``"c"`` (the same, but the notice says C was asked for) or ``"numpy"``;
``wait_for_kernels`` (default True; False runs on NumPy until the C library is built);
``kernel_threads`` (OpenMP threads per kernel, default 1); ``threading`` (``"auto"``,
``"blas"`` or ``"split"``, above); ``executor="interpreter"``.

Example:
    >>> import numpy as np
    >>> from ember.ir import Graph
    >>> from ember.compiler.executor import make_executor
    >>> g = Graph()
    >>> x = g.add_input((2, 3), "float32", name="x")
    >>> (y,) = g.add_node("exp", [x], {}, [((2, 3), "float32")])
    >>> (z,) = g.add_node("neg", [y], {}, [((2, 3), "float32")])
    >>> g.outputs = [z]
    >>> ex = make_executor(g, {"backend": "numpy"})
    >>> ex.run([np.zeros((2, 3), np.float32)], {})[0].tolist()
    [[-1.0, -1.0, -1.0], [-1.0, -1.0, -1.0]]
    >>> ex.planned_peak_bytes > 0
    True
"""

from __future__ import annotations

import math
import os
import threading
import time

import numpy as np

from ..ir.graph import Graph, IRError
from ..ir.interpret import Interpreter, batch_probe, batch_size_of, check_graph_inputs
from ..ir.symbolic import SymInt, has_sym, resolve
from ..ops._address import data_address
from .passes import optimize, plan_memory
from .passes.memory import MemoryPlan

__all__ = ["make_executor", "Executor"]

_BACKENDS = ("auto", "c", "numpy")
# kernels over fewer elements run on one thread (a parallel region costs a few microseconds)
_PARALLEL_MIN = 1 << 16
_MAX_PROGRAMS = 8  # batch sizes kept bound at once (dynamic graphs)


class _InterpreterExecutor:
    """The reference: the IR interpreter behind the executor interface."""

    backend = "interpreter"

    def __init__(self, graph: Graph):
        self.graph = graph
        self.interp = Interpreter(graph)

    def run(self, arrays, params, check: bool = False):
        return self.interp.run(arrays, params, check=check)


def make_executor(graph: Graph, options: dict | None = None):
    """An object with ``run(input_arrays, params) -> output arrays`` for ``graph``."""
    options = dict(options or {})
    if options.get("executor") == "interpreter":
        return _InterpreterExecutor(graph)
    return Executor(graph, options)


class _UndeclaredViewError(Exception):
    """Raised at the end of a checked run that found steps returning views of operands."""


def _alias_checker(found: list):
    """``check(step, outs, ins)``: record ``step`` if an output shares memory with an operand.
    The run goes on, so one checked run finds every such step."""

    def check(step: int, outs: tuple, ins: tuple) -> None:
        for o in outs:
            if isinstance(o, np.ndarray):
                for i in ins:
                    if isinstance(i, np.ndarray) and np.may_share_memory(o, i):
                        found.append(step)
                        return

    return check


_install_lock = threading.Lock()
_THREADINGS = ("auto", "blas", "split")
#: ops whose native kernels gain most from ember's threads (window loops around the GEMMs)
_WINDOW_OPS = frozenset({"conv", "conv_input_grad", "conv_weight_grad", "max_pool", "pool_scatter"})


def _threading(choice, graph: Graph) -> str:
    """The threading of a graph's GEMMs and native kernels (see the module docstring)."""
    if choice not in _THREADINGS:
        raise ValueError(
            f"ember.compile: threading must be one of {', '.join(map(repr, _THREADINGS))}, "
            f"got {choice!r}"
        )
    if choice != "auto":
        return choice
    return "split" if any(node.op in _WINDOW_OPS for node in graph.nodes) else "blas"


class Executor:
    """A graph optimized, with its kernels built, ready for repeated runs."""

    def __init__(self, graph: Graph, options: dict | None = None):
        from .codegen import c_build

        options = dict(options or {})
        backend = options.get("backend", "auto")
        if backend not in _BACKENDS:
            raise ValueError(
                f"ember.compile: backend must be one of {', '.join(map(repr, _BACKENDS))}, "
                f"got {backend!r}"
            )
        start = time.perf_counter()
        self.source_graph = graph
        tc = None
        if backend != "numpy":
            tc = c_build.toolchain()
            if tc is None:
                why = (
                    "EMBER_NO_CC is set"
                    if os.environ.get("EMBER_NO_CC", "") not in ("", "0")
                    else "no working C compiler was found"
                )
                if backend == "c":
                    why = f"backend='c' was asked for but {why}"
                c_build.fallback_notice(why)
        self.backend = "c" if tc is not None else "numpy"
        from .codegen import supports
        from .codegen.native import NATIVE_OPS
        from .codegen.native import prefetch as prefetch_native

        for dtype in {graph.values[n.outputs[0]].dtype for n in graph.nodes if n.op in NATIVE_OPS}:
            if tc is not None and dtype in ("float32", "float64"):  # build the native kernels
                prefetch_native("f32" if dtype == "float32" else "f64")  # while ours build
        self.graph = optimize(graph, fuse=tc is not None, can_fuse=supports)
        self._index = {id(node): k for k, node in enumerate(self.graph.nodes)}
        self.library = None
        self._kernels: dict[int, tuple] = {}
        self._pending = None  # (node index, KernelSource) waiting for the library
        self._wait = bool(options.get("wait_for_kernels", True))
        # C kernels run on one thread unless asked: measured on 2 cores, OpenMP teams fight
        # OpenBLAS's spinning threads (the CNN step went from 27 ms to 170-300 ms)
        self._threads = max(1, int(options.get("kernel_threads") or 1))
        self.threading = _threading(options.get("threading", "auto"), self.graph)
        self._pid = os.getpid()
        self._prepare_kernels(tc)
        self._views: set[int] = set()  # steps found to return views of their operands
        self._programs: dict = {}
        self._probe = batch_probe(self.graph)
        self.compile_seconds = time.perf_counter() - start
        self.last_plan: MemoryPlan | None = None

    # -- kernels ---------------------------------------------------------------------------
    def _prepare_kernels(self, tc) -> None:
        from .codegen import KernelLibrary, RenderError, c_build, group_evaluator, render_group
        from .codegen.library import loaded_functions

        pending: list = []
        self._rendered = pending
        for k, node in enumerate(self.graph.nodes):
            if node.op != "fused":
                continue
            group = node.attrs["group"]
            if tc is not None:
                try:
                    pending.append((k, render_group(group, self.graph.consts)))
                    continue
                except RenderError:
                    pass
            self._kernels[k] = ("numpy", group_evaluator(group))
        if not pending:
            return
        offset = c_build.array_data_offset()
        known = loaded_functions(ks.name for _, ks in pending)
        if known is not None:  # every kernel is in a library this process already loaded
            for k, ks in pending:
                self._kernels[k] = ("c", known[ks.name], ks, offset is not None)
            return
        self._pending = pending
        self.library = KernelLibrary([ks for _, ks in pending], tc, offset)
        self.library.start()
        for k, _ in pending:  # until the library is loaded (see _install_kernels)
            self._kernels[k] = ("numpy", group_evaluator(self.graph.nodes[k].attrs["group"]))

    def _install_kernels(self, wait: bool) -> None:
        """Switch the fused groups to the C library once it is built (re-plans memory)."""
        from .codegen import BuildError, c_build

        try:
            if not (self.library.wait() if wait else self.library.ready()):
                return
        except BuildError as exc:
            c_build.fallback_notice(f"building the C kernels failed ({str(exc).splitlines()[0]})")
            self._pending = None
            return
        by_object = c_build.array_data_offset() is not None
        with _install_lock:  # runs from several threads may find the library ready at once
            pending, self._pending = self._pending, None
            if pending is None:
                return
            kernels = dict(self._kernels)  # swapped whole: a run planning now sees one set
            for k, ks in pending:
                kernels[k] = ("c", self.library.function(ks.name), ks, by_object)
            self._kernels = kernels
            self._programs.clear()

    def kernel_sources(self) -> list:
        """The rendered C kernels of this graph (:class:`~ember.compiler.codegen.KernelSource`)."""
        return [ks for _, ks in self._rendered]

    def wait_for_kernels(self) -> Executor:
        """Block until the C library is built and in use (no-op without C kernels)."""
        if self._pending is not None:
            self._install_kernels(True)
        return self

    # -- memory plan callbacks ---------------------------------------------------------------
    def _writes_into(self, node) -> bool:
        from .codegen.numpy_kernels import into_supported

        k = self._index[id(node)]
        entry = self._kernels.get(k)
        if entry is not None:
            return entry[0] == "c"
        return into_supported(node, self.graph)

    def _inplace(self, node) -> list:
        k = self._index[id(node)]
        entry = self._kernels.get(k)
        if entry is None or entry[0] != "c":
            return []
        group = node.attrs["group"]
        shape = tuple(group.shape)
        reduced = {n.outputs[0] for n in group.nodes if n.op in ("sum", "amax", "amin")}
        pairs = []
        used = set()
        for pos, o in enumerate(node.outputs):
            if o in reduced:
                continue
            for j, i in enumerate(node.inputs):
                if j in used or i in self.graph.consts:
                    continue
                it, ot = group.types[i], group.types[o]
                if tuple(it[0]) == shape and it[1] == ot[1]:
                    pairs.append((pos, j))
                    used.add(j)
                    break
        return pairs

    def _is_view(self, node) -> bool:
        from ..registry import REGISTRY

        k = self._index[id(node)]
        if k in self._views:
            return True
        if node.op == "fused":
            return False
        prim = REGISTRY.get(node.op)
        return prim is not None and prim.is_view

    # -- running ---------------------------------------------------------------------------
    def batch_size(self, inputs) -> int:
        n = batch_size_of(self._probe, inputs)
        return 0 if n is None else n

    def check_inputs(self, inputs) -> None:
        """Raise a clear error unless ``inputs`` match the graph's input shapes and dtypes."""
        check_graph_inputs([self.graph.values[v] for v in self.graph.inputs], self._probe, inputs)

    def _program(self, n: int) -> _Program:
        prog = self._programs.get(n)
        if prog is None:
            if len(self._programs) >= _MAX_PROGRAMS:
                self._programs.pop(next(iter(self._programs)))
            prog = _Program(self, n)
            self._programs[n] = prog
        return prog

    def run(self, inputs, params: dict | None = None, check: bool = False) -> list:
        """Outputs for ``inputs`` (arrays in graph-input order) and ``params`` (name -> array).

        Mutations (in-place updates of inputs/params) are written into the given arrays.
        """
        if check:
            self.check_inputs(inputs)
        if self._pending is not None:
            self._install_kernels(self._wait)
        if self._pid != os.getpid():  # a forked child: GNU OpenMP's thread pool did not follow
            self._pid, self._threads = os.getpid(), 1
            self._programs.clear()
        n = self.batch_size(inputs) if self._probe is not None else 0
        prog = self._programs.get(n) or self._program(n)
        if params is None:
            params = {}
        if not prog.lock.acquire(blocking=False):  # re-entered (threads): private buffers
            return _Program(self, n).call(inputs, params)
        try:
            return prog.call(inputs, params)
        finally:
            prog.lock.release()

    def source(self, n: int | None = None) -> str:
        """The generated Python source of the run function (for batch size ``n``)."""
        if self._pending is not None:
            self._install_kernels(self._wait)
        return self._program(n or (0 if self._probe is None else 1)).source

    @property
    def planned_peak_bytes(self) -> int:
        """Peak bytes of a run with the memory plan (for the last batch size run)."""
        plan = self.last_plan or self._program(0 if self._probe is None else 1).plan
        return plan.peak_bytes

    @property
    def memory_plan(self) -> MemoryPlan:
        return self.last_plan or self._program(0 if self._probe is None else 1).plan

    def profile(self, inputs, params: dict | None = None, runs: int = 10) -> list:
        """Seconds per step (mean over ``runs``), as ``(label, seconds)`` in execution order."""
        self.wait_for_kernels()
        n = self.batch_size(inputs) if self._probe is not None else 0
        prog = self._program(n)
        prog.call(inputs, params or {})  # the checked first run
        totals = [0.0] * len(self.graph.nodes)
        fn = prog.compile_variant(profile=True)
        for _ in range(runs):
            fn(inputs, params or {}, totals)
        labels = []
        for k, node in enumerate(self.graph.nodes):
            entry = self._kernels.get(k)
            kind = f"fused[{entry[0]}] {node.attrs['group']!r}" if entry else node.op
            labels.append((f"{k}: {kind}", totals[k] / runs))
        return labels


def _tuple(values) -> str:
    """Python source of a tuple of value names."""
    names = [f"v{v}" for v in values]
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _out_of_memory(step: int):
    raise MemoryError(f"ember.compile: the C kernel of step {step} could not allocate its scratch")


def _own(a) -> bool:
    flags = a.flags
    return flags.c_contiguous and flags.writeable


def _at(shape, n: int) -> tuple:
    return tuple(d.at(n) if isinstance(d, SymInt) else int(d) for d in shape)


class _Program:
    """The run function of an executor for one batch size, with its buffers."""

    def __init__(self, ex: Executor, n: int):
        self.ex = ex
        self.n = n
        self.lock = threading.Lock()
        self._bind()

    def _bind(self) -> None:
        ex, n = self.ex, self.n
        g = ex.graph
        self.plan = plan_memory(
            g, writes_into=ex._writes_into, inplace=ex._inplace, is_view=ex._is_view, n=n
        )
        ex.last_plan = self.plan
        self.arena = [np.empty(max(size, 1), np.uint8) for size in self.plan.buffers]
        self._found: list[int] = []  # steps the checked run saw returning views
        self.namespace = self._namespace()
        self._fast = None  # compiled once the checked first run found nothing to re-plan
        self._checked = self.compile_variant(profile=False, checked=True)
        self.verified = False

    @property
    def source(self) -> str:
        return self._generate(checked=False, profile=False)

    def call(self, inputs, params):
        try:
            if self.verified:
                return self._fast(inputs, params)
            self._found.clear()
            try:
                out = self._checked(inputs, params)
            except Exception:
                if not self._found:  # a real error
                    raise
                # an undeclared view may have let a later step read overwritten memory
                out = None
            if self._found:  # plan again with those steps as views, and run again
                if set(self._found) <= self.ex._views:
                    raise RuntimeError(f"ember.compile: steps {self._found} re-planned twice")
                self.ex._views.update(self._found)
                self._bind()
                return self.call(inputs, params)
            self._fast = self.compile_variant(profile=False)
            self.verified = True
            return out
        except KeyError as exc:
            name = exc.args[0] if exc.args else None
            if isinstance(name, str) and name not in params:
                raise KeyError(f"the graph needs parameter {name!r}, which was not given") from None
            raise

    def compile_variant(self, *, profile: bool, checked: bool = False):
        text = self._generate(checked=checked, profile=profile)
        code = compile(text, f"<ember.compile executor n={self.n}>", "exec")
        ns = dict(self.namespace)
        exec(code, ns)  # noqa: S102 - our own generated source
        return ns["run"]

    def _namespace(self) -> dict:
        ex, n, g = self.ex, self.n, self.ex.graph
        from ..registry import REGISTRY
        from .codegen.native import native_forward
        from .codegen.numpy_kernels import INTO, INTO_SPLIT

        split = ex.threading == "split"
        into = INTO_SPLIT if split else INTO

        ns: dict = {
            "_empty": np.empty,
            "_c": np.ascontiguousarray,
            "_asarray": np.asarray,
            "_copyto": np.copyto,
            "_chk": _alias_checker(self._found),
            "_F": self._found,
            "_UndeclaredView": _UndeclaredViewError,
            "_pc": time.perf_counter,
            "_addr": data_address,
            "_own": _own,
            "_oom": _out_of_memory,
        }
        for v, arr in g.consts.items():
            ns[f"C{v}"] = arr
        for v, b in self.plan.buffer_of.items():
            val = g.values[v]
            shape = _at(val.shape, n)
            nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(val.dtype).itemsize
            ns[f"B{v}"] = self.arena[b][:nbytes].view(val.dtype).reshape(shape)
        for k, node in enumerate(g.nodes):
            entry = ex._kernels.get(k)
            attrs = resolve(node.attrs, n) if has_sym(node.attrs) else node.attrs
            if entry is not None:
                ns[f"K{k}"] = entry[1]
                if entry[0] == "c":  # the kernel's loop sizes at this batch size, threads
                    sizes = entry[2].sizes(n)
                    threads = ex._threads if math.prod(sizes) >= _PARALLEL_MIN else 1
                    ns[f"Z{k}"] = np.array(sizes + [threads], np.int64)
            elif ex._writes_into(node):
                ns[f"F{k}"] = into[node.op]
                ns[f"A{k}"] = attrs
            else:
                prim = REGISTRY.get(node.op)
                if prim is None:
                    raise IRError(f"node {k}: unknown op {node.op!r}")
                fast = None
                if ex.backend == "c":
                    dtypes = [g.values[i].dtype for i in node.inputs]
                    shapes = [_at(g.values[i].shape, n) for i in node.inputs]
                    fast = native_forward(node.op, dtypes, shapes, attrs, prim.forward, split=split)
                ns[f"F{k}"] = fast or prim.forward
                ns[f"A{k}"] = attrs
            for o in node.outputs:
                val = g.values[o]
                ns[f"S{o}"] = _at(val.shape, n)
                ns[f"D{o}"] = np.dtype(val.dtype)
        return ns

    def _generate(self, *, checked: bool, profile: bool) -> str:
        ex, n, g, plan = self.ex, self.n, self.ex.graph, self.plan
        lines = ["def run(inputs, params" + (", _T" if profile else "") + "):"]
        body: list[str] = []
        if g.inputs:
            names = ", ".join(f"v{v}" for v in g.inputs)
            body.append(f"{names}{',' if len(g.inputs) == 1 else ''} = inputs")
        for v, name in g.params.items():
            body.append(f"v{v} = params[{name!r}]")
        read = {o for o in g.outputs} | {s for _, s in g.mutations}
        for k, node in enumerate(g.nodes):
            entry = ex._kernels.get(k)
            read.update(entry[2].inputs if entry is not None and entry[0] == "c" else node.inputs)
        for v in g.consts:
            if v in read:  # constants inlined into C kernels need no name
                body.append(f"v{v} = C{v}")
        contiguous = set(plan.buffer_of)  # values known to be C-contiguous
        aliases_planned = set(plan.buffer_of)  # values that may share a planned buffer
        escaping = set(g.outputs) | {s for _, s in g.mutations}
        keep = set(g.inputs) | set(g.params) | set(g.consts) | escaping
        taken_over = set(plan.reuse.values())  # fresh arrays a later kernel writes into
        if profile:
            body.append("t = _pc()")
        for k, node in enumerate(g.nodes):
            entry = ex._kernels.get(k)
            ins = [f"v{i}" for i in node.inputs]
            if entry is not None and entry[0] == "c":
                ks, by_object = entry[2], entry[3]
                for o in node.outputs:
                    body.append(self._output_expr(o))
                    contiguous.add(o)
                args = []
                for i in ks.inputs:
                    a = f"v{i}" if i in contiguous else f"_c(v{i})"
                    args.append(a if by_object else f"_addr({a})")
                for o in ks.outputs:
                    args.append(f"v{o}" if by_object else f"_addr(v{o})")
                args.append(f"Z{k}" if by_object else f"_addr(Z{k})")
                call = f"K{k}({', '.join(args)})"
                body.append(f"if {call}: _oom({k})" if ks.allocates else call)
            elif entry is not None:  # a fused group run with NumPy
                outs = ", ".join(f"v{o}" for o in node.outputs)
                body.append(
                    f"{outs}{',' if len(node.outputs) == 1 else ''} = K{k}("
                    f"{', '.join(ins + [f'n={n}'])})"
                )
                reused = any(o in taken_over for o in node.outputs)
                if ex._is_view(node) and any(i in aliases_planned for i in node.inputs):
                    aliases_planned.update(node.outputs)
                elif checked and (reused or any(i in aliases_planned for i in node.inputs)):
                    body.append(f"_chk({k}, {_tuple(node.outputs)}, {_tuple(node.inputs)})")
            elif ex._writes_into(node):
                (o,) = node.outputs
                body.append(self._output_expr(o))
                contiguous.add(o)
                call = ", ".join(ins + [f"out=v{o}"] + ([f"**A{k}"] if node.attrs else []))
                body.append(f"F{k}({call})")
            else:
                call = f"F{k}({', '.join(ins + ([f'**A{k}'] if node.attrs else []))})"
                if len(node.outputs) == 1:
                    (o,) = node.outputs
                    if len(_at(g.values[o].shape, n)) == 0:
                        call = f"_asarray({call})"
                    body.append(f"v{o} = {call}")
                else:
                    outs = ", ".join(f"v{o}" for o in node.outputs)
                    body.append(f"{outs} = {call}")
                    for o in node.outputs:
                        if len(_at(g.values[o].shape, n)) == 0:
                            body.append(f"v{o} = _asarray(v{o})")
                reused = any(o in taken_over for o in node.outputs)
                if ex._is_view(node) and any(i in aliases_planned for i in node.inputs):
                    aliases_planned.update(node.outputs)
                elif checked and (reused or any(i in aliases_planned for i in node.inputs)):
                    outs = ", ".join(f"v{o}" for o in node.outputs)
                    body.append(f"_chk({k}, {_tuple(node.outputs)}, {_tuple(node.inputs)})")
            if profile:
                body.append(f"_T[{k}] += _pc() - t; t = _pc()")
            dead = [
                i
                for i in dict.fromkeys(node.inputs)
                if plan.last_use.get(i) == k and i not in keep and i not in plan.buffer_of
            ]
            if dead:
                body.append("del " + ", ".join(f"v{i}" for i in dead))
        if checked:  # no mutation, no result, when the plan must change
            body.append("if _F: raise _UndeclaredView()")
        for target, source in g.mutations:
            val = g.values[target]
            if val.kind == "input":
                where = f"inputs[{g.inputs.index(target)}]"
            else:
                where = f"params[{val.name!r}]"
            body.append(f"_copyto({where}, v{source}, casting='unsafe')")
        outs = [f"C{o}.copy()" if o in g.consts else f"v{o}" for o in g.outputs]
        body.append(f"return [{', '.join(outs)}]")
        lines.extend("    " + b for b in body)
        return "\n".join(lines) + "\n"

    def _output_expr(self, o: int) -> str:
        if o in self.plan.buffer_of:
            return f"v{o} = B{o}"
        src = self.plan.reuse.get(o)
        if src is not None:  # take over a dying fresh array (checked: contiguous, writable)
            return f"v{o} = v{src} if _own(v{src}) else _empty(S{o}, D{o})"
        return f"v{o} = _empty(S{o}, D{o})"
