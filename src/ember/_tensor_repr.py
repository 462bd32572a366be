"""PyTorch-style printing of tensors: ``tensor([1.0000, 2.5000], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

_DEFAULT_SHOWN = {"float32", "int64", "bool"}


def _float_formatter(arr: np.ndarray):
    """PyTorch's choice: integral values as ``1.``, else 4 decimals, else scientific."""
    finite = arr[np.isfinite(arr)] if arr.size else arr
    if finite.size == 0:
        fmt = str
    elif np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e8:
        fmt = "{:.0f}.".format
    else:
        nonzero = np.abs(finite[finite != 0])
        big = nonzero.max(initial=0.0)
        small = nonzero.min(initial=np.inf)
        sci = big >= 1e8 or small < 1e-4 or (small > 0 and big / small > 1e3 and big >= 1e4)
        fmt = "{:.4e}".format if sci else "{:.4f}".format
    candidates = [fmt(v) for v in (finite.min(), finite.max())] if finite.size else []
    candidates += [
        str(v)
        for v in (np.nan, np.inf, -np.inf)
        if np.any(np.isnan(arr) if np.isnan(v) else arr == v)
    ]
    width = max((len(c) for c in candidates), default=0)

    def format_one(v) -> str:
        text = fmt(v) if np.isfinite(v) else str(v)
        return text.rjust(width)

    return format_one


def format_data(arr: np.ndarray, prefix: str) -> str:
    formatter = None
    if arr.dtype.kind == "f" or arr.dtype.name == "bfloat16":
        arr = arr.astype(np.float64)
        formatter = {"float_kind": _float_formatter(arr)}
    elif arr.dtype.kind == "b":
        width = 5 if arr.size and not arr.all() else 4
        formatter = {"bool": lambda v: str(bool(v)).rjust(width)}
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
