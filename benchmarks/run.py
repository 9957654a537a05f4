"""The benchmark suite: every figure measured in one session, written to one JSON file.

    python benchmarks/run.py [--quick] [--only a,b,c,d] [--reference-size B,N,M]

(a) bundled suite (``conformance run --format json``) wall time, cold (empty cache dir) and
    warm (second run, same cache dir), as ratios to the slowest bare framework import
    (``python -c "import tensorflow"`` etc., best of N);
(b) generated suites (``gen_cases.py``, mixed dtypes) of 1,000 and 10,000 cases on all four
    frameworks: wall, rows/s, peak RSS of the process tree, the 10k/1k wall ratio;
(c) the exact reference on B×N×M (default 1024×4096×1024) per dtype against a float64 NumPy
    matmul of the same size, each dtype in a child process capped at ``--reference-cap`` s;
(d) 1,000 random float32 cases through the suite (the same four frameworks), cold and warm,
    against the hand-written one-process loop ``handwritten.py``.

Shared machines are noisy: read the ratios (measured together), not the absolute seconds.
When ``conformance run`` has no ``--cache-dir``, "warm" is a plain second run ("no cache"),
and the generated suites of (b) run once. Results: ``benchmarks/results/<date>-<host>.json``
(``-quick`` / ``-only-…`` appended for partial runs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gen_cases
import machine
import reference_speed
from procs import Measured, best_of, measure

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax")
REFERENCE_DTYPES = ("float16", "bfloat16", "float32", "float64")
PARTS = ("a", "b", "c", "d")
SCHEMA = 1

# Targets (2 cores, CPU): key -> (comparison, bound, figure; {large}/{small} filled in)
TARGETS = {
    "a_cold": ("≤", 2.5, "cold run / slowest import"),
    "a_warm": ("≤", 1.5, "warm run / slowest import"),
    "b_large_warm": ("≤", 60.0, "{large} cases warm, seconds"),
    "b_ratio": ("≤", 11.0, "{large} / {small} wall"),
    "b_rss": ("≤", 2e9, "peak RSS of the tree, bytes"),
    "c_ratio": ("≤", 10.0, "reference / float64 matmul time"),
    "d_cold": ("≥", 3.0, "hand-written / suite cold"),
    "d_warm": ("≥", 10.0, "hand-written / suite warm"),
}


@dataclass
class Config:
    quick: bool
    parts: tuple[str, ...]
    repeat: int
    gen_sizes: tuple[int, int]
    yard_cases: int
    reference_size: tuple[int, int, int]
    reference_cap: float
    reference_dtypes: tuple[str, ...]
    seed: int
    run_args: list[str]
    suite_timeout: float
    max_rss: int
    settle: float
    nice: int


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def run_flags() -> dict[str, bool]:
    """Which of the run CLI's cache/quiet options this checkout has."""
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=child_env(),
    )
    text = done.stdout
    return {flag: f"--{flag}" in text for flag in ("cache-dir", "no-cache", "quiet")}


# --------------------------------------------------------------------------------------------
# Measuring one suite run


def _figures(m: Measured, settled: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "wall_s": round(m.seconds, 3),
        "cpu_s": round(m.cpu_seconds, 3),
        "others_busy": None if m.others_busy is None else round(m.others_busy, 3),
        "settle": settled,
        "returncode": m.returncode,
        "timed_out": m.timed_out,
        "peak_rss_bytes": m.peak_rss_bytes,
        "sum_process_hwm_bytes": m.sum_hwm_bytes,
        "processes": m.processes,
        "per_process": m.per_process,
        "killed_for_memory": m.killed_for_memory,
        "load_after": machine.load(),
    }


def _rows_summary(results: Path) -> dict[str, Any]:
    """Row count, statuses and the rows' own seconds per framework, from results.json."""
    try:
        rows = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"rows": 0, "results_error": f"{type(exc).__name__}: {exc}"[:300]}
    statuses = Counter(str(r.get("status")) for r in rows)
    per_fw: dict[str, float] = {}
    for r in rows:
        s = r.get("seconds")
        if isinstance(s, (int, float)):
            fw = str(r.get("framework"))
            per_fw[fw] = per_fw.get(fw, 0.0) + float(s)
    return {
        "rows": len(rows),
        "statuses": dict(sorted(statuses.items())),
        "row_seconds_by_framework": {k: round(v, 3) for k, v in sorted(per_fw.items())},
        "results_json_bytes": results.stat().st_size,
    }


