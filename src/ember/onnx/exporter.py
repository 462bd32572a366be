"""``ember.onnx.export``: write a module (or function) as an ONNX model, PyTorch's call shape.

The call is traced into ember's IR (:func:`ember.compiler.dynamic.capture`), every primitive is
lowered by its ONNX lowering (:mod:`ember.onnx.export_ops`), the model is checked with
``onnx.checker.check_model(full_check=True)`` and written atomically. Parameters and buffers
become initializers named by their ``state_dict`` names. ``dynamic_axes`` marks axis 0 (the
batch axis) of inputs and outputs as symbolic: the call is then traced at two batch sizes and
every batch-dependent size (reshape targets, slices, zero initial states) is computed from the
input's shape at run time. The module is exported in eval mode by default (``training=``
chooses, as ``torch.onnx.TrainingMode``) and put back in its own mode afterwards.

Example:
    >>> import io, onnx, ember, ember.nn as nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> buffer = io.BytesIO()
    >>> proto = export(model, (ember.randn(3, 4),), buffer, input_names=["x"],
    ...                output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    >>> [n.op_type for n in proto.graph.node]
    ['Gemm', 'Relu', 'Gemm']
    >>> onnx.load_from_string(buffer.getvalue()).graph.input[0].type.tensor_type.shape
    dim {
      dim_param: "batch"
    }
    dim {
      dim_value: 4
    }
    <BLANKLINE>
"""

from __future__ import annotations

import enum
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .export_ops.errors import OnnxExportError, UnsupportedOperatorError

__all__ = [
    "export",
    "TrainingMode",
    "OnnxExportError",
    "UnsupportedOperatorError",
    "DEFAULT_OPSET",
    "MIN_OPSET",
    "max_opset",
]

DEFAULT_OPSET = 17
MIN_OPSET = 13
_PROTOBUF_LIMIT = 2**31


class TrainingMode(enum.Enum):
    """Which mode the module is exported in (as ``torch.onnx.TrainingMode``)."""

    EVAL = "eval"
    PRESERVE = "preserve"
    TRAINING = "training"


def max_opset() -> int:
    """The newest ai.onnx opset the installed ``onnx`` package knows."""
    import onnx

    return onnx.defs.onnx_opset_version()


def export(
    module,
    args,
    f,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_axes: Mapping[str, Any] | None = None,
    opset_version: int = DEFAULT_OPSET,
    *,
    training: TrainingMode = TrainingMode.EVAL,
):
    """Export ``module(*args)`` to the ONNX file ``f``; returns the ``onnx.ModelProto``.

    ``args`` is a tensor or a tuple of tensors (a trailing dict is passed as keyword
    arguments). ``f`` is a path or a binary file object. ``input_names``/``output_names`` name
    the flattened tensor inputs and outputs (default ``input_0``..., ``output_0``...).
    ``dynamic_axes`` maps those names to ``{axis: "name"}`` or ``[axis]``: an input can only
    have axis 0 dynamic (then every tensor argument's axis 0 is the batch axis); an output
    axis may be any axis whose size depends on the batch (the entry names it). Without
    ``dynamic_axes`` every size is fixed. ``opset_version`` (default 17) ranges from 13 to the
    installed onnx's newest opset; ``training`` picks the mode to trace in (default eval).
    """
    import onnx

    from ..compiler.dynamic import capture
    from ..compiler.tracer import flatten
    from .export_ops.convert import graph_to_onnx

    opset = _check_opset(opset_version)
    training = _training_mode(training)
    call_args, call_kwargs = _split_args(args)
    leaves: list = []
    flatten((call_args, call_kwargs), leaves)
    input_names = _names(input_names, len(leaves), "input")
    dims, dynamic = _parse_dynamic_axes(dynamic_axes, input_names)
    target = getattr(module, "_orig_mod", module)  # an ember.compile'd module: its original
    params = _named_tensors(target)
    with _ExportMode(target, training):
        captured = capture(target, call_args, call_kwargs, params=params, dynamic_batch=dynamic)
    graph = captured.graph
    if not graph.outputs:
        raise OnnxExportError("ember.onnx.export: the call returned no tensors to export")
    output_names = _names(output_names, len(graph.outputs), "output")
    _check_output_axes(dims, graph, input_names, output_names)
    if graph.mutations:
        names = sorted({graph.values[t].name for t, _ in graph.mutations})
        warnings.warn(
            f"ember.onnx.export: the call updates {', '.join(names)} in place (BatchNorm running "
            "statistics in training mode?); the ONNX model computes the outputs only",
            stacklevel=2,
        )
    arrays = {name: np.asarray(t._data) for name, t in captured.live.items()}
    model = graph_to_onnx(
        graph,
        arrays,
        opset=opset,
        input_names=input_names,
        output_names=output_names,
        dim_names=dims,
        batch_name=_batch_name(dims, input_names),
        model_name=type(target).__name__,
    )
    if model.ByteSize() >= _PROTOBUF_LIMIT:
        raise OnnxExportError(
            f"ember.onnx.export: the model takes {model.ByteSize() / 2**30:.1f} GiB, over "
            "protobuf's 2 GiB limit (ONNX external data is not supported yet)"
        )
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise OnnxExportError(
            f"ember.onnx.export: the exported model fails onnx.checker (an exporter bug): {exc}"
        ) from exc
    _write(model.SerializeToString(), f)
    return model


