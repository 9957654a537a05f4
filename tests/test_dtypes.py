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


def _edges(dt: D.DType, rng: np.random.Generator) -> np.ndarray:
    """float64 values around ``dt``'s rounding boundaries: values of ``dt``, the midpoints
    between neighbours (exact ties), the float64 numbers just either side of each midpoint,
    the overflow threshold, the subnormal range, signed zeros and values beyond the range."""
    with np.errstate(invalid="ignore"):  # nan bit patterns
        if dt.bits == 16:
            vals = np.arange(1 << 16, dtype=np.uint16).view(dt.np).astype(np.float64)
        elif dt.bits == 32:
            bits = rng.integers(0, 1 << 32, size=40_000, dtype=np.uint64).astype(np.uint32)
            special = np.array([0, 1, 2, 0x7FFFFF, 0x800000, 0x7F7FFFFF], dtype=np.uint32)
            vals = np.concatenate([bits, special, special | 0x80000000]).view(np.float32)
            vals = vals.astype(np.float64)
        else:
            vals = rng.standard_normal(20_000) * 10.0 ** rng.integers(-300, 300, 20_000)
    vals = np.unique(vals[np.isfinite(vals)])
    mids = vals[:-1] / 2 + vals[1:] / 2  # exact for 16/32-bit neighbours (not for float64)
    extra = [0.0, dt.min_subnormal / 2, dt.min_subnormal * 1.5, dt.tiny * (1 - 2.0**-30)]
    if dt.bits < 64:  # the overflow threshold: max + half an ulp rounds to inf (a tie)
        extra += [dt.max + 2.0 ** (dt.emax - dt.p), dt.max * 4, 1e300, 1e-320]
    more = np.array(extra)
    pts = np.concatenate([vals, mids, more, -more])
    pts = np.concatenate([pts, np.nextafter(pts, np.inf), np.nextafter(pts, -np.inf)])
    pts = pts[np.isfinite(pts)]
    pick = rng.choice(len(pts), size=min(len(pts), 60_000), replace=False)
    return np.concatenate([pts[pick], more, -more])


@pytest.mark.parametrize("name", D.DTYPE_NAMES)
def test_round_float64_matches_fraction_rounding_and_round_pair(name: str) -> None:
    """The cast fast path (float16, float32, float64) and bfloat16's round_pair route round
    every edge value as exact rational rounding does, bit for bit, ±0 included."""
    dt = D.get(name)
    values = _edges(dt, np.random.default_rng(11))
    got = D.round_float64(values, dt)
    via_pair = D.round_pair(values, np.zeros_like(values), dt)
    want = np.array([fraction_round(Fraction(v), dt) for v in values])
    want = np.where(
        want == 0, np.copysign(0.0, values), want
    )  # a value rounding to 0 keeps its sign
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64)), values[got != want][:5]
    assert np.array_equal(got.view(np.uint64), via_pair.view(np.uint64))


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_unscaled_rounding_matches_fraction_rounding_at_ties(name: str) -> None:
    """round_pair's cast fast path against exact rational rounding of ``hi + lo`` with ``lo``
    a remainder of either sign (or none): every tie must follow ``lo``, bit for bit, and agree
    with the general scaled path."""
    dt = D.get(name)
    hi = _edges(dt, np.random.default_rng(13))
    tiny = Fraction(1, 1 << 1200)  # below any float64 spacing: only its sign matters
    for sign in (-1.0, 0.0, 1.0):
        lo = np.full(hi.shape, sign)
        got = D.round_pair(hi, lo, dt)
        want = np.array([fraction_round(Fraction(h) + int(sign) * tiny, dt) for h in hi])
        zero_sign = np.where((hi == 0) & (lo != 0), lo, hi)  # the exact value's sign
        want = np.where(want == 0, np.copysign(0.0, zero_sign), want)
        assert np.array_equal(got.view(np.uint64), want.view(np.uint64)), hi[got != want][:5]
        nz = hi != 0
        general = D._round_finite(hi[nz], lo[nz], np.zeros(1, np.int64), dt)
        assert np.array_equal(got[nz].view(np.uint64), general.view(np.uint64))


@pytest.mark.parametrize("name", D.DTYPE_NAMES)
def test_round_pair_of_a_scalar_array(name: str) -> None:
    dt = D.get(name)
    got = D.round_pair(np.array(1.0 + 2.0**-30), np.array(-1.0), dt)
    assert got.shape == () and float(got) == (1.0 + 2.0**-30 if dt.p == 53 else 1.0)
