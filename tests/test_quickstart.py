"""``ember quickstart`` trains on the shipped Digits data and writes its artifacts."""

import pytest

import ember
from ember.cli import main
from ember.quickstart import run_quickstart


def test_quickstart_short_run_writes_artifacts(tmp_path):
    res = run_quickstart(tmp_path, epochs=3, verbose=0)
    assert res["test_accuracy"] > 0.85
    state = ember.load(tmp_path / "weights.safetensors")
    assert "features.0.weight" in state and tuple(state["features.0.weight"].shape) == (16, 1, 3, 3)
    assert (tmp_path / "model_bundle" / "metadata.json").is_file()
    assert all(r.ok for r in res["exports"])
    pytest.importorskip("matplotlib")
    assert (tmp_path / "training_curves.png").stat().st_size > 1000


def test_quickstart_cli_rejects_bad_epochs(capsys):
    assert main(["quickstart", "--epochs", "0"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().out
