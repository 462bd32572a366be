"""Export a model to several targets and check each against a reference on sample inputs.

This is the code path of ``ember export`` and of ``ember quickstart``: :func:`export_module`
traces a module once, writes each target (``"bundle"``, ``"onnx"``), runs it on seeded
random inputs and compares with eager ember; :func:`export_bundle` does the same for an
existing bundle, which is then the reference. Each target gives a :class:`TargetResult`;
:func:`format_results` prints them as a table.

Example:
    >>> import os, tempfile
    >>> import ember
    >>> from ember.export.targets import export_module, format_results
    >>> out = tempfile.mkdtemp()
    >>> results = export_module(ember.nn.Linear(4, 2), (ember.ones(1, 4),),
    ...                         {"bundle": os.path.join(out, "model_bundle")})
    >>> print(format_results(results))  # doctest: +ELLIPSIS
    target  max abs err  max rel err  status  path
    bundle  0.000e+00    0.000e+00    ok      .../model_bundle
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .capture_model import as_example_tensors, capture_model, eval_mode, flat_outputs
from .compare import DEFAULT_ATOL, DEFAULT_RTOL, Comparison, compare_outputs
from .load import load_bundle
from .write import write_bundle

__all__ = [
    "TARGETS",
    "TargetResult",
    "sample_inputs",
    "export_module",
    "export_bundle",
    "format_results",
]

TARGETS = ("bundle", "onnx")
SAMPLE_BATCH = 3  # batch size of the check inputs for dynamic-batch models (traced at another)


@dataclass
class TargetResult:
    """What happened to one target: where it was written and how far it is from the reference.

    ``comparison`` is None when the target could not be checked (``note`` says why);
    ``error`` is set when the export itself failed.
    """

    target: str
    path: Path | None
    comparison: Comparison | None = None
    note: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and (self.comparison is None or self.comparison.ok)


def sample_inputs(
    specs: list,
    shapes: list[tuple] | None = None,
    seed: int = 0,
    int_range: tuple[int, int] = (0, 2),
) -> dict[str, np.ndarray]:
    """Seeded random arrays for ``specs`` (TensorSpecs); dynamic axes get size 3.

    Floats are standard normal, integers uniform in ``[low, high)``, bools fair coin flips.
    """
    rng = np.random.default_rng(seed)
    if shapes is not None and len(shapes) != len(specs):
        raise ValueError(f"{len(shapes)} sample shapes given for {len(specs)} inputs")
    out = {}
    for k, spec in enumerate(specs):
        shape = tuple(shapes[k]) if shapes is not None else _default_shape(spec.shape)
        _check_shape(spec, shape)
        dtype = np.dtype(spec.dtype)
        if dtype.kind == "f":
            arr = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind in "iu":
            low, high = int_range
            arr = rng.integers(max(low, 0) if dtype.kind == "u" else low, high, shape).astype(dtype)
        else:
            arr = rng.random(shape) < 0.5
        out[spec.name] = arr
    return out


def _default_shape(shape: tuple) -> tuple:
    return tuple(SAMPLE_BATCH if d is None else d for d in shape)


def _check_shape(spec, shape: tuple) -> None:
    if len(shape) != len(spec.shape) or any(
        d is not None and d != s for d, s in zip(spec.shape, shape)
    ):
        raise ValueError(
            f"sample shape {shape} does not fit input {spec.name!r} of shape {spec.shape_str()}"
        )


def export_module(
    module,
    example_inputs,
    outputs: dict[str, str | os.PathLike],
    *,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    dynamic_batch: bool = True,
    metadata: dict | None = None,
    sample_shapes: list[tuple] | None = None,
    seed: int = 0,
    int_range: tuple[int, int] = (0, 2),
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    opset_version: int | None = None,
) -> list[TargetResult]:
    """Write ``module`` to each ``outputs`` target (name -> path) and check it against eager."""
    _check_targets(outputs)
    args = as_example_tensors(example_inputs)
    with eval_mode(module):
        cm = capture_model(
            module,
            args,
            input_names=input_names,
            output_names=output_names,
            dynamic_batch=dynamic_batch,
        )
        samples = sample_inputs(cm.signature.inputs, sample_shapes, seed, int_range)
        reference = _eager(module, samples, cm.signature.output_names)
        results = []
        for target, path in outputs.items():
            if target == "bundle":
                result = _run_target(
                    target,
                    path,
                    lambda p: write_bundle(p, cm.graph, cm.weights, cm.signature, metadata),
                    lambda p: load_bundle(p)(**samples),
                )
            else:
                result = _onnx_target(
                    module, args, path, cm.graph, cm.signature, samples, opset_version
                )
            results.append(_judge(result, reference, rtol, atol))
    return results


def export_bundle(
    bundle,
    outputs: dict[str, str | os.PathLike],
    *,
    metadata: dict | None = None,
    sample_shapes: list[tuple] | None = None,
    seed: int = 0,
    int_range: tuple[int, int] = (0, 2),
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    opset_version: int | None = None,
) -> list[TargetResult]:
    """Write a loaded bundle to each target and check it against the bundle itself."""
    from .graph_module import GraphModule

    _check_targets(outputs)
    samples = sample_inputs(bundle.signature.inputs, sample_shapes, seed, int_range)
    reference = bundle(**samples)
    user = {**bundle.metadata.get("user", {}), **(metadata or {})}
    weights = {name: bundle.weights[name] for name in bundle.graph.params.values()}
    results = []
    for target, path in outputs.items():
        if target == "bundle":
            result = _run_target(
                target,
                path,
                lambda p: write_bundle(p, bundle.graph, weights, bundle.signature, user),
                lambda p: load_bundle(p)(**samples),
            )
        else:
            module = GraphModule(bundle.graph, bundle.weights)
            args = tuple(as_example_tensors(tuple(samples.values())))
            result = _onnx_target(
                module, args, path, bundle.graph, bundle.signature, samples, opset_version
            )
        results.append(_judge(result, reference, rtol, atol))
    return results


def _check_targets(outputs: dict) -> None:
    unknown = [t for t in outputs if t not in TARGETS]
    if unknown:
        raise ValueError(f"unknown export target(s) {unknown} (known: {', '.join(TARGETS)})")


def _eager(module, samples: dict, names: list[str]) -> dict[str, np.ndarray]:
    from ..autograd.grad_mode import no_grad

    args = as_example_tensors(tuple(samples.values()))
    with no_grad():
        leaves = flat_outputs(module(*args))
    return {name: np.array(t._data, copy=True) for name, t in zip(names, leaves)}


def _run_target(target: str, path, write, run) -> tuple:
    """``(TargetResult, outputs or None)``: write the target, then run it on the samples."""
    path = Path(path)
    try:
        write(path)
    except Exception as exc:
        return TargetResult(target, path, error=f"{type(exc).__name__}: {exc}"), None
    try:
        return TargetResult(target, path), run(path)
    except Exception as exc:
        msg = f"written, but running it failed: {type(exc).__name__}: {exc}"
        return TargetResult(target, path, error=msg), None


def _onnx_target(module, args, path, graph, signature, samples, opset_version) -> tuple:
    from .onnx_target import export_onnx, run_onnxruntime

    result, outs = _run_target(
        "onnx",
        path,
        lambda p: export_onnx(
            module, args, p, graph, signature.input_names, signature.output_names, opset_version
        ),
        lambda p: run_onnxruntime(p, samples),
    )
    if result.error == "" and outs is None:
        result.note = "not checked: onnxruntime is not installed (pip install onnxruntime)"
    elif result.error == "":
        import onnxruntime

        result.note = f"onnxruntime {onnxruntime.__version__}"
    return result, outs


def _judge(result_outs: tuple, reference: dict, rtol: float, atol: float) -> TargetResult:
    result, outs = result_outs
    if outs is not None:
        result.comparison = compare_outputs(outs, reference, rtol=rtol, atol=atol)
    return result


def format_results(results: list[TargetResult]) -> str:
    """One line per target: errors, status and path (``FAILED`` lines say why)."""
    lines = [f"{'target':<6}  {'max abs err':<11}  {'max rel err':<11}  {'status':<6}  path"]
    for r in results:
        c = r.comparison
        abs_err = f"{c.max_abs:.3e}" if c is not None else "-"
        rel_err = f"{c.max_rel:.3e}" if c is not None else "-"
        status = "ok" if r.ok else "FAILED"
        line = f"{r.target:<6}  {abs_err:<11}  {rel_err:<11}  {status:<6}  {r.path}"
        if r.note:
            line += f"  ({r.note})"
        lines.append(line)
        if r.error:
            lines.append(f"        error: {r.error}")
        elif c is not None and not c.ok:
            lines.append(f"        above tolerance: {c.detail}")
    return "\n".join(lines)
