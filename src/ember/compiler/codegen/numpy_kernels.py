"""NumPy execution for what the executor does not run in C.

* :func:`group_evaluator`: a fused group run member by member with the registry's NumPy
  forwards (the reference semantics, so the fallback gives exactly eager's results). Used when
  no C compiler is present (``backend="numpy"``, ``EMBER_NO_CC=1``) or a group cannot be
  rendered.
* :data:`INTO`: optional fast versions of registry primitives that write into a buffer given
  by the memory plan (``fn(*arrays, out=buffer, **attrs)``), for ops whose forward is a single
  NumPy call that accepts ``out=``. They compute exactly what the forward computes.
  :data:`INTO_SPLIT` are the same with each GEMM split over ember's intra-op threads and
  BLAS on one thread (``ember.ops._parallel.matmul``), for the executor's ``"split"``
  threading.

Example:
    >>> import numpy as np
    >>> from ember.compiler.codegen.numpy_kernels import INTO
    >>> out = np.empty((2, 2), np.float32)
    >>> INTO["matmul"](np.eye(2, dtype=np.float32), np.ones((2, 2), np.float32), out=out)
    >>> out.tolist()
    [[1.0, 1.0], [1.0, 1.0]]
"""

from __future__ import annotations

import numpy as np

from ...ir.symbolic import has_sym, resolve
from ...ops import _parallel as _par
from ..passes.fusion import FusedGroup

__all__ = ["group_evaluator", "INTO", "INTO_SPLIT", "into_supported"]


def group_evaluator(group: FusedGroup):
    """``f(*inputs, n=None) -> list of outputs`` evaluating ``group`` with NumPy forwards."""
    from ...registry import REGISTRY

    steps = []
    for node in group.nodes:
        prim = REGISTRY[node.op]
        steps.append((prim.forward, node.inputs, node.outputs, node.attrs, has_sym(node.attrs)))
    inputs, outputs = list(group.inputs), list(group.outputs)

    def evaluate(*arrays, n=None):
        env = dict(zip(inputs, arrays))
        for fwd, ins, outs, attrs, sym in steps:
            res = fwd(*[env[i] for i in ins], **(resolve(attrs, n) if sym else attrs))
            if len(outs) == 1:
                env[outs[0]] = np.asarray(res)
            else:
                for o, r in zip(outs, res):
                    env[o] = np.asarray(r)
        return [env[o] for o in outputs]

    return evaluate


def _into(gemm) -> dict:
    """``matmul`` and ``linear`` writing into ``out`` with ``gemm(a, b, out=...)`` for the
    2-D products."""

    def matmul_into(a, b, *, out):
        if a.ndim == 1 or b.ndim == 1:
            np.copyto(out, np.matmul(a, b))
        elif b.ndim == 2 and a.ndim > 2:
            gemm(a.reshape(-1, a.shape[-1]), b, out=out.reshape(-1, b.shape[-1]))
        else:
            gemm(a, b, out=out)

    def linear_into(x, w, *b, out):
        flat = out.reshape(-1, w.shape[0])
        gemm(x.reshape(-1, x.shape[-1]), w.T, out=flat)
        if b:
            flat += b[0]

    return {"matmul": matmul_into, "linear": linear_into}


#: op -> fn(*arrays, out=buffer, **attrs); the buffer has the output's shape and dtype
INTO = _into(np.matmul)

#: :data:`INTO` with the GEMMs split over ember's threads (BLAS on one thread)
INTO_SPLIT = _into(_par.matmul)


def into_supported(node, graph) -> bool:
    """True if ``node`` may run through :data:`INTO` (float operands of one dtype)."""
    if node.op not in INTO or len(node.outputs) != 1:
        return False
    dtypes = {graph.values[v].dtype for v in (*node.inputs, *node.outputs)}
    return len(dtypes) == 1 and dtypes.pop() in ("float32", "float64")