def suite_run(
    cfg: Config, flags: dict[str, bool], paths: list[str], cache: Path | None, extra: list[str]
) -> dict[str, Any]:
    """One ``conformance run --format json`` with its figures (report dir thrown away)."""
    with tempfile.TemporaryDirectory(prefix="bench-report-") as report:
        argv = [sys.executable, "-m", "conformance", "run", *paths]
        argv += ["--format", "json", "--report-dir", report, *extra]
        if cache is not None and flags["cache-dir"]:
            argv += ["--cache-dir", str(cache)]
        m = measure(argv, cwd=ROOT, env=child_env(), timeout=cfg.suite_timeout, max_rss=cfg.max_rss)
        out = _figures(m)
        out.update(_rows_summary(Path(report) / "results.json"))
    out["rows_per_s"] = round(out["rows"] / m.seconds, 1) if m.seconds > 0 else None
    out["command"] = " ".join(["conformance", *argv[3:]]).replace(report, "TMP")
    if cache is not None:
        out["command"] = out["command"].replace(str(cache), "CACHE")
    out["log"] = [ln for ln in m.stderr.splitlines() if ln.startswith("[conformance]")][-30:]
    if m.returncode not in (0, 1):
        out["stderr_tail"] = m.stderr.strip().splitlines()[-5:]
    return out


def cold_and_warm(
    cfg: Config, flags: dict[str, bool], paths: list[str], label: str, warm: bool = True
) -> dict[str, Any]:
    """Cold: a fresh empty cache dir; warm: the same again (a plain second run with no cache)."""
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        # the generated suites (b, d) run on the four frameworks the targets and the
        # hand-written loop are about; the bundled suite (a) as a user runs it (--run-args)
        extra = (
            cfg.run_args
            if label == "bundled"
            else [a for f in FRAMEWORKS for a in ("--framework", f)]
        )
        cold = suite_run(cfg, flags, paths, Path(cache), extra)
        say(f"{label} cold: {cold['wall_s']:.1f}s, {cold['rows']} rows")
        hot = None
        if warm:
            hot = suite_run(cfg, flags, paths, Path(cache), extra)
            say(f"{label} warm: {hot['wall_s']:.1f}s")
    return {"cold": cold, "warm": hot}


# --------------------------------------------------------------------------------------------
# The four parts


def part_imports(cfg: Config) -> dict[str, Any]:
    """``python -c "import X"``: best of ``repeat`` wall times per framework (and its CPU)."""
    env = child_env()
    py = sys.executable
    startup = best_of([py, "-c", "pass"], cfg.repeat, cwd=ROOT, env=env)
    per: dict[str, Any] = {}
    for fw in FRAMEWORKS:
        settled = machine.settle(cfg.settle)
        runs = [measure([py, "-c", f"import {fw}"], cwd=ROOT, env=env) for _ in range(cfg.repeat)]
        best = min(runs, key=lambda m: m.seconds)
        per[fw] = {
            **_figures(best, settled),
            "all_wall_s": [round(m.seconds, 3) for m in runs],
        }
        del per[fw]["per_process"]
    secs = {fw: per[fw]["wall_s"] for fw in FRAMEWORKS}
    slowest = max(secs, key=lambda k: secs[k])
    say("imports: " + ", ".join(f"{k} {v:.2f}s" for k, v in secs.items()))
    return {
        "repeat": cfg.repeat,
        "python_startup_s": round(startup, 3),
        "seconds": secs,
        "runs": per,
        "slowest": slowest,
        "slowest_s": secs[slowest],
        # the CPU comparison takes the import costing the most CPU (not always the slowest)
        "max_cpu_s": max(per[fw]["cpu_s"] for fw in FRAMEWORKS),
    }


def part_a(cfg: Config, flags: dict[str, bool], imports: dict[str, Any]) -> dict[str, Any]:
    runs = cold_and_warm(cfg, flags, [], "bundled")
    base = imports["slowest_s"]
    return {
        **runs,
        "run_args": cfg.run_args,
        "cold_ratio": round(runs["cold"]["wall_s"] / base, 3),
        "warm_ratio": round(runs["warm"]["wall_s"] / base, 3),
        # less disturbed by other load, but not the target's measure (the run is parallel)
        "cold_cpu_ratio": round(runs["cold"]["cpu_s"] / imports["max_cpu_s"], 3),
        "warm_cpu_ratio": round(runs["warm"]["cpu_s"] / imports["max_cpu_s"], 3),
    }


