"""The exact reference's speed against a plain float64 NumPy matmul of the same size.

:func:`measure` runs one dtype in a child process with a time cap. The child draws x (B, N),
weight (M, N) and bias (M,) as normal values rounded to the dtype (float64 arrays of dtype
values, as the suite hands them to the reference), times ``x @ weight.T`` in float64 (best of
3), then ``conformance.reference.reference`` on the first b rows for b = B/2**k, doubling up
to B, printing one JSON line per step. The full size runs 3 times too: its best is divided by
the best of the full size's two best-of-3 matmuls (before the ladder and beside the
reference), and its first run is kept as ``first_s``. The child tunes its heap as
``conformance`` does (:mod:`conformance.heap`) and lets OpenBLAS's idle threads sleep
(:mod:`conformance.blas`; the matmul measured the same with it): the figure is the reference
as the suite runs it. The output rows are independent, so the time grows linearly with b:
when the cap stops the child, the largest finished step gives the size reached and an
estimate for the full size.

    python benchmarks/reference_speed.py DTYPE B N M     # the child; JSON lines on stdout
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from procs import measure as run_measured

SMALLEST_STEP = 1  # rows of the first step (then doubling)
REPEATS = 3  # of the matmul at every step, and of the reference at the full size


def _ladder(rows: int) -> list[int]:
    steps, b = [], rows
    while b > SMALLEST_STEP:
        steps.append(b)
        b //= 2
    steps.append(max(b, 1))
    return sorted(set(steps))


def child(dtype: str, rows: int, n_in: int, n_out: int) -> None:
    from conformance import blas

    quiet = blas.quiet_idle_threads()  # as the command line does, before NumPy loads
    import numpy as np

    from conformance import dtypes as D
    from conformance import heap
    from conformance.reference import reference

    tuned = heap.keep_freed_blocks()

    dt = D.get(dtype)
    rng = np.random.default_rng(20240601)

    def rounded(a: np.ndarray) -> np.ndarray:
        return D.round_pair(a, np.zeros_like(a), dt)

    x = rounded(rng.normal(size=(rows, n_in)))
    w = rounded(rng.normal(0.0, n_in**-0.5, size=(n_out, n_in)))
    bias = rounded(rng.normal(0.0, 0.1, size=(n_out,)))

    def matmul(b: int) -> float:
        best = float("inf")
        for _ in range(REPEATS):
            t = time.perf_counter()
            _ = x[:b] @ w.T + bias
            best = min(best, time.perf_counter() - t)
        return best

    def emit(**fields: Any) -> None:
        print(json.dumps(fields), flush=True)

    emit(step="matmul", rows=rows, seconds=matmul(rows), heap_tuned=tuned, blas_quiet=quiet)
    for b in _ladder(rows):
        mm = matmul(b)
        times: list[float] = []
        for _ in range(REPEATS if b == rows else 1):
            t = time.perf_counter()
            reference(dtype, x=x[:b], weight=w, bias=bias)
            times.append(time.perf_counter() - t)
        emit(step="reference", rows=b, seconds=min(times), first_s=times[0], matmul_seconds=mm)


def measure(
    dtype: str, size: tuple[int, int, int], cap: float, root: Path, env: dict[str, str]
) -> dict[str, Any]:
    """One dtype's figures: matmul and reference seconds at the largest size reached in ``cap``."""
    rows, n_in, n_out = size
    m = run_measured(
        [sys.executable, str(Path(__file__).resolve()), dtype, str(rows), str(n_in), str(n_out)],
        cwd=root,
        env=env,
        timeout=cap,
        keep=200_000,
    )
    steps = []
    matmul_full = None
    heap_tuned = None
    blas_quiet = None
    for line in m.stdout.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("step") == "matmul":
            matmul_full = rec["seconds"]
            heap_tuned = rec.get("heap_tuned")
            blas_quiet = rec.get("blas_quiet")
        elif rec.get("step") == "reference":
            steps.append(rec)
    out: dict[str, Any] = {
        "dtype": dtype,
        "size": list(size),
        "cap_s": cap,
        "timed_out": m.timed_out,
        "returncode": m.returncode,
        "wall_s": round(m.seconds, 3),
        "cpu_s": round(m.cpu_seconds, 3),
        "others_busy": None if m.others_busy is None else round(m.others_busy, 3),
        "peak_rss_bytes": m.peak_rss_bytes,
        "matmul_s": matmul_full,
        "heap_tuned": heap_tuned,
        "blas_quiet": blas_quiet,
        "steps": steps,
    }
    if not steps:
        out.update(complete=False, rows_reached=0, reference_s=None, ratio=None)
        if not m.timed_out:
            out["error"] = m.stderr.strip().splitlines()[-1:] or [f"exit {m.returncode}"]
        return out
    last = steps[-1]
    complete = last["rows"] == rows
    est = last["seconds"] * rows / last["rows"]
    if complete and matmul_full:
        # the full size's matmul ran twice (before the ladder and beside the reference): the
        # faster of the six runs, so a slow moment of the machine cannot flatter the ratio
        matmul_full = min(matmul_full, last["matmul_seconds"])
        out["matmul_s"] = matmul_full
    out.update(
        complete=complete,
        rows_reached=last["rows"],
        reference_s_at_reached=last["seconds"],
        matmul_s_at_reached=last["matmul_seconds"],
        ratio_at_reached=last["seconds"] / last["matmul_seconds"],
        # full size: measured when complete, else linear in rows from the largest step
        reference_s=last["seconds"] if complete else None,
        reference_s_estimate=est,
        ratio=(last["seconds"] / matmul_full) if complete and matmul_full else None,
        first_ratio=(last["first_s"] / matmul_full) if complete and matmul_full else None,
        ratio_estimate=(est / matmul_full) if matmul_full else None,
    )
    return out


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
