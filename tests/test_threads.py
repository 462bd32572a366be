"""Thread settings: round trips, validation and real control of NumPy's BLAS."""

import subprocess
import sys
import warnings

import pytest

import ember
from ember import threads


@pytest.fixture(autouse=True)
def _restore_threads():
    n, m = ember.get_num_threads(), ember.get_num_interop_threads()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ember.set_num_threads(n)
    ember.set_num_interop_threads(m)


def test_set_get_round_trip():
    for n in (1, 2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ember.set_num_threads(n)
        assert ember.get_num_threads() == n
    ember.set_num_interop_threads(4)
    assert ember.get_num_interop_threads() == 4


def test_validation():
    for bad in (0, -2):
        with pytest.raises(RuntimeError, match="positive integer"):
            ember.set_num_threads(bad)
        with pytest.raises(RuntimeError, match="positive integer"):
            ember.set_num_interop_threads(bad)
    for bad in (1.5, "2", True):
        with pytest.raises(TypeError):
            ember.set_num_threads(bad)


def test_blas_threads_change_when_blas_found():
    info = threads.blas_info()
    if info["name"] is None or info["num_threads"] is None:
        pytest.skip("no controllable BLAS in this NumPy")
    ember.set_num_threads(1)
    assert threads.blas_info()["num_threads"] == 1
    ember.set_num_threads(2)
    assert threads.blas_info()["num_threads"] == 2


def test_blas_info_keys():
    assert set(threads.blas_info()) == {"name", "path", "api", "num_threads"}


def _run(code: str, env_extra: dict) -> str:
    import os

    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()


def test_default_from_omp_num_threads():
    out = _run("import ember; print(ember.get_num_threads())", {"OMP_NUM_THREADS": "3"})
    assert out == "3"


def test_import_does_not_touch_blas():
    # BLAS discovery is lazy: importing ember must not scan libraries
    out = _run("import ember, ember.threads as t; print(t._blas is None)", {})
    assert out == "True"


def test_warns_once_without_blas(monkeypatch):
    monkeypatch.setattr(threads, "_blas", False)
    monkeypatch.setattr(threads, "_warned", False)
    with pytest.warns(RuntimeWarning, match="BLAS"):
        ember.set_num_threads(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.set_num_threads(3)
    assert ember.get_num_threads() == 3
