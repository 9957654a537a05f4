"""The affine enclosure ``S ∈ hi + lo ± err`` checked directly against exact rational sums.

The oracle tests see only the rounded values, and a bound that is too small shows there only
where it also flips a rounding. Here every element's exact ``S`` (``fractions.Fraction``, no
code shared with the reference) must lie in its enclosure, for both schemes of
``conformance.reference.affine``: exact slice pairs (float16, bfloat16) and exact pairs plus
ordinary GEMMs of the remainders with a rounding bound (float32, float64), at lengths from 1
to 4096, on inputs that stress each part of the bound: cancellation, mixed exponents, tiny
values whose products underflow, integers (exact remainders), zeros."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from conformance import dtypes as D
from conformance.reference import affine

KINDS = (
    "normal",
    "mixed exponents",
    "cancellation",
    "tiny",
    "underflowing remainders",
    "far apart",
    "integers x",
    "zero rows",
)


def _inputs(kind: str, dt: D.DType, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    rows, m = 3, 3
    x = rng.normal(size=(rows, n))
    w = rng.normal(size=(m, n))
    if kind == "mixed exponents":
        lim = min(30, dt.emax - 2)
        x *= 2.0 ** rng.integers(-lim, lim, size=(rows, n))
        w *= 2.0 ** rng.integers(-lim, lim, size=(m, n))
    elif kind == "cancellation" and n > 1:
        half = n // 2
        x[:, half : 2 * half] = x[:, :half]
        w[:, half : 2 * half] = -w[:, :half] * (1 + 2.0 ** -rng.integers(10, 40, size=(m, half)))
    elif kind == "tiny":  # float64: products far below the smallest normal
        x *= 2.0**-530 if dt.p == 53 else 2.0 ** (dt.emin + 2)
        w *= 2.0**-530 if dt.p == 53 else 1.0
    elif kind == "underflowing remainders" and dt.p == 53:
        # the leading slices' products stay normal (no exact-path marking), but many small
        # elements' products with w fall below 2**-1022 and round absolutely
        deep = -rng.integers(60, 75, size=(rows, n))  # products near 2**-1070: a few bits
        x *= 2.0**-500 * 2.0 ** np.where(rng.random((rows, n)) < 0.5, 0, deep)
        w *= 2.0**-500
    elif kind == "far apart" and dt.p == 53:
        # x far below 1 and w far above: ordinary products, but x's remainder is made of
        # subnormal elements (beside short large ones), and the tail's bound works at 2**-1074
        x = rng.integers(-8, 9, size=(rows, n)) * 2.0**-890
        tiny = rng.random((rows, n)) < 0.3
        x[tiny] = rng.integers(1, 1 << 20, size=int(tiny.sum())) * 2.0**-1074
        w *= 2.0**850
    elif kind == "integers x":
        x = rng.integers(-8, 8, size=(rows, n)).astype(np.float64)
    elif kind == "zero rows":
        x[1] = 0.0
        w[2] = 0.0
    x, w = (D.round_pair(a, np.zeros_like(a), dt) for a in (x, w))
    b = rng.normal(size=m)
    if kind in ("underflowing remainders", "far apart"):
        b = np.zeros(m)  # a bias would swamp the sums (and the bound would cover it)
    b = D.round_pair(b, np.zeros(m), dt)
    return x, w, b


def _exact(x: np.ndarray, w: np.ndarray, b: float) -> Fraction:
    total = Fraction(b)
    for a, c in zip(x.tolist(), w.tolist(), strict=True):
        total += Fraction(a) * Fraction(c)
    return total


@pytest.mark.parametrize("name", D.DTYPE_NAMES)
@pytest.mark.parametrize("n", [1, 7, 300, 4096])
def test_every_exact_sum_lies_in_its_enclosure(name: str, n: int) -> None:
    dt = D.get(name)
    rng = np.random.default_rng(n * 7 + D.DTYPE_NAMES.index(name))
    checked = 0
    for kind in KINDS:
        x, w, b = _inputs(kind, dt, n, rng)
        assert np.isfinite(x).all() and np.isfinite(w).all(), kind
        hi, lo, err, products = (np.zeros((x.shape[0], w.shape[0])) for _ in range(4))
        with np.errstate(all="ignore"):
            affine._enclose(x, w, b, dt, hi, lo, err, products)
        for i in range(x.shape[0]):
            for j in range(w.shape[0]):
                if not np.isfinite(err[i, j]):
                    continue  # marked for the exact path
                s = _exact(x[i], w[j], float(b[j]))
                centre = Fraction(float(hi[i, j])) + Fraction(float(lo[i, j]))
                assert abs(s - centre) <= Fraction(float(err[i, j])), (kind, i, j)
                checked += 1
        if kind == "integers x" and dt.p == 53:
            # the bound is not vacuous: far below float64's half ulp of the sums
            assert (err <= np.abs(hi) * 2.0**-60 + 2.0**-1000).all()
    assert checked >= 40


@pytest.mark.parametrize(
    ("name", "gemms"), [("float16", 3), ("bfloat16", 3), ("float32", 3), ("float64", 6)]
)
def test_the_scheme_takes_the_fewest_gemms(
    name: str, gemms: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At n = 4096: float16 and bfloat16 keep the exact pairs (3 GEMMs); float32 and float64
    take the first level(s) exact and the rest as ordinary GEMMs (3 for 4, 6 for 10).
    Counted as the first product and the GEMMs of the addends after it."""
    dt = D.get(name)
    x, w, b = _inputs("normal", dt, 4096, np.random.default_rng(1))
    counts: list[int] = []
    real = affine._addends

    def spy(*args: Any) -> Any:
        groups = real(*args)
        counts.append(1 + sum(len(g) for g in groups))
        return groups

    monkeypatch.setattr(affine, "_addends", spy)
    out = [np.zeros((3, 3)) for _ in range(4)]
    affine._enclose(x, w, b, dt, *out)
    assert counts == [gemms]


