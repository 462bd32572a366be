"""The ONNX backend node test suite shipped with onnx, run through ``ember.onnx.backend``.

Every counted case (all nodes in the ai.onnx domain, no string or complex tensors; see
``ember.onnx.support_table``) that is expected to pass is one test; the cases listed in
``node_suite_expected_failures.txt`` (with a reason each) are run by one test that checks they
still fail, so the list stays exact: a case that starts passing fails the suite until its line
is removed. Outputs are compared like onnx's own runner (rtol 1e-3, atol 1e-7, same
shape and dtype) except for the documented overrides in ``support_table.TOLERANCES``.
"""

import os
import re

import pytest

onnx = pytest.importorskip("onnx")

from ember.onnx.support_table import TOLERANCES, run_case, suite_cases  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FAILURES_FILE = os.path.join(HERE, "node_suite_expected_failures.txt")
DOCS = os.path.join(HERE, "..", "..", "docs", "onnx.md")

# The figures docs/onnx.md reports for onnx 1.22.0 (python -m ember.onnx.support_table).
RECORDED = {"total": 1765, "counted": 1717, "passed": 1524}
MIN_PASS_RATE = 0.80


def _expected_failures() -> dict[str, str]:
    out = {}
    with open(FAILURES_FILE, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, sep, reason = line.partition("#")
            assert sep and reason.strip(), f"{FAILURES_FILE}: no reason given in {line!r}"
            out[name.strip()] = reason.strip()
    return out


CASES = suite_cases()
COUNTED = [c for c in CASES if c.counted]
FAILURES = _expected_failures()


PASSING = [c for c in COUNTED if c.name not in FAILURES]


@pytest.mark.parametrize("case", PASSING, ids=[c.name for c in PASSING])
def test_node_case(case):
    rtol, atol, _ = TOLERANCES.get(case.name, (None, None, ""))
    run_case(case, rtol, atol)


def test_expected_failures_still_fail():
    now_passing = []
    for case in COUNTED:
        if case.name not in FAILURES:
            continue
        rtol, atol, _ = TOLERANCES.get(case.name, (None, None, ""))
        try:
            run_case(case, rtol, atol)
        except Exception:  # noqa: BLE001 - any failure is the expected one
            continue
        now_passing.append(case.name)
    assert not now_passing, (
        f"these cases pass now: delete them from {os.path.basename(FAILURES_FILE)} and update "
        f"docs/onnx.md (python -m ember.onnx.support_table): {now_passing}"
    )


def test_expected_failures_name_counted_cases():
    names = {c.name for c in COUNTED}
    unknown = sorted(set(FAILURES) - names)
    assert not unknown, f"expected failures that are not counted node-suite cases: {unknown}"


def test_pass_count_meets_the_recorded_figure():
    # test_node_case proves every counted case outside the failure list passes and
    # test_expected_failures_still_fail that every case on it fails: this is the exact count.
    passed = len(COUNTED) - len(FAILURES)
    assert len(CASES) == RECORDED["total"], "the installed onnx ships a different node suite"
    assert len(COUNTED) == RECORDED["counted"]
    assert passed >= RECORDED["passed"], f"{passed} cases pass, {RECORDED['passed']} recorded"
    assert passed / len(COUNTED) >= MIN_PASS_RATE


def test_docs_report_the_current_figure():
    passed = len(COUNTED) - len(FAILURES)
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    figures = re.findall(r"\*\*(\d+) / (\d+)\*\* counted cases pass", text)
    assert figures == [(str(passed), str(len(COUNTED)))], (
        f"docs/onnx.md should report **{passed} / {len(COUNTED)}**; regenerate it with "
        "python -m ember.onnx.support_table"
    )
