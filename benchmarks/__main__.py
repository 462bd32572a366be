"""``python -m benchmarks``: run the workloads on ember and its peers, write JSON + Markdown.

Every (framework, workload) pair runs in a child process of its own, in the Python that has
the framework installed (``--peer-python jax=/path/to/venv/bin/python``), with 2 threads set
through the environment and the framework's own API. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from . import protocol, report, workloads

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Every framework the harness knows. ``runner`` is the module under benchmarks/runners,
#: ``python`` the peer name whose interpreter it uses (torch-compile shares torch's).
FRAMEWORKS: dict[str, dict] = {
    "ember": {
        "runner": "ember_runner",
        "import": "ember",
        "import_stmt": "import ember, ember.nn, ember.optim",
        "dists": ["ember"],
        "install": "pip install -e .  (from the repository root)",
        "mode": "eager",
    },
    "ember-compile": {
        "runner": "ember_runner",
        "extra_args": ["--compile"],
        "python": "ember",
        "import": "ember",
        "import_stmt": "import ember, ember.nn, ember.optim",
        "dists": ["ember"],
        "install": "as ember; a C compiler (cc/gcc/clang) for the fused kernels",
        "mode": "ember.compile",
    },
    "torch": {
        "runner": "torch_runner",
        "import": "torch",
        "import_stmt": "import torch",
        "dists": ["torch"],
        "install": "pip install torch==2.13.0  (the CPU wheel)",
        "mode": "eager",
    },
    "torch-compile": {
        "runner": "torch_runner",
        "extra_args": ["--compile"],
        "python": "torch",
        "import": "torch",
        "import_stmt": "import torch",
        "dists": ["torch"],
        "install": "as torch; needs a C++ compiler for inductor",
        "mode": "torch.compile (inductor)",
    },
    "jax": {
        "runner": "jax_runner",
        "import": "jax",
        "import_stmt": "import jax, jax.numpy",
        "dists": ["jax"],
        "install": "pip install jax jaxlib",
        "mode": "jax.jit",
    },
    "tensorflow": {
        "runner": "tensorflow_runner",
        "import": "tensorflow",
        "import_stmt": "import tensorflow",
        "dists": ["tensorflow-cpu", "tensorflow"],
        "install": "pip install tensorflow-cpu",
        "mode": "tf.function",
    },
    "tinygrad": {
        "runner": "tinygrad_runner",
        "import": "tinygrad",
        "import_stmt": "import tinygrad",
        "dists": ["tinygrad"],
        "install": "pip install tinygrad  (and a clang on PATH: apt-get install clang)",
        "mode": "TinyJit",
    },
}

DEFAULT_PEERS = "torch,jax,tensorflow,tinygrad"


def _log(msg: str) -> None:
    print(f"[benchmarks {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine_info() -> dict:
    """CPU model and count (from /proc/cpuinfo), memory, OS, Python, load average."""
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            info["memory_gib"] = round(kb / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        info["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def child_env(framework: str, threads: int, scratch: str) -> dict:
    env = dict(os.environ)
    env.update(protocol.thread_env(threads))
    paths = [REPO]
    if FRAMEWORKS[framework].get("python", framework) == "ember":  # a fresh clone works too
        paths.append(os.path.join(REPO, "src"))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["JAX_PLATFORMS"] = "cpu"
    # cold caches, so the first-step time is a real trace + compile every time
    env["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(scratch, "inductor")
    env["CACHEDB"] = os.path.join(scratch, "tinygrad-cache.db")
    env["EMBER_CACHE_DIR"] = os.path.join(scratch, "ember-kernels")
    return env


def _probe(python: str, env: dict, args: list[str], timeout: float = 600) -> dict:
    proc = subprocess.run(
        [python, "-m", "benchmarks.protocol", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        raise RuntimeError(tail[-1] if tail else f"exit {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def framework_available(python: str, module: str, env: dict) -> tuple[bool, str]:
    """(importable, version or error) of ``module`` in ``python``."""
    code = (
        f"import importlib; m = importlib.import_module({module!r}); "
        "import importlib.metadata as md\n"
        "v = getattr(m, '__version__', None)\n"
        f"v = v or md.version({module!r})\n"
        "print(v)"
    )
    try:
        proc = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, env=env, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"{type(e).__name__}: {e}"
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return False, lines[-1] if lines else f"exit {proc.returncode}"
    return True, proc.stdout.strip().splitlines()[-1]


def run_cell(fw: str, python: str, workload: str, data: str, args, env: dict) -> dict:
    spec = FRAMEWORKS[fw]
    out = os.path.join(os.path.dirname(data), f"{fw}-{workload}.json")
    cmd = [
        python,
        "-m",
        f"benchmarks.runners.{spec['runner']}",
        "--workload",
        workload,
        "--data",
        data,
        "--out",
        out,
        "--threads",
        str(args.threads),
        "--reps",
        str(args.reps),
        "--min-steps",
        str(args.min_steps),
        "--min-time",
        str(args.min_time),
        "--max-rep-time",
        str(args.max_rep_time),
        *spec.get("extra_args", []),
    ]
    if args.smoke:
        cmd.append("--smoke")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=args.timeout
        )
    except subprocess.TimeoutExpired:
        return {
            "framework": fw,
            "workload": workload,
            "ok": False,
            "error": f"timed out after {args.timeout:.0f} s",
        }
    result: dict
    if os.path.exists(out):
        with open(out) as f:
            result = json.load(f)
    else:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        result = {
            "framework": fw,
            "workload": workload,
            "ok": False,
            "error": f"runner exited {proc.returncode} without a result: " + " | ".join(tail),
        }
    result["framework"] = fw
    result["wall_s"] = time.perf_counter() - t0
    return result


def merge_rounds(rounds: list[dict]) -> dict:
    """One cell from its rounds: the median round's time per step (all of them kept in
    ``rounds_ms``), the first round's first-step time (the only one with cold caches), the
    highest peak RSS. A cell fails if any round failed."""
    failed = [r for r in rounds if not r.get("ok")]
    if failed or len(rounds) == 1:
        return failed[0] if failed else rounds[0]
    ms = sorted(r["ms_per_step"] for r in rounds)
    median = ms[len(ms) // 2] if len(ms) % 2 else (ms[len(ms) // 2 - 1] + ms[len(ms) // 2]) / 2
    merged = dict(rounds[0])
    merged["ms_per_step"] = median
    merged["rounds_ms"] = [r["ms_per_step"] for r in rounds]
    merged["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds)
    merged["wall_s"] = sum(r.get("wall_s", 0.0) for r in rounds)
    return merged


def parse_peer_python(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            name, sep, path = part.partition("=")
            if not sep:
                raise SystemExit(f"--peer-python wants NAME=PATH, got {part!r}")
            out[name.strip()] = path.strip()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="ember vs PyTorch/JAX/TensorFlow/tinygrad on CPU (2 threads, float32).",
    )
    ap.add_argument(
        "--peers",
        default=DEFAULT_PEERS,
        help=f"comma-separated peers (default {DEFAULT_PEERS}; also torch-compile; '' = none)",
    )
    ap.add_argument(
        "--peer-python",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="interpreter with that peer installed, e.g. jax=/tmp/venv-jax/bin/python "
        "(repeatable or comma-separated; default: this Python)",
    )
    ap.add_argument("--workloads", default=",".join(workloads.WORKLOADS))
    ap.add_argument("--out", default="benchmark-results.json", help="JSON results")
    ap.add_argument("--markdown", default=None, help="Markdown table (default: OUT with .md)")
    ap.add_argument(
        "--update-docs",
        default=None,
        metavar="PATH",
        help="replace the results section of this Markdown file (docs/benchmarks.md)",
    )
    ap.add_argument("--smoke", action="store_true", help="2 steps per workload, ember only")
    ap.add_argument("--threads", type=int, default=protocol.THREADS)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every cell this many times, interleaved; report the median round",
    )
    ap.add_argument("--min-steps", type=int, default=30)
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--max-rep-time", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=420.0, help="seconds per child process")
    ap.add_argument("--no-import-time", action="store_true")
    ap.add_argument("--no-size", action="store_true")
    args = ap.parse_args(argv)

    peers = [] if args.smoke else [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in FRAMEWORKS or p == "ember"]
    if unknown:
        ap.error(f"unknown peer(s) {unknown}; known: {sorted(set(FRAMEWORKS) - {'ember'})}")
    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    bad = [w for w in names if w not in workloads.WORKLOADS]
    if bad:
        ap.error(f"unknown workload(s) {bad}; known: {list(workloads.WORKLOADS)}")
    if args.rounds < 1:
        ap.error(f"--rounds must be at least 1, got {args.rounds}")
    pythons = parse_peer_python(args.peer_python)

    started = time.perf_counter()
    results: dict = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_info(),
        "smoke": args.smoke,
        "protocol": {
            "threads": args.threads,
            "reps": 1 if args.smoke else args.reps,
            "rounds": args.rounds,
            "min_steps": args.min_steps,
            "min_time_s": args.min_time,
            "max_rep_time_s": args.max_rep_time,
            "dtype": "float32",
        },
        "workloads": {w: {**workloads.WORKLOADS[w], "flops": workloads.flops(w)} for w in names},
        "frameworks": {},
        "results": [],
    }
    scratch = tempfile.mkdtemp(prefix="ember-bench-")
    try:
        data = {}
        for w in names:
            import numpy as np

            path = os.path.join(scratch, f"{w}.npz")
            np.savez(path, **workloads.make_arrays(w))
            data[w] = path

        base_env = child_env("ember", args.threads, scratch)
        try:
            sg = _probe(
                sys.executable, base_env, ["sgemm", "--seconds", "0.3" if args.smoke else "2"]
            )
            results["sgemm_gflops"] = sg["gflops"]
            results["machine"]["numpy"] = sg["numpy"]
            _log(f"NumPy sgemm: {sg['gflops']:.1f} GFLOP/s ({args.threads} threads)")
        except Exception as e:  # noqa: BLE001
            results["sgemm_gflops"] = None
            _log(f"sgemm probe failed: {e}")

        envs: dict = {}  # framework -> (python, env), the available ones in order
        for fw in ["ember", *peers]:
            spec = FRAMEWORKS[fw]
            python = pythons.get(fw) or pythons.get(spec.get("python", fw)) or sys.executable
            env = child_env(fw, args.threads, scratch)
            info: dict = {"python": python, "mode": spec["mode"], "install": spec["install"]}
            results["frameworks"][fw] = info
            ok, version = framework_available(python, spec["import"], env)
            if not ok:
                info["skipped"] = f"not installed in {python} ({version}); {spec['install']}"
                _log(f"{fw}: skipped: {info['skipped']}")
                continue
            info["version"] = version
            _log(f"{fw} {version} ({python})")
            envs[fw] = (python, env)
            if not args.no_import_time:
                try:
                    runs = "1" if args.smoke else "3"
                    got = _probe(python, env, ["importtime", spec["import_stmt"], "--runs", runs])
                    info["import_ms"] = got["ms"]
                except Exception as e:  # noqa: BLE001
                    info["import_error"] = str(e)
            if not args.no_size:
                try:
                    got = _probe(python, env, ["size", *spec["dists"]])
                    info["installed_bytes"] = got["bytes"]
                    info["installed_dists"] = got["dists"]
                except Exception as e:  # noqa: BLE001
                    info["size_error"] = str(e)
        # workload-major, every framework once per round: on a shared machine the frameworks
        # of one workload then run minutes apart at most, not a whole sweep apart
        cells: dict = {}
        for r in range(args.rounds):
            for w in names:
                for fw, (python, env) in envs.items():
                    res = run_cell(fw, python, w, data[w], args, env)
                    cells.setdefault((fw, w), []).append(res)
                    tag = f"round {r + 1}/{args.rounds} " if args.rounds > 1 else ""
                    if res.get("ok"):
                        _log(
                            f"  {tag}{fw:14s} {w:10s} {res['ms_per_step']:10.3f} ms/step  "
                            f"first {res['first_step_ms']:9.1f} ms  loss0 {res['loss0']:.6f}  "
                            f"rss {res['peak_rss_mb']:.0f} MiB"
                        )
                    else:
                        _log(f"  {tag}{fw:14s} {w:10s} FAILED: {res.get('error')}")
        for fw in envs:
            for w in names:
                results["results"].append(merge_rounds(cells[(fw, w)]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    try:
        results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    results["total_s"] = time.perf_counter() - started

    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    md = report.markdown(results)
    md_path = args.markdown or os.path.splitext(args.out)[0] + ".md"
    with open(md_path, "w") as f:
        f.write(md)
    if args.update_docs:
        report.update_docs(args.update_docs, md)
    print(md)
    _log(f"wrote {args.out} and {md_path} in {results['total_s']:.0f} s")
    failed_ember = [r for r in results["results"] if r["framework"] == "ember" and not r["ok"]]
    return 1 if args.smoke and failed_ember else 0


if __name__ == "__main__":
    sys.exit(main())
