"""The floor under a run: what the frameworks cost by themselves, measured in one session.

    python benchmarks/floors.py CASES... [--framework NAME ...] [--adapter MODULE:CLASS ...]
                                [--jax-cache DIR] [--runs cold,warm] [--yardstick N]
                                [--import-floor] [--output FILE]

Any run of the suite starts each framework's worker (imports, set-up) and makes each path's
framework calls at each case's shape. This measures those two things alone, each framework
in a fresh child process with nothing of the suite around them (no parent process, no pipes,
no exact reference, no judging, no report, no init draws):

- start-up: the adapter's worker start-up as ``conformance.worker`` does it (load the class,
  ``setup``, ``configure``, the settings a worker reports): CPU seconds and the resident
  memory it leaves;
- work: the adapter's ``run`` over every batch of the cases that need no init draw, planned
  as a run plans them (eager, CPU): CPU seconds. Each framework runs twice with one compiled-
  program cache directory (``--jax-cache``, else a fresh one): ``cold`` (an empty cache,
  unless ``--jax-cache`` is already filled) and ``warm``.

CPU seconds are the process's (every thread). On C cores no schedule finishes sooner than
sum(CPU) / C, so ``floor_s`` is the shortest wall time a run of these cases could take with
everything the suite adds free and the cores perfectly shared; ``floor_rss_bytes`` (the sum
of the workers' resident memory after start-up: each is alive for the whole run) is a floor
on the peak summed RSS that ``benchmarks/procs.py`` reports.

``--yardstick N`` also runs ``handwritten.py --cases N`` (no cache, as benchmark d does) in
the same session and prints target (d): its wall time / 10 (warm) and / 3 (cold).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # benchmarks/ scripts import each other by plain name
from procs import best_of  # noqa: E402
from procs import measure as measure_tree  # noqa: E402
from run import child_env  # noqa: E402

DEFAULT = ("numpy", "torch", "tensorflow", "jax")


def child(spec: str, paths: list[str], cache_dir: str) -> dict[str, Any]:
    """In the child: one adapter's start-up, then its run over the planned batches."""
    t0 = time.process_time()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as conformance.worker sets it
    from conformance.adapters.base import SkipBatch
    from conformance.registry import load_class

    adapter = load_class(spec)()
    adapter.setup()
    adapter.configure({"modes": "eager", "devices": "cpu", "cache_dir": cache_dir})
    adapter.denormals()
    adapter.settings()
    adapter.version()
    startup = time.process_time() - t0
    from conformance.adapters.jax_adapter import resident_bytes  # after the clock: not start-up

    rss = resident_bytes()

    from conformance.loader import load_cases
    from conformance.planning import plan
    from conformance.runner import _needs_draw

    cases, _errors = load_cases(paths)
    ready = [c for c in cases if not _needs_draw(c)]
    _units, batches = plan(ready, [], ["eager"], ["cpu"])
    t1 = time.process_time()
    skipped = failed = 0
    for batch in batches:
        try:
            adapter.run(batch)
        except SkipBatch:
            skipped += 1
        except Exception:
            failed += 1
    work = time.process_time() - t1
    return {
        "startup_cpu_s": round(startup, 3),
        "startup_rss_bytes": rss,
        "work_cpu_s": round(work, 3),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "batches": len(batches),
        "skipped_batches": skipped,
        "failed_batches": failed,
        "cases_without_draw": len(ready),
        "cases_with_draw_left_out": len(cases) - len(ready),
    }


