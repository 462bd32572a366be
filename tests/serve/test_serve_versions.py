"""Model versions: policies, labels, polling, failed loads, and updates under load."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from conftest import ServerThread, install, local_predict, serve_config

X = np.random.default_rng(11).standard_normal((1, 16), dtype=np.float32)


def wait_until(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def available(client: httpx.Client, name: str) -> list[str]:
    r = client.get(f"/v1/models/{name}")
    if r.status_code != 200:
        return []
    return sorted(
        s["version"] for s in r.json()["model_version_status"] if s["state"] == "AVAILABLE"
    )


@pytest.mark.parametrize(
    "policy,extra,want",
    [
        ("latest", {}, [3]),
        ("latest", {"num_versions": 2}, [2, 3]),
        ("all", {}, [1, 2, 3]),
        ("specific", {"versions": (1, 3, 9)}, [1, 3]),
    ],
)
def test_version_policies(tmp_path, bundles, policy, extra, want):
    from ember.serve import ModelConfig, ModelRepository

    for v in (1, 2, 3):
        install(bundles["mlp"], tmp_path / str(v))
    (tmp_path / "4.partial").mkdir()  # not an integer: ignored
    config = serve_config(
        models={"m": tmp_path},
        default_policy=ModelConfig(name="*", version_policy=policy, **extra),
    )

    async def main():
        repo = ModelRepository(config)
        await repo.sync()
        got = [mv.version for mv in repo.get("m").available()]
        await repo.close()
        return got

    assert asyncio.run(main()) == want


def test_labels_route_to_versions(tmp_path, bundles):
    from ember.serve.config import load_model_config_file

    root = tmp_path / "m"
    install(bundles["mlp"], root / "1")
    install(bundles["mlp2"], root / "2")
    cfg = tmp_path / "models.json"
    cfg.write_text(
        json.dumps(
            {
                "models": {
                    "m": {
                        "base_path": "m",
                        "version_policy": "all",
                        "version_labels": {"stable": 1, "canary": 2},
                    }
                }
            }
        )
    )
    overrides = load_model_config_file(cfg)
    config = serve_config(models={"m": overrides["m"].base_path}, overrides=overrides)
    with ServerThread(config) as srv:
        for label, bundle in (("stable", "mlp"), ("canary", "mlp2")):
            r = srv.client.post(
                f"/v1/models/m/labels/{label}:predict", json={"instances": X.tolist()}
            )
            assert r.status_code == 200, r.text
            np.testing.assert_allclose(
                r.json()["predictions"], local_predict(bundles[bundle], x=X)["y"], rtol=1e-6
            )
        # Unversioned requests go to the newest available version.
        r = srv.client.post("/v1/models/m:predict", json={"instances": X.tolist()})
        np.testing.assert_allclose(
            r.json()["predictions"], local_predict(bundles["mlp2"], x=X)["y"], rtol=1e-6
        )
        status = srv.client.get("/v1/models/m/labels/canary").json()["model_version_status"]
        assert [s["version"] for s in status] == ["2"]


def test_failed_load_is_reported_and_others_keep_serving(tmp_path, bundles):
    install(bundles["mlp"], tmp_path / "good" / "1")
    broken = tmp_path / "bad" / "1"
    broken.mkdir(parents=True)
    (broken / "garbage.txt").write_text("not a bundle")
    config = serve_config(model_base_path=tmp_path, poll_interval=0.05)
    with ServerThread(config) as srv:
        status = srv.client.get("/v1/models/bad").json()["model_version_status"]
        assert status[0]["state"] == "END"
        assert status[0]["status"]["error_code"] == "UNKNOWN"
        assert str(broken) in status[0]["status"]["error_message"]
        assert srv.client.get("/v2/models/bad/ready").status_code == 400
        r = srv.client.post("/v1/models/bad:predict", json={"instances": X.tolist()})
        assert r.status_code == 503 and "version 1 END" in r.json()["error"]
        r = srv.client.post("/v1/models/good:predict", json={"instances": X.tolist()})
        assert r.status_code == 200
        # Fixing the folder makes the next poll retry the load.
        shutil.rmtree(broken)
        install(bundles["mlp2"], broken)
        wait_until(lambda: available(srv.client, "bad") == ["1"], what="the fixed version")
        # A model folder appearing under --model-base-path is picked up too.
        install(bundles["mlp"], tmp_path / "newcomer" / "1")
        wait_until(lambda: available(srv.client, "newcomer") == ["1"], what="the new model")


def test_version_added_and_removed_under_load(tmp_path, bundles):
    root = tmp_path / "m"
    install(bundles["mlp"], root / "1")
    config = serve_config(models={"m": root}, poll_interval=0.05, batch_timeout_micros=500)
    v1 = local_predict(bundles["mlp"], x=X)["y"]
    v2 = local_predict(bundles["mlp2"], x=X)["y"]
    with ServerThread(config) as srv:
        stop = threading.Event()
        seen: dict[str, int] = {"v1": 0, "v2": 0}
        failures: list[str] = []

        def load():
            with httpx.Client(base_url=srv.url, timeout=30) as client:
                while not stop.is_set():
                    r = client.post("/v1/models/m:predict", json={"instances": X.tolist()})
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text}")
                        continue
                    got = np.array(r.json()["predictions"], np.float32)
                    if np.allclose(got, v1, rtol=1e-5):
                        seen["v1"] += 1
                    elif np.allclose(got, v2, rtol=1e-5):
                        seen["v2"] += 1
                    else:
                        failures.append(f"unexpected answer {got}")

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: seen["v1"] > 20, what="load on v1")
            install(bundles["mlp2"], root / "2")
            wait_until(lambda: available(srv.client, "m") == ["2"], what="v2 replacing v1")
            before = seen["v2"]
            wait_until(lambda: seen["v2"] > before + 20, what="load on v2")
            # Remove v2 atomically (rename out of the integer namespace, then delete).
            (root / "2").rename(root / ".2.removed")
            shutil.rmtree(root / ".2.removed")
            wait_until(lambda: available(srv.client, "m") == ["1"], what="v1 back")
            before = seen["v1"]
            wait_until(lambda: seen["v1"] > before + 20, what="load on v1 again")
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert failures == []
        assert seen["v1"] > 40 and seen["v2"] > 20
        # v2 is dropped once its in-flight requests finished and the next poll saw it gone.
        wait_until(lambda: srv.repository.get("m").versions.keys() == {1}, what="v2 dropped")


def test_model_config_file_errors_name_the_field(tmp_path):
    from ember.serve.config import load_model_config_file

    cases = [
        ({"models": {"m": {"version_policy": "newest"}}}, "version_policy must be one of"),
        ({"models": {"m": {"versions": ["1"]}}}, "models.m.versions: expected a list of integers"),
        ({"models": {"m": {"max_batch_size": -1}}}, "models.m.max_batch_size"),
        ({"models": {"m": {"version_policy": "specific"}}}, "needs a list of versions"),
        ({"model": {}}, "at the top level"),
        ({"models": {"bad name": {}}}, "invalid model name"),
    ]
    for i, (data, words) in enumerate(cases):
        path = tmp_path / f"c{i}.json"
        path.write_text(json.dumps(data))
        with pytest.raises(ValueError, match=words) as info:
            load_model_config_file(path)
        assert str(path) in str(info.value)
    path = Path(tmp_path / "broken.json")
    path.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model_config_file(path)
