"""Ziv's test (``conformance.reference.rounding``) against the independent oracle: wherever it
says an enclosure is decided, both exact ends round (oracle, integers only) to the value it
returns, sign of zero included. The enclosures sit where deciding is hard: on the format's
ties (where only ``lo`` tells the way), one float64 ulp beside them, across binades, at the
overflow threshold, at zero and in float64's subnormals, with and without a scale ``2**k``."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from conformance import dtypes as D
from conformance.reference import rounding
from tests import oracle

DTYPES = ("float16", "bfloat16", "float32", "float64")


def _tie_points(dt: D.DType, rng: np.random.Generator, n: int) -> np.ndarray:
    """Float64 values on ``dt``'s rounding boundaries: midpoints between neighbours, the
    overflow threshold, and the largest finite value itself."""
    spread = rng.integers(max(dt.emin, -20), min(dt.emax - 2, 20), size=n)
    v = D.round_pair(rng.normal(size=n) * 2.0**spread, np.zeros(n), dt)
    _, e = np.frexp(np.abs(v))
    grid = np.ldexp(1.0, np.maximum(e - 1, dt.emin) - (dt.p - 1))
    mids = v + np.where(rng.random(n) < 0.5, -1, 1) * grid / 2
    threshold = dt.max + np.ldexp(1.0, dt.emax - dt.p) if dt.p < 53 else dt.max
    return np.concatenate([mids, [threshold, -threshold, dt.max, -dt.max]])


def _enclosures(dt: D.DType, seed: int) -> tuple[np.ndarray, ...]:
    with np.errstate(over="ignore"):  # float64's largest value has no finite spacing
        return _draw(dt, np.random.default_rng(seed))


def _draw(dt: D.DType, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    ties = _tie_points(dt, rng, 3000)
    n = ties.size
    beside = np.nextafter(ties, np.where(rng.random(n) < 0.5, -1.0, 1.0) * dt.max)
    wide = rng.normal(size=n) * 2.0 ** rng.integers(-60, 60, size=n)
    tiny = rng.normal(size=n) * 2.0 ** rng.integers(-1074, -1015, size=n)
    zero = np.where(rng.random(n) < 0.5, -0.0, 0.0)
    hi = np.concatenate([ties, beside, wide, tiny, zero])
    m = hi.size
    half_ulp = np.abs(np.spacing(hi)) / 2
    # lo below half an ulp of hi (hi = RN64(hi + lo)), of either sign, often 0; err from 0 to
    # far beyond the ulp
    lo = np.where(rng.random(m) < 0.3, 0.0, half_ulp * rng.uniform(-0.99, 0.99, size=m))
    lo = np.where(np.abs(lo) < half_ulp, lo, 0.0)  # near the subnormals, a product rounds up
    scale = 2.0 ** rng.integers(-90, -45, size=m).astype(np.float64)
    err = np.abs(hi) * scale * rng.random(m)
    err = np.where(hi == 0, 2.0 ** rng.integers(-1074, -900, size=m) * rng.random(m), err)
    err = np.where(rng.random(m) < 0.15, np.abs(lo) * rng.uniform(0, 1.01, size=m), err)
    err = np.where(rng.random(m) < 0.05, 0.0, err)
    return hi, lo, err


def _exact_bits(value: Fraction, k: int, fmt: oracle.Format) -> int | None:
    """The oracle's rounding of ``value · 2**k``; None for an exact zero (its sign is the
    caller's business, not the test's)."""
    if value == 0:
        return None
    scaled = value * Fraction(2) ** k
    return oracle.round_ratio(scaled.numerator, scaled.denominator, fmt)


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("scaled", [False, True], ids=["k=0", "k<0"])
def test_decided_enclosures_round_as_the_oracle_rounds_both_ends(name: str, scaled: bool) -> None:
    dt, fmt = D.get(name), oracle.FORMATS[name]
    hi, lo, err = _enclosures(dt, seed=11 + 3 * DTYPES.index(name) + scaled)
    rng = np.random.default_rng(5)
    if scaled:  # as the sigmoid uses it: a positive mantissa and a power of two apart
        hi = np.abs(hi)
        k = rng.integers(-1100, 0, size=hi.size)
    else:
        k = np.zeros(hi.size, np.int64)
    undecided, values = rounding.decide(hi, lo, err, k, dt)
    decided = np.flatnonzero(~undecided)
    assert decided.size > hi.size // 2  # it does decide: most of these are decidable
    checked = 0
    for i in decided.tolist():
        h, l_, e = Fraction(float(hi[i])), Fraction(float(lo[i])), Fraction(float(err[i]))
        got = oracle.value_bits(float(values[i]), fmt)
        ends = {_exact_bits(h + l_ - e, int(k[i]), fmt), _exact_bits(h + l_ + e, int(k[i]), fmt)}
        ends.discard(None)
        assert ends <= {got}, (name, i, float(hi[i]), float(lo[i]), float(err[i]), int(k[i]))
        checked += bool(ends)
    assert checked > decided.size * 0.9


@pytest.mark.parametrize("name", DTYPES)
def test_a_tie_goes_the_way_lo_says(name: str) -> None:
    """On a tie, ``hi`` alone rounds to even: only the exact error that ``decide`` keeps for
    such ends can send it the other way."""
    dt, fmt = D.get(name), oracle.FORMATS[name]
    ties = _tie_points(dt, np.random.default_rng(3), 400)[:-4]
    lo = np.abs(ties) * 2.0**-60 * np.where(np.arange(ties.size) % 2 == 0, 1.0, -1.0)
    err = np.abs(lo) / 4
    undecided, values = rounding.decide(ties, lo, err, np.zeros(ties.size, np.int64), dt)
    assert not undecided.any()
    for h, l_, v in zip(ties.tolist(), lo.tolist(), values.tolist(), strict=True):
        exact = Fraction(h) + Fraction(l_)
        assert oracle.value_bits(v, fmt) == _exact_bits(exact, 0, fmt)


def test_outward_steps_lie_beyond_the_exact_difference() -> None:
    """``_outward(l ∓ e)`` against the exact ``l ∓ e``, over every binade of float64 and its
    subnormals, both signs."""
    rng = np.random.default_rng(2)
    n = 20000
    exps = rng.integers(-1074, 1000, size=n)
    a = rng.uniform(-2, 2, size=n) * np.ldexp(1.0, exps)
    b = a * rng.uniform(-1, 1, size=n) * 2.0 ** rng.integers(-60, 2, size=n)
    b = np.where(rng.random(n) < 0.2, np.nextafter(a, np.inf) - a, b)
    with np.errstate(over="ignore"):
        down = rounding._outward(a - b, -1.0)
        up = rounding._outward(a + b, 1.0)
    for ai, bi, d, u in zip(a.tolist(), b.tolist(), down.tolist(), up.tolist(), strict=True):
        exact_a, exact_b = Fraction(ai), Fraction(bi)
        if math.isfinite(d):
            assert Fraction(d) <= exact_a - exact_b, (ai, bi, d)
        if math.isfinite(u):
            assert Fraction(u) >= exact_a + exact_b, (ai, bi, u)
