"""PyTorch-style printing of tensors: ``tensor([1.0000, 2.5000], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

_DEFAULT_SHOWN = {"float32", "int64", "bool"}


def _float_formatter(arr: np.ndarray):
    finite = arr[np.isfinite(arr)].astype(np.float64) if arr.size else arr
    if finite.size == 0:
        return None
    if np.all(finite == np.round(finite)) and np.abs(finite).max(initial=0) < 1e8:
        return lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)
    nonzero = np.abs(finite[finite != 0])
    big = nonzero.max(initial=0)
    small = nonzero.min(initial=np.inf)
    if big >= 1e8 or (small < 1e-4) or (big / small > 1e3 and big >= 1e4 if small else False):
        return lambda v: f"{v:.4e}" if np.isfinite(v) else str(v)
    return lambda v: f"{v:.4f}" if np.isfinite(v) else str(v)


def format_data(arr: np.ndarray, prefix: str) -> str:
    if arr.dtype.kind == "f" or arr.dtype.name == "bfloat16":
        arr = arr.astype(np.float64)
        fmt = _float_formatter(arr)
        formatter = {"float_kind": fmt} if fmt else None
    else:
        formatter = None
    if arr.size == 0 and arr.ndim == 1:
        return "[]"
    return np.array2string(
        arr,
        separator=", ",
        prefix=prefix,
        formatter=formatter,
        threshold=1000,
        edgeitems=3,
        max_line_width=80,
    )


def tensor_repr(t) -> str:
    arr = t._data
    prefix = "tensor("
    body = format_data(arr, prefix)
    extras = []
    name = t.dtype.name
    if name not in _DEFAULT_SHOWN or (arr.size == 0 and name != "float32"):
        extras.append(f"dtype=ember.{name}")
    if arr.size == 0 and arr.ndim != 1:
        extras.insert(0, f"size={tuple(arr.shape)}")
    if t._grad_fn is not None:
        extras.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
