"""Wall time of the default run, next to each framework's bare import, in one session.

Run times on shared machines are noisy: the figures are meant to be read as ratios measured
together (e.g. "the whole run costs N x TensorFlow's import"), not as absolute numbers.

    python benchmarks/run_time.py [--repeat 3] [--run-args "cases --mode eager"]
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time

FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax")


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3, help="best of N for imports")
    ap.add_argument("--run-args", default="", help="extra arguments for `conformance run`")
    args = ap.parse_args()
    base = timed([sys.executable, "-c", "pass"])
    imports = {
        fw: min(timed([sys.executable, "-c", f"import {fw}"]) for _ in range(args.repeat)) - base
        for fw in FRAMEWORKS
    }
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "conformance", "run", "--quiet", "--report-dir", out]
        run_s = timed(cmd + shlex.split(args.run_args))
    print(f"python start-up: {base:.2f}s (subtracted from imports)")
    for fw, s in imports.items():
        print(f"import {fw:<11} {s:6.2f}s")
    slowest = max(imports.values())
    print(
        f"conformance run {args.run_args or '(bundled cases)'}: {run_s:.2f}s "
        f"= {run_s / slowest:.1f} x the slowest import, {run_s / sum(imports.values()):.1f} x all imports"
    )


if __name__ == "__main__":
    main()
