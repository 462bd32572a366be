"""What ``ember.onnx`` imports: the per-op support table and the ONNX node-suite figures.

``python -m ember.onnx.support_table`` runs the backend node test suite that the installed
``onnx`` ships (``onnx/backend/test/data/node``) through :mod:`ember.onnx.backend` and prints
the pass count and a Markdown table with one row per ``ai.onnx`` op: how ember runs it (an
ember handler, or the op's function body from the ONNX spec) and how many suite cases using it
pass. ``docs/onnx.md`` holds its output; ``tests/onnx/test_onnx_node_suite.py`` uses the same
case list and comparison.

A case counts (the denominator) when all its nodes are in the ``ai.onnx`` domain and none of
its graph inputs or outputs holds strings or complex numbers.

Example:
    >>> from ember.onnx.support_table import op_support
    >>> op_support()["Conv"]
    'ember'
    >>> op_support()["Mish"]
    'ember'
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "SuiteCase",
    "TOLERANCES",
    "suite_cases",
    "load_case",
    "run_case",
    "run_suite",
    "op_support",
    "markdown_report",
    "update_markdown",
    "main",
]

_EXCLUDED_ELEM_TYPES = {8: "string tensors", 14: "complex tensors", 15: "complex tensors"}

# Cases whose stored outputs need a looser tolerance than onnx's (rtol 1e-3, atol 1e-7):
# name -> (rtol, atol, why).
TOLERANCES = {
    name: (
        1e-3,
        1e-6,
        "the expected data holds float32 FFT round-off (~2e-7) where the exact value is 0",
    )
    for name in ("test_dft_inverse", "test_dft_inverse_opset19")
}


@dataclass(frozen=True)
class SuiteCase:
    """One directory of the node suite and whether it is in the denominator."""

    name: str
    model_dir: str
    rtol: float
    atol: float
    excluded: str  # why the case is outside the denominator ("" when it counts)
    ops: tuple[str, ...]

    @property
    def counted(self) -> bool:
        return not self.excluded


def _elem_types(type_proto) -> Iterable[int]:
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        yield type_proto.tensor_type.elem_type
    elif kind == "sequence_type":
        yield from _elem_types(type_proto.sequence_type.elem_type)
    elif kind == "optional_type":
        yield from _elem_types(type_proto.optional_type.elem_type)


def _classify(model) -> str:
    domains = {n.domain for n in model.graph.node} - {"", "ai.onnx"}
    if domains:
        return f"domain {sorted(domains)[0]}"
    for vi in list(model.graph.input) + list(model.graph.output):
        for elem in _elem_types(vi.type):
            if elem in _EXCLUDED_ELEM_TYPES:
                return _EXCLUDED_ELEM_TYPES[elem]
    return ""


def suite_cases() -> list[SuiteCase]:
    """Every case of the installed onnx's node suite, sorted by name."""
    import onnx
    from onnx.backend.test.loader import load_model_tests

    cases = []
    for test in load_model_tests(kind="node"):
        model = onnx.load(os.path.join(test.model_dir, "model.onnx"), load_external_data=False)
        ops = tuple(sorted({n.op_type for n in model.graph.node}))
        cases.append(
            SuiteCase(test.name, test.model_dir, test.rtol, test.atol, _classify(model), ops)
        )
    return sorted(cases, key=lambda c: c.name)


def _read_value(path: str, type_proto):
    import onnx
    from onnx import numpy_helper

    with open(path, "rb") as f:
        data = f.read()
    kind = type_proto.WhichOneof("value")
    if kind == "sequence_type":
        proto = onnx.SequenceProto()
        proto.ParseFromString(data)
        return numpy_helper.to_list(proto)
    if kind == "optional_type":
        proto = onnx.OptionalProto()
        proto.ParseFromString(data)
        return numpy_helper.to_optional(proto)
    proto = onnx.TensorProto()
    proto.ParseFromString(data)
    return numpy_helper.to_array(proto)


def load_case(case: SuiteCase):
    """The model and its ``[(inputs, expected outputs), ...]`` data sets."""
    import onnx

    model = onnx.load(os.path.join(case.model_dir, "model.onnx"))
    sets = []
    for entry in sorted(os.listdir(case.model_dir)):
        if not entry.startswith("test_data_set"):
            continue
        folder = os.path.join(case.model_dir, entry)
        files = os.listdir(folder)
        count_in = sum(f.startswith("input_") for f in files)
        count_out = sum(f.startswith("output_") for f in files)
        inputs = [
            _read_value(os.path.join(folder, f"input_{i}.pb"), model.graph.input[i].type)
            for i in range(count_in)
        ]
        outputs = [
            _read_value(os.path.join(folder, f"output_{i}.pb"), model.graph.output[i].type)
            for i in range(count_out)
        ]
        sets.append((inputs, outputs))
    return model, sets


