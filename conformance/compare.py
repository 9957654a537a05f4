"""Element-wise comparison: absolute, relative and ULP error, budget used, and the verdict.

No ``nan_to_num``: nan equals only nan and an infinity only the same infinity; such mismatches
count as infinite error. ±0 are 0 ULP (and 0 absolute) apart, but a zero of the wrong sign is
counted, and fails where the allowance asks for signed zeros.
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
    worst_index: tuple[int, ...] | None  # the worst failing element, else the largest error
    worst_value: float | None
    worst_target: float | None
    worst_ulp: float | None = None  # that element's own ULP distance
    worst_budget: float | None = None  # that element's error / its allowance
    budget_used: float | None = None  # the largest error / allowance of any element
    wrong_sign_zeros: int = 0

    @property
    def passed(self) -> bool:
        return self.n_bad == 0


@dataclass(frozen=True)
class Target:
    """What :func:`measure` needs of a target, computed once for every output compared with
    it (a run compares each reference with every path of every framework)."""

    t: np.ndarray  # float64
    ordinal: np.ndarray
    nan: np.ndarray
    inf: np.ndarray
    negative_zero: np.ndarray  # t is -0
    positive_zero: np.ndarray  # t is +0
    magnitude: np.ndarray  # |t|

    @classmethod
    def of(cls, target: np.ndarray, dt: D.DType) -> Target:
        t = np.asarray(target, dtype=np.float64)
        zero, sign = t == 0, np.signbit(t)
        return cls(
            t, D.ordinal(t, dt), np.isnan(t), np.isinf(t), zero & sign, zero & ~sign, np.abs(t)
        )


def measure(
    y: np.ndarray,
    target: np.ndarray | Target,
    dt: D.DType,
    allowance: Allowance | None = None,
) -> Metrics:
    """Errors of ``y`` against ``target`` (both float64 arrays of ``dt`` values, the target
    possibly prepared as a :class:`Target`); without an allowance every element must be
    bit-identical up to the sign of zero."""
    y = np.asarray(y, dtype=np.float64)
    tg = target if isinstance(target, Target) else Target.of(target, dt)
    t = tg.t
    if y.shape != t.shape:
        raise ValueError(f"shape {y.shape} != expected shape {t.shape}")
    ulp = D.ulp_distance_from(y, D.ordinal(y, dt), t, tg.ordinal, tg.nan, tg.inf)
    special = ~np.isfinite(y) | tg.nan | tg.inf
    y_zero, y_sign = y == 0, np.signbit(y)
    wrong_zero = y_zero & ((y_sign & tg.positive_zero) | (~y_sign & tg.negative_zero))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.where(special, np.where(ulp == 0, 0.0, np.inf), np.abs(y - t))
        rel = np.where(diff == 0, 0.0, diff / tg.magnitude)
        ratio = _budget_ratio(diff, ulp, allowance)
    if allowance is not None and allowance.flush is not None:
        # a subnormal result flushed to zero of its own sign uses exactly its allowance
        flushed = allowance.flush & y_zero & (y_sign == np.signbit(t))
        ratio = np.where(flushed, np.minimum(ratio, 1.0), ratio)
    ratio = np.where(special & (ulp != 0), np.inf, ratio)  # never covered by a tolerance
    if allowance is not None and allowance.signed_zeros:
        ratio = np.where(wrong_zero, np.inf, ratio)
    bad = ratio > 1.0
    n = int(y.size)
    if n == 0:
        return Metrics(0.0, 0.0, 0.0, 0, 0, None, None, None, budget_used=0.0)
    # Worst element: the failing one furthest over its allowance, else the largest ratio.
    score = np.where(np.isnan(ratio), np.inf, ratio)
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
        worst_ulp=float(ulp[idx]),
        worst_budget=float(score[idx]),
        budget_used=float(np.max(score)),
        wrong_sign_zeros=int(np.count_nonzero(wrong_zero)),
    )


def _budget_ratio(diff: np.ndarray, ulp: np.ndarray, allowance: Allowance | None) -> np.ndarray:
    """Per element, error / allowance by the most lenient criterion (1.0 = at the tolerance;
    0 for an exact match; inf where the allowance is 0 and the element differs)."""
    if allowance is None:
        return np.where(ulp == 0, 0.0, np.inf)
    best = np.full(diff.shape, np.inf)
    if allowance.abs_allow is not None:
        a = np.broadcast_to(allowance.abs_allow, diff.shape)
        best = np.minimum(best, np.where(diff == 0, 0.0, diff / a))
    if allowance.ulp_allow is not None:
        u = allowance.ulp_allow
        best = np.minimum(best, np.where(ulp == 0, 0.0, ulp / u if u > 0 else np.inf))
    return np.where(ulp == 0, 0.0, best)
