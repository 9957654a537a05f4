"""Wall time of the pytest route next to ``conformance run``, in one session.

    python benchmarks/pytest_plugin.py [--workers 2] [--skip-runs] [-- extra pytest/run args]

Measures, on the bundled library (or the paths after ``--``): ``pytest --conformance
--collect-only -q`` with an empty case-facts cache (cold) and again (warm), ``conformance
run``, ``pytest --conformance`` serial and with ``-n WORKERS``, and checks that the three runs
made the same rows (statuses and numbers). Run times on shared machines are noisy: compare
figures of one session only. The hypothesis plugin is disabled in the pytest sessions (it
imports hypothesis in every session's summary).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUIET = ["-p", "no:hypothesispytest", "-q"]


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    tail = (done.stdout.strip().splitlines() or [""])[-1]
    if done.returncode not in (0, 1):
        sys.exit(
            f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return seconds, tail


def rows(folder: Path) -> list[dict[str, object]]:
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return [{k: v for k, v in r.items() if k != "seconds"} for r in data]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (-n)")
    ap.add_argument("--skip-runs", action="store_true", help="only the collection figures")
    ap.add_argument("extra", nargs="*", help="case paths and options for both routes")
    args = ap.parse_args()
    py = sys.executable
    out: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        cache = ["-o", f"cache_dir={t / 'cache'}"]
        collect = [py, "-m", "pytest", "--conformance", "--collect-only", *QUIET, *cache]
        out.append(
            ("pytest --conformance --collect-only -q (cold cache)", *timed(collect + args.extra))
        )
        out.append(
            ("pytest --conformance --collect-only -q (warm cache)", *timed(collect + args.extra))
        )
        if not args.skip_runs:
            run = [py, "-m", "conformance", "run", "--quiet", "--report-dir", str(t / "run")]
            out.append(("conformance run", *timed(run + args.extra)))
            test = [py, "-m", "pytest", "--conformance", *QUIET, *cache]
            serial = [*test, "--conformance-report-dir", str(t / "serial")]
            out.append(("pytest --conformance", *timed(serial + args.extra)))
            n = args.workers
            spread = [*test, "-n", str(n), "--conformance-report-dir", str(t / "xdist")]
            out.append((f"pytest --conformance -n {n}", *timed(spread + args.extra)))
            same = rows(t / "run") == rows(t / "serial") == rows(t / "xdist")
    print("| command | wall time | last line |")
    print("|---|---|---|")
    for name, seconds, tail in out:
        print(f"| `{name}` | {seconds:.1f} s | {tail} |")
    if not args.skip_runs:
        print(f"\nsame rows in all three runs (statuses and numbers): {same}")


if __name__ == "__main__":
    main()
