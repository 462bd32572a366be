"""Smoke test of the benchmark suite: ``python -m benchmarks --smoke`` (ember only, 2 steps per
workload) must run every workload to a finite loss, so the benchmarks never rot."""

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WORKLOADS = ["mlp_train", "cnn_train", "gpt_train", "mlp_infer", "gpt_infer"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "src")])
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), out, elapsed, proc.stdout


def test_smoke_runs_every_workload_to_a_finite_loss(smoke):
    results, _, elapsed, _ = smoke
    assert results["smoke"] is True
    assert elapsed < 60, f"smoke run took {elapsed:.1f} s"
    rows = {r["workload"]: r for r in results["results"] if r["framework"] == "ember"}
    assert sorted(rows) == sorted(WORKLOADS)
    for name, row in rows.items():
        assert row["ok"], f"{name}: {row.get('error')}"
        assert math.isfinite(row["loss0"]) and math.isfinite(row["loss_last"]), name
        assert row["ms_per_step"] > 0 and row["peak_rss_mb"] > 0, name
    assert {r["framework"] for r in results["results"]} == {"ember"}


def test_smoke_writes_markdown_and_metadata(smoke):
    results, out, _, stdout = smoke
    md = out.with_suffix(".md").read_text()
    assert "| W3 gpt_train |" in md and "Step-0 loss" in md
    assert "ember" in results["frameworks"] and results["frameworks"]["ember"]["version"]
    assert results["machine"]["cpu"]
    assert results["sgemm_gflops"] is None or results["sgemm_gflops"] > 0
    assert "Time per step" in stdout


def test_workload_arrays_are_deterministic_and_layouts_agree():
    sys.path.insert(0, str(REPO))
    import numpy as np
    from benchmarks import workloads

    a = workloads.make_arrays("cnn_train")
    b = workloads.make_arrays("cnn_train")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    # W1 and W4a share the MLP weights; W3 and W4b the GPT weights
    m1, m4 = workloads.make_arrays("mlp_train"), workloads.make_arrays("mlp_infer")
    np.testing.assert_array_equal(m1["p.fc1.weight"], m4["p.fc1.weight"])
    # the channels-last CNN (NHWC/HWIO, permuted fc1) computes the same fc1 input as NCHW
    params = workloads.params_of(a)
    cl = workloads.channels_last("cnn", params)
    feat = np.random.default_rng(0).standard_normal((2, 64, 7, 7)).astype(np.float32)
    ref = feat.reshape(2, -1) @ params["fc1.weight"].T
    got = workloads.nhwc(feat).reshape(2, -1) @ cl["fc1.weight"]
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_rounds_merge_to_the_median_round():
    sys.path.insert(0, str(REPO))
    from benchmarks.__main__ import merge_rounds

    def cell(ms, first, rss, ok=True):
        return {"ok": ok, "ms_per_step": ms, "first_step_ms": first, "peak_rss_mb": rss}

    merged = merge_rounds([cell(5.0, 900.0, 60), cell(3.0, 10.0, 70), cell(4.0, 9.0, 65)])
    assert merged["ms_per_step"] == 4.0 and merged["rounds_ms"] == [5.0, 3.0, 4.0]
    assert merged["first_step_ms"] == 900.0  # the cold first round
    assert merged["peak_rss_mb"] == 70
    assert merge_rounds([cell(2.0, 1, 1), cell(4.0, 1, 1)])["ms_per_step"] == 3.0
    failed = {"ok": False, "error": "timed out"}
    assert merge_rounds([cell(2.0, 1, 1), failed]) is failed
    single = cell(2.0, 1, 1)
    assert merge_rounds([single]) is single
