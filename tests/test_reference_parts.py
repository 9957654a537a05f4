"""Parts of the reference the oracle does not see directly: the magnitudes the tolerances are
built from must be upper bounds, and tight; the sigmoid asks for exact sums only where a
refined enclosure cannot decide."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from conformance import dtypes as D
from conformance.reference import affine, reference, sigmoid


@pytest.mark.parametrize("name", D.DTYPE_NAMES)
@pytest.mark.parametrize("scale", [1.0, 1e-30, 1e30])
def test_abs_sum_is_a_tight_upper_bound(name: str, scale: float) -> None:
    dt = D.get(name)
    rng = np.random.default_rng(3)
    raw = rng.standard_normal((5, 40)) * scale
    if name in ("float16",) and scale != 1.0:
        raw = rng.standard_normal((5, 40))  # float16 cannot hold 1e±30
    x = D.round_pair(raw, np.zeros_like(raw), dt)
    w = D.round_pair(rng.standard_normal((3, 40)), np.zeros((3, 40)), dt)
    b = D.round_pair(rng.standard_normal(3), np.zeros(3), dt)
    ref = reference(name, x=x, weight=w, bias=b)
    assert ref.abs_sum is not None
    for i in range(5):
        for j in range(3):
            exact = sum(
                abs(Fraction(float(a)) * Fraction(float(c)))
                for a, c in zip(x[i], w[j], strict=True)
            )
            exact += abs(Fraction(float(b[j])))
            got = Fraction(float(ref.abs_sum[i, j]))
            assert got >= exact, (i, j)
            assert got <= exact * (1 + Fraction(1, 10**4)) + Fraction(2) ** -120


@pytest.mark.parametrize("name", D.DTYPE_NAMES)
def test_a_refined_enclosure_spares_the_exact_sigmoid(name: str) -> None:
    """An affine enclosure too wide for the sigmoid's fast tiers is first replaced by
    ``refine``'s tight one (fsum of exact products); ``exact`` (integers, then ``decimal``)
    runs only where that still cannot decide, and the values are those of the exact path."""
    dt = D.get(name)
    rng = np.random.default_rng(4)
    x = D.round_pair(rng.standard_normal((4, 30)), np.zeros((4, 30)), dt)
    w = D.round_pair(rng.standard_normal((5, 30)), np.zeros((5, 30)), dt)
    aff = affine.affine_map(x, w, None, dt)
    wide = np.full(aff.enclosure.err.shape, 2.0**-4)  # far too wide to decide anything
    calls: list[tuple[int, ...]] = []

    def exact(index: tuple[int, ...]) -> Fraction:
        calls.append(index)
        return aff.exact(index)

    enc = aff.enclosure
    want = sigmoid.sigmoid_of(enc.hi, enc.lo, wide, aff.exact, dt)
    got = sigmoid.sigmoid_of(enc.hi, enc.lo, wide, exact, dt, aff.refine)
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))
    assert len(calls) <= 1  # 20 elements; each left undecided with odds of about 2**-60
