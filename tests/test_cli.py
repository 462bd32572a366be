"""The ``ember`` command line."""

import json
import subprocess
import sys

import ember
from ember.cli import COMMANDS, main, register_command


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert ember.__version__ in out
    for word in ("Python", "NumPy", "backends", "threads", "BLAS", "bfloat16", "primitives"):
        assert word in out
    assert str(len(ember.registry.REGISTRY)) in out


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["ember"] == ember.__version__
    from ember.device import available_backends

    assert info["backends"] == available_backends()
    assert info["num_threads"] == ember.get_num_threads()
    assert info["primitives"] == len(ember.registry.REGISTRY)
    assert info["bfloat16"] == (ember.bfloat16 is not None)
    assert set(info["blas"]) == {"name", "path", "api", "num_threads"}


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ember {ember.__version__}"


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "frobnicate" in err


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "info" in capsys.readouterr().out


def test_help(capsys):
    assert main(["--help"]) == 0
    assert "usage: ember" in capsys.readouterr().out


def test_register_command(capsys):
    def add(p):
        p.add_argument("--n", type=int, default=1)

    register_command("twice", "double a number", add, lambda a: print(a.n * 2) or 3)
    try:
        assert main(["twice", "--n", "21"]) == 3
        assert capsys.readouterr().out.strip() == "42"
    finally:
        del COMMANDS["twice"]


def test_python_dash_m():
    r = subprocess.run([sys.executable, "-m", "ember", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"ember {ember.__version__}"
    r = subprocess.run([sys.executable, "-m", "ember", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "invalid choice" in r.stderr