def _compare(expected, actual, rtol: float, atol: float, where: str) -> None:
    import numpy as np

    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            raise AssertionError(f"{where}: expected a sequence of {len(expected)} tensors")
        for i, (e, a) in enumerate(zip(expected, actual)):
            _compare(e, a, rtol, atol, f"{where}[{i}]")
        return
    if expected is None:
        if actual is not None:
            raise AssertionError(f"{where}: expected an empty optional")
        return
    if not isinstance(actual, np.ndarray):
        raise AssertionError(f"{where}: expected an array, got {type(actual).__name__}")
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        raise AssertionError(
            f"{where}: got {actual.dtype}{list(actual.shape)}, expected "
            f"{expected.dtype}{list(expected.shape)}"
        )
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=where)


def run_case(case: SuiteCase, rtol: float | None = None, atol: float | None = None) -> None:
    """Run one case through ``ember.onnx.backend``; raises if an output differs.

    Random ops draw from ember's default generator seeded with 0 (its state is restored
    afterwards), so every run of a case gives the same result."""
    import numpy as np

    from .. import random as ember_random
    from . import backend

    model, sets = load_case(case)
    rep = backend.prepare(model)
    for k, (inputs, expected) in enumerate(sets):
        with np.errstate(all="ignore"), ember_random.fork_rng():
            ember_random.manual_seed(0)
            actual = rep.run(inputs)  # the suite feeds inf, nan and log(0) on purpose
        if len(actual) != len(expected):
            raise AssertionError(f"data set {k}: {len(actual)} outputs, expected {len(expected)}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            _compare(
                e,
                a,
                case.rtol if rtol is None else rtol,
                case.atol if atol is None else atol,
                f"data set {k} output {i}",
            )


def run_suite(cases: list[SuiteCase], tolerances: dict | None = None) -> dict[str, str]:
    """``{case name: ""}`` for passing counted cases, else the first line of the failure."""
    import warnings

    results = {}
    for case in cases:
        if not case.counted:
            continue
        rtol, atol = (tolerances or {}).get(case.name, (None, None))[:2]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_case(case, rtol, atol)
            results[case.name] = ""
        except Exception as e:  # noqa: BLE001 - every failure is a result to report
            lines = str(e).strip().splitlines()
            results[case.name] = f"{type(e).__name__}: {lines[0] if lines else ''}"
    return results


def op_support() -> dict[str, str]:
    """Each current ``ai.onnx`` op -> ``"ember"`` (a handler), ``"function"`` (its ONNX function
    body runs on ember handlers) or ``"no"``."""
    import onnx.defs

    from .import_ops import find_handler

    out = {}
    for schema in onnx.defs.get_all_schemas():
        if schema.domain not in ("", "ai.onnx"):
            continue
        latest = onnx.defs.onnx_opset_version()
        if find_handler(schema.name, latest) is not None:
            out[schema.name] = "ember"
        elif schema.has_function or schema.has_context_dependent_function:
            out[schema.name] = "function"
        else:
            out[schema.name] = "no"
    return dict(sorted(out.items()))


_SUPPORT_TEXT = {
    "ember": "yes",
    "function": "yes (ONNX function body)",
    "no": "no",
}


def markdown_report(cases: list[SuiteCase], results: dict[str, str]) -> str:
    """The pass-count summary and the per-op table, as Markdown."""
    import onnx

    counted = [c for c in cases if c.counted]
    passed = sum(1 for c in counted if results.get(c.name) == "")
    lines = [
        f"Node suite of onnx {onnx.__version__}: **{passed} / {len(counted)}** counted cases pass "
        f"({100 * passed / max(len(counted), 1):.1f}%); {len(cases)} cases in total, "
        f"{len(cases) - len(counted)} outside the denominator (measured {datetime.date.today()}).",
        "",
        "| op | imported | node-suite cases passing |",
        "| --- | --- | --- |",
    ]
    per_op: dict[str, list[int]] = {}
    for case in counted:
        for op in case.ops:
            tally = per_op.setdefault(op, [0, 0])
            tally[1] += 1
            tally[0] += results.get(case.name) == ""
    for op, how in op_support().items():
        ok, total = per_op.get(op, (0, 0))
        figure = f"{ok} / {total}" if total else "-"
        lines.append(f"| {op} | {_SUPPORT_TEXT[how]} | {figure} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ember.onnx.support_table",
        description="Run the ONNX node test suite through ember and print the support table.",
    )
    parser.add_argument("--failures", action="store_true", help="also list failing cases")
    parser.add_argument(
        "--update",
        metavar="MARKDOWN",
        help="replace the text between the support-table markers of this file (docs/onnx.md)",
    )
    args = parser.parse_args(argv)
    cases = suite_cases()
    results = run_suite(cases, TOLERANCES)
    report = markdown_report(cases, results)
    if args.update:
        update_markdown(args.update, report)
        print(f"updated {args.update}")
    else:
        print(report)
    if args.failures:
        for name, error in sorted(results.items()):
            if error:
                print(f"{name}  # {error[:160]}")
    return 0


START_MARKER = "<!-- support-table:start (python -m ember.onnx.support_table --update) -->"
END_MARKER = "<!-- support-table:end -->"


def update_markdown(path: str, report: str) -> None:
    """Replace what lies between the markers in ``path`` with ``report`` (atomic write)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"{path}: no {START_MARKER!r} ... {END_MARKER!r} section to update")
    head = text[: start + len(START_MARKER)]
    new = f"{head}\n{report}{text[end:]}"
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(new)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