def part_b(cfg: Config, flags: dict[str, bool], tmp: Path) -> dict[str, Any]:
    cached = flags["cache-dir"]
    sizes: dict[str, Any] = {}
    for n in cfg.gen_sizes:
        folder = tmp / f"generated-{n}"
        t = time.perf_counter()
        gen_cases.write(folder, gen_cases.specs(n, cfg.seed, gen_cases.MIXED))
        gen_s = time.perf_counter() - t
        runs = cold_and_warm(cfg, flags, [str(folder)], f"generated {n}", warm=cached)
        sizes[str(n)] = {"cases": n, "generate_s": round(gen_s, 3), **runs}
    small, large = (sizes[str(n)] for n in cfg.gen_sizes)
    key = "warm" if cached else "cold"
    return {
        "dtypes": dict(gen_cases.MIXED),
        "seed": cfg.seed,
        "cache": "cache" if cached else "no cache (one run per size; warm = cold)",
        "sizes": sizes,
        "compared": key,
        "large_wall_s": large[key]["wall_s"],
        "ratio_large_small": round(large[key]["wall_s"] / small[key]["wall_s"], 3),
        "peak_rss_bytes": max(
            r["peak_rss_bytes"] for s in sizes.values() for r in (s["cold"], s["warm"]) if r
        ),
    }


def part_c(cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"size": list(cfg.reference_size), "cap_s": cfg.reference_cap}
    per: dict[str, Any] = {}
    for dtype in cfg.reference_dtypes:
        settled = machine.settle(cfg.settle)
        # the reference computed, not read back from the cache an earlier run of (c) filled
        env = {**child_env(), "CONFORMANCE_CACHE_DIR": "off"}
        r = reference_speed.measure(dtype, cfg.reference_size, cfg.reference_cap, ROOT, env)
        r["settle"] = settled
        per[dtype] = r
        if r["complete"]:
            say(f"reference {dtype}: {r['reference_s']:.2f}s = {r['ratio']:.1f} x matmul")
        else:
            say(f"reference {dtype}: > {cfg.reference_cap:.0f}s (reached {r['rows_reached']} rows)")
    out["dtypes"] = per
    return out


