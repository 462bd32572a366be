"""Dynamic batching: concurrent requests are merged, and each gets what it would alone."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace as NS

import httpx
import numpy as np
import pytest

from conftest import ServerThread, local_predict, serve_config


def metric(text: str, name: str, **labels) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total, found = 0.0, False
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(\{{(.*)\}})? (\S+)$", line)
        if not m:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(have.get(k) == str(v) for k, v in labels.items()):
            total, found = total + float(m.group(3)), True
    assert found, f"no sample {name}{labels}"
    return total


def fire(url: str, jobs: list, workers: int = 16) -> list[httpx.Response]:
    """POST every (path, json) job concurrently from ``workers`` threads."""
    local = threading.local()
    start = threading.Barrier(workers)

    def send(job):
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=30)
            start.wait()  # every thread ready before the first request: they really overlap
        return local.client.post(job[0], json=job[1])

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(send, jobs))


@pytest.fixture(scope="module", params=[1, 0], ids=["thread", "inline"])
def batching_server(bundles, request):
    config = serve_config(
        models={"mlp": bundles["mlp"], "two": bundles["two"]},
        poll_interval=0,
        threads=request.param,  # model calls in a thread, or on the event loop itself
        max_batch_size=16,
        batch_timeout_micros=100_000,  # long enough that concurrent requests surely meet
    )
    with ServerThread(config) as srv:
        yield srv


def test_batched_answers_equal_unbatched_ones(batching_server, bundles):
    rng = np.random.default_rng(3)
    requests = []
    for i in range(64):
        rows = 1 + i % 3
        x = rng.standard_normal((rows, 4), dtype=np.float32)
        ids = rng.integers(-1000, 1000, size=(rows, 3))
        requests.append((x, ids))
    jobs = [
        ("/v1/models/two:predict", {"inputs": {"x": x.tolist(), "ids": ids.tolist()}})
        for x, ids in requests
    ]
    replies = fire(batching_server.url, jobs)
    for (x, ids), reply in zip(requests, replies):
        assert reply.status_code == 200, reply.text
        alone = local_predict(bundles["two"], x=x, ids=ids)
        out = reply.json()["outputs"]
        # Integer outputs come back bit for bit: the split returns each request its own rows.
        assert out["total"] == alone["total"].tolist()
        # Float outputs: BLAS picks its kernel by batch size, so the last bits may differ.
        np.testing.assert_allclose(out["scores"], alone["scores"], rtol=1e-5, atol=1e-6)
    text = batching_server.client.get("/metrics").text
    calls = metric(text, "ember_serve_batch_requests_count", model="two")
    merged = metric(text, "ember_serve_batch_requests_sum", model="two")
    assert merged == 64
    assert calls < 64, "no two requests were merged"
    assert metric(text, "ember_serve_batch_size_sum", model="two") == sum(
        len(x) for x, _ in requests
    )
    # every request waited in the queue once, every model call was timed
    assert metric(text, "ember_serve_queue_duration_seconds_count", model="two") == 64
    assert metric(text, "ember_serve_inference_duration_seconds_count", model="two") == calls
    assert (
        metric(text, "ember_serve_requests_total", model="two", protocol="tfserving", code="200")
        == 64
    )
    buckets = metric(text, "ember_serve_request_duration_seconds_bucket", model="two", le="+Inf")
    assert buckets == 64


def test_kserve_and_tfserving_requests_share_batches(batching_server, bundles):
    x = np.random.default_rng(4).standard_normal((24, 16), dtype=np.float32)
    jobs = []
    for i in range(24):
        if i % 2:
            jobs.append(("/v1/models/mlp:predict", {"instances": x[i : i + 1].tolist()}))
        else:
            tensor = {"name": "x", "shape": [1, 16], "datatype": "FP32", "data": x[i].tolist()}
            jobs.append(("/v2/models/mlp/infer", {"inputs": [tensor]}))
    replies = fire(batching_server.url, jobs, workers=12)
    want = local_predict(bundles["mlp"], x=x)["y"]
    for i, reply in enumerate(replies):
        assert reply.status_code == 200, reply.text
        body = reply.json()
        got = body["predictions"][0] if i % 2 else body["outputs"][0]["data"]
        np.testing.assert_allclose(got, want[i], rtol=1e-5, atol=1e-6)


def _in_memory(name, call, shape=(None, 2), dtype="int64"):
    from ember.serve import Servable

    spec = NS(name="x", dtype=dtype, shape=shape)
    return name, Servable.wrap(NS(signature=NS(inputs=[spec], outputs=[spec]), metadata={}), call)


def test_a_failing_request_does_not_fail_its_batch_neighbours():
    from ember.serve import ModelRepository

    def picky(x):
        if (x < 0).any():
            raise ValueError("negative ids are not allowed")
        return {"x": x * 10}

    config = serve_config(poll_interval=0, max_batch_size=32, batch_timeout_micros=100_000)
    repo = ModelRepository(config)
    repo.add_servable("picky", 1, _in_memory("picky", picky)[1])
    with ServerThread(config, repo=repo) as srv:
        values = [[[i, i]] if i != 5 else [[-1, 1]] for i in range(12)]
        jobs = [("/v1/models/picky:predict", {"instances": v}) for v in values]
        replies = fire(srv.url, jobs, workers=12)
        for i, reply in enumerate(replies):
            if i == 5:
                assert reply.status_code == 400
                assert "negative ids are not allowed" in reply.json()["error"]
            else:
                assert reply.status_code == 200, reply.text
                assert reply.json()["predictions"] == [[10 * i, 10 * i]]
        text = srv.client.get("/metrics").text
        # The bad request really shared a model call with others (then was re-run alone).
        assert metric(text, "ember_serve_batch_requests_count", model="picky") < 12


def test_requests_with_different_trailing_shapes_are_not_mixed():
    from ember.serve import ModelRepository

    config = serve_config(poll_interval=0, max_batch_size=32, batch_timeout_micros=20_000)
    repo = ModelRepository(config)
    repo.add_servable(
        "rowsum", 1, _in_memory("rowsum", lambda x: {"x": np.cumsum(x, axis=1)}, (None, None))[1]
    )
    with ServerThread(config, repo=repo) as srv:
        values = [[list(range(1 + i % 4))] for i in range(16)]
        jobs = [("/v1/models/rowsum:predict", {"instances": v}) for v in values]
        for v, reply in zip(values, fire(srv.url, jobs, workers=16)):
            assert reply.status_code == 200, reply.text
            assert reply.json()["predictions"] == [np.cumsum(v[0]).tolist()]


def test_batching_off_runs_every_request_alone(bundles):
    config = serve_config(models={"mlp": bundles["mlp"]}, poll_interval=0, max_batch_size=0)
    with ServerThread(config) as srv:
        x = np.random.default_rng(5).standard_normal((8, 16), dtype=np.float32)
        jobs = [("/v1/models/mlp:predict", {"instances": x[i : i + 1].tolist()}) for i in range(8)]
        want = local_predict(bundles["mlp"], x=x)["y"]
        for i, reply in enumerate(fire(srv.url, jobs, workers=8)):
            # One row per model call, as the bundle computes it alone: bit for bit.
            alone = local_predict(bundles["mlp"], x=x[i : i + 1])["y"]
            assert np.array_equal(np.array(reply.json()["predictions"], np.float32), alone)
            np.testing.assert_allclose(alone[0], want[i], rtol=1e-5, atol=1e-6)
        text = srv.client.get("/metrics").text
        assert metric(text, "ember_serve_batch_requests_count", model="mlp") == 8
        assert metric(text, "ember_serve_batch_requests_sum", model="mlp") == 8
