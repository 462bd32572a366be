"""``ember export``: write a model as a bundle and/or ONNX and check each against eager ember.

``add_arguments(parser)`` declares the flags, ``run(args)`` exports (exit status 0 when every
target is within tolerance, 1 when a target failed or is above tolerance, 2 for bad usage);
``main(argv)`` runs it standalone (``python -m ember.export``).

Example:
    >>> import argparse
    >>> from ember.export.cli import add_arguments, output_paths
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["pkg.models:make_net", "--to", "bundle", "--to", "onnx",
    ...                           "-o", "out", "--input-shape", "1,1,28,28"])
    >>> args.input_shape, {k: str(v) for k, v in output_paths(args.to, args.output).items()}
    ([(1, 1, 28, 28)], {'bundle': 'out/model_bundle', 'onnx': 'out/model.onnx'})
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .compare import DEFAULT_ATOL, DEFAULT_RTOL
from .source import parse_shape
from .targets import TARGETS

__all__ = ["add_arguments", "run", "main", "output_paths"]

HELP = "write a model as a bundle and/or ONNX file and check each against eager ember"
_DTYPES = ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``ember export`` flags on ``parser``."""
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="a bundle directory, or module:factory (an import path and a callable returning "
        "an nn.Module, e.g. mypkg.models:make_net)",
    )
    parser.add_argument(
        "--to",
        action="append",
        choices=TARGETS,
        required=True,
        help="target format; repeat for several (--to bundle --to onnx)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="with one target, the bundle directory or .onnx file to write (default "
        "./model_bundle or ./model.onnx); with several, the folder that receives "
        "model_bundle/ and model.onnx (default .)",
    )
    model = parser.add_argument_group("module:factory sources")
    model.add_argument("--weights", metavar="FILE", help="state_dict to load (ember.save)")
    model.add_argument(
        "--input-shape",
        action="append",
        type=_shape,
        metavar="SHAPE",
        help="shape of the example input used for tracing, e.g. 1,1,28,28; once per input",
    )
    model.add_argument(
        "--input-dtype",
        action="append",
        choices=_DTYPES,
        metavar="DTYPE",
        help="dtype of each input (default float32; one value applies to every input)",
    )
    model.add_argument(
        "--input-name", action="append", metavar="NAME", help="input names, once per input"
    )
    model.add_argument(
        "--output-name", action="append", metavar="NAME", help="output names, once per output"
    )
    model.add_argument(
        "--static-batch",
        action="store_true",
        help="fix the batch size to the example's (default: axis 0 of every input is dynamic)",
    )
    model.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a string stored in the bundle's metadata.json (user section); repeatable",
    )
    check = parser.add_argument_group("checking against eager ember")
    check.add_argument(
        "--example-shape",
        action="append",
        type=_shape,
        metavar="SHAPE",
        help="shape of the random check inputs, once per input (default: the input shape, "
        "with batch size 3 on a dynamic batch axis)",
    )
    check.add_argument("--seed", type=int, default=0, help="seed of the check inputs (0)")
    check.add_argument(
        "--int-range",
        default="0,2",
        metavar="LOW,HIGH",
        help="integer check inputs are drawn from [LOW, HIGH) (default 0,2)",
    )
    check.add_argument(
        "--rtol",
        type=float,
        default=DEFAULT_RTOL,
        help=f"relative tolerance: max|err| <= atol + rtol * max|eager| ({DEFAULT_RTOL:g})",
    )
    check.add_argument(
        "--atol", type=float, default=DEFAULT_ATOL, help=f"absolute tolerance ({DEFAULT_ATOL:g})"
    )
    check.add_argument("--opset", type=int, help="ONNX opset version (exporter default)")