def run_child(spec: str, paths: list[str], cache_dir: str) -> dict[str, Any]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", spec, "--cache", cache_dir]
    env = child_env()  # the caller's folder importable, as `python -m conformance` has it
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    t = time.perf_counter()
    p = subprocess.run([*argv, *paths], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        tail = p.stderr.strip().splitlines()[-3:]
        raise SystemExit(f"floors: the {spec} child failed ({p.returncode}): {tail}")
    out: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall_s"] = round(time.perf_counter() - t, 3)
    return out


def measure(
    paths: list[str], names: list[str], cache: str, runs: list[str], extra: list[str]
) -> dict[str, Any]:
    from conformance.host import machine_key
    from conformance.registry import available_specs
    from conformance.spread import cores

    specs = available_specs(extra)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise SystemExit(f"floors: unknown framework {unknown[0]!r}; known: {', '.join(specs)}")
    compiled = str(Path(cache).absolute() / "compiled" / machine_key())  # the suite's layout
    per: dict[str, Any] = {}
    for name in names:
        per[name] = {key: run_child(specs[name], paths, compiled) for key in runs}
        last = per[name][runs[-1]]
        work = ", ".join(f"{k} {per[name][k]['work_cpu_s']:.2f}" for k in runs)
        print(
            f"[floors] {name:12s} start-up {last['startup_cpu_s']:.2f} CPU-s, "
            f"{last['startup_rss_bytes'] / 2**20:.0f} MiB; work {work} CPU-s",
            file=sys.stderr,
        )
    n = cores()
    out: dict[str, Any] = {"cores": n, "runs": runs, "frameworks": per}
    for key in runs:
        cpu = sum(r[key]["startup_cpu_s"] + r[key]["work_cpu_s"] for r in per.values())
        out[f"{key}_cpu_s"] = round(cpu, 3)
        out[f"{key}_floor_s"] = round(cpu / n, 3)
    out["floor_rss_bytes"] = sum(r[runs[-1]]["startup_rss_bytes"] for r in per.values())
    return out


def yardstick(cases: int) -> dict[str, Any]:
    argv = [sys.executable, str(HERE / "handwritten.py"), "--cases", str(cases), "--seed", "0"]
    m = measure_tree(argv, cwd=ROOT, env=child_env())
    if m.returncode != 0:  # a loop that stopped early would make the targets too easy
        raise SystemExit(f"floors: handwritten.py failed ({m.returncode}): {m.stderr[-300:]}")
    return {"cases": cases, "wall_s": round(m.seconds, 3), "cpu_s": round(m.cpu_seconds, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("paths", nargs="*", help="case files or folders (default: cases/)")
    ap.add_argument("--framework", action="append", help=f"default: {', '.join(DEFAULT)}")
    ap.add_argument("--jax-cache", help="a cache dir (--cache-dir of a run) to use and keep")
    ap.add_argument(
        "--runs",
        default="cold,warm",
        help="cold,warm (default) or warm: one pass on a filled cache",
    )
    ap.add_argument("--yardstick", type=int, default=0, help="also run handwritten.py --cases N")
    ap.add_argument(
        "--import-floor",
        action="store_true",
        help="also time python -c 'import tensorflow' (best of 3): target (a) is 1.5x / 2.5x it",
    )
    ap.add_argument(
        "--adapter", action="append", default=[], help="MODULE:CLASS, as `conformance run` takes"
    )
    ap.add_argument("--output", help="write the figures here as JSON")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    args = ap.parse_args()
    paths = args.paths or [str(ROOT / "cases")]
    if args.child:
        print(json.dumps(child(args.child, paths, args.cache)))
        sys.stdout.flush()
        os._exit(0)  # skip the frameworks' slow teardown, as the worker does
    names = args.framework or list(DEFAULT)
    sys.path.insert(1, os.getcwd())  # --adapter modules, as `python -m conformance` finds them
    with tempfile.TemporaryDirectory(prefix="floors-cache-") as tmp:
        runs = [r for r in ("cold", "warm") if r in args.runs.split(",")] or ["warm"]
        res = measure(paths, names, args.jax_cache or tmp, runs, args.adapter)
    res["paths"] = paths
    res["command"] = " ".join(["python", "benchmarks/floors.py", *sys.argv[1:]])
    res["date"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if args.import_floor:
        imp = best_of([sys.executable, "-c", "import tensorflow"], 3, cwd=ROOT, env=child_env())
        res["import_tensorflow_s"] = round(imp, 3)
        res["target_a_warm_s"] = round(1.5 * imp, 3)
        res["target_a_cold_s"] = round(2.5 * imp, 3)
    if args.yardstick:
        y = yardstick(args.yardstick)
        res["yardstick"] = y
        res["target_d_warm_s"] = round(y["wall_s"] / 10, 3)
        res["target_d_cold_s"] = round(y["wall_s"] / 3, 3)
    for key in res["runs"]:
        print(
            f"{key}: {res[f'{key}_cpu_s']:.1f} CPU-s -> floor {res[f'{key}_floor_s']:.1f} s "
            f"on {res['cores']} cores"
        )
    print(f"workers' RSS after start-up: {res['floor_rss_bytes'] / 2**20:.0f} MiB")
    if args.import_floor:
        print(
            f"import tensorflow {res['import_tensorflow_s']:.2f} s: target (a) warm "
            f"{res['target_a_warm_s']:.1f} s, cold {res['target_a_cold_s']:.1f} s"
        )
    if args.yardstick:
        print(
            f"yardstick {res['yardstick']['wall_s']:.1f} s: target (d) warm "
            f"{res['target_d_warm_s']:.1f} s, cold {res['target_d_cold_s']:.1f} s"
        )
    if args.output:
        Path(args.output).write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    failed = {n: r[k]["failed_batches"] for n, r in res["frameworks"].items() for k in r}
    if any(failed.values()):  # a batch that raised did not do its work: no floor
        print(f"floors: batches that raised, so the floor is too low: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
