"""Ziv's test: does every value of an enclosure round to the same value of the dtype?"""

from __future__ import annotations

import numpy as np

from .. import dtypes as D
from .eft import two_sum


def ambiguous(
    hi: np.ndarray, lo: np.ndarray, err: np.ndarray, k: np.ndarray, dt: D.DType
) -> np.ndarray:
    """True where ``[hi + lo - err, hi + lo + err] · 2**k`` does not round to one ``dt`` value
    (sign of zero included); non-finite ``hi`` (a special value) is decided, an infinite or
    nan ``err`` is not."""
    return decide(hi, lo, err, k, dt)[0]


def decide(
    hi: np.ndarray, lo: np.ndarray, err: np.ndarray, k: np.ndarray, dt: D.DType
) -> tuple[np.ndarray, np.ndarray]:
    """(undecided mask, the rounded values where decided) for enclosures as in
    :func:`ambiguous`."""
    values = D.round_scaled(hi, lo, k, dt)
    fin = np.isfinite(hi)
    out = fin & ~np.isfinite(err)
    check = fin & np.isfinite(err) & (err > 0)
    if not check.any():
        return out, values
    h, l_, e, kk = hi[check], lo[check], err[check], k[check]
    with np.errstate(over="ignore", invalid="ignore"):
        # outward: the ends are computed in float64, so step one float further out
        a_hi, a_lo = two_sum(h, np.nextafter(l_ - e, -np.inf))
        b_hi, b_lo = two_sum(h, np.nextafter(l_ + e, np.inf))
    ra = D.round_scaled(a_hi, a_lo, kk, dt)
    rb = D.round_scaled(b_hi, b_lo, kk, dt)
    out[check] = (ra != rb) | (np.signbit(ra) != np.signbit(rb)) | ~np.isfinite(a_hi + b_hi)
    values[check] = ra
    return out, values