# -- arguments ----------------------------------------------------------------------------------
def _check_opset(opset_version) -> int:
    newest = max_opset()
    opset = DEFAULT_OPSET if opset_version is None else opset_version
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"ember.onnx.export: opset_version must be an int, got {opset!r}")
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"ember.onnx.export: opset_version {opset} is not supported; choose from "
            f"{MIN_OPSET} to {newest} (the newest opset of the installed onnx package)"
        )
    return int(opset)


def _training_mode(mode) -> TrainingMode:
    if isinstance(mode, TrainingMode):
        return mode
    if isinstance(mode, bool):
        return TrainingMode.TRAINING if mode else TrainingMode.EVAL
    raise TypeError(f"ember.onnx.export: training must be a TrainingMode, got {mode!r}")


def _split_args(args) -> tuple[tuple, dict]:
    from ..tensor import Tensor

    if isinstance(args, (Tensor, np.ndarray)):
        args = (args,)
    if not isinstance(args, (tuple, list)):
        raise TypeError(
            "ember.onnx.export: args must be a tensor or a tuple of tensors, got "
            f"{type(args).__name__}"
        )
    args = list(args)
    kwargs = args.pop() if args and isinstance(args[-1], dict) else {}
    return tuple(_as_tensor(a) for a in args), {k: _as_tensor(v) for k, v in kwargs.items()}


def _as_tensor(value):
    from .. import from_numpy

    return from_numpy(value) if isinstance(value, np.ndarray) else value


