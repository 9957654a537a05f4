"""Deterministic random dense-layer cases for the benchmarks, as case YAML files.

Every choice comes from ``random.Random(seed)`` (the standard library, stable across Python
and NumPy versions), so the same arguments always write the same files. Each case has random
shapes (batch 1–32, in 1–64, out 1–32 by default), seeded uniform or normal inputs and
parameters (drawn by the suite from the case's own ``seed``), either layout, with or without a
bias, and one dtype: float32, or with ``--mixed`` mostly float32 and some float16, bfloat16
and float64.

    python benchmarks/gen_cases.py OUT_DIR [--cases 1000] [--seed 0] [--mixed]

:func:`specs` returns the same cases as plain dicts, for ``handwritten.py``.
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path
from typing import Any

FLOAT32_ONLY: tuple[tuple[str, float], ...] = (("float32", 1.0),)
# mostly float32, some of every other dtype
MIXED: tuple[tuple[str, float], ...] = (
    ("float32", 0.85),
    ("float16", 0.05),
    ("bfloat16", 0.05),
    ("float64", 0.05),
)


def _pick(rng: random.Random, weights: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([n for n, _ in weights], [w for _, w in weights])[0]


def _dist(rng: random.Random, scale: float) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {"distribution": "uniform", "low": -scale, "high": scale}
    return {"distribution": "normal", "std": scale}


def specs(
    n: int,
    seed: int = 0,
    dtypes: tuple[tuple[str, float], ...] = FLOAT32_ONLY,
    batch: tuple[int, int] = (1, 32),
    n_in: tuple[int, int] = (1, 64),
    n_out: tuple[int, int] = (1, 32),
) -> list[dict[str, Any]]:
    """``n`` case descriptions: id, seed, dtype, batch, in, out, layout, x/param/bias sources."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        b, k, m = rng.randint(*batch), rng.randint(*n_in), rng.randint(*n_out)
        out.append(
            {
                "id": f"bench-{i:05d}",
                "seed": seed * 1_000_003 + i,
                "dtype": _pick(rng, dtypes),
                "batch": b,
                "in": k,
                "out": m,
                "layout": "weight" if rng.random() < 0.5 else "kernel",
                "x": _dist(rng, 1.0),
                # scaled like the usual initialisers, so outputs stay O(1)
                "param": _dist(rng, round(1.0 / math.sqrt(k), 6)),
                "bias": _dist(rng, 0.1) if rng.random() < 2 / 3 else None,
            }
        )
    return out


def _flow(d: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"


def case_yaml(spec: dict[str, Any]) -> str:
    lines = [
        f"id: {spec['id']}",
        "description: generated benchmark case (benchmarks/gen_cases.py)",
        "tags: [benchmark]",
        f"dtypes: [{spec['dtype']}]",
        f"seed: {spec['seed']}",
        f"shapes: {{batch: [{spec['batch']}], in_features: {spec['in']}, "
        f"out_features: {spec['out']}}}",
        "inputs:",
        f"  x: {_flow(spec['x'])}",
        "params:",
        f"  {spec['layout']}: {_flow(spec['param'])}",
    ]
    if spec["bias"] is not None:
        lines.append(f"  bias: {_flow(spec['bias'])}")
    return "\n".join(lines) + "\n"


def write(out_dir: Path, cases: list[dict[str, Any]], per_folder: int = 1000) -> list[Path]:
    """One file per case, ``per_folder`` files per sub-folder (as a large library would be)."""
    files = []
    for i, spec in enumerate(cases):
        folder = out_dir / f"part-{i // per_folder:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{spec['id']}.yaml"
        path.write_text(case_yaml(spec), encoding="utf-8")
        files.append(path)
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mixed", action="store_true", help="some float16/bfloat16/float64 cases")
    args = ap.parse_args()
    cases = specs(args.cases, args.seed, MIXED if args.mixed else FLOAT32_ONLY)
    files = write(args.out_dir, cases)
    print(f"wrote {len(files)} case files under {args.out_dir}")


if __name__ == "__main__":
    main()