def part_d(cfg: Config, flags: dict[str, bool], tmp: Path) -> dict[str, Any]:
    n = cfg.yard_cases
    folder = tmp / f"yardstick-{n}"
    gen_cases.write(folder, gen_cases.specs(n, cfg.seed))
    runs = cold_and_warm(cfg, flags, [str(folder)], f"suite {n} float32")
    argv = [
        sys.executable,
        str(HERE / "handwritten.py"),
        "--cases",
        str(n),
        "--seed",
        str(cfg.seed),
    ]
    settled = machine.settle(cfg.settle)
    m = measure(argv, cwd=ROOT, env=child_env(), timeout=cfg.suite_timeout, max_rss=cfg.max_rss)
    yard = _figures(m, settled)
    try:
        yard["report"] = json.loads(m.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        yard["report"] = None
        yard["stderr_tail"] = m.stderr.strip().splitlines()[-5:]
    say(f"hand-written loop {n}: {yard['wall_s']:.1f}s")
    return {
        "cases": n,
        "seed": cfg.seed,
        "cache": "cache" if flags["cache-dir"] else "no cache (warm = plain second run)",
        "handwritten": yard,
        "suite": runs,
        "speedup_cold": round(yard["wall_s"] / runs["cold"]["wall_s"], 3),
        "speedup_warm": round(yard["wall_s"] / runs["warm"]["wall_s"], 3),
        "speedup_cold_cpu": round(yard["cpu_s"] / runs["cold"]["cpu_s"], 3),
        "speedup_warm_cpu": round(yard["cpu_s"] / runs["warm"]["cpu_s"], 3),
    }


# --------------------------------------------------------------------------------------------
# Targets and the table


def _target(
    key: str, value: float | None, comparable: bool = True, **names: object
) -> dict[str, Any]:
    """A figure against its target; ``ok`` is None where the sizes differ from the target's."""
    op, bound, what = TARGETS[key]
    what = what.format(**names)
    ok = None
    if value is not None and comparable:
        ok = value <= bound if op == "≤" else value >= bound
    return {"key": key, "figure": what, "value": value, "target": f"{op} {bound:g}", "ok": ok}


def targets(res: dict[str, Any], cfg: Config) -> list[dict[str, Any]]:
    out = []
    if "bundled" in res:
        out.append(_target("a_cold", res["bundled"]["cold_ratio"]))
        out.append(_target("a_warm", res["bundled"]["warm_ratio"]))
    if "generated" in res:
        g = res["generated"]
        full = cfg.gen_sizes == (1000, 10000)
        small, large = cfg.gen_sizes
        out.append(_target("b_large_warm", g["large_wall_s"], full, large=large))
        out.append(_target("b_ratio", g["ratio_large_small"], full, large=large, small=small))
        out.append(_target("b_rss", g["peak_rss_bytes"], full))
    if "reference" in res:
        full = cfg.reference_size == (1024, 4096, 1024)
        for dtype, r in res["reference"]["dtypes"].items():
            t = _target("c_ratio", r.get("ratio"), full)
            if not r["complete"]:
                t["ok"] = False if full and r.get("timed_out") else None
                t["note"] = f"> cap {r['cap_s']:g}s at {r['rows_reached']} rows"
            t["dtype"] = dtype
            out.append(t)
    if "handwritten" in res:
        full = cfg.yard_cases == 1000
        out.append(_target("d_cold", res["handwritten"]["speedup_cold"], full))
        out.append(_target("d_warm", res["handwritten"]["speedup_warm"], full))
    return out


def _gb(b: float) -> str:
    return f"{b / 1e9:.2f} GB"


def _wall(r: dict[str, Any]) -> str:
    """Wall seconds, with the CPU seconds and the share of the machine others used meanwhile."""
    busy = r.get("others_busy")
    others = "" if busy is None else f", others {busy:.0%}"
    return f"{r['wall_s']:.1f} s [cpu {r['cpu_s']:.1f} s{others}]"


def _trouble(r: dict[str, Any]) -> str:
    """What makes a run's figures a bound rather than a measurement: kills, error rows."""
    notes = []
    if r.get("timed_out"):
        notes.append("killed: timeout")
    if r.get("killed_for_memory"):
        notes.append("killed: memory")
    errors = (r.get("statuses") or {}).get("error", 0)
    if errors:
        notes.append(f"{errors} error rows")
    if r.get("returncode") not in (0, 1):
        notes.append(f"exit {r.get('returncode')}")
    return f" ({'; '.join(notes)})" if notes else ""


def table(res: dict[str, Any]) -> str:
    lines: list[tuple[str, str, str, str, str]] = []

    def add(part: str, figure: str, value: str, target: str = "", ok: bool | None = None) -> None:
        mark = "" if not target else ("✓" if ok else "✗" if ok is False else "n/a")
        lines.append((part, figure, value, target, mark))

    tg = {(t["key"], t.get("dtype")): t for t in res.get("targets", [])}

    def add_t(part: str, key: str, value: str, dtype: str | None = None) -> None:
        t = tg.get((key, dtype))
        add(part, (t or {}).get("figure", key) + (f" ({dtype})" if dtype else ""), value,
            t["target"] if t else "", t["ok"] if t else None)  # fmt: skip

    if "imports" in res:
        imp = res["imports"]
        for fw, r in imp["runs"].items():
            add("imports", f"python -c 'import {fw}' (best of {imp['repeat']})", _wall(r))
    if "bundled" in res:
        a = res["bundled"]
        cold, warm = a["cold"], a["warm"]
        add(
            "a",
            f"bundled suite cold ({cold['rows']} rows)",
            _wall(cold) + _trouble(cold),
        )
        add("a", f"bundled suite warm ({res['cache']})", _wall(warm) + _trouble(warm))
        add_t("a", "a_cold", f"{a['cold_ratio']:.2f} x")
        add_t("a", "a_warm", f"{a['warm_ratio']:.2f} x")
        add(
            "a",
            "CPU s, cold / warm vs the costliest import's CPU s",
            f"{a['cold_cpu_ratio']:.2f} x / {a['warm_cpu_ratio']:.2f} x",
        )
    if "generated" in res:
        g = res["generated"]
        for n, s in g["sizes"].items():
            for kind in ("cold", "warm"):
                r = s[kind]
                if r is None:
                    continue
                add(
                    "b",
                    f"{n} cases {kind}: wall, rows/s, peak RSS",
                    f"{_wall(r)}, {r['rows_per_s']} rows/s, {_gb(r['peak_rss_bytes'])}"
                    + _trouble(r),
                )
        add_t("b", "b_large_warm", f"{g['large_wall_s']:.1f} s ({g['compared']})")
        add_t("b", "b_ratio", f"{g['ratio_large_small']:.2f}")
        add_t("b", "b_rss", _gb(g["peak_rss_bytes"]))
    if "reference" in res:
        c = res["reference"]
        size = "x".join(map(str, c["size"]))
        for dtype, r in c["dtypes"].items():
            if r["complete"]:
                value = (
                    f"{r['reference_s']:.2f} s vs matmul {r['matmul_s']:.3f} s = "
                    f"{r['ratio']:.1f} x (best of 3; first {r['first_ratio']:.1f} x)"
                )
            elif r["rows_reached"]:
                value = (
                    f"> {r['cap_s']:g} s cap; {r['rows_reached']} rows in "
                    f"{r['reference_s_at_reached']:.1f} s = {r['ratio_at_reached']:.0f} x matmul "
                    f"(full size ~{r['reference_s_estimate']:.0f} s = "
                    f"{r['ratio_estimate']:.0f} x)"
                )
            else:
                value = f"> {r['cap_s']:g} s cap, not even 1 row" if r["timed_out"] else "error"
            add_t(f"c {size}", "c_ratio", value, dtype)
    if "handwritten" in res:
        d = res["handwritten"]
        yard = d["handwritten"]
        rep = yard.get("report") or {}
        add(
            "d",
            f"hand-written loop, {d['cases']} cases",
            f"{_wall(yard)} ({rep.get('failures', '?')} of {rep.get('checks', '?')} checks failed)",
        )
        s = d["suite"]
        add("d", "suite cold", _wall(s["cold"]) + _trouble(s["cold"]))
        add(
            "d",
            f"suite warm ({res['cache']})",
            _wall(s["warm"]) + _trouble(s["warm"]),
        )
        add_t("d", "d_cold", f"{d['speedup_cold']:.2f} x")
        add_t("d", "d_warm", f"{d['speedup_warm']:.2f} x")
        add(
            "d",
            "CPU s, hand-written / suite cold / warm",
            f"{d['speedup_cold_cpu']:.2f} x / {d['speedup_warm_cpu']:.2f} x",
        )
    widths = [max(len(row[i]) for row in lines) for i in range(5)] if lines else [0] * 5
    head = ("part", "figure", "value", "target", "")
    widths = [max(w, len(h)) for w, h in zip(widths, head, strict=True)]
    out = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in lines]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------


