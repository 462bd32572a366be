"""Turn rendered kernels into callables: one C file per graph, built once, called through ctypes.

:func:`render_library` writes the translation unit: the prelude, the vector-math
declarations (when the C library has them), each distinct kernel once (equal groups, like
the layers of a transformer, render to the same function), and for each kernel a small
``py_<name>`` wrapper that takes the NumPy array *objects* and reads their data pointers at a
fixed offset (found once per process by :func:`~ember.compiler.codegen.c_build.array_data_offset`),
which keeps a call under a microsecond. Without that offset the wrappers take raw addresses.

Example:
    >>> from ember.ir import Graph
    >>> from ember.compiler.passes import fuse_elementwise
    >>> from ember.compiler.codegen.c_render import render_group
    >>> from ember.compiler.codegen.library import render_library
    >>> g = Graph()
    >>> x = g.add_input((8,), "float32", name="x")
    >>> (y,) = g.add_node("exp", [x], {}, [((8,), "float32")])
    >>> g.outputs = [y]
    >>> k = render_group(fuse_elementwise(g).nodes[0].attrs["group"])
    >>> text = render_library([k, k], vector_math=False, data_offset=16)
    >>> text.count("int " + k.name + "("), text.count("int py_" + k.name + "(")
    (1, 1)
"""

from __future__ import annotations

import ctypes
import os
import time
from concurrent.futures import ThreadPoolExecutor

from .c_build import (
    Toolchain,
    build_library,
    cached_library,
    load_library,
    vector_math_declarations,
)
from .c_ops import PRELUDE
from .c_render import KernelSource

__all__ = ["render_library", "KernelLibrary", "loaded_functions", "openmp_flags"]


def openmp_flags(tc: Toolchain) -> tuple:
    """``("-fopenmp",)`` where the compiler supports it: kernels can then share rows among
    threads when an executor asks (``options["kernel_threads"]``; one thread by default).
    ``EMBER_KERNEL_THREADS=1`` builds without OpenMP at all."""
    if not tc.openmp or os.environ.get("EMBER_KERNEL_THREADS", "").strip() == "1":
        return ()
    return ("-fopenmp",)


def render_library(
    kernels: list[KernelSource], *, vector_math: bool, data_offset: int | None
) -> str:
    """The C translation unit holding ``kernels`` and their Python-call wrappers."""
    parts = [PRELUDE]
    if vector_math:
        parts.append(vector_math_declarations())
    if data_offset is not None:
        parts.append(f"#define EM_DATA(o) (*(void **)((char *)(o) + {int(data_offset)}))\n")
    else:
        parts.append("#define EM_DATA(o) ((void *)(o))\n")
    seen = set()
    for k in kernels:
        if k.name in seen:
            continue
        seen.add(k.name)
        parts.append(k.source + "\n")
        n_args = len(k.inputs) + len(k.outputs) + 1  # operands, outputs, the sizes
        params = ", ".join(f"void *a{j}" for j in range(n_args))
        args = ", ".join(f"EM_DATA(a{j})" for j in range(n_args))
        parts.append(f"int py_{k.name}({params}) {{ return {k.name}({args}); }}\n")
    return "\n".join(parts)


class KernelLibrary:
    """The library of a list of kernels, built in the background.

    ``start()`` returns at once: a cached library is loaded, otherwise the compiler runs in a
    worker thread (so the forward and backward graphs of one trace build side by side).
    ``ready()`` says whether it is loaded (raising :class:`~ember.compiler.codegen.BuildError`
    if the compiler failed), ``wait()`` blocks until it is, and ``function(name)`` gives the
    ctypes callable of a kernel.
    """

    def __init__(self, kernels: list[KernelSource], tc: Toolchain, data_offset: int | None):
        self.kernels = {k.name: k for k in kernels}
        self.toolchain = tc
        self.source = render_library(kernels, vector_math=tc.vector_math, data_offset=data_offset)
        self.path: str | None = None
        self.cache_hit: bool | None = None
        self.build_seconds = 0.0
        self._lib = None
        self._future = None
        self._started = 0.0
        self._by_object = data_offset is not None
        self.flags = openmp_flags(tc)

    def start(self) -> KernelLibrary:
        path = cached_library(self.source, self.toolchain, self.flags)
        if path is not None:
            self._load(path, True)
        elif self._future is None:
            self._started = time.perf_counter()
            self._future = _pool().submit(build_library, self.source, self.toolchain, self.flags)
        return self

    def ready(self) -> bool:
        if self._lib is not None:
            return True
        if self._future is None or not self._future.done():
            return False
        self._finish()
        return True

    def wait(self) -> KernelLibrary:
        if self._lib is None:
            if self._future is None:
                self.start()
            if self._lib is None:
                self._future.result()
                self._finish()
        return self

    def _finish(self) -> None:
        path, hit = self._future.result()  # raises BuildError
        self.build_seconds = time.perf_counter() - self._started
        self._load(path, hit)

    def _load(self, path: str, hit: bool) -> None:
        self.path, self.cache_hit = path, hit
        self._lib = load_library(path)

    def function(self, name: str):
        self.wait()
        k = self.kernels[name]
        fn = getattr(self._lib, "py_" + name)
        arg = ctypes.py_object if self._by_object else ctypes.c_void_p
        fn.argtypes = [arg] * (len(k.inputs) + len(k.outputs) + 1)
        fn.restype = ctypes.c_int
        _LOADED[name] = fn
        return fn


_LOADED: dict = {}  # kernel name -> its callable, for every library loaded in this process


def loaded_functions(names) -> dict | None:
    """The callables of kernels already loaded in this process (by any library), or None if
    one of ``names`` is not: a graph made only of known kernels needs no build."""
    found = {}
    for name in names:
        fn = _LOADED.get(name)
        if fn is None:
            return None
        found[name] = fn
    return found


_executor = None


def _pool() -> ThreadPoolExecutor:
    """Two builder threads (they mostly wait for the compiler process)."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ember-cc")
    return _executor
