"""Compare an exported model's outputs with the reference (eager ember) outputs.

For each output, the absolute error is ``max |got - want|`` and the relative error is that
divided by ``max |want|`` (the size of the output), so values near zero do not inflate it.
An output passes when ``max |got - want| <= atol + rtol * max |want|``; integer and bool
outputs must match exactly. NaNs match NaNs at the same positions; a shape or name mismatch
is an infinite error.

Example:
    >>> import numpy as np
    >>> from ember.export.compare import compare_outputs
    >>> want = {"y": np.array([1.0, -2.0, 4.0], np.float32)}
    >>> c = compare_outputs({"y": want["y"] + np.float32(2e-5)}, want, rtol=1e-5)
    >>> f"{c.max_abs:.1e} {c.max_rel:.1e}", c.ok
    ('2.0e-05 5.0e-06', True)
    >>> compare_outputs({"y": want["y"] * 1.001}, want, rtol=1e-5).ok
    False
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Comparison", "compare_outputs", "DEFAULT_RTOL", "DEFAULT_ATOL"]

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 0.0


@dataclass
class Comparison:
    """The worst errors over all outputs, and whether every output is within tolerance."""

    max_abs: float
    max_rel: float
    ok: bool
    worst_output: str | None = None
    detail: str = ""


def compare_outputs(
    got: dict[str, np.ndarray],
    want: dict[str, np.ndarray],
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> Comparison:
    """Compare ``got`` with ``want`` output by output (see the module docstring)."""
    if rtol < 0 or atol < 0:
        raise ValueError(f"tolerances must be >= 0, got rtol={rtol}, atol={atol}")
    if set(got) != set(want):
        return Comparison(
            math.inf,
            math.inf,
            False,
            None,
            f"outputs differ: got {sorted(got)}, expected {sorted(want)}",
        )
    worst = Comparison(0.0, 0.0, True)
    for name in want:
        g, w = np.asarray(got[name]), np.asarray(want[name])
        if g.shape != w.shape:
            return Comparison(
                math.inf,
                math.inf,
                False,
                name,
                f"output {name!r} has shape {g.shape}, expected {w.shape}",
            )
        abs_err, scale = _abs_error(g, w)
        exact = w.dtype.kind in "biu"
        rel_err = abs_err / scale if scale > 0 else (0.0 if abs_err == 0 else math.inf)
        ok = abs_err == 0 if exact else abs_err <= atol + rtol * scale
        if abs_err > worst.max_abs or (not ok and worst.ok):
            worst.worst_output = name
        worst.max_abs = max(worst.max_abs, abs_err)
        worst.max_rel = max(worst.max_rel, rel_err)
        if not ok and worst.ok:
            worst.ok = False
            worst.detail = f"output {name!r}: max abs err {abs_err:.3e} > " + (
                "0 (integer output)" if exact else f"atol {atol:g} + rtol {rtol:g} * {scale:.3e}"
            )
    return worst


def _abs_error(g: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """``(max |g - w|, max |w|)`` in float64, NaN-aware; an empty output has no error."""
    if w.size == 0:
        return 0.0, 0.0
    g64 = g.astype(np.float64)
    w64 = w.astype(np.float64)
    same = (g64 == w64) | (np.isnan(g64) & np.isnan(w64))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(g64 - w64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    finite = np.abs(w64[np.isfinite(w64)])
    return float(diff.max()), float(finite.max()) if finite.size else 0.0
