"""Measure each framework's sigmoid error (ULP vs the exact reference) on a dense grid.

The figures behind the default sigmoid ULP budgets (conformance/tolerances.py). For each dtype
the grid covers the range where sigmoid's output is a *normal* number of that dtype (the
subnormal range has its own floor), with ``--points`` values per dtype.

    python benchmarks/sigmoid_ulp_sweep.py [--points 20001] [--framework NAME]...
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

from conformance import dtypes as D
from conformance.runner import RunOptions, run

# Lower end: where sigmoid(z) ~ exp(z) reaches the smallest normal number of the dtype.
RANGES = {name: (math.log(dt.tiny) + 0.5, 40.0) for name, dt in D.DTYPES.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=20001)
    ap.add_argument("--framework", action="append", default=[])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, (lo, hi) in RANGES.items():
            z = np.linspace(lo, hi, args.points)
            values = ", ".join(repr(float(v)) for v in z)
            Path(tmp, f"sweep-{name}.yaml").write_text(
                f"dtypes: [{name}]\ninputs:\n  z: [{values}]\n", encoding="utf-8"
            )
        result = run(RunOptions(paths=[tmp], frameworks=args.framework))
    print(f"{'framework':<11} {'path':<28} {'dtype':<9} {'max ulp':>8}  at z")
    for r in sorted(result.rows, key=lambda r: (r.dtype, r.framework, r.path)):
        if r.status == "skip" or r.status == "error":
            print(f"{r.framework:<11} {r.path:<28} {r.dtype:<9} {r.status}: {r.message}")
            continue
        lo, hi = RANGES[r.dtype]
        idx = int(r.worst_index.strip("[]") or 0)
        z_at = np.linspace(lo, hi, args.points)[idx]
        print(f"{r.framework:<11} {r.path:<28} {r.dtype:<9} {r.ref_max_ulp:>8.0f}  {z_at:.4g}")


if __name__ == "__main__":
    main()
