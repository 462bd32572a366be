"""The ONNX target of ``ember export``: call ``ember.onnx.export`` and run the file in
onnxruntime.

:func:`dynamic_axes_for` turns a graph's batch-dependent sizes into PyTorch-style
``dynamic_axes`` (``{"x": {0: "batch"}}``); sizes that are another function of the batch
size (``2*N``) get their own axis name.

Example:
    >>> from ember.ir import Graph
    >>> from ember.ir.symbolic import SymInt
    >>> from ember.export.onnx_target import dynamic_axes_for
    >>> g = Graph()
    >>> x = g.add_input((SymInt(1, 0), 4), "float32")
    >>> (y,) = g.add_node("reshape", [x], {"shape": (SymInt(2, 0), 2)},
    ...                   [((SymInt(2, 0), 2), "float32")])
    >>> g.outputs = [y]
    >>> dynamic_axes_for(g, ["x"], ["y"])
    {'x': {0: 'batch'}, 'y': {0: 'batch_x2'}}
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "OnnxUnavailableError",
    "onnx_exporter",
    "dynamic_axes_for",
    "export_onnx",
    "run_onnxruntime",
]


class OnnxUnavailableError(RuntimeError):
    """``ember.onnx.export`` (or the ``onnx`` package it needs) cannot be imported."""


def onnx_exporter():
    """``ember.onnx.export``, or :class:`OnnxUnavailableError` saying why it is missing."""
    try:
        from ..onnx import export
    except ImportError:
        try:  # the exporter module, where the package does not re-export it (yet)
            from ..onnx.exporter import export
        except ImportError as exc:
            raise OnnxUnavailableError(
                f"ONNX export is not available: ember.onnx.export cannot be imported ({exc})"
            ) from None
    return export


def dynamic_axes_for(graph, input_names: list[str], output_names: list[str]) -> dict:
    """PyTorch-style ``dynamic_axes`` for the graph's batch-dependent input/output sizes."""
    from ..ir.symbolic import SymInt

    axes = {}
    for names, vids in ((input_names, graph.inputs), (output_names, graph.outputs)):
        for name, vid in zip(names, vids):
            dims = {
                axis: _axis_name(d)
                for axis, d in enumerate(graph.values[vid].shape)
                if isinstance(d, SymInt)
            }
            if dims:
                axes[name] = dims
    return axes


def _axis_name(d) -> str:
    name = "batch" if d.coef == 1 else f"batch_x{d.coef}"
    if d.offset:
        name += f"_{'plus' if d.offset > 0 else 'minus'}{abs(d.offset)}"
    return name


def export_onnx(
    module,
    args: tuple,
    path: str | os.PathLike,
    graph,
    input_names: list[str],
    output_names: list[str],
    opset_version: int | None = None,
) -> Path:
    """Write ``module`` as ONNX to ``path`` (atomically) with ``ember.onnx.export``."""
    export = onnx_exporter()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {
        "input_names": list(input_names),
        "output_names": list(output_names),
        "dynamic_axes": dynamic_axes_for(graph, input_names, output_names) or None,
    }
    if opset_version is not None:
        kwargs["opset_version"] = opset_version
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        export(module, tuple(args), tmp, **kwargs)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def run_onnxruntime(path: str | os.PathLike, inputs: dict[str, np.ndarray]):
    """Outputs by name from onnxruntime's CPU provider, or ``None`` if it is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        os.fspath(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, dict(inputs))))