def test_the_tail_bound_survives_factors_that_underflow() -> None:
    """``γ_n · max|u| · Σ|v|`` with ``max|u|`` subnormal and ``Σ|v|`` huge is an ordinary
    number; taking ``γ_n · max|u|`` first would flush it to 0 and leave only the underflow
    term, far below the GEMM's possible error."""
    n = 4096
    gamma = n * 2.0**-53 / (1 - n * 2.0**-53)
    u = affine._Part(np.zeros((1, n)), np.array([2.0**-1060]), np.array([2.0**-1050]))
    v = affine._Part(np.zeros((1, n)), np.array([2.0**800]), np.array([2.0**812]))
    bound = np.zeros((1, 1))
    affine._bound_tail([(u, v)], gamma, n, slice(0, 1), bound)
    worst = min(
        Fraction(2) ** -1060 * Fraction(2) ** 812, Fraction(2) ** -1050 * Fraction(2) ** 800
    )
    assert Fraction(float(bound[0, 0])) >= Fraction(gamma) * worst


def test_only_the_first_level_pairs_are_summed_before_twosum() -> None:
    """(0, 1) and (1, 0) sum exactly in float64; three pairs of a later level could pass
    2**53 units, so each stands alone; the tail GEMMs form one addend."""
    x_sl = [np.full((1, 1), float(i)) for i in range(3)]
    w_sl = [np.full((1, 1), float(10 + i)) for i in range(3)]
    taken = [(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0)]
    part = affine._Part.of(np.ones((1, 1)))
    groups = affine._addends(x_sl, w_sl, taken, [(part, part), (part, part)])
    shape = [[(float(u[0, 0]), float(v[0, 0])) for u, v in g] for g in groups]
    assert shape == [[(0, 11), (1, 10)], [(0, 12)], [(1, 11)], [(2, 10)], [(1, 1), (1, 1)]]