def _triple(text: str) -> tuple[int, int, int]:
    parts = [int(p) for p in text.split(",")]
    if len(parts) != 3 or min(parts) < 1:
        raise argparse.ArgumentTypeError("expected B,N,M (three positive integers)")
    return parts[0], parts[1], parts[2]


def _pair(text: str) -> tuple[int, int]:
    parts = [int(p) for p in text.split(",")]
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError("expected SMALL,LARGE (two positive integers)")
    return parts[0], parts[1]


def _parts(text: str) -> tuple[str, ...]:
    got = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in got if p not in PARTS]
    if bad or not got:
        raise argparse.ArgumentTypeError(f"parts are a, b, c, d (got {text!r})")
    return tuple(p for p in PARTS if p in got)


def parse(argv: list[str] | None = None) -> tuple[Config, Path | None]:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="smaller variants (a smoke test)")
    ap.add_argument("--only", type=_parts, default=PARTS, help="comma-separated parts: a,b,c,d")
    ap.add_argument("--repeat", type=int, help="imports: best of N (default 3; quick 1)")
    ap.add_argument(
        "--generated", type=_pair, help="(b) case counts SMALL,LARGE (default 1000,10000)"
    )
    ap.add_argument("--yardstick-cases", type=int, help="(d) cases (default 1000; quick 100)")
    ap.add_argument(
        "--reference-size",
        type=_triple,
        help="(c) B,N,M (default 1024,4096,1024; quick 256,1024,256)",
    )
    ap.add_argument("--reference-cap", type=float, default=300.0, help="(c) seconds per dtype")
    ap.add_argument(
        "--reference-dtype",
        action="append",
        choices=REFERENCE_DTYPES,
        help="(c) only this dtype (repeatable)",
    )
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated cases")
    ap.add_argument("--run-args", default="", help="(a) extra arguments for the bundled-suite runs")
    ap.add_argument("--suite-timeout", type=float, default=7200.0, help="seconds per suite run")
    ap.add_argument(
        "--max-rss-gb",
        type=float,
        default=round(machine.ram_bytes() * 0.75 / 1e9, 1),
        help="kill a run whose process tree passes this RSS (default: 3/4 of RAM)",
    )
    ap.add_argument(
        "--settle",
        type=float,
        help="before each measurement wait up to S seconds for other processes to use < 25%% "
        "of the CPU (default 60; quick 0)",
    )
    ap.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run every measurement at this niceness (negative needs root): on a machine "
        "shared with other work, -5 keeps the figures closer to a quiet machine's",
    )
    ap.add_argument("--output", type=Path, help="results file (default: benchmarks/results/…)")
    a = ap.parse_args(argv)
    q = a.quick
    cfg = Config(
        quick=q,
        parts=a.only,
        repeat=a.repeat or (1 if q else 3),
        gen_sizes=a.generated or ((50, 500) if q else (1000, 10000)),
        yard_cases=a.yardstick_cases or (100 if q else 1000),
        reference_size=a.reference_size or ((256, 1024, 256) if q else (1024, 4096, 1024)),
        reference_cap=a.reference_cap,
        reference_dtypes=tuple(a.reference_dtype or REFERENCE_DTYPES),
        seed=a.seed,
        run_args=a.run_args.split(),
        suite_timeout=a.suite_timeout,
        max_rss=int(a.max_rss_gb * 1e9),
        settle=a.settle if a.settle is not None else (0.0 if q else 60.0),
        nice=a.nice,
    )
    return cfg, a.output


