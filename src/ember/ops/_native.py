"""Native (C) kernels in eager mode: the registry's faster forwards for the window and row
primitives.

``ember.compile`` runs convolution's im2col/col2im, max pooling and its scatter, softmax,
log-softmax and their backwards, ``standardize``, attention probabilities and cross entropy
as C (:mod:`ember.compiler.codegen.native`). This module registers the same kernels, plus C
versions of ``gelu``/``gelu_backward`` (float32) and ``layer_norm``/``layer_norm_backward``,
as the eager forwards of those primitives (:func:`ember.registry.register_fast_forward`), so
``_dispatch.apply`` and every vjp that calls these primitives use them too. Nothing is
imported from the compiler until a primitive's first eager call.

* **When**: a C compiler is found (``$CC``, ``cc``, ``gcc``, ``clang``; ``EMBER_NO_CC=1``
  hides it) and the inputs are float32/float64 with a rank and attributes the C code handles.
  Anything else runs the NumPy forward, per call.
* **First use blocks**: the first call of a primitive loads the library (about 10 ms from the
  disk cache), or builds it once per machine (~1-2 s) and waits. Building in the background
  while NumPy runs would make a process's results change, by a few ulp, at a moment that
  depends on the compiler's speed; blocking keeps every eager call of a process on one path.
* **Results** equal the NumPy forwards within float rounding (a few ulp: libm's ``exp`` and
  ``log``, pairwise instead of BLAS row sums, another GEMM blocking).
* **Switch**: ``EMBER_NATIVE_KERNELS=0`` in the environment, or
  :func:`set_native_kernels` (``ember.set_native_kernels(False)``) at run time.

Example:
    >>> import ember
    >>> previous = ember.set_native_kernels(False)
    >>> ember.native_kernels_enabled()
    False
    >>> _ = ember.set_native_kernels(previous)
"""

from __future__ import annotations

import os

from ..registry import fast_forwards_enabled, register_fast_forward, set_fast_forwards

__all__ = ["NATIVE_PRIMITIVES", "set_native_kernels", "native_kernels_enabled"]

#: The primitives with a native eager forward (``compiler.codegen.native.EAGER_OPS``).
NATIVE_PRIMITIVES = (
    "conv",
    "conv_input_grad",
    "conv_weight_grad",
    "max_pool",
    "pool_scatter",
    "softmax",
    "log_softmax",
    "softmax_backward",
    "log_softmax_backward",
    "standardize",
    "attention_probs",
    "cross_entropy",
    "cross_entropy_backward",
    "gelu",
    "gelu_backward",
    "layer_norm",
    "layer_norm_backward",
)


def _factory(prim):
    from ..compiler.codegen.native import eager_forward

    return eager_forward(prim)


def set_native_kernels(enabled: bool) -> bool:
    """Use the native C kernels in eager mode (``True``, the default when a C compiler is
    found) or only the NumPy forwards (``False``); returns the previous setting. Compiled
    graphs choose their kernels themselves (``ember.compile(fn, backend="numpy")``).

    Example:
        >>> import ember
        >>> previous = ember.set_native_kernels(False)
        >>> _ = ember.set_native_kernels(previous)
    """
    return set_fast_forwards(enabled)


def native_kernels_enabled() -> bool:
    """Whether eager mode may use the native C kernels (see :func:`set_native_kernels`)."""
    return fast_forwards_enabled()


for _name in NATIVE_PRIMITIVES:
    register_fast_forward(_name, _factory)

if os.environ.get("EMBER_NATIVE_KERNELS", "").strip().lower() in ("0", "false", "off", "no"):
    set_fast_forwards(False)
