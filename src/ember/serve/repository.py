"""The model repository: which models and versions are loaded, and keeping that in sync with disk.

Each model version goes through TF Serving's states ``LOADING`` -> ``AVAILABLE`` ->
``UNLOADING`` -> ``END`` (a failed load ends in ``END`` with its error, shown in the model's
status, while every other model keeps serving). :meth:`ModelRepository.sync` scans the model
folders, loads the versions the version policy wants, and only then unloads the ones it no
longer wants (new before old, so a model never goes unavailable during an update). Unloading
removes the version from routing at once and drops it after its in-flight requests finish.
A failed version is retried when its folder changes (e.g. it was still being copied).

Example:
    >>> import asyncio, numpy as np
    >>> from types import SimpleNamespace as NS
    >>> from ember.serve.config import ServeConfig
    >>> from ember.serve.repository import ModelRepository
    >>> from ember.serve.servable import Servable
    >>> spec = NS(name="x", dtype="float32", shape=(None, 1))
    >>> bundle = NS(signature=NS(inputs=[spec], outputs=[spec]), metadata={})
    >>> echo = Servable.wrap(bundle, call=lambda x: {"x": x})
    >>> async def main():
    ...     repo = ModelRepository(ServeConfig())
    ...     repo.add_servable("echo", 3, echo)
    ...     with repo.lease("echo") as mv:
    ...         out = await mv.infer({"x": np.ones((2, 1), np.float32)})
    ...     await repo.close()
    ...     return mv.version, mv.state, out["x"].shape
    >>> asyncio.run(main())
    (3, 'END', (2, 1))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path

from .batching import BatchStats, DynamicBatcher
from .config import ModelConfig, ServeConfig
from .errors import NotFoundError, UnavailableError
from .metrics import ServeMetrics
from .servable import ModelLoadError, Servable, load_servable
from .versions import folder_fingerprint, scan_model_folders, scan_versions, select_versions

__all__ = ["ModelRepository", "ModelVersion", "Model"]

log = logging.getLogger("ember.serve")

LOADING, AVAILABLE, UNLOADING, END = "LOADING", "AVAILABLE", "UNLOADING", "END"


class ModelVersion:
    """One version of a model: its state, servable, batcher and in-flight request count."""

    def __init__(self, model: str, version: int, path: Path | None):
        self.model, self.version, self.path = model, version, path
        self.state = LOADING
        self.error = ""
        self.servable: Servable | None = None
        self.batcher: DynamicBatcher | None = None
        self.fingerprint: tuple = ()
        self.inflight = 0
        self._idle: asyncio.Event | None = None

    async def infer(self, arrays: dict) -> dict:
        """Run the model on validated arrays through the batcher."""
        if self.batcher is None or self.batcher.closing:
            raise UnavailableError(f"model {self.model!r} version {self.version} is not loaded")
        return await self.batcher.submit(arrays)

    def _release(self) -> None:
        self.inflight -= 1
        if self.inflight == 0 and self._idle is not None:
            self._idle.set()

    async def wait_idle(self) -> None:
        """Return once no request holds this version."""
        while self.inflight:
            self._idle = asyncio.Event()
            await self._idle.wait()


class Model:
    """A model name, its settings and its versions."""

    def __init__(self, config: ModelConfig, static: bool = False):
        self.config = config
        self.static = static  # added in code, never synced with disk
        self.versions: dict[int, ModelVersion] = {}

    @property
    def name(self) -> str:
        return self.config.name

    def available(self) -> list[ModelVersion]:
        """AVAILABLE versions, ascending."""
        return [mv for _, mv in sorted(self.versions.items()) if mv.state == AVAILABLE]

    def resolve(self, version: int | None = None, label: str | None = None) -> ModelVersion:
        """The version a request addresses: explicit, by label, or the newest available."""
        if label is not None:
            if label not in self.config.version_labels:
                known = ", ".join(sorted(self.config.version_labels)) or "none"
                raise NotFoundError(
                    f"model {self.name!r} has no version label {label!r} (labels: {known})"
                )
            version = self.config.version_labels[label]
        if version is None:
            ready = self.available()
            if ready:
                return ready[-1]
            raise UnavailableError(f"model {self.name!r} has no version ready: {self._summary()}")
        mv = self.versions.get(version)
        if mv is None or (mv.state in (UNLOADING, END) and not mv.error):
            serving = ", ".join(str(m.version) for m in self.available()) or "none"
            raise NotFoundError(
                f"model {self.name!r} has no version {version} (available: {serving})"
            )
        if mv.state != AVAILABLE:
            raise UnavailableError(
                f"model {self.name!r} version {version} is {mv.state}"
                + (f": {mv.error}" if mv.error else "")
            )
        return mv

    def _summary(self) -> str:
        if not self.versions:
            return "no versions found" + (
                f" under {self.config.base_path}" if self.config.base_path else ""
            )
        return "; ".join(
            f"version {v} {mv.state}" + (f" ({mv.error})" if mv.error else "")
            for v, mv in sorted(self.versions.items())
        )


class ModelRepository:
    """All served models; ``sync()`` reconciles with disk, ``lease()`` routes a request."""

    def __init__(
        self,
        config: ServeConfig,
        *,
        metrics: ServeMetrics | None = None,
        executor: Executor | None = None,
        loader: Callable[[Path], Servable] = load_servable,
    ):
        self.config, self.metrics, self.executor, self.loader = config, metrics, executor, loader
        self.models: dict[str, Model] = {}
        for mc in config.models:
            self.models[mc.name] = Model(config.model_settings(mc.name, mc.base_path).merged(mc))
        self._unloads: set[asyncio.Task] = set()
        self._sync_lock: asyncio.Lock | None = None
        self._poller: asyncio.Task | None = None
        self.synced = not config.models and config.model_base_path is None

    # -- routing -------------------------------------------------------------------------------
    def get(self, name: str) -> Model:
        """The model called ``name``; raises :class:`NotFoundError` listing the served ones."""
        model = self.models.get(name)
        if model is None:
            known = ", ".join(sorted(self.models)) or "none"
            raise NotFoundError(f"model {name!r} not found (serving: {known})")
        return model

    @contextlib.contextmanager
    def lease(
        self, name: str, version: int | None = None, label: str | None = None
    ) -> Iterator[ModelVersion]:
        """Hold a version for one request; it is not unloaded until every lease is released."""
        mv = self.get(name).resolve(version, label)
        mv.inflight += 1
        try:
            yield mv
        finally:
            mv._release()

    def ready(self) -> bool:
        """True once the first :meth:`sync` finished and some model version is available."""
        return self.synced and any(m.available() for m in self.models.values())

    def in_flight(self) -> dict:
        """``{(model, version): requests holding it}`` for the metrics gauge."""
        return {
            (m.name, str(v)): mv.inflight
            for m in self.models.values()
            for v, mv in m.versions.items()
            if mv.state in (AVAILABLE, UNLOADING)
        }

    def states(self) -> dict:
        """``{(model, version, state): 1}`` for the metrics gauge."""
        return {
            (m.name, str(v), mv.state): 1
            for m in self.models.values()
            for v, mv in m.versions.items()
        }

    # -- loading -------------------------------------------------------------------------------
    def _make_batcher(self, model: Model, mv: ModelVersion, servable: Servable) -> DynamicBatcher:
        cfg, server = model.config, self.config
        size = cfg.max_batch_size if cfg.max_batch_size is not None else server.max_batch_size
        micros = cfg.batch_timeout_micros
        micros = server.batch_timeout_micros if micros is None else micros

        def observe(stats: BatchStats, name=mv.model, version=mv.version) -> None:
            if self.metrics is not None:
                self.metrics.observe_batch(name, version, stats)

        return DynamicBatcher(
            servable.predict,
            max_batch_size=size if servable.batchable else 1,
            timeout_s=micros / 1e6,
            executor=self.executor,
            concurrency=max(1, server.threads),
            observe=observe,
            inline=server.threads == 0,
        )

    def _activate(self, model: Model, mv: ModelVersion, servable: Servable) -> None:
        mv.servable = servable
        mv.batcher = self._make_batcher(model, mv, servable)
        mv.state, mv.error = AVAILABLE, ""

    def add_servable(self, name: str, version: int, servable: Servable) -> None:
        """Serve an in-memory model (never synced with disk): tests and embedding."""
        model = self.models.get(name)
        if model is None:
            model = self.models[name] = Model(self.config.model_settings(name, None), True)
        mv = model.versions[version] = ModelVersion(name, version, None)
        self._activate(model, mv, servable)

    async def _load(self, model: Model, version: int, path: Path) -> ModelVersion:
        mv = ModelVersion(model.name, version, path)
        old = model.versions.get(version)
        model.versions[version] = mv
        mv.fingerprint = await asyncio.to_thread(folder_fingerprint, path)
        try:
            servable = await asyncio.to_thread(self.loader, path)
        except ModelLoadError as exc:
            mv.state, mv.error = END, str(exc)
            log.error("model %s version %s failed to load: %s", model.name, version, exc)
            if old is not None and old.state == AVAILABLE:  # keep the old one serving
                model.versions[version] = old
            return mv
        self._activate(model, mv, servable)
        log.info("model %s version %s AVAILABLE (%s)", model.name, version, path)
        return mv

    async def _unload(self, mv: ModelVersion) -> None:
        mv.state = UNLOADING
        await mv.wait_idle()
        if mv.batcher is not None:
            await mv.batcher.close()
        mv.batcher, mv.servable, mv.state = None, None, END
        log.info("model %s version %s unloaded", mv.model, mv.version)

    def _start_unload(self, mv: ModelVersion) -> None:
        task = asyncio.get_running_loop().create_task(self._unload(mv))
        self._unloads.add(task)
        task.add_done_callback(self._unloads.discard)

    # -- syncing with disk ---------------------------------------------------------------------
    def _discover(self, found: dict[str, Path]) -> None:
        for name, path in found.items():
            if name not in self.models:
                self.models[name] = Model(self.config.model_settings(name, path))

    async def sync(self) -> None:
        """One poll: discover models, load wanted versions, then unload unwanted ones."""
        if self._sync_lock is None:
            self._sync_lock = asyncio.Lock()
        async with self._sync_lock:
            if self.config.model_base_path is not None:
                found = await asyncio.to_thread(scan_model_folders, self.config.model_base_path)
                self._discover(found)
            for model in list(self.models.values()):
                if not model.static:
                    await self._sync_model(model)
            self.synced = True

    async def _sync_model(self, model: Model) -> None:
        cfg = model.config
        on_disk = await asyncio.to_thread(scan_versions, cfg.base_path)
        wanted = select_versions(list(on_disk), cfg.version_policy, cfg.num_versions, cfg.versions)
        for version in wanted:
            mv = model.versions.get(version)
            if mv is None or (mv.state == END and not mv.error):
                await self._load(model, version, on_disk[version])
            elif mv.state == END and mv.error:
                fingerprint = await asyncio.to_thread(folder_fingerprint, on_disk[version])
                if fingerprint != mv.fingerprint:
                    await self._load(model, version, on_disk[version])
        any_wanted_ready = any(model.versions[v].state == AVAILABLE for v in wanted)
        for version, mv in list(model.versions.items()):
            if version in wanted:
                continue
            if mv.state == AVAILABLE and (any_wanted_ready or not on_disk):
                self._start_unload(mv)
            elif mv.state == END:
                del model.versions[version]
        if not on_disk and not model.versions and self.config.model_base_path is not None:
            if cfg.base_path is not None and not cfg.base_path.exists():
                del self.models[model.name]

    async def poll_forever(self) -> None:
        """Call :meth:`sync` every ``poll_interval`` seconds (errors are logged, never raised)."""
        while True:
            await asyncio.sleep(self.config.poll_interval)
            try:
                await self.sync()
            except Exception:
                log.exception("model repository poll failed")

    def start_polling(self) -> None:
        """Start the background poll task (no-op when ``poll_interval <= 0``)."""
        if self.config.poll_interval > 0 and self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(self.poll_forever())

    async def close(self) -> None:
        """Stop polling and unload everything after in-flight requests finish."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        for model in self.models.values():
            for mv in model.versions.values():
                if mv.state == AVAILABLE:
                    self._start_unload(mv)
        while self._unloads:
            await asyncio.gather(*list(self._unloads), return_exceptions=True)
