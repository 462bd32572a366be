"""The ASGI application (Starlette): routing, body limits, errors, metrics and access logs.

:func:`create_app` wires a :class:`~ember.serve.repository.ModelRepository` to both protocols.
On startup it loads the models in the background (``/v2/health/live`` answers at once,
``/v2/health/ready`` once the first load is done) and starts polling for new versions; on
shutdown it waits for in-flight requests and unloads everything. Every answer is counted in the
Prometheus metrics and written as one JSON line to the ``ember.serve.access`` logger. Any
error becomes ``{"error": "..."}`` with its status; only a bug in the server gives a 500.

Needs the ``serve`` extra (``pip install "ember[serve]"``); it is imported only when an app is
created.

Example:
    >>> from ember.serve.app import create_app
    >>> from ember.serve.config import ServeConfig
    >>> app = create_app(ServeConfig(models=[], access_log=False))
    >>> sorted(app.state.repository.models), app.state.metrics.render().startswith("# HELP")
    ([], True)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .body import check_content_length, decode_content, read_limited
from .config import ServeConfig
from .errors import MethodNotAllowedError, ServeError
from .messages import Reply, Request
from .metrics import CONTENT_TYPE, ServeMetrics
from .repository import ModelRepository
from .routes import match

__all__ = ["create_app", "METRICS_PATHS", "require_serve_extra"]

log = logging.getLogger("ember.serve")
access_log = logging.getLogger("ember.serve.access")
METRICS_PATHS = ("/metrics", "/monitoring/prometheus/metrics")


def require_serve_extra() -> None:
    """Raise ImportError saying how to install the server's dependencies if they are missing."""
    missing = []
    for module in ("starlette", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ImportError(
            f"ember serve needs {' and '.join(missing)}: pip install 'ember[serve]' "
            "(or pip install uvicorn starlette)"
        )


class _Endpoint:
    """The one Starlette endpoint: everything below is protocol-independent plumbing."""

    def __init__(self, repo: ModelRepository, config: ServeConfig, metrics: ServeMetrics):
        self.repo, self.config, self.metrics = repo, config, metrics

    async def _read_body(self, request: Any) -> bytes:
        limit = self.config.max_body_bytes
        check_content_length(request.headers.get("content-length"), limit)
        body = await read_limited(request.stream(), limit)
        return decode_content(body, request.headers.get("content-encoding"), limit)

    async def _dispatch(self, request: Any, path: str) -> tuple[str, Reply, dict]:
        method = request.method
        if path in METRICS_PATHS:
            if method not in ("GET", "HEAD"):
                raise MethodNotAllowedError(f"{method} is not allowed on {path} (use GET)")
            body = self.metrics.render().encode()
            return "metrics", Reply(body=body, content_type=CONTENT_TYPE), {}
        protocol, handler, params = match(method, path)
        body = await self._read_body(request) if method == "POST" else b""
        headers = {k.lower(): v for k, v in request.headers.items()}
        reply = await handler(self.repo, Request(method, path, params, headers, body))
        return protocol, reply, params

    async def handle(self, request: Any) -> Any:
        from starlette.requests import ClientDisconnect
        from starlette.responses import Response

        start = time.perf_counter()
        path = request.scope["path"]
        protocol, params = "", {}
        try:
            protocol, reply, params = await self._dispatch(request, path)
        except ServeError as exc:
            reply = Reply.json({"error": exc.message}, status=exc.status)
        except ClientDisconnect:
            return Response(status_code=400)
        except Exception as exc:  # a server bug: report it, keep serving
            log.exception("unexpected error on %s %s", request.method, path)
            reply = Reply.json({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)
        self._record(request, path, protocol, params, reply, time.perf_counter() - start)
        return Response(
            reply.body,
            status_code=reply.status,
            headers=reply.headers,
            media_type=reply.content_type,
        )

    def _record(self, request, path, protocol, params, reply: Reply, seconds: float) -> None:
        # Label only models that exist, so random URLs cannot blow up the metric cardinality.
        model = reply.model or (
            params.get("name") if params.get("name") in self.repo.models else ""
        )
        if protocol != "metrics":
            self.metrics.requests.inc((model, reply.version, protocol, reply.status))
            self.metrics.request_seconds.observe((model, reply.version, protocol), seconds)
        if self.config.access_log and access_log.isEnabledFor(logging.INFO):
            client = request.scope.get("client") or ("", 0)
            access_log.info(
                json.dumps(
                    {
                        "ts": round(time.time(), 6),
                        "client": f"{client[0]}:{client[1]}",
                        "method": request.method,
                        "path": path,
                        "status": reply.status,
                        "protocol": protocol,
                        "model": model,
                        "version": reply.version,
                        "bytes_in": int(request.headers.get("content-length") or 0),
                        "bytes_out": len(reply.body),
                        "ms": round(seconds * 1e3, 3),
                    }
                )
            )


def create_app(
    config: ServeConfig,
    repo: ModelRepository | None = None,
    metrics: ServeMetrics | None = None,
    on_ready: Callable[[ModelRepository], None] | None = None,
) -> Any:
    """A Starlette app serving ``config``'s models (or the given repository);
    ``on_ready(repository)`` is called once the first load is done. A set
    ``config.intra_op_threads`` is applied to BLAS for the whole process."""
    require_serve_extra()
    from starlette.applications import Starlette
    from starlette.routing import Route

    if config.intra_op_threads is not None:
        from ember.threads import set_num_threads

        set_num_threads(config.intra_op_threads)

    executor = None
    if config.threads > 0:
        executor = ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="ember")
    if repo is None:
        repo = ModelRepository(config, executor=executor)
    elif repo.executor is None:
        repo.executor = executor
    if metrics is None:
        metrics = repo.metrics or ServeMetrics(repo.states, repo.in_flight)
    repo.metrics = metrics
    endpoint = _Endpoint(repo, config, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any):
        started = time.perf_counter()

        async def first_load() -> None:
            try:
                await repo.sync()
            except Exception:
                log.exception("loading the models failed")
            repo.synced = True
            repo.start_polling()
            log.debug("models loaded in %.3f s", time.perf_counter() - started)
            if on_ready is not None:
                on_ready(repo)

        loading = asyncio.get_running_loop().create_task(first_load())
        app.state.loading = loading
        if config.workers > 1:
            # one of several processes sharing the socket: uvicorn accepts connections only
            # after the lifespan startup, so load first and no request ever reaches a worker
            # whose models are not loaded yet (the shared backlog goes to the ready ones)
            await asyncio.shield(loading)
        try:
            yield
        finally:
            if not loading.done():
                loading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loading
            await repo.close()
            if executor is not None:
                executor.shutdown(wait=False)

    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    app = Starlette(
        routes=[Route("/{path:path}", endpoint.handle, methods=methods)], lifespan=lifespan
    )
    app.state.repository, app.state.metrics = repo, metrics
    return app
