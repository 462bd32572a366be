"""``python -m benchmarks.serve_bench``: ``ember serve`` against PyTorch behind a minimal FastAPI app.

Two models, the same weights in both servers:

* ``digits_cnn`` — ``ember.quickstart.DigitsCNN`` (the quickstart model: 2 convs + pool + 2
  linears on 1x8x8 images);
* ``mlp_w1`` — the W1 MLP, 784-512-512-10 with ReLU.

Servers, each a separate process on loopback, both uvicorn (same HTTP stack), both answering
TF Serving's row format ``POST /v1/models/<name>:predict`` with ``{"instances": [one row]}``:

* ``ember`` — ``python -m ember.serve`` on a bundle saved with ``ember.export.save_bundle``,
  dynamic batching on (``--max-batch-size 32``), and ``ember-nobatch`` with batching off;
* ``torch+fastapi`` — the model in PyTorch behind the FastAPI app a user would write first
  (a pydantic request model, ``torch.inference_mode()``, one forward per request).

The load generator is an asyncio client with one keep-alive connection per concurrent user,
pre-encoded requests and minimal HTTP parsing, so it spends as little CPU as a Python client
can. For each (model, concurrency) it runs ``--rounds`` rounds of ``--duration`` seconds (after
a warm-up) on every server in turn, so load from other programs on the machine hits all of
them alike, and reports the median round's throughput, p50/p99 latency over all rounds, and
the server's CPU time per request (from ``/proc``: the least noisy figure on a busy machine).
Everything is bounded (about 5 minutes with the defaults) and stays on 127.0.0.1. Prints a
Markdown table (and writes JSON with ``--out``).

    python -m benchmarks.serve_bench                      # all models, concurrency 1, 8, 32
    python -m benchmarks.serve_bench --duration 1 --models mlp_w1 --concurrency 32
"""

import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = ("digits_cnn", "mlp_w1")
SERVERS = ("ember", "ember-nobatch", "torch+fastapi")


# -- models (the same architecture in ember and torch) -----------------------------------------
def _example(kind: str):
    import numpy as np

    shape = (1, 1, 8, 8) if kind == "digits_cnn" else (1, 784)
    return np.random.default_rng(0).standard_normal(shape, dtype=np.float32)


def _ember_model(kind: str):
    import ember
    from ember import nn

    ember.manual_seed(0)
    if kind == "digits_cnn":
        from ember.quickstart import DigitsCNN

        return DigitsCNN()
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    )


def _torch_model(kind: str):
    from torch import nn

    if kind == "digits_cnn":

        class DigitsCNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(
                    nn.Conv2d(1, 16, 3, padding=1),
                    nn.ReLU(),
                    nn.Conv2d(16, 32, 3, padding=1),
                    nn.ReLU(),
                    nn.MaxPool2d(2),
                )
                self.classifier = nn.Sequential(
                    nn.Flatten(),
                    nn.Linear(32 * 4 * 4, 64),
                    nn.ReLU(),
                    nn.Dropout(0.2),
                    nn.Linear(64, 10),
                )

            def forward(self, x):
                return self.classifier(self.features(x))

        return DigitsCNN()
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    )


def prepare(kind: str, root: Path) -> tuple[Path, Path]:
    """Save the ember bundle and the weights (npz) the torch server loads."""
    import numpy as np

    import ember.export

    model = _ember_model(kind)
    model.eval()
    bundle = root / kind / "1"
    ember.export.save_bundle(
        model,
        bundle,
        example_inputs=(_example(kind),),
        input_names=["x"],
        output_names=["y"],
        dynamic_batch=True,
    )
    weights = root / f"{kind}.npz"
    np.savez(weights, **{k: v.numpy() for k, v in model.state_dict().items()})
    return root / kind, weights


# -- the baseline server ------------------------------------------------------------------------
def baseline_app(kind: str, weights: str, threads: int = 0):
    """The minimal FastAPI app: PyTorch model, pydantic request, one forward per request
    (``threads`` > 0 sets ``torch.set_num_threads``; 0 keeps PyTorch's default)."""
    import numpy as np
    import torch
    from fastapi import FastAPI
    from pydantic import BaseModel

    if threads > 0:
        torch.set_num_threads(threads)

    model = _torch_model(kind)
    state = {k: torch.from_numpy(v) for k, v in np.load(weights).items()}
    model.load_state_dict(state)
    model.eval()
    app = FastAPI()

    class PredictRequest(BaseModel):
        instances: list

    @app.post("/v1/models/{name}:predict")
    def predict(name: str, request: PredictRequest):
        with torch.inference_mode():
            out = model(torch.tensor(request.instances, dtype=torch.float32))
        return {"predictions": out.tolist()}

    @app.get("/ready")
    def ready():
        return {"ready": True}

    return app


