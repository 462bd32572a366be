"""Turn the results JSON into Markdown tables, and put them into ``docs/benchmarks.md``."""

from __future__ import annotations

import math
import os

from . import workloads as wl

LOSS_RTOL = 1e-3
START = "<!-- benchmark-results:start -->"
END = "<!-- benchmark-results:end -->"


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.1f}"
    return f"{x:.{digits}g}" if x < 1 else f"{x:.2f}"


def _cells(results: dict) -> dict[tuple[str, str], dict]:
    return {(r["framework"], r["workload"]): r for r in results["results"]}


def _label(results: dict, w: str) -> str:
    spec = results["workloads"].get(w, wl.WORKLOADS.get(w, {}))
    return f"{spec.get('id', '')} {w}".strip()


def loss_agreement(results: dict) -> dict[str, tuple[bool, list[str]]]:
    """Per workload: (all step-0 losses within LOSS_RTOL of ember's, the ones that differ)."""
    cells = _cells(results)
    fws = list(results["frameworks"])
    out = {}
    for w in results["workloads"]:
        got = {
            fw: cells[(fw, w)]["loss0"]
            for fw in fws
            if (fw, w) in cells and cells[(fw, w)].get("ok")
        }
        if not got:
            continue
        ref = got.get("ember", next(iter(got.values())))
        bad = [
            f"{fw} ({abs(v - ref) / max(abs(ref), 1e-12):.1e})"
            for fw, v in got.items()
            if abs(v - ref) > LOSS_RTOL * max(abs(ref), 1e-12)
        ]
        out[w] = (not bad, bad)
    return out


