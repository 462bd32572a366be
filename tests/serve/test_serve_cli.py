"""``ember serve`` as a process: flags, readiness time, access logs, graceful SIGTERM, workers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest

from conftest import local_predict


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """``python -m ember.serve ...`` on a free port; records how long until it was ready."""

    def __init__(self, *flags: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ember.serve", "--port", str(self.port), *flags],
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        while True:
            try:
                if httpx.get(self.url + "/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.perf_counter() - started > 30:
                self.stop()
                raise RuntimeError("ember serve did not become ready:\n" + "".join(self.lines))
            time.sleep(0.01)
        self.ready_seconds = time.perf_counter() - started

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        return code


def test_serves_answers_logs_and_stops_cleanly(bundles):
    server = ServeProcess("--model", f"mlp={bundles['mlp']}", "--poll-interval", "0")
    try:
        # A small model is ready well within a second on an idle machine; allow for a busy CI.
        print(f"ember serve was ready {server.ready_seconds:.2f} s after the process started")
        assert server.ready_seconds < 10
        x = np.ones((1, 16), np.float32)
        r = httpx.post(server.url + "/v1/models/mlp:predict", json={"instances": x.tolist()})
        assert r.status_code == 200
        np.testing.assert_allclose(
            r.json()["predictions"], local_predict(bundles["mlp"], x=x)["y"], rtol=1e-6
        )
        assert httpx.get(server.url + "/v1/models/nope").status_code == 404
        metrics = httpx.get(server.url + "/monitoring/prometheus/metrics").text
        assert (
            'ember_serve_requests_total{model="mlp",version="1",protocol="tfserving",code="200"} 1'
            in metrics
        )
    finally:
        assert server.stop() == 0
    text = "".join(server.lines)
    assert "ember serve: ready in" in text and "ember serve: stopped" in text
    access = [json.loads(line) for line in server.lines if line.startswith("{")]
    predict = [a for a in access if a["path"] == "/v1/models/mlp:predict"]
    assert predict and predict[0]["status"] == 200 and predict[0]["model"] == "mlp"
    assert {"ts", "client", "method", "ms", "bytes_in", "bytes_out", "version"} <= set(predict[0])


def test_sigterm_lets_a_queued_request_finish(bundles):
    # A long batch window keeps the request waiting in the queue when SIGTERM arrives.
    server = ServeProcess(
        "--model",
        f"mlp={bundles['mlp']}",
        "--batch-timeout-micros",
        "1000000",
        "--no-access-log",
        "--poll-interval",
        "0",
    )
    result = {}

    def call():
        tensor = {"name": "x", "shape": [1, 16], "datatype": "FP32", "data": [0.5] * 16}
        result["r"] = httpx.post(
            server.url + "/v2/models/mlp/infer", json={"inputs": [tensor]}, timeout=30
        )

    caller = threading.Thread(target=call)
    caller.start()
    in_flight = 'ember_serve_requests_in_flight{model="mlp",version="1"} 1'
    deadline = time.monotonic() + 20
    while in_flight not in httpx.get(server.url + "/metrics").text:  # the request is queued
        assert time.monotonic() < deadline, "the request never reached the server"
        time.sleep(0.01)
    assert server.stop(signal.SIGTERM) == 0
    caller.join()
    assert result["r"].status_code == 200
    want = local_predict(bundles["mlp"], x=np.full((1, 16), 0.5, np.float32))["y"]
    np.testing.assert_allclose(result["r"].json()["outputs"][0]["data"], want[0], rtol=1e-6)
    assert not any(line.startswith("{") for line in server.lines)  # --no-access-log


@pytest.mark.skipif(not hasattr(os, "fork"), reason="multi-process serving needs fork")
def test_workers_share_the_port(bundles):
    server = ServeProcess(
        "--model",
        f"mlp={bundles['mlp']}",
        "--workers",
        "2",
        "--no-access-log",
        "--poll-interval",
        "0",
    )
    try:
        with httpx.Client(base_url=server.url) as client:
            for _ in range(4):
                r = client.post("/v1/models/mlp:predict", json={"instances": [[0.0] * 16]})
                assert r.status_code == 200
    finally:
        assert server.stop() == 0


BAD_FLAGS = [
    ([], "nothing to serve"),
    (["--model", "mlp"], "NAME=PATH"),
    (["--model", "a b=/tmp"], "model names may use"),
    (["--model", "m=/no/such/folder"], "does not exist"),
    (["--model-base-path", "/no/such/folder"], "is not a folder"),
    (["--model-base-path", ".", "--max-batch-size", "-1"], "--max-batch-size must be >= 0"),
    (["--model-base-path", ".", "--threads", "-1"], "--threads must be >= 0"),
    (["--model-base-path", ".", "--intra-op-threads", "0"], "--intra-op-threads must be > 0"),
    (["--model-base-path", ".", "--versions", "1,x"], "--versions expects integers"),
    (["--model-base-path", ".", "--version-policy", "specific"], "needs a list of versions"),
    (["--model-base-path", ".", "--port", "70000"], "--port must be in"),
    (["--model-config", "/no/such.json"], "cannot read the model config file"),
]


@pytest.mark.parametrize("flags,words", BAD_FLAGS)
def test_bad_flags_exit_2_with_a_message(capsys, flags, words):
    from ember.serve.cli import main

    assert main(flags) == 2
    err = capsys.readouterr().err
    assert err.startswith("ember serve: error:") and words in err, err


def test_missing_web_stack_says_how_to_install(monkeypatch):
    from ember.serve.app import require_serve_extra

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # makes `import uvicorn` fail
    with pytest.raises(ImportError, match=r"pip install 'ember\[serve\]'"):
        require_serve_extra()


def test_port_in_use_is_reported(bundles, capsys):
    from ember.serve.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert main(["--model", f"m={bundles['mlp']}", "--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
