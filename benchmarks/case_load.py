"""Loading case files with and without the case cache (:mod:`conformance.casecache`).

Times :func:`conformance.loader.load_cases` with its checks, as ``run`` and ``validate`` load,
three ways in this process: without any cache (``--no-cache``), cold (an empty cache dir: every
file parsed, checked and stored) and warm (the same dir again: every file from the cache);
for the bundled cases and for N files from ``gen_cases.py``. Each load is checked to give the
same case ids and error lines as the uncached one.

    python benchmarks/case_load.py [--generated 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gen_cases

from conformance.cases import BUNDLED_CASES
from conformance.loader import load_cases
from conformance.reference import cache as refcache


def _timed(paths: list[Path], cache_dir: Path | None) -> tuple[float, Any]:
    refcache.configure(cache_dir)
    start = time.perf_counter()
    cases, errors = load_cases(paths)
    took = time.perf_counter() - start
    return took, ([c.id for c in cases], [str(e) for e in errors])


def measure(name: str, paths: list[Path], files: int, tmp: Path) -> list[str]:
    """Rows of the table for one set of case files."""
    bare, expect = _timed(paths, None)
    cache_dir = tmp / f"cache-{name}"
    cold, got_cold = _timed(paths, cache_dir)
    warm, got_warm = _timed(paths, cache_dir)
    if got_cold != expect or got_warm != expect:
        raise SystemExit(f"{name}: a cached load gave other cases or errors than a fresh one")
    size = sum(p.stat().st_size for p in (cache_dir / "cases").rglob("*.json"))
    rows = []
    for label, t in (("no cache", bare), ("cold cache", cold), ("warm cache", warm)):
        per = 1000 * t / files
        rows.append(f"| {name} ({files} files) | {label} | {t:.2f} s | {per:.2f} ms |")
    rows.append(f"| {name} | cache size | {size / 1e6:.1f} MB | {size / files / 1e3:.1f} kB |")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--generated", type=int, default=10_000, help="generated case files")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rows = ["| files | load | total | per file |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="case-load-") as name:
        tmp = Path(name)
        bundled = sorted(BUNDLED_CASES.rglob("*.yaml"))
        rows += measure("bundled", [BUNDLED_CASES], len(bundled), tmp)
        if args.generated:
            gen = tmp / "cases"
            gen_cases.write(gen, gen_cases.specs(args.generated, args.seed))
            rows += measure("generated", [gen], args.generated, tmp)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
