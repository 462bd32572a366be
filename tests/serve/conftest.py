"""Shared fixtures for the ``ember serve`` tests: real bundles and a real server on loopback."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

import ember
from ember import nn

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")


class MLP(nn.Module):
    """x float32 [-1, 16] -> y float32 [-1, 4] scores."""

    def __init__(self, seed: int = 0):
        super().__init__()
        ember.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))

    def forward(self, x):
        return self.net(x)


class TwoInTwoOut(nn.Module):
    """x float32 [-1, 4] and ids int64 [-1, 3] -> scores float32 [-1, 2], total int64 [-1]."""

    def __init__(self, seed: int = 1):
        super().__init__()
        ember.manual_seed(seed)
        self.fc = nn.Linear(4, 2)

    def forward(self, x, ids):
        scores = self.fc(x) + ids.float().sum(1, keepdim=True) * 0.5
        return scores, ids.sum(1)


class Regressor(nn.Module):
    """x float32 [-1, 16] -> value float32 [-1, 1]."""

    def __init__(self):
        super().__init__()
        ember.manual_seed(2)
        self.fc = nn.Linear(16, 1)

    def forward(self, x):
        return self.fc(x)


def save(module: nn.Module, path: Path, kind: str) -> Path:
    """Save ``module`` as a bundle with the signature of its ``kind``."""
    import ember.export

    rng = np.random.default_rng(0)
    if kind == "two":
        example = (rng.standard_normal((2, 4), dtype=np.float32), np.arange(6).reshape(2, 3))
        names, outs = ["x", "ids"], ["scores", "total"]
    else:
        example = (rng.standard_normal((2, 16), dtype=np.float32),)
        names, outs = ["x"], ["value" if kind == "reg" else "y"]
    module.eval()
    ember.export.save_bundle(
        module,
        path,
        example_inputs=example,
        input_names=names,
        output_names=outs,
        dynamic_batch=True,
    )
    return Path(path)


@pytest.fixture(scope="session")
def bundles(tmp_path_factory) -> dict[str, Path]:
    """Bundle folders: mlp (v1), mlp2 (another MLP, used as a second version), two, reg."""
    root = tmp_path_factory.mktemp("bundles")
    return {
        "mlp": save(MLP(0), root / "mlp", "mlp"),
        "mlp2": save(MLP(7), root / "mlp2", "mlp"),
        "two": save(TwoInTwoOut(), root / "two", "two"),
        "reg": save(Regressor(), root / "reg", "reg"),
    }


def local_predict(bundle_path: Path, **arrays) -> dict[str, np.ndarray]:
    """What the bundle itself computes for ``arrays`` (the reference for the server)."""
    import ember.export

    return ember.export.load_bundle(bundle_path)(**arrays)


def install(src: Path, dst: Path) -> Path:
    """Copy a bundle folder into place atomically (copy under a temporary name, then rename)."""
    tmp = dst.parent / f".{dst.name}.tmp"
    shutil.copytree(src, tmp)
    tmp.rename(dst)
    return dst


class ServerThread:
    """uvicorn serving an ember app in a thread, on a free loopback port."""

    def __init__(self, config, repo=None, wait_ready: bool = True):
        import uvicorn

        from ember.serve.app import create_app
        from ember.serve.server import bind_socket

        self.sock = bind_socket("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(config, repo)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="on")
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        self.client = httpx.Client(base_url=self.url, timeout=30)
        deadline = time.monotonic() + 20
        path = "/v2/health/ready" if wait_ready else "/v2/health/live"
        while True:
            try:
                if self.client.get(path).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer {path} in time")
            time.sleep(0.02)

    @property
    def repository(self):
        return self.app.state.repository

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def serve_config(**kw):
    from ember.serve.config import ModelConfig, ServeConfig

    models = kw.pop("models", {})
    kw.setdefault("access_log", False)
    return ServeConfig(
        models=[ModelConfig(name=n, base_path=Path(p)) for n, p in models.items()], **kw
    )


@pytest.fixture(scope="module")
def server(bundles):
    """One server with mlp, two and reg (one version each), batching on."""
    config = serve_config(
        models={"mlp": bundles["mlp"], "two": bundles["two"], "reg": bundles["reg"]},
        poll_interval=0,
        batch_timeout_micros=2000,
    )
    with ServerThread(config) as srv:
        yield srv
