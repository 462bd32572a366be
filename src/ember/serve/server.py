"""Run the server: bind the socket, start uvicorn, shut down gracefully on SIGTERM/SIGINT.

:func:`serve` runs one process (the models are shared by all its requests, so batching sees
every request); ``ember serve --workers N`` runs N such processes behind one socket. On
SIGTERM or SIGINT uvicorn stops accepting connections, lets running requests finish (up to
``graceful_timeout`` seconds), then the app unloads the models.

Example:
    >>> from ember.serve.server import bind_socket
    >>> sock = bind_socket("127.0.0.1", 0)  # port 0: any free port
    >>> sock.getsockname()[1] > 0
    True
    >>> sock.close()
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time

from .config import ServeConfig
from .repository import ModelRepository

__all__ = ["serve", "bind_socket", "describe_ready", "configure_logging", "process_age"]

log = logging.getLogger("ember.serve")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when ``host`` contains ':')."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on connections of such sockets,
    # and without it small responses wait ~40 ms for delayed ACKs (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def configure_logging(level: str = "info") -> None:
    """Send ``ember.serve`` logs (and its JSON access log lines) to stderr, one per line."""
    logger = logging.getLogger("ember.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def process_age() -> float | None:
    """Seconds since this process started (Linux ``/proc``), or None where unknown."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        return max(0.0, uptime - int(fields[19]) / ticks)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _uvicorn_server(config):
    """A uvicorn Server whose SIGTERM/SIGINT handling ends in a normal exit (status 0) after
    the graceful shutdown, instead of re-raising the signal."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(config)


def describe_ready(repo: ModelRepository, url: str, seconds: float) -> str:
    """The one line printed when the server is ready."""
    parts = []
    for name, model in sorted(repo.models.items()):
        versions = [str(mv.version) for mv in model.available()]
        failed = [str(v) for v, mv in model.versions.items() if mv.error]
        text = f"{name} v{','.join(versions) or '-'}"
        if failed:
            text += f" (failed: v{','.join(failed)})"
        parts.append(text)
    models = "; ".join(parts) or "no models yet"
    return f"ember serve: ready in {seconds:.2f} s at {url} ({models})"


def serve(config: ServeConfig, started: float | None = None) -> int:
    """Serve ``config`` in this process until SIGTERM/SIGINT; returns the exit status."""
    from .app import create_app, require_serve_extra

    require_serve_extra()
    import uvicorn

    age = process_age()
    # Count from the process start where known (imports included), else from the caller's mark.
    started = time.perf_counter() - age if age is not None else started or time.perf_counter()
    sock = bind_socket(config.host, config.port)
    host, port = sock.getsockname()[:2]
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def on_ready(repo: ModelRepository) -> None:
        log.info(describe_ready(repo, url, time.perf_counter() - started))

    app = create_app(config, on_ready=on_ready)
    uv_config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=config.graceful_timeout,
    )
    server = _uvicorn_server(uv_config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    log.info("ember serve: stopped")
    return 0 if server.started else 1