def markdown(results: dict) -> str:
    cells = _cells(results)
    fws = [fw for fw, info in results["frameworks"].items() if "skipped" not in info]
    m = results["machine"]
    p = results["protocol"]
    lines = [f"### Results of {results['date']}" + (" (smoke run)" if results["smoke"] else ""), ""]
    lines.append(
        f"- Machine: {m.get('cpu')}, {m.get('cpu_count')} logical CPUs, "
        f"{m.get('memory_gib', '?')} GiB; {m.get('platform')}; Python {m.get('python')}, "
        f"NumPy {m.get('numpy', '?')}; load average {m.get('loadavg_start')} at the start, "
        f"{m.get('loadavg_end')} at the end."
    )
    sg = results.get("sgemm_gflops")
    lines.append(
        f"- Protocol: float32, {p['threads']} threads everywhere; first step timed alone, "
        f"warm-up, then the median of {p['reps']} repetitions of >= {p['min_steps']} steps "
        f"(>= {p['min_time_s']} s; at most {p['max_rep_time_s']} s for very slow steps)"
        + (
            f"; {p['rounds']} rounds, the frameworks taking turns on each workload, and the "
            "median round reported"
            if p.get("rounds", 1) > 1
            else ""
        )
        + f". NumPy sgemm rate: {_fmt(sg)} GFLOP/s."
    )
    lines.append(f"- Command: `{results['command']}`")
    lines.append("")

    lines += [
        "| Framework | Version | Mode | Import time (ms) | Installed size with deps (MB) |",
        "|---|---|---|--:|--:|",
    ]
    for fw, info in results["frameworks"].items():
        if "skipped" in info:
            continue
        size = info.get("installed_bytes")
        lines.append(
            f"| {fw} | {info.get('version', '-')} | {info.get('mode', '')} | "
            f"{_fmt(info.get('import_ms'))} | {_fmt(size / 1e6 if size else None)} |"
        )
    lines.append("")

    head = "| Workload | FLOP bound (ms) | " + " | ".join(fws) + " |"
    sep = "|---|--:|" + "--:|" * len(fws)
    lines += [
        "**Time per step (ms)**, with the ratio peer/ember in parentheses "
        "(> 1 means ember is faster). FLOP bound = matmul/conv FLOPs / NumPy sgemm rate.",
        "",
        head,
        sep,
    ]
    for w in results["workloads"]:
        ember = cells.get(("ember", w))
        ember_ms = ember["ms_per_step"] if ember and ember.get("ok") else None
        bound = results["workloads"][w]["flops"] / (sg * 1e9) * 1e3 if sg else None
        row = [_label(results, w), _fmt(bound)]
        for fw in fws:
            c = cells.get((fw, w))
            if c is None:
                row.append("-")
            elif not c.get("ok"):
                row.append("failed")
            elif fw == "ember" or ember_ms is None:
                row.append(_fmt(c["ms_per_step"]))
            else:
                row.append(f"{_fmt(c['ms_per_step'])} ({c['ms_per_step'] / ember_ms:.2f}x)")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")

    def simple_table(title: str, key: str) -> None:
        lines.extend([title, "", "| Workload | " + " | ".join(fws) + " |"])
        lines.append("|---|" + "--:|" * len(fws))
        for w in results["workloads"]:
            row = [_label(results, w)]
            for fw in fws:
                c = cells.get((fw, w))
                row.append(_fmt(c.get(key)) if c and c.get("ok") else "-")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")

    simple_table(
        "**First step (ms)**: includes tracing/compiling where there is one.", "first_step_ms"
    )
    simple_table(
        "**CPU time per step (ms)**: user + system time of the process, all threads "
        "(with 2 threads, up to 2x the wall time).",
        "cpu_ms_per_step",
    )
    simple_table("**Peak RSS (MiB)** of the process that ran the workload.", "peak_rss_mb")
    loads = [r["loadavg_1m"] for r in results["results"] if "loadavg_1m" in r]
    if loads:
        lines += [
            f"1-minute load average seen by the workloads: {min(loads):.1f} to "
            f"{max(loads):.1f} (the machine has {m.get('cpu_count')} CPUs; a load above that "
            "means other processes competed for them and inflated the wall times).",
            "",
        ]

    agree = loss_agreement(results)
    lines += [
        f"**Step-0 loss** (inference rows: cross-entropy of the logits); the last column warns "
        f"when a framework differs from ember by more than {LOSS_RTOL:g} relative.",
        "",
        "| Workload | " + " | ".join(fws) + " | agree |",
        "|---|" + "--:|" * len(fws) + "---|",
    ]
    for w in results["workloads"]:
        row = [_label(results, w)]
        for fw in fws:
            c = cells.get((fw, w))
            row.append(f"{c['loss0']:.6f}" if c and c.get("ok") else "-")
        ok, bad = agree.get(w, (True, []))
        row.append("yes" if ok else "WARNING: " + ", ".join(bad))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")

    notes = []
    for fw, info in results["frameworks"].items():
        if "skipped" in info:
            notes.append(f"- {fw}: skipped: {info['skipped']}")
        for key in ("import_error", "size_error"):
            if key in info:
                notes.append(f"- {fw}: {key.replace('_', ' ')}: {info[key]}")
    for r in results["results"]:
        if not r.get("ok"):
            err = str(r.get("error", "?")).splitlines()[0][:300]
            notes.append(f"- {r['framework']} / {r['workload']}: failed: {err}")
        elif r.get("steps_per_rep", p["min_steps"]) < p["min_steps"] and not results["smoke"]:
            notes.append(
                f"- {r['framework']} / {r['workload']}: slow steps, "
                f"{r['steps_per_rep']} steps per repetition"
            )
    if notes:
        lines += ["Notes:", "", *notes, ""]
    return "\n".join(lines)


def update_docs(path: str, md: str) -> None:
    """Replace the text between the result markers of ``path`` (create the file if needed)."""
    block = f"{START}\n{md.rstrip()}\n{END}"
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
        if START in text and END in text:
            pre, rest = text.split(START, 1)
            post = rest.split(END, 1)[1]
            text = pre + block + post
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    else:
        text = "# Benchmarks\n\n" + block + "\n"
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)  # atomic: a reader never sees half a file


def main(argv=None) -> None:
    """``python -m benchmarks.report RESULTS.json [--update-docs docs/benchmarks.md]``."""
    import argparse
    import json

    ap = argparse.ArgumentParser(description="render a benchmark results JSON as Markdown")
    ap.add_argument("results")
    ap.add_argument("--update-docs", default=None, metavar="PATH")
    args = ap.parse_args(argv)
    with open(args.results) as f:
        md = markdown(json.load(f))
    if args.update_docs:
        update_docs(args.update_docs, md)
    print(md)


if __name__ == "__main__":
    main()
