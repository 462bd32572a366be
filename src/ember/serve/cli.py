"""``ember serve``: the command-line flags, turned into a :class:`~ember.serve.config.ServeConfig`.

``add_arguments(parser)`` declares the flags and ``run(args)`` serves (exit status 2 with a
message for bad flags). Both avoid importing the web stack until the server starts, so
``ember --help`` works without the ``serve`` extra.

Example:
    >>> import argparse, tempfile
    >>> from ember.serve.cli import add_arguments, build_config
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> folder = tempfile.mkdtemp()
    >>> args = parser.parse_args(["--model", f"mnist={folder}", "--max-batch-size", "16"])
    >>> config = build_config(args)
    >>> config.models[0].name, str(config.models[0].base_path) == folder, config.max_batch_size
    ('mnist', True, 16)
    >>> build_config(parser.parse_args([]))
    Traceback (most recent call last):
    ...
    ValueError: nothing to serve: give --model NAME=PATH, --model-base-path DIR or --model-config FILE
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .config import (
    VERSION_POLICIES,
    ModelConfig,
    ServeConfig,
    load_model_config_file,
    parse_model_flag,
)

__all__ = ["add_arguments", "build_config", "run", "main", "app_from_environment"]

_ARGV_ENV = "EMBER_SERVE_ARGV"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``ember serve`` flags on ``parser``."""
    models = parser.add_argument_group("models")
    models.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="serve the bundle (or folder of integer version folders) at PATH as NAME; repeatable",
    )
    models.add_argument(
        "--model-base-path",
        metavar="DIR",
        help="serve every DIR/<name>/<version>/ bundle; new models and versions are picked up",
    )
    models.add_argument(
        "--model-config",
        metavar="FILE",
        help="JSON file of per-model settings (base_path, version policy, labels, batching)",
    )
    models.add_argument(
        "--version-policy",
        choices=VERSION_POLICIES,
        default="latest",
        help="which versions to serve (default: latest)",
    )
    models.add_argument(
        "--num-versions", type=int, default=1, help="how many versions 'latest' keeps (default 1)"
    )
    models.add_argument(
        "--versions", default="", metavar="V1,V2", help="versions for --version-policy specific"
    )
    models.add_argument(
        "--poll-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often to look for new or removed versions; 0 turns polling off (default 1)",
    )
    net = parser.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    net.add_argument(
        "--port", type=int, default=8501, help="port to listen on; 0 picks a free one (8501)"
    )
    net.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port (default 1)"
    )
    net.add_argument(
        "--threads",
        type=int,
        default=0,
        help="threads running model calls per process; 0 (the default) runs them on the event "
        "loop thread: least overhead, but the server answers nothing else during a call, so "
        "use 1 or more for models whose calls take long",
    )
    net.add_argument(
        "--intra-op-threads",
        type=int,
        default=None,
        metavar="N",
        help="BLAS threads per model call (default: half the CPUs, at least 1, so request "
        "handling keeps a core)",
    )
    net.add_argument(
        "--max-body-bytes",
        type=int,
        default=64 * 1024 * 1024,
        help="largest request body accepted, before and after decompression (default 64 MiB)",
    )
    net.add_argument(
        "--graceful-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, how long running requests may take to finish (default 30)",
    )
    batch = parser.add_argument_group("batching")
    batch.add_argument(
        "--max-batch-size",
        type=int,
        default=32,
        help="most rows merged into one model call; 0 or 1 turns batching off (default 32)",
    )
    batch.add_argument(
        "--batch-timeout-micros",
        type=int,
        default=0,
        help="how long the oldest queued request may wait for its batch to fill; 0 (the "
        "default) merges what is queued when the model is free, adding no latency",
    )
    logs = parser.add_argument_group("logging")
    logs.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="do not write a JSON line per request to stderr",
    )
    logs.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def _positive(name: str, value: float, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


def build_config(args: argparse.Namespace) -> ServeConfig:
    """A ServeConfig from parsed flags; raises ValueError naming the bad flag or file field."""
    _positive("--workers", args.workers)
    _positive("--threads", args.threads, allow_zero=True)
    intra = args.intra_op_threads
    if intra is None:
        intra = max(1, (os.cpu_count() or 2) // 2)
    _positive("--intra-op-threads", intra)
    _positive("--max-body-bytes", args.max_body_bytes)
    _positive("--max-batch-size", args.max_batch_size, allow_zero=True)
    _positive("--batch-timeout-micros", args.batch_timeout_micros, allow_zero=True)
    _positive("--poll-interval", args.poll_interval, allow_zero=True)
    _positive("--graceful-timeout", args.graceful_timeout, allow_zero=True)
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in 0..65535, got {args.port}")
    try:
        versions = tuple(int(v) for v in args.versions.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--versions expects integers like 1,3, got {args.versions!r}") from None
    default = ModelConfig(
        name="*",
        version_policy=args.version_policy,
        num_versions=args.num_versions,
        versions=versions,
    )
    overrides = load_model_config_file(args.model_config) if args.model_config else {}
    models: dict[str, ModelConfig] = {}
    for text in args.model:
        name, path = parse_model_flag(text)
        if name in models:
            raise ValueError(f"--model {name!r} is given twice")
        models[name] = ModelConfig(name=name, base_path=Path(path).expanduser())
    for name, entry in overrides.items():
        if entry.base_path is not None and name not in models:
            models[name] = ModelConfig(name=name, base_path=entry.base_path)
    base = Path(args.model_base_path).expanduser() if args.model_base_path else None
    if not models and base is None:
        raise ValueError(
            "nothing to serve: give --model NAME=PATH, --model-base-path DIR or --model-config FILE"
        )
    for mc in models.values():
        if not mc.base_path.exists():
            raise ValueError(f"model {mc.name!r}: {mc.base_path} does not exist")
    if base is not None and not base.is_dir():
        raise ValueError(f"--model-base-path {base} is not a folder")
    return ServeConfig(
        models=list(models.values()),
        model_base_path=base,
        default_policy=default,
        overrides=overrides,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        intra_op_threads=intra,
        poll_interval=args.poll_interval,
        max_batch_size=args.max_batch_size,
        batch_timeout_micros=args.batch_timeout_micros,
        max_body_bytes=args.max_body_bytes,
        access_log=args.access_log,
        graceful_timeout=args.graceful_timeout,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ember serve",
        description="Serve model bundles over the TF Serving REST and KServe v2 protocols.",
    )
    add_arguments(parser)
    return parser


def app_from_environment():
    """The app of one ``--workers`` process (uvicorn factory; flags come from the parent)."""
    from .app import create_app
    from .server import configure_logging

    args = _parser().parse_args(json.loads(os.environ[_ARGV_ENV]))
    configure_logging(args.log_level)
    return create_app(build_config(args))


def run(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; 2 for bad flags, 1 if the server cannot start."""
    started = time.perf_counter()
    try:
        config = build_config(args)
    except ValueError as exc:
        print(f"ember serve: error: {exc}", file=sys.stderr)
        return 2
    from .server import configure_logging, serve

    configure_logging(args.log_level)
    try:
        from .app import require_serve_extra

        require_serve_extra()
        if config.workers > 1:
            return _run_workers(config, argv if argv is not None else sys.argv[2:])
        return serve(config, started=started)
    except (ImportError, OSError) as exc:
        print(f"ember serve: error: {exc}", file=sys.stderr)
        return 1


def _run_workers(config: ServeConfig, argv: list[str]) -> int:
    import uvicorn

    os.environ[_ARGV_ENV] = json.dumps(argv)
    uvicorn.run(
        "ember.serve.cli:app_from_environment",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=config.graceful_timeout,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m ember.serve [flags]`` (the same as ``ember serve [flags]``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return run(_parser().parse_args(argv), argv)
