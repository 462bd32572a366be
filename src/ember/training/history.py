"""Plotting a training history: :func:`plot_history` (used by ``History.plot``).

matplotlib is an optional extra (``pip install matplotlib``); it is imported only here,
with the non-interactive Agg canvas, so plotting works without a display and never
changes matplotlib's global backend.

Example:
    >>> import os, tempfile
    >>> from ember.training.history import plot_history
    >>> hist = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6]}
    >>> path = os.path.join(tempfile.mkdtemp(), "loss.png")
    >>> try:
    ...     ok = plot_history(hist, path) == path and open(path, "rb").read(4) == b"\\x89PNG"
    ... except ImportError:  # matplotlib not installed
    ...     ok = True
    >>> ok
    True
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from ..callbacks.history import History

__all__ = ["History", "plot_history", "metric_names"]


def metric_names(history: dict[str, list]) -> list[str]:
    """The base metric names of a history (``val_loss`` and ``loss`` give ``["loss"]``).

    Example:
        >>> from ember.training.history import metric_names
        >>> metric_names({"loss": [1], "accuracy": [0], "val_loss": [1], "learning_rate": [0.1]})
        ['loss', 'accuracy', 'learning_rate']
    """
    names: list[str] = []
    for key in history:
        base = key[4:] if key.startswith("val_") else key
        if base not in names:
            names.append(base)
    return names


def plot_history(
    history: dict[str, list] | History,
    path: str | os.PathLike,
    metrics: Sequence[str] | None = None,
    epochs: Sequence[int] | None = None,
    dpi: int = 100,
) -> str:
    """Write a PNG with one panel per metric: the training curve and its ``val_`` curve.

    Args:
        history: ``History.history`` (``{name: [value per epoch]}``) or a ``History``.
        path: the PNG file to write (parent directory must exist).
        metrics: base names to draw (default: every metric, ``loss`` first).
        epochs: the epoch numbers (0-based) of the entries; default ``0..n-1``.
        dpi: resolution of the image.

    Returns:
        ``str(path)``.

    Raises:
        ImportError: matplotlib is not installed.
    """
    if isinstance(history, History):
        epochs = epochs if epochs is not None else (history.epoch or None)
        history = history.history
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "History.plot needs matplotlib, an optional extra: pip install matplotlib"
        ) from e
    names = list(metrics) if metrics is not None else metric_names(history)
    names = [n for n in names if n in history or f"val_{n}" in history]
    if not names:
        raise ValueError("plot_history: the history holds no metrics to plot")
    cols = min(len(names), 2)
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(5.5 * cols, 3.6 * rows), dpi=dpi)
    FigureCanvasAgg(fig)
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        for key, label, style in ((name, "train", "-o"), (f"val_{name}", "validation", "--s")):
            values = history.get(key)
            if not values:
                continue
            xs = [e + 1 for e in epochs] if epochs is not None else range(1, len(values) + 1)
            xs = list(xs)[-len(values) :]
            ax.plot(xs, [float(v) for v in values], style, label=label, markersize=3)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.fspath(path), format="png")
    return str(path)