def _run_baseline(kind: str, weights: str, port: int, threads: int) -> None:
    import uvicorn

    uvicorn.run(
        baseline_app(kind, weights),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


# -- processes ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    return env


def start_server(server: str, kind: str, model_dir: Path, weights: Path, args) -> tuple:
    port = _free_port()
    if server == "torch+fastapi":
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.serve_bench",
            "--run-baseline",
            kind,
            str(weights),
            str(port),
            str(args.torch_threads),
        ]
        ready = "/ready"
    else:
        batch = (
            [
                "--max-batch-size",
                str(args.max_batch_size),
                "--batch-timeout-micros",
                str(args.batch_timeout_micros),
            ]
            if server == "ember"
            else ["--max-batch-size", "0"]
        )
        cmd = [
            sys.executable,
            "-m",
            "ember.serve",
            "--model",
            f"{kind}={model_dir}",
            "--port",
            str(port),
            "--no-access-log",
            "--poll-interval",
            "0",
            "--threads",
            str(args.ember_threads),
            *batch,
        ]
        ready = "/v2/health/ready"
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{server} exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            status, _ = asyncio.run(_one(port, _get(ready)))
            if status == 200:
                return proc, port
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{server} did not become ready")
        time.sleep(0.05)


def stop_server(proc) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- the load generator -------------------------------------------------------------------------
def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def _post(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(reader, writer, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _open(port: int):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, writer


async def _one(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await _open(port)
    try:
        return await _exchange(reader, writer, request)
    finally:
        writer.close()


async def _load(port: int, requests: list[bytes], users: int, warmup: float, duration: float):
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, stop_at = start + warmup, start + warmup + duration

    async def user(k: int):
        nonlocal errors
        reader, writer = await _open(port)
        i = k
        try:
            while True:
                t0 = loop.time()
                if t0 >= stop_at:
                    return
                status, _ = await _exchange(reader, writer, requests[i % len(requests)])
                t1 = loop.time()
                i += users
                if t0 >= measure_from:
                    if status == 200:
                        latencies.append(t1 - t0)
                    else:
                        errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(user(k) for k in range(users)))
    return latencies, errors


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def requests_for(kind: str) -> list[bytes]:
    """64 pre-encoded TF Serving row-format requests, one random example each."""
    import numpy as np

    rng = np.random.default_rng(1)
    shape = (1, 8, 8) if kind == "digits_cnn" else (784,)
    path = f"/v1/models/{kind}:predict"
    return [
        _post(
            path, json.dumps({"instances": [rng.standard_normal(shape).round(4).tolist()]}).encode()
        )
        for _ in range(64)
    ]


def measure_round(port: int, pid: int, requests: list, users: int, warmup: float, duration: float):
    """One timed run: latencies (s) of the measured window, errors, server CPU seconds."""
    cpu_before, client_before = cpu_seconds(pid), time.process_time()
    latencies, errors = asyncio.run(_load(port, requests, users, warmup, duration))
    cpu = cpu_seconds(pid) - cpu_before  # warm-up included: scaled to the measured window
    client = time.process_time() - client_before
    share = duration / (warmup + duration)
    return {
        "latencies": latencies,
        "errors": errors,
        "cpu": cpu * share,
        "client_cpu": client * share,
        "duration": duration,
    }


def summarize(rounds: list[dict]) -> dict:
    """Median throughput over the rounds; latency percentiles over all their requests."""
    import numpy as np

    lat = np.sort(np.concatenate([np.array(r["latencies"]) for r in rounds])) * 1e3
    n = len(lat)
    return {
        "requests": n,
        "errors": sum(r["errors"] for r in rounds),
        "throughput": float(np.median([len(r["latencies"]) / r["duration"] for r in rounds])),
        "p50_ms": float(np.percentile(lat, 50)) if n else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if n else float("nan"),
        "server_cpu_ms_per_request": 1e3 * sum(r["cpu"] for r in rounds) / max(n, 1),
        "client_cpu_ms_per_request": 1e3 * sum(r["client_cpu"] for r in rounds) / max(n, 1),
    }


def check_same_answers(ports: dict, kind: str) -> float:
    """Largest difference between the servers' answers to one request (same model, same weights)."""
    import numpy as np

    x = _example(kind)
    body = json.dumps({"instances": x.tolist()}).encode()
    answers = []
    for port in ports.values():
        status, raw = asyncio.run(_one(port, _post(f"/v1/models/{kind}:predict", body)))
        assert status == 200, raw
        answers.append(np.array(json.loads(raw)["predictions"]))
    return float(max(np.abs(a - answers[0]).max() for a in answers))


# -- main ---------------------------------------------------------------------------------------
def markdown(results: list[dict]) -> str:
    lines = [
        "| model | server | concurrency | requests/s | p50 ms | p99 ms | server CPU ms/request |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['model']} | {r['server']} | {r['concurrency']} | {r['throughput']:.0f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['server_cpu_ms_per_request']:.2f} |"
        )
    ratios = []
    for model in dict.fromkeys(r["model"] for r in results):
        for c in dict.fromkeys(r["concurrency"] for r in results):
            by = {
                r["server"]: r["throughput"]
                for r in results
                if r["model"] == model and r["concurrency"] == c
            }
            if "ember" in by and "torch+fastapi" in by:
                ratios.append(f"{model} c={c}: {by['ember'] / by['torch+fastapi']:.2f}x")
    if ratios:
        lines += ["", "ember (batching on) throughput / torch+fastapi: " + ", ".join(ratios)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.serve_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds measured per round")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per (model, concurrency)")
    parser.add_argument(
        "--server-warmup", type=float, default=2.0, help="seconds of load on each new server"
    )
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument(
        "--ember-threads", type=int, default=0, help="ember serve --threads (0: on the loop)"
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=max(1, (os.cpu_count() or 2) // 2),
        help="torch.set_num_threads for the baseline (0: PyTorch's default); the default, half "
        "the CPUs, is the rule ember serve uses for its BLAS threads",
    )
    parser.add_argument("--batch-timeout-micros", type=int, default=0)
    parser.add_argument("--out", help="also write the results as JSON here")
    parser.add_argument(
        "--run-baseline",
        nargs=4,
        metavar=("MODEL", "WEIGHTS", "PORT", "THREADS"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if args.run_baseline:
        kind, weights, port, threads = args.run_baseline
        _run_baseline(kind, weights, int(port), int(threads))
        return 0
    sys.path.insert(0, str(REPO / "src"))
    models = [m for m in args.models.split(",") if m]
    servers = [s for s in args.servers.split(",") if s]
    users = [int(c) for c in args.concurrency.split(",") if c]
    results = []
    root = Path(tempfile.mkdtemp(prefix="ember-serve-bench-"))
    try:
        for kind in models:
            model_dir, weights = prepare(kind, root)
            running = {}
            try:
                for server in servers:
                    running[server] = start_server(server, kind, model_dir, weights, args)
                diff = check_same_answers({s: p for s, (_, p) in running.items()}, kind)
                print(f"{kind}: the servers agree to {diff:.1e}", file=sys.stderr)
                requests = requests_for(kind)
                # Warm every server up at the highest concurrency first (thread pools, caches,
                # lazily created kernels), so no cell pays for first calls.
                for server in servers:
                    proc, port = running[server]
                    measure_round(port, proc.pid, requests, max(users), 0.0, args.server_warmup)
                for c in users:
                    # Interleave the servers round by round, so a change in the machine's load
                    # hits all of them alike; report the median round.
                    rounds: dict[str, list] = {server: [] for server in servers}
                    for _ in range(args.rounds):
                        for server in servers:
                            proc, port = running[server]
                            rounds[server].append(
                                measure_round(
                                    port, proc.pid, requests, c, args.warmup, args.duration
                                )
                            )
                    for server in servers:
                        r = summarize(rounds[server])
                        r.update(model=kind, server=server, concurrency=c)
                        results.append(r)
                        print(
                            f"{kind:10s} {server:14s} c={c:<3d} {r['throughput']:8.0f} req/s "
                            f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                            f"server cpu {r['server_cpu_ms_per_request']:.3f} ms/req  "
                            f"client cpu {r['client_cpu_ms_per_request']:.3f} ms/req  "
                            f"errors {r['errors']}",
                            file=sys.stderr,
                        )
            finally:
                for proc, _ in running.values():
                    stop_server(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    header = (
        f"{datetime.date.today().isoformat()}, {platform.machine()} {os.cpu_count()} "
        f"cores, Python {platform.python_version()}, {args.rounds} x {args.duration:g} s per "
        f"cell (median round), "
        f"batching: max {args.max_batch_size} rows, {args.batch_timeout_micros} us"
    )
    print(header)
    print(markdown(results))
    if args.out:
        Path(args.out).write_text(json.dumps({"setup": header, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
