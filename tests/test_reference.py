"""The exact reference against mpmath (an independent arbitrary-precision evaluation)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from conformance import dtypes as D
from conformance.reference import reference

mpmath.mp.prec = 4000  # exact for sums of products of float64 values in moderate ranges


def mp_round(x: mpmath.mpf, dt: D.DType) -> float:
    """Round an mpmath value to ``dt`` (normal range) with round-half-even, via mpmath."""
    if x == 0:
        return 0.0
    if abs(x) < dt.tiny:  # subnormal range: a fixed quantum
        q = mpmath.mpf(dt.min_subnormal)
        return float(mpmath.nint(x / q) * q)
    with mpmath.workprec(dt.p):
        r = +x  # rounds to p bits, nearest-even
    v = float(r)
    if abs(v) > dt.max:
        return math.copysign(math.inf, v)
    return v


def exact_affine(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> list[list[mpmath.mpf]]:
    out = []
    for row in x:
        vals = []
        for j, wr in enumerate(w):
            s = mpmath.fsum(
                [mpmath.mpf(float(a)) * mpmath.mpf(float(c)) for a, c in zip(row, wr, strict=True)]
            )
            if b is not None:
                s += mpmath.mpf(float(b[j]))
            vals.append(s)
        out.append(vals)
    return out


def rounded_inputs(
    rng: np.random.Generator, shape: tuple[int, ...], dt: D.DType, scale: float
) -> np.ndarray:
    raw = rng.standard_normal(shape) * scale
    return D.round_pair(raw, np.zeros_like(raw), dt)


@pytest.mark.parametrize("name", D.DTYPE_NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_affine_and_sigmoid_match_mpmath(name: str, seed: int) -> None:
    dt = D.get(name)
    rng = np.random.default_rng(seed)
    n = [1, 7, 33][seed]
    x = rounded_inputs(rng, (5, n), dt, 2.0)
    w = rounded_inputs(rng, (4, n), dt, 0.5)
    b = rounded_inputs(rng, (4,), dt, 1.0)
    ref = reference(name, x=x, weight=w, bias=b)
    exact = exact_affine(x, w, b)
    assert ref.affine is not None
    for i in range(5):
        for j in range(4):
            s = exact[i][j]
            assert ref.affine[i, j] == mp_round(s, dt), (i, j)
            sig = 1 / (1 + mpmath.exp(-s))
            assert ref.sigmoid[i, j] == mp_round(sig, dt), (i, j)


def test_float64_heavy_cancellation_is_exact() -> None:
    # 1e16 + 1 - 1e16 style cancellation that plain float64 dot products get wrong.
    x = np.array([[1e16, 1.0, -1e16, 3.0e-17]])
    w = np.array([[1.0, 1.0, 1.0, 1.0]])
    ref = reference("float64", x=x, weight=w, bias=None)
    assert ref.affine is not None
    assert ref.affine[0, 0] == mp_round(mpmath.mpf(1) + mpmath.mpf(3.0e-17), D.FLOAT64)
    assert float(np.dot(x[0], w[0])) != ref.affine[0, 0]  # numpy loses the 1


def test_float64_products_below_dekker_range_use_exact_fallback() -> None:
    x = np.array([[1e-300, 3.0, 2.0**-1074]])
    w = np.array([[1e-20, 1e-300, 0.75]])
    ref = reference("float64", x=x, weight=w, bias=None)
    s = mpmath.mpf(1e-300) * mpmath.mpf(1e-20) + mpmath.mpf(3.0) * mpmath.mpf(1e-300)
    s += mpmath.mpf(2.0**-1074) * mpmath.mpf(0.75)
    assert ref.affine is not None
    assert ref.affine[0, 0] == float(s)


def test_ties_in_float32_are_broken_by_the_exact_sum() -> None:
    # 1 + 2**-24 (a float32 midpoint) plus a tiny term: must round up, not to even.
    x = np.array([[1.0, 2.0**-24, 2.0**-60]])
    w = np.array([[1.0, 1.0, 1.0]])
    ref = reference("float32", x=x, weight=w, bias=None)
    assert ref.affine is not None and ref.affine[0, 0] == 1.0 + 2.0**-23


def test_special_values_follow_ieee() -> None:
    inf, nan = np.inf, np.nan
    x = np.array(
        [[inf, 1.0], [inf, 0.0], [inf, 1.0], [nan, 1.0], [1.0, 1.0], [-0.0, 0.0], [0.0, 0.0]]
    )
    w = np.array(
        [[1.0, 1.0], [0.0, 1.0], [1.0, -inf], [1.0, 1.0], [1e308, 1e308], [1.0, -1.0], [-1.0, 1.0]]
    )
    out = []
    for i in range(len(x)):
        ref = reference("float64", x=x[i : i + 1], weight=w[i : i + 1], bias=None)
        assert ref.affine is not None
        out.append((ref.affine[0, 0], ref.sigmoid[0, 0]))
    assert out[0] == (inf, 1.0)  # inf*1 + 1
    assert math.isnan(out[1][0]) and math.isnan(out[1][1])  # inf*0
    assert math.isnan(out[2][0])  # inf + -inf
    assert math.isnan(out[3][0])  # nan propagates
    assert out[4] == (inf, 1.0)  # exact 2e308 overflows float64 after rounding
    assert out[5][0] == 0.0 and np.signbit(out[5][0])  # -0*1 + 0*-1 = -0 + -0 = -0
    assert out[5][1] == 0.5
    assert out[6][0] == 0.0 and not np.signbit(out[6][0])  # 0*-1 + 0*1 = -0 + +0 = +0


def test_exact_zero_sign_rule() -> None:
    # products -0 and +0 sum to +0 under round-to-nearest; all -0 stays -0
    x = np.array([[0.0, 0.0]])
    ref = reference("float32", x=x, weight=np.array([[-1.0, 1.0]]), bias=None)
    assert ref.affine is not None and not np.signbit(ref.affine[0, 0])
    ref = reference("float32", x=x, weight=np.array([[-1.0, -2.0]]), bias=None)
    assert ref.affine is not None and np.signbit(ref.affine[0, 0])
    ref = reference("float32", x=x, weight=np.array([[-1.0, -2.0]]), bias=np.array([0.0]))
    assert ref.affine is not None and not np.signbit(ref.affine[0, 0])
    # cancellation of non-zero terms gives +0
    ref = reference(
        "float32", x=np.array([[1.5, -1.5]]), weight=np.array([[-1.0, -1.0]]), bias=None
    )
    assert ref.affine is not None and ref.affine[0, 0] == 0 and not np.signbit(ref.affine[0, 0])


@pytest.mark.parametrize("name", D.DTYPE_NAMES)
def test_sigmoid_edges_against_mpmath(name: str) -> None:
    dt = D.get(name)
    z = np.array(
        [0.0, -0.0, 1.0, -1.0, 10.0, -10.0, 20.0, -20.0, 40.0, -40.0, 88.0, -88.0, 100.0, -100.0]
    )
    z = D.round_pair(z, np.zeros_like(z), dt)
    ref = reference(name, z=z).sigmoid
    for zi, r in zip(z, ref, strict=True):
        exact = 1 / (1 + mpmath.exp(-mpmath.mpf(float(zi))))
        assert r == mp_round(exact, dt), zi
    special = reference(name, z=np.array([np.inf, -np.inf, np.nan])).sigmoid
    assert special[0] == 1.0 and special[1] == 0.0 and not np.signbit(special[1])
    assert math.isnan(special[2])


def test_sigmoid_of_subnormal_and_tail_values_float64() -> None:
    z = np.array([-745.0, -744.5, -708.5, -50.0, 37.0, 36.7])
    ref = reference("float64", z=z).sigmoid
    for zi, r in zip(z, ref, strict=True):
        exact = 1 / (1 + mpmath.exp(-mpmath.mpf(float(zi))))
        assert r == float(exact), zi  # mpmath -> float conversion is correctly rounded
