"""Measurement protocol shared by every runner, and the small probes the parent runs.

Timing (:func:`measure`): the first step is timed on its own (for JAX, TensorFlow, tinygrad
and ``torch.compile`` it includes tracing/compiling), then the workload warms up (at least 2
more steps and 0.5 s), then runs ``reps`` (5) repetitions of the same number of steps, that number
being at least ``min_steps`` (30) and enough for a repetition to last ``min_time`` (2 s),
unless a step is so slow that 30 of them would pass ``max_rep_time`` (5 s): then a
repetition is as many steps as fit in it (at least 1; ``steps_per_rep`` in the JSON). The
reported time is the median over the repetitions of (repetition time / steps); the CPU
time of the process (all its threads) per step is reported beside it (``cpu_ms_per_step``),
which other load on the machine disturbs less than wall time. Every step is
synchronised (the loss or the output is ready when ``sync`` returns), as in a training loop
that logs its loss.

Peak memory is the child's high-water RSS (``VmHWM`` from ``/proc/self/status``, or
``ru_maxrss``): every workload of every framework runs in a process of its own.

Run as a module, this file answers the parent's probes (in the Python whose framework is
measured): ``sgemm`` (NumPy float32 matmul rate), ``size DIST...`` (installed size with
dependencies), ``importtime MODULE...`` (``python -X importtime``).
Only the standard library is imported at module level (NumPy lazily).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import traceback

THREADS = 2

# --------------------------------------------------------------------------- timing


def measure(
    step,
    value,
    sync=None,
    *,
    reps: int = 5,
    min_steps: int = 30,
    min_time: float = 2.0,
    max_rep_time: float = 5.0,
    warmup_time: float = 0.5,
    smoke: bool = False,
) -> dict:
    """Time ``step`` by the protocol above; ``value(out)`` gives the step-0 check value."""
    sync = sync or (lambda out: out)
    t0 = time.perf_counter()
    out = step()
    sync(out)
    first = time.perf_counter() - t0
    loss0 = float(value(out))  # now: a jitted step may reuse its output buffers later
    if smoke:  # 2 steps in all: the first, and one timed one
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = step()
        sync(out)
        dt = time.perf_counter() - t0
        return {
            "first_step_ms": first * 1e3,
            "ms_per_step": dt * 1e3,
            "cpu_ms_per_step": (time.process_time() - c0) * 1e3,
            "rep_ms": [dt * 1e3],
            "steps_per_rep": 1,
            "reps": 1,
            "loss0": loss0,
            "loss_last": float(value(out)),
        }
    n = 0
    t0 = time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < warmup_time:
        out = step()
        sync(out)
        n += 1
    est = (time.perf_counter() - t0) / n
    steps = max(min_steps, math.ceil(min_time / max(est, 1e-9)))
    if steps * est > max_rep_time:  # very slow steps: cap a repetition's length (noted in JSON)
        steps = max(1, math.floor(max_rep_time / est))
    rep_ms, cpu_ms = [], []
    for _ in range(reps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(steps):
            out = step()
            sync(out)
        rep_ms.append((time.perf_counter() - t0) / steps * 1e3)
        cpu_ms.append((time.process_time() - c0) / steps * 1e3)
    return {
        "first_step_ms": first * 1e3,
        "ms_per_step": statistics.median(rep_ms),
        "cpu_ms_per_step": statistics.median(cpu_ms),
        "rep_ms": rep_ms,
        "steps_per_rep": steps,
        "reps": reps,
        "loss0": loss0,
        "loss_last": float(value(out)),
    }


def peak_rss_mb() -> float:
    """High-water resident set size of this process, in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024.0 * 1024.0) if sys.platform == "darwin" else kb / 1024.0


# --------------------------------------------------------------------------- child side


