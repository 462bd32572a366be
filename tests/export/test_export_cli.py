"""``ember export``: module:factory and bundle sources, targets, error checks, tolerance."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.export import load_bundle
from ember.export.cli import main
from ember.export.compare import compare_outputs
from ember.export.graph_module import GraphModule
from ember.export.onnx_target import OnnxUnavailableError, onnx_exporter

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import export_factories  # noqa: E402


def _onnx_available() -> bool:
    try:
        onnx_exporter()
    except OnnxUnavailableError:
        return False
    return True


ONNX = _onnx_available()


def _eager(model, *arrays):
    model.eval()
    with ember.no_grad():
        out = model(*[ember.from_numpy(a.copy()) for a in arrays])
    return out if isinstance(out, tuple) else (out,)


@pytest.fixture
def cnn_weights(tmp_path):
    model = export_factories.make_cnn()
    for p in model.parameters():  # weights the factory does not produce, so loading matters
        p.data.copy_(ember.randn(*p.shape) * 0.2)
    model[1].running_var.copy_(ember.rand(4) + 0.5)
    path = tmp_path / "cnn.safetensors"
    ember.save(model.state_dict(), path)
    return model, path


# -- module:factory sources ---------------------------------------------------------------------
def test_python_m_ember_export_writes_a_checked_bundle(tmp_path, cnn_weights):
    model, weights = cnn_weights
    out = tmp_path / "cnn_bundle"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ember.export",
            "export_factories:make_cnn",
            "--weights",
            str(weights),
            "--input-shape",
            "1,1,8,8",
            "--to",
            "bundle",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    header, row = proc.stdout.strip().splitlines()
    assert header.split()[:3] == ["target", "max", "abs"]
    fields = row.split()
    assert fields[0] == "bundle" and fields[3] == "ok" and fields[4] == str(out)
    assert float(fields[1]) <= 1e-6 and float(fields[2]) <= 1e-6
    x = np.random.default_rng(5).standard_normal((6, 1, 8, 8)).astype(np.float32)
    got = load_bundle(out)(x)["output_0"]
    np.testing.assert_allclose(got, _eager(model, x)[0].numpy(), rtol=1e-6, atol=1e-6)


def test_two_inputs_int64_names_static_batch_and_metadata(tmp_path, capsys):
    out = tmp_path / "scorer"
    code = main(
        [
            "export_factories:make_scorer",
            "--to",
            "bundle",
            "-o",
            str(out),
            "--input-shape",
            "2,5",
            "--input-dtype",
            "int64",
            "--input-shape",
            "2,5",
            "--input-dtype",
            "float32",
            "--input-name",
            "ids",
            "--input-name",
            "weights",
            "--output-name",
            "scores",
            "--output-name",
            "pooled",
            "--int-range",
            "0,30",
            "--static-batch",
            "--metadata",
            "owner=tests",
        ]
    )
    assert code == 0, capsys.readouterr().err
    bundle = load_bundle(out)
    assert [(s.name, s.dtype, s.shape) for s in bundle.signature.inputs] == [
        ("ids", "int64", (2, 5)),
        ("weights", "float32", (2, 5)),
    ]
    assert bundle.signature.output_names == ["scores", "pooled"]
    assert bundle.metadata["user"] == {"owner": "tests"}
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 30, (2, 5))
    w = rng.random((2, 5)).astype(np.float32)
    want = _eager(export_factories.make_scorer(), ids, w)
    got = bundle(ids=ids, weights=w)
    np.testing.assert_allclose(got["scores"], want[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(got["pooled"], want[1].numpy(), rtol=1e-6)


def test_bundle_source_is_checked_against_itself(tmp_path, cnn_weights, capsys):
    _, weights = cnn_weights
    first = tmp_path / "first"
    assert (
        main(
            [
                "export_factories:make_cnn",
                "--weights",
                str(weights),
                "--input-shape",
                "2,1,8,8",
                "--to",
                "bundle",
                "-o",
                str(first),
                "--metadata",
                "a=1",
            ]
        )
        == 0
    )
    capsys.readouterr()
    second = tmp_path / "second"
    code = main(
        [
            str(first),
            "--to",
            "bundle",
            "-o",
            str(second),
            "--example-shape",
            "5,1,8,8",
            "--metadata",
            "b=2",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "bundle  0.000e+00    0.000e+00    ok" in capsys.readouterr().out
    a, b = load_bundle(first), load_bundle(second)
    assert b.metadata["user"] == {"a": "1", "b": "2"}
    assert b.metadata["content_hash"] == a.metadata["content_hash"]  # same graph, same weights


@pytest.mark.parametrize(
    "argv, code, fragment",
    [
        (["nothing_here", "--to", "bundle"], 2, "neither a bundle directory nor a module:factory"),
        (["export_factories:make_cnn", "--to", "bundle"], 2, "--input-shape is required"),
        (
            ["export_factories:make_cnn", "--to", "tflite", "--input-shape", "1"],
            2,
            "invalid choice",
        ),
        (
            ["export_factories:make_cnn", "--to", "bundle", "--input-shape", "1,a"],
            2,
            "expected comma-separated integers",
        ),
        (
            ["export_factories:nope", "--to", "bundle", "--input-shape", "1,1,8,8"],
            1,
            "'export_factories' has no attribute 'nope'",
        ),
        (
            ["no_such_module_xyz:make", "--to", "bundle", "--input-shape", "1"],
            1,
            "cannot import module 'no_such_module_xyz'",
        ),
        (
            ["export_factories:not_a_module", "--to", "bundle", "--input-shape", "1"],
            1,
            "returned str, expected an ember.nn.Module",
        ),
        (["export_factories:make_cnn", "--to", "bundle", "--input-shape", "1,1,8,9"], 1, "Linear"),
        (
            [
                "export_factories:make_cnn",
                "--to",
                "bundle",
                "--input-shape",
                "1,1,8,8",
                "--int-range",
                "5,1",
            ],
            2,
            "HIGH must be greater than LOW",
        ),
        (
            [
                "export_factories:make_cnn",
                "--to",
                "bundle",
                "--input-shape",
                "1,1,8,8",
                "--metadata",
                "novalue",
            ],
            2,
            "expected KEY=VALUE",
        ),
        (
            [
                "export_factories:make_cnn",
                "--to",
                "bundle",
                "--input-shape",
                "1,1,8,8",
                "--input-dtype",
                "float32",
                "--input-dtype",
                "int64",
            ],
            2,
            "2 --input-dtype values",
        ),
    ],
)
def test_usage_and_source_errors(tmp_path, capsys, monkeypatch, argv, code, fragment):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == code
    assert fragment in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_model_only_flags_are_refused_for_a_bundle_source(tmp_path, capsys):
    path = tmp_path / "b"
    assert (
        main(
            [
                "export_factories:make_cnn",
                "--to",
                "bundle",
                "--input-shape",
                "1,1,8,8",
                "-o",
                str(path),
            ]
        )
        == 0
    )
    assert main([str(path), "--to", "bundle", "--weights", "w", "--static-batch"]) == 2
    assert "--weights, --static-batch: only for module:factory sources" in capsys.readouterr().err


def test_weights_that_do_not_fit(tmp_path, capsys):
    wrong = tmp_path / "wrong.safetensors"
    ember.save(export_factories.make_scorer().state_dict(), wrong)
    code = main(
        [
            "export_factories:make_cnn",
            "--weights",
            str(wrong),
            "--input-shape",
            "1,1,8,8",
            "--to",
            "bundle",
            "-o",
            str(tmp_path / "b"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "--weights" in err and "Missing key(s)" in err
    nested = tmp_path / "nested.safetensors"
    ember.save({"model": export_factories.make_cnn().state_dict(), "epoch": 3}, nested)
    code = main(
        [
            "export_factories:make_cnn",
            "--weights",
            str(nested),
            "--input-shape",
            "1,1,8,8",
            "--to",
            "bundle",
            "-o",
            str(tmp_path / "b"),
        ]
    )
    assert code == 1 and "expected a state_dict" in capsys.readouterr().err


# -- tolerance ----------------------------------------------------------------------------------
def test_a_target_above_tolerance_fails_loudly(tmp_path, capsys, monkeypatch):
    import ember.export.targets as targets

    real = targets.load_bundle

    def drifting(path):
        bundle = real(path)
        return lambda **kw: {k: v * np.float32(1.001) for k, v in bundle(**kw).items()}

    monkeypatch.setattr(targets, "load_bundle", drifting)
    argv = [
        "export_factories:make_cnn",
        "--input-shape",
        "1,1,8,8",
        "--to",
        "bundle",
        "-o",
        str(tmp_path / "b"),
    ]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and "above tolerance: output 'output_0'" in captured.out
    assert "ember export: FAILED: bundle" in captured.err and "rtol=1e-05" in captured.err
    assert main([*argv, "--rtol", "2e-3"]) == 0


@pytest.mark.parametrize(
    "got, want, rtol, atol, ok, max_abs, max_rel",
    [
        ([1.0, -2.0, 4.0], [1.0, -2.0, 4.0], 0.0, 0.0, True, 0.0, 0.0),
        ([1.0, -2.0, 4.00002], [1.0, -2.0, 4.0], 1e-5, 0.0, True, 2e-5, 5e-6),
        ([1.0, -2.0, 4.0001], [1.0, -2.0, 4.0], 1e-5, 0.0, False, 1e-4, 2.5e-5),
        ([1.0, -2.0, 4.0001], [1.0, -2.0, 4.0], 1e-5, 1e-3, True, 1e-4, 2.5e-5),
        ([1e-9, 0.0], [0.0, 0.0], 1e-5, 0.0, False, 1e-9, math.inf),
        ([1e-9, 0.0], [0.0, 0.0], 1e-5, 1e-8, True, 1e-9, math.inf),
        ([np.nan, 1.0], [np.nan, 1.0], 1e-5, 0.0, True, 0.0, 0.0),
        ([np.nan, 1.0], [0.5, 1.0], 1e-5, 0.0, False, math.inf, math.inf),
        ([np.inf, 1.0], [np.inf, 1.0], 1e-5, 0.0, True, 0.0, 0.0),
    ],
)
def test_compare_outputs_table(got, want, rtol, atol, ok, max_abs, max_rel):
    c = compare_outputs({"y": np.array(got)}, {"y": np.array(want)}, rtol=rtol, atol=atol)
    assert c.ok is ok
    assert c.max_abs == pytest.approx(max_abs, rel=1e-3, abs=1e-12)
    assert c.max_rel == pytest.approx(max_rel, rel=1e-3, abs=1e-12)
    if not ok:
        assert c.worst_output == "y" and "output 'y'" in c.detail


def test_compare_outputs_exact_for_integers_and_structural_mismatches():
    ids = np.array([3, 1000000])
    assert not compare_outputs({"i": ids + [0, 1]}, {"i": ids}, rtol=1e-3).ok
    assert compare_outputs({"i": ids.copy()}, {"i": ids}).ok
    shape = compare_outputs({"y": np.zeros(3)}, {"y": np.zeros(4)})
    assert not shape.ok and "shape (3,), expected (4,)" in shape.detail
    names = compare_outputs({"a": np.zeros(1)}, {"b": np.zeros(1)})
    assert not names.ok and names.max_abs == math.inf
    with pytest.raises(ValueError, match="tolerances must be >= 0"):
        compare_outputs({}, {}, rtol=-1.0)


# -- ONNX ---------------------------------------------------------------------------------------
@pytest.mark.skipif(ONNX, reason="ember.onnx.export exists: the real export is tested instead")
def test_onnx_target_without_an_exporter_fails_clearly(tmp_path, capsys):
    code = main(
        [
            "export_factories:make_cnn",
            "--input-shape",
            "1,1,8,8",
            "--to",
            "bundle",
            "--to",
            "onnx",
            "-o",
            str(tmp_path),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "ONNX export is not available" in captured.err
    assert load_bundle(tmp_path / "model_bundle")  # the other target is still written
    assert not (tmp_path / "model.onnx").exists()


@pytest.mark.skipif(not ONNX, reason="ember.onnx.export is not available yet")
@pytest.mark.parametrize("source", ["factory", "bundle"])
def test_onnx_target_matches_onnxruntime(tmp_path, cnn_weights, capsys, source):
    pytest.importorskip("onnxruntime")
    _, weights = cnn_weights
    argv = ["export_factories:make_cnn", "--weights", str(weights), "--input-shape", "1,1,8,8"]
    if source == "bundle":
        assert main([*argv, "--to", "bundle", "-o", str(tmp_path / "src")]) == 0
        argv = [str(tmp_path / "src")]
    code = main([*argv, "--to", "onnx", "--to", "bundle", "-o", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    onnx_row = next(line for line in captured.out.splitlines() if line.startswith("onnx"))
    assert " ok " in onnx_row and "onnxruntime" in onnx_row
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "out" / "model.onnx"))
    x = np.random.default_rng(3).standard_normal((7, 1, 8, 8)).astype(np.float32)
    (got,) = session.run(None, {"input": x})
    want = load_bundle(tmp_path / "out" / "model_bundle")(x)["output_0"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("factory", ["make_cnn", "make_scorer"])
def test_graph_module_replays_a_bundle(tmp_path, factory):
    model = getattr(export_factories, factory)()
    rng = np.random.default_rng(0)
    if factory == "make_cnn":
        inputs = (rng.standard_normal((2, 1, 8, 8)).astype(np.float32),)
    else:
        inputs = (rng.integers(0, 30, (2, 5)), rng.random((2, 5)).astype(np.float32))
    from ember.export import save_bundle

    bundle = load_bundle(save_bundle(model, tmp_path / "b", inputs))
    replay = GraphModule(bundle.graph, bundle.weights)
    bigger = tuple(np.concatenate([a, a, a]) for a in inputs)
    got = replay(*[ember.from_numpy(a) for a in bigger])
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, bundle(*bigger).values()):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-6, atol=1e-7)


# -- quickstart ---------------------------------------------------------------------------------
def test_quickstart_exports_through_the_same_code_path(tmp_path):
    from ember.quickstart import DigitsCNN, export_artifacts

    notes = []
    example = np.random.default_rng(0).random((1, 1, 8, 8)).astype(np.float32)
    results = export_artifacts(DigitsCNN(), example, tmp_path, notes)
    by_target = {r.target: r for r in results}
    assert by_target["bundle"].ok and by_target["bundle"].comparison.max_rel <= 1e-6
    bundle = load_bundle(tmp_path / "model_bundle")
    assert bundle.signature.input_names == ["image"]
    assert bundle.signature.outputs[0].shape == (None, 10)
    if ONNX:
        assert by_target["onnx"].ok and (tmp_path / "model.onnx").is_file()
    else:
        assert "onnx" not in by_target and any("model.onnx skipped" in n for n in notes)
    meta = json.loads((tmp_path / "model_bundle" / "metadata.json").read_text())
    assert meta["format"] == "ember.bundle"
