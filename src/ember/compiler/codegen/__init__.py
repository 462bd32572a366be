"""Code generation for ``ember.compile``: fused groups to C, built and loaded; NumPy fallbacks.

================  ===================================================================
``c_ops.py``      C expression of each elementwise primitive and reduction
``c_render.py``   a fused group -> one C function (text only; the C exporter reuses it)
``c_build.py``    compiler discovery, flags, on-disk cache by content hash, loading
``library.py``    one translation unit per graph with ctypes-call wrappers
``numpy_kernels.py``  NumPy evaluation of a group; ``out=`` versions of GEMM primitives
================  ===================================================================

Example:
    >>> from ember.compiler.codegen import render_group, supports
    >>> callable(render_group) and callable(supports)
    True
"""

from .c_build import BuildError, Toolchain, toolchain
from .c_ops import supports
from .c_render import KernelSource, RenderError, render_group
from .library import KernelLibrary, render_library
from .numpy_kernels import INTO, group_evaluator

__all__ = [
    "render_group",
    "render_library",
    "KernelSource",
    "KernelLibrary",
    "RenderError",
    "BuildError",
    "Toolchain",
    "toolchain",
    "supports",
    "group_evaluator",
    "INTO",
]
