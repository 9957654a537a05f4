"""Element-wise comparison: absolute, relative and ULP error, and the pass decision.

No ``nan_to_num``: nan equals only nan and an infinity only the same infinity; such mismatches
count as infinite error. ±0 are 0 ULP (and 0 absolute) apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import dtypes as D
from .tolerances import Allowance


@dataclass
class Metrics:
    max_abs_err: float
    max_rel_err: float
    max_ulp: float
    n: int
    n_bad: int
    worst_index: tuple[int, ...] | None
    worst_value: float | None
    worst_target: float | None

    @property
    def passed(self) -> bool:
        return self.n_bad == 0


def measure(
    y: np.ndarray,
    target: np.ndarray,
    dt: D.DType,
    allowance: Allowance | None = None,
    slack: np.ndarray | float = 0.0,
) -> Metrics:
    """Errors of ``y`` against ``target`` (both float64 arrays of ``dt`` values).

    ``slack`` widens the absolute test (an expected value written with few digits stands for
    every value within half a unit of its last digit).
    """
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if y.shape != t.shape:
        raise ValueError(f"shape {y.shape} != expected shape {t.shape}")
    ulp = D.ulp_distance(y, t, dt)
    special = ~(np.isfinite(y) & np.isfinite(t))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.where(special, np.where(ulp == 0, 0.0, np.inf), np.abs(y - t))
        rel = np.where(diff == 0, 0.0, diff / np.abs(t))
    if allowance is None:
        bad = ulp > 0
    else:
        ok = np.zeros(y.shape, dtype=bool)
        if allowance.abs_allow is not None:
            ok |= np.maximum(diff - slack, 0.0) <= allowance.abs_allow
        if allowance.ulp_allow is not None:
            ok |= ulp <= allowance.ulp_allow
        ok &= ~(special & (ulp != 0))  # a special mismatch is never tolerated
        ok |= ulp == 0
        bad = ~ok
    n = int(y.size)
    if n == 0:
        return Metrics(0.0, 0.0, 0.0, 0, 0, None, None, None)
    # Worst element: a failing one if any, the largest ULP distance among those.
    score = np.where(bad, ulp + 1.0, 0.0) if bad.any() else ulp
    flat = int(np.argmax(score))
    idx = tuple(int(i) for i in np.unravel_index(flat, y.shape))
    return Metrics(
        max_abs_err=float(np.max(diff)),
        max_rel_err=float(np.max(rel)),
        max_ulp=float(np.max(ulp)),
        n=n,
        n_bad=int(np.count_nonzero(bad)),
        worst_index=idx,
        worst_value=float(y[idx]),
        worst_target=float(t[idx]),
    )
