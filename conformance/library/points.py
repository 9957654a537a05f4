"""Points of a dtype where sigmoid changes behaviour, found by bisection over the dtype's
values with the exact reference (never typed in by hand): where it first returns exactly 1,
where it stops being 0, where its result becomes normal, and where exp(-z) overflows."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import dtypes as D
from ..reference import reference


def from_ordinal(o: int, dt: D.DType) -> float:
    """The ``dt`` value whose :func:`conformance.dtypes.ordinal` is ``o`` (as a float)."""
    mag = np.array([abs(o)], dtype=np.uint64).astype(dt.uint).view(dt.np).astype(np.float64)[0]
    return float(-mag if o < 0 else mag)


def to_ordinal(v: float, dt: D.DType) -> int:
    return int(D.ordinal(np.array([v]), dt)[0])


def sigmoid(dtype: str, z: float) -> float:
    """The correctly rounded sigmoid of the ``dtype`` value ``z``."""
    return float(reference(dtype, z=np.array([z])).sigmoid[0])


def first_true(dtype: str, lo: float, hi: float, pred: Callable[[float], bool]) -> float:
    """Smallest dtype value in [lo, hi] where a monotone predicate becomes true."""
    dt = D.get(dtype)
    a, b = to_ordinal(lo, dt), to_ordinal(hi, dt)
    if pred(from_ordinal(a, dt)) or not pred(from_ordinal(b, dt)):
        raise ValueError(f"{dtype}: the predicate does not change within [{lo}, {hi}]")
    while b - a > 1:
        m = (a + b) // 2
        if pred(from_ordinal(m, dt)):
            b = m
        else:
            a = m
    return from_ordinal(b, dt)


def around(v: float, dtype: str, k: int = 3) -> list[float]:
    """``v`` and its ``k`` neighbours on each side among the ``dtype`` values."""
    dt = D.get(dtype)
    o = to_ordinal(v, dt)
    return [from_ordinal(o + i, dt) for i in range(-k, k + 1)]


def thresholds(dtype: str) -> dict[str, float]:
    dt = D.get(dtype)
    return {
        # smallest z whose correctly rounded sigmoid is exactly 1
        "one": first_true(dtype, 0.0, 60.0, lambda z: sigmoid(dtype, z) == 1.0),
        # smallest z whose sigmoid is not 0 (below it every result rounds to +0)
        "zero": first_true(dtype, -800.0, 0.0, lambda z: sigmoid(dtype, z) > 0.0),
        # smallest z whose sigmoid is a normal number (below: the subnormal-output range)
        "normal": first_true(dtype, -800.0, 0.0, lambda z: sigmoid(dtype, z) >= dt.tiny),
        # -ln(max): exp(-z) overflows the dtype for z below this (naive formula returns 0)
        "overflow": float(D.round_pair(np.array([-math.log(dt.max)]), np.zeros(1), dt)[0]),
    }