def default_output(info: dict[str, Any], cfg: Config) -> Path:
    host = re.sub(r"[^A-Za-z0-9._-]", "_", info["host"])[:64] or "host"
    name = f"{info['date'][:10]}-{host}"
    if cfg.quick:
        name += "-quick"
    if cfg.parts != PARTS:
        name += "-only-" + "".join(cfg.parts)
    return RESULTS / f"{name}.json"


def main(argv: list[str] | None = None) -> int:
    cfg, output = parse(argv)
    # SIGTERM unwinds like Ctrl-C, so the run being measured is killed with this process
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if cfg.nice:
        os.setpriority(os.PRIO_PROCESS, 0, cfg.nice)  # inherited by every measured process
    info = machine.describe(ROOT)
    flags = run_flags()
    res: dict[str, Any] = {
        "schema": SCHEMA,
        "command": " ".join(["python", "benchmarks/run.py", *(argv or sys.argv[1:])]),
        "quick": cfg.quick,
        "parts": list(cfg.parts),
        **info,
        "run_flags": flags,
        "nice": cfg.nice,
        "cache": "cache" if flags["cache-dir"] else "no cache",
    }
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-cases-") as tmp:
        if "a" in cfg.parts:
            res["imports"] = part_imports(cfg)
            res["bundled"] = part_a(cfg, flags, res["imports"])
        if "b" in cfg.parts:
            res["generated"] = part_b(cfg, flags, Path(tmp))
        if "c" in cfg.parts:
            res["reference"] = part_c(cfg)
        if "d" in cfg.parts:
            res["handwritten"] = part_d(cfg, flags, Path(tmp))
    res["seconds"] = round(time.perf_counter() - start, 1)
    res["machine"]["load_at_end"] = machine.load()
    res["targets"] = targets(res, cfg)
    out = output or default_output(info, cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    m = res["machine"]
    print(
        f"{m['cpu_model']}, {m['cores_available']} cores, {m['ram_bytes'] / 2**30:.0f} GiB; "
        f"git {res['git']['revision'][:10]}{' (dirty)' if res['git']['dirty'] else ''}; "
        f"{res['cache']}; load {m['load_at_start']} -> {m['load_at_end']}"
        + (f"; nice {cfg.nice}" if cfg.nice else "")
    )
    print(table(res))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
