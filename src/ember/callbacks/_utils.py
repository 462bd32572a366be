"""Helpers shared by the callbacks: monitored-quantity comparisons and log formatting."""

from __future__ import annotations

import math
import warnings

_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "iou", "r2", "top_k")


def resolve_mode(monitor: str, mode: str, owner: str) -> str:
    """``"min"`` or ``"max"`` for ``mode``; ``"auto"`` guesses from the monitored name."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner}: mode {mode!r} is unknown, falling back to 'auto'", stacklevel=3)
        mode = "auto"
    if mode != "auto":
        return mode
    name = monitor.lower()
    if name.startswith("val_"):
        name = name[4:]
    if "loss" in name or "error" in name:
        return "min"
    return "max" if any(w in name for w in _MAX_WORDS) else "min"


def is_better(value: float, best: float, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` improves on ``best`` by more than ``min_delta`` in ``mode``."""
    if mode == "min":
        return value < best - min_delta
    return value > best + min_delta


def initial_best(mode: str) -> float:
    return math.inf if mode == "min" else -math.inf


def format_value(value) -> str:
    """A log value the way Keras prints it (4 decimals, scientific when tiny)."""
    if isinstance(value, float):
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.4e}"
        return f"{value:.4f}"
    return str(value)


def format_logs(logs: dict | None) -> str:
    """``"loss: 0.1234 - accuracy: 0.9500"`` for a logs dict."""
    return " - ".join(f"{k}: {format_value(v)}" for k, v in (logs or {}).items())