def _shape(text: str) -> tuple[int, ...]:
    try:
        return parse_shape(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def output_paths(targets: list[str], output: str | None) -> dict[str, Path]:
    """Where each target goes (see ``-o``)."""
    targets = list(dict.fromkeys(targets))
    names = {"bundle": "model_bundle", "onnx": "model.onnx"}
    if len(targets) == 1 and output is not None:
        return {targets[0]: Path(output)}
    folder = Path(output) if output is not None else Path(".")
    return {t: folder / names[t] for t in targets}


class _UsageError(ValueError):
    pass


def run(args: argparse.Namespace) -> int:
    """Export and check; prints one line per target. Returns the exit status."""
    try:
        results = _export(args)
    except _UsageError as exc:
        print(f"ember export: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the source could not be loaded or traced
        print(f"ember export: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    from .targets import format_results

    print(format_results(results))
    failed = [r for r in results if not r.ok]
    for r in failed:
        why = r.error or (r.comparison.detail if r.comparison else "")
        if not r.error:
            why += f" [tolerance rtol={args.rtol:g}, atol={args.atol:g}]"
        print(f"ember export: FAILED: {r.target} ({r.path}): {why}", file=sys.stderr)
    return 1 if failed else 0


def _export(args: argparse.Namespace):
    from .targets import export_bundle, export_module

    paths = output_paths(args.to, args.output)
    common = {
        "sample_shapes": args.example_shape,
        "seed": args.seed,
        "int_range": _int_range(args.int_range),
        "rtol": args.rtol,
        "atol": args.atol,
        "opset_version": args.opset,
        "metadata": _metadata(args.metadata),
    }
    if Path(args.source).is_dir():
        from .load import load_bundle

        model_only = ("weights", "input_shape", "input_dtype", "input_name", "output_name")
        given = [f for f in (*model_only, "static_batch") if getattr(args, f)]
        if given:
            flags = ", ".join("--" + f.replace("_", "-") for f in given)
            raise _UsageError(f"{flags}: only for module:factory sources, SOURCE is a bundle")
        return export_bundle(load_bundle(args.source), paths, **common)
    from .source import load_factory, load_weights, split_factory

    try:
        split_factory(args.source)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    if not args.input_shape:
        raise _UsageError("--input-shape is required for a module:factory source")
    model = load_factory(args.source)
    if args.weights:
        load_weights(model, args.weights)
    example = _example_inputs(args.input_shape, args.input_dtype, common["int_range"])
    return export_module(
        model,
        example,
        paths,
        input_names=args.input_name,
        output_names=args.output_name,
        dynamic_batch=not args.static_batch,
        **common,
    )


def _example_inputs(shapes: list[tuple], dtypes: list[str] | None, int_range) -> tuple:
    """Random example inputs for tracing (their values do not matter, only shapes/dtypes)."""
    import numpy as np

    dtypes = dtypes or ["float32"]
    if len(dtypes) == 1:
        dtypes = dtypes * len(shapes)
    if len(dtypes) != len(shapes):
        raise _UsageError(f"{len(dtypes)} --input-dtype values for {len(shapes)} --input-shape")
    rng = np.random.default_rng(1234)
    out = []
    for shape, dtype in zip(shapes, dtypes):
        kind = np.dtype(dtype).kind
        if kind == "f":
            out.append(rng.standard_normal(shape).astype(dtype))
        elif kind in "iu":
            out.append(rng.integers(max(int_range[0], 0), int_range[1], shape).astype(dtype))
        else:
            out.append(rng.random(shape) < 0.5)
    return tuple(out)


def _int_range(text: str) -> tuple[int, int]:
    try:
        low, high = (int(p) for p in text.split(","))
    except ValueError:
        raise _UsageError(f"--int-range {text!r}: expected LOW,HIGH like 0,10") from None
    if high <= low:
        raise _UsageError(f"--int-range {text!r}: HIGH must be greater than LOW")
    return low, high


def _metadata(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _UsageError(f"--metadata {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    """Run ``ember export`` on ``argv`` (``python -m ember.export ...``)."""
    parser = argparse.ArgumentParser(prog="ember export", description=HELP)
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return run(args)