def child_main(framework: str, build) -> None:
    """Entry point of every runner: ``build(args, arrays) -> (step, value, sync, version)``.

    Writes one JSON object to ``--out``; a failure is recorded there (``ok: false`` and the
    error) rather than raised, so the parent can report the row as failed.
    """
    ap = argparse.ArgumentParser(description=f"{framework} benchmark runner")
    ap.add_argument("--workload", required=True)
    ap.add_argument("--data", required=True, help=".npz made by benchmarks.workloads")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=THREADS)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-steps", type=int, default=30)
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--max-rep-time", type=float, default=5.0)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--compile", action="store_true", help="torch.compile / ember.compile")
    args = ap.parse_args()
    result: dict = {"framework": framework, "workload": args.workload, "ok": False}
    try:
        import numpy as np

        arrays = dict(np.load(args.data))
        step, value, sync, version = build(args, arrays)
        result["version"] = version
        result.update(
            measure(
                step,
                value,
                sync,
                reps=args.reps,
                min_steps=args.min_steps,
                min_time=args.min_time,
                max_rep_time=args.max_rep_time,
                smoke=args.smoke,
            )
        )
        ok = math.isfinite(result["loss0"])
        result["ok"] = ok
        if not ok:
            result["error"] = f"non-finite step-0 loss {result['loss0']}"
    except BaseException as e:  # noqa: BLE001 - reported, not raised
        result["error"] = f"{type(e).__name__}: {e}".strip()[:2000]
        result["traceback"] = traceback.format_exc()[-4000:]
    result["peak_rss_mb"] = peak_rss_mb()
    try:  # other processes on the machine inflate wall times: keep the 1-minute load
        result["loadavg_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    with open(args.out, "w") as f:
        json.dump(result, f)


def thread_env(threads: int = THREADS) -> dict:
    """Environment variables that pin every framework's thread pools to ``threads``."""
    n = str(threads)
    return {
        "OMP_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "VECLIB_MAXIMUM_THREADS": n,
        "NUMEXPR_NUM_THREADS": n,
        "TF_NUM_INTRAOP_THREADS": n,
        "TF_NUM_INTEROP_THREADS": n,
        "NUM_CPU_THREADS": n,  # tinygrad's CPU backend
        "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={n}",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


# --------------------------------------------------------------------------- probes


def sgemm_gflops(n: int = 1024, seconds: float = 1.0) -> float:
    """Best observed NumPy float32 matmul rate (GFLOP/s) on ``n x n`` matrices."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm up
    best = math.inf
    t_end = time.perf_counter() + seconds
    runs = 0
    while runs < 3 or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return 2.0 * n**3 / best / 1e9


def _requirement_names(dist) -> list[str]:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip vendors it
        from pip._vendor.packaging.requirements import Requirement  # type: ignore
    names = []
    for spec in dist.requires or []:
        try:
            req = Requirement(spec)
        except Exception:  # noqa: BLE001 - an unparsable requirement is skipped
            continue
        if req.marker is not None:
            try:
                if not req.marker.evaluate({"extra": ""}):
                    continue
            except Exception:  # noqa: BLE001
                continue
        names.append(req.name)
    return names


def _dir_size(path: str) -> int:
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def installed_size(dists: list[str]) -> dict:
    """Bytes on disk of the first installed distribution in ``dists`` and of everything it
    requires (transitively, extras excluded). An editable install counts its source package
    directory (without ``__pycache__``)."""
    from importlib import metadata

    root = None
    for name in dists:
        try:
            root = metadata.distribution(name)
            break
        except metadata.PackageNotFoundError:
            continue
    if root is None:
        return {"bytes": None, "dists": []}
    seen: dict[str, int] = {}
    todo = [root]
    while todo:
        dist = todo.pop()
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in seen:
            continue
        size = 0
        for f in dist.files or []:
            try:
                size += os.path.getsize(dist.locate_file(f))
            except OSError:
                pass
        direct = dist.read_text("direct_url.json")
        if direct and '"editable": true' in direct.replace("'", '"'):
            import importlib.util

            top = (dist.read_text("top_level.txt") or key.replace("-", "_")).split()
            for mod in top:
                spec = importlib.util.find_spec(mod)
                if spec and spec.submodule_search_locations:
                    for loc in spec.submodule_search_locations:
                        size += _dir_size(loc)
        seen[key] = size
        for req in _requirement_names(dist):
            try:
                todo.append(metadata.distribution(req))
            except metadata.PackageNotFoundError:
                pass
    return {"bytes": sum(seen.values()), "dists": sorted(seen)}


def _importtime_top(stmt: str, python: str) -> float:
    """Cumulative import time (ms) of the top-level imports made by ``stmt``."""

    def run(code):
        env = dict(os.environ)
        env.pop("PYTHONPROFILEIMPORTTIME", None)
        # let Python cache bytecode, as an installed package has it: with
        # PYTHONDONTWRITEBYTECODE=1 an editable install recompiles every changed module each time
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        proc = subprocess.run(
            [python, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
        rows = []
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)", line)
            if m:
                rows.append((m.group(4), int(m.group(2)), len(m.group(3))))
        return rows

    base = {name for name, _, _ in run("pass")}
    rows = run(stmt)
    indent = min((ind for _, _, ind in rows), default=1)
    return sum(cum for name, cum, ind in rows if ind == indent and name not in base) / 1e3


def import_time_ms(stmt: str, python: str = sys.executable, runs: int = 3) -> float:
    """Median over ``runs`` of :func:`_importtime_top` (the first run also warms the disk)."""
    return statistics.median(_importtime_top(stmt, python) for _ in range(runs))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="benchmark probes (run in the measured Python)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sgemm")
    s.add_argument("--seconds", type=float, default=1.0)
    z = sub.add_parser("size")
    z.add_argument("dists", nargs="+")
    i = sub.add_parser("importtime")
    i.add_argument("stmt")
    i.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    if args.cmd == "sgemm":
        import numpy as np

        out = {"gflops": sgemm_gflops(seconds=args.seconds), "numpy": np.__version__}
    elif args.cmd == "size":
        out = installed_size(args.dists)
    else:
        out = {"ms": import_time_ms(args.stmt, runs=args.runs)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