def _names(names, count: int, kind: str) -> list[str]:
    if names is None:
        return [f"{kind}_{k}" for k in range(count)]
    names = list(names)
    if len(names) != count or any(not isinstance(n, str) or not n for n in names):
        raise ValueError(
            f"ember.onnx.export: {kind}_names must be {count} non-empty strings (one per "
            f"{kind} tensor), got {names!r}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"ember.onnx.export: {kind}_names repeats a name: {names!r}")
    return names


def _parse_dynamic_axes(dynamic_axes, input_names):
    """``{(tensor name, axis): dim name}`` and whether the batch axis is dynamic."""
    if dynamic_axes is None:
        return {}, False
    if not isinstance(dynamic_axes, Mapping):
        raise TypeError(
            f"ember.onnx.export: dynamic_axes must be a dict, got {type(dynamic_axes).__name__}"
        )
    dims: dict = {}
    dynamic = False
    for tensor, axes in dynamic_axes.items():  # output names are checked after tracing
        if isinstance(axes, Mapping):
            pairs = list(axes.items())
        elif isinstance(axes, (list, tuple)):
            pairs = [(a, None) for a in axes]
        else:
            raise TypeError(
                f"ember.onnx.export: dynamic_axes[{tensor!r}] must be a dict {{axis: name}} or a "
                f"list of axes, got {axes!r}"
            )
        for axis, name in pairs:
            if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
                raise TypeError(f"ember.onnx.export: dynamic_axes[{tensor!r}]: bad axis {axis!r}")
            is_input = tensor in input_names
            if is_input and axis != 0:
                raise NotImplementedError(
                    f"ember.onnx.export: dynamic axis {axis} of {tensor!r}: only axis 0 (the batch "
                    "axis) of an input can be dynamic; other sizes are fixed at export"
                )
            if axis < 0:
                raise ValueError(f"ember.onnx.export: dynamic_axes[{tensor!r}]: negative axis")
            if name is not None and (not isinstance(name, str) or not name):
                raise TypeError(f"ember.onnx.export: dynamic_axes[{tensor!r}]: bad name {name!r}")
            dims[(tensor, int(axis))] = name or f"{tensor}_dynamic_axes_{int(axis) + 1}"
            dynamic = dynamic or is_input
    if dims and not dynamic:
        raise ValueError(
            "ember.onnx.export: dynamic_axes marks only outputs; mark the batch axis of an input"
        )
    return dims, dynamic


def _batch_name(dims, input_names) -> str:
    for name in input_names:
        if (name, 0) in dims:
            return dims[(name, 0)]
    return "batch"


def _check_output_axes(dims, graph, input_names, output_names) -> None:
    from ..ir.symbolic import SymInt

    for (tensor, axis), _name in dims.items():
        if tensor not in input_names and tensor not in output_names:
            raise ValueError(
                f"ember.onnx.export: dynamic_axes names {tensor!r}, which is not an input or "
                f"output name (inputs {list(input_names)}, outputs {list(output_names)})"
            )
        if tensor in output_names:
            vid = graph.outputs[output_names.index(tensor)]
            shape = graph.values[vid].shape
            if len(shape) <= axis or not isinstance(shape[axis], SymInt):
                raise ValueError(
                    f"ember.onnx.export: dynamic_axes marks axis {axis} of output {tensor!r}, "
                    f"but its size does not depend on the batch size (shape {tuple(shape)})"
                )


def _named_tensors(module) -> dict:
    params = {}
    if hasattr(module, "named_parameters"):
        params.update(dict(module.named_parameters()))
    if hasattr(module, "named_buffers"):
        params.update(dict(module.named_buffers()))
    return params


class _ExportMode:
    """Put ``module`` (and its children) in the export mode; restore each one's own after."""

    def __init__(self, module, training: TrainingMode):
        self.module = module
        self.training = training
        self.saved: list = []

    def __enter__(self):
        if not hasattr(self.module, "modules") or self.training is TrainingMode.PRESERVE:
            return self
        self.saved = [(m, m.training) for m in self.module.modules()]
        self.module.train(self.training is TrainingMode.TRAINING)
        return self

    def __exit__(self, *exc):
        for m, flag in self.saved:
            m.training = flag
        return False


# -- writing ------------------------------------------------------------------------------------
def _write(data: bytes, f) -> None:
    if hasattr(f, "write"):
        try:
            f.write(data)
        except (OSError, TypeError, ValueError) as exc:
            raise OSError(f"ember.onnx.export: cannot write to {f!r}: {exc}") from exc
        return
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"ember.onnx.export: f must be a path or a binary file, got {f!r}")
    from ..serialization import _atomic_write

    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"ember.onnx.export: cannot write {path!r}: no folder {folder!r}")
    try:
        _atomic_write(path, data)
    except OSError as exc:
        raise OSError(f"ember.onnx.export: cannot write {path!r}: {exc.strerror or exc}") from exc
