"""The ``ember`` command line: ``ember info``, ``ember --version`` (more subcommands plug in).

A subcommand is a ``(name, help, add_arguments, run)`` entry in ``COMMANDS``;
``run(args) -> int`` returns the exit status. ``ember quickstart``, ``ember export`` and
``ember serve`` register themselves the same way.

Example:
    >>> from ember.cli import main
    >>> main(["info", "--json"]) == 0  # doctest: +ELLIPSIS
    {...}
    True
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Callable

__all__ = ["main", "register_command", "COMMANDS", "collect_info"]


class _Command:
    __slots__ = ("name", "help", "add_arguments", "run")

    def __init__(self, name: str, help: str, add_arguments: Callable, run: Callable):  # noqa: A002
        self.name, self.help, self.add_arguments, self.run = name, help, add_arguments, run


COMMANDS: dict[str, _Command] = {}


def register_command(
    name: str,
    help: str,  # noqa: A002
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
) -> None:
    """Add a subcommand: ``add_arguments(parser)`` declares its options, ``run(args)`` runs it.

    Example:
        >>> from ember.cli import COMMANDS, register_command, main
        >>> register_command("hello", "say hello", lambda p: None, lambda a: print("hi") or 0)
        >>> main(["hello"])
        hi
        0
        >>> del COMMANDS["hello"]
    """
    COMMANDS[name] = _Command(name, help, add_arguments, run)


# -- ember info --------------------------------------------------------------------------------
def collect_info() -> dict:
    """The facts ``ember info`` prints, as a dict.

    Example:
        >>> from ember.cli import collect_info
        >>> "numpy" in collect_info()
        True
    """
    import numpy as np

    import ember
    from ember import dtypes, threads
    from ember.device import available_backends
    from ember.registry import REGISTRY

    blas = threads.blas_info()
    try:
        import ml_dtypes

        ml_version = ml_dtypes.__version__
    except ImportError:
        ml_version = None
    return {
        "ember": ember.__version__,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "backends": available_backends(),
        "num_threads": threads.get_num_threads(),
        "num_interop_threads": threads.get_num_interop_threads(),
        "blas": blas,
        "bfloat16": dtypes.bfloat16 is not None,
        "ml_dtypes": ml_version,
        "primitives": len(REGISTRY),
    }


def _info_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _run_info(args: argparse.Namespace) -> int:
    info = collect_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    blas = info["blas"]
    if blas["name"]:
        blas_line = f"{blas['name']} ({blas['path']}), {blas['num_threads']} threads"
    else:
        blas_line = "not found (thread count recorded only)"
    bf16 = (
        f"yes (ml_dtypes {info['ml_dtypes']})" if info["bfloat16"] else "no (pip install ml_dtypes)"
    )
    rows = [
        ("ember", info["ember"]),
        ("Python", f"{info['python']} ({info['python_implementation']})"),
        ("platform", info["platform"]),
        ("NumPy", info["numpy"]),
        ("backends", ", ".join(info["backends"])),
        ("threads", f"{info['num_threads']} intra-op, {info['num_interop_threads']} inter-op"),
        ("BLAS", blas_line),
        ("bfloat16", bf16),
        ("primitives", str(info["primitives"])),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


register_command("info", "show versions, backends, threads and BLAS", _info_arguments, _run_info)


def _quickstart_arguments(parser: argparse.ArgumentParser) -> None:
    from .quickstart import add_arguments

    add_arguments(parser)


def _run_quickstart(args: argparse.Namespace) -> int:
    from .quickstart import run

    return run(args)


register_command(
    "quickstart",
    "train a small CNN on the bundled Digits data and save weights, plot and logs",
    _quickstart_arguments,
    _run_quickstart,
)


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    from .export.cli import add_arguments

    add_arguments(parser)


def _run_export(args: argparse.Namespace) -> int:
    from .export.cli import run

    return run(args)


register_command(
    "export",
    "write a model as a bundle and/or ONNX file and check each against eager ember",
    _export_arguments,
    _run_export,
)


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    from .serve.cli import add_arguments

    add_arguments(parser)


def _run_serve(args: argparse.Namespace) -> int:
    from .serve.cli import run

    return run(args)


register_command(
    "serve",
    "serve model bundles over TF Serving REST and KServe v2",
    _serve_arguments,
    _run_serve,
)


# -- entry point -------------------------------------------------------------------------------
def _version() -> str:
    from ember._version import __version__

    return f"ember {__version__}"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ember",
        description="ember: write it like PyTorch, ship it like TensorFlow.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``ember`` command line; returns the exit status (2 for usage errors).

    Example:
        >>> from ember.cli import main
        >>> main(["--version"])  # doctest: +ELLIPSIS
        ember ...
        0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version and usage errors
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    if args.command is None:
        parser.print_help()
        return 0
    return int(COMMANDS[args.command].run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
