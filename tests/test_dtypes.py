"""Rounding straight to a narrow format, and ULP distances at the edges."""

from __future__ import annotations

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from conformance import dtypes as D


def fraction_round(x: Fraction, dt: D.DType) -> float:
    """Independent round-to-nearest-even of an exact rational, by integer arithmetic."""
    if x == 0:
        return 0.0
    sign = -1 if x < 0 else 1
    a = abs(x)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    e = max(e, dt.emin)
    q = Fraction(2) ** (e - dt.p + 1)
    n, r = divmod(a, q)
    if r > q / 2 or (r == q / 2 and n % 2 == 1):
        n += 1
    v = n * q
    if v > Fraction(dt.max):
        return sign * float("inf")
    return sign * float(v)


@pytest.mark.parametrize("name", D.DTYPE_NAMES)
def test_round_pair_matches_integer_rounding(name: str) -> None:
    dt = D.get(name)
    rng = np.random.default_rng(7)
    scale = {"float16": 8, "bfloat16": 60, "float32": 60, "float64": 300}[name]
    for _ in range(400):
        hi = float(rng.standard_normal() * 2.0 ** rng.integers(-scale, scale))
        lo = float(rng.choice([-1.0, 0.0, 1.0])) * abs(hi) * 2.0**-60
        exact = Fraction(hi) + Fraction(lo)
        got = D.round_pair(np.array([hi]), np.array([lo]), dt)[0]
        want = fraction_round(exact, dt) if name != "float64" else hi
        assert got == want, (hi, lo)


def test_ties_use_the_sign_of_the_remainder() -> None:
    # 1 + 2**-24 is the float32 midpoint between 1 and 1 + 2**-23.
    mid = 1.0 + 2.0**-24
    assert D.round_pair(np.array([mid]), np.array([0.0]), D.FLOAT32)[0] == 1.0
    assert D.round_pair(np.array([mid]), np.array([1.0]), D.FLOAT32)[0] == 1.0 + 2.0**-23
    assert D.round_pair(np.array([mid]), np.array([-1.0]), D.FLOAT32)[0] == 1.0


def test_bfloat16_rounding_avoids_double_rounding() -> None:
    # x = 1 + 2**-8 + 2**-30: float32 rounds it to the bfloat16 midpoint 1 + 2**-8, which
    # ties to even (1.0); the correct bfloat16 rounding of x is 1 + 2**-7.
    x = 1.0 + 2.0**-8 + 2.0**-30
    via_float32 = float(np.float32(x).astype(ml_dtypes.bfloat16))
    direct = D.round_pair(np.array([x]), np.array([0.0]), D.BFLOAT16)[0]
    assert via_float32 == 1.0
    assert direct == 1.0 + 2.0**-7


def test_subnormals_and_overflow() -> None:
    dt = D.FLOAT16
    assert D.round_pair(np.array([2.0**-24]), np.array([0.0]), dt)[0] == 2.0**-24
    assert D.round_pair(np.array([2.0**-25]), np.array([0.0]), dt)[0] == 0.0  # tie to even
    assert D.round_pair(np.array([2.0**-25]), np.array([1.0]), dt)[0] == 2.0**-24
    assert D.round_pair(np.array([65520.0]), np.array([0.0]), dt)[0] == np.inf
    assert D.round_pair(np.array([65519.0]), np.array([0.0]), dt)[0] == 65504.0
    neg = D.round_pair(np.array([-(2.0**-26)]), np.array([0.0]), dt)[0]
    assert neg == 0.0 and np.signbit(neg)


@pytest.mark.parametrize("name", D.DTYPE_NAMES)
def test_ulp_distance_edges(name: str) -> None:
    dt = D.get(name)
    tiny_sub = dt.min_subnormal
    a = np.array([0.0, -0.0, tiny_sub, -tiny_sub, np.nan, np.nan, np.inf, np.inf, -np.inf, 1.0])
    b = np.array([-0.0, 0.0, 0.0, tiny_sub, np.nan, 1.0, np.inf, -np.inf, dt.max * -1, 1.0])
    d = D.ulp_distance(a, b, dt)
    assert list(d[:4]) == [0.0, 0.0, 1.0, 2.0]
    assert d[4] == 0.0 and d[5] == np.inf
    assert d[6] == 0.0 and d[7] == np.inf and d[8] == np.inf
    assert d[9] == 0.0
    one_up = 1.0 + dt.eps
    assert D.ulp_distance(np.array([1.0]), np.array([one_up]), dt)[0] == 1.0
    # across the binade below 1: spacing halves
    assert D.ulp_distance(np.array([1.0]), np.array([1.0 - dt.eps]), dt)[0] == 2.0


def test_ulp_distance_float64_extremes_do_not_overflow() -> None:
    big = np.finfo(np.float64).max
    assert D.ulp_distance(np.array([big]), np.array([-big]), D.FLOAT64)[0] == pytest.approx(
        2.0**64 - 2**53 * 2, rel=1e-3
    )
