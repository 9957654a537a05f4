"""Cost of refusing each hostile case file: CPU seconds, wall seconds and peak memory growth.

Loads every file of tests/data/bad_cases (and any PATHS given) one at a time in a forked child
(``tests/case_probe.py``) and prints the slowest and the largest, per class (the file name's
first word; hostile file names form one class) and overall. Wall times on a shared machine are inflated by other work; CPU
seconds are what the file itself costs.

    python benchmarks/bad_cases.py [PATHS...] [--top 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "bad_cases"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("paths", nargs="*", help="more case files")
    ap.add_argument("--top", type=int, default=10, help="how many of the costliest to list")
    args = ap.parse_args()
    files = [str(p) for p in sorted(CORPUS.iterdir())] + args.paths
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "tests.case_probe", "--timeout-s", "60", *files],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    ).stdout
    records = [json.loads(line) for line in out.splitlines()]
    by_class: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        word = Path(r["file"]).name.split("-")[0]
        by_class[word if word.isascii() and word.isalnum() else "(file names)"].append(r)
    print(f"{len(records)} files")
    print(f"{'class':<10} {'files':>5} {'max cpu s':>9} {'max wall s':>10} {'max MB':>7}")
    for name, rs in sorted(by_class.items()):
        print(
            f"{name:<10} {len(rs):>5} {max(r.get('cpu_seconds', 0) for r in rs):>9.3f} "
            f"{max(r.get('seconds', 0) for r in rs):>10.3f} "
            f"{max(r.get('rss_growth_mb', 0) for r in rs):>7.1f}"
        )
    print(f"\ncostliest {args.top} by CPU:")
    for r in sorted(records, key=lambda r: -r.get("cpu_seconds", 0))[: args.top]:
        print(
            f"  {r.get('cpu_seconds', 0):.3f} s cpu  {r.get('seconds', 0):.3f} s wall  "
            f"{r.get('rss_growth_mb', 0):5.1f} MB  {Path(r['file']).name}"
        )
    odd = [r for r in records if r.get("exception") or r.get("signal")]
    for r in odd:
        print(f"  NOT A CASE ERROR: {Path(r['file']).name}: {r.get('exception') or r['signal']}")


if __name__ == "__main__":
    main()
