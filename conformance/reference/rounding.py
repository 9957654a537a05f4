"""Ziv's test: does every value of an enclosure round to the same value of the dtype?"""

from __future__ import annotations

import numpy as np

from .. import dtypes as D
from .eft import two_sum

_STEP = 2.0**-51  # an outward step of |t|·2**-51 covers t's own rounding and the step's


def decide(
    hi: np.ndarray, lo: np.ndarray, err: np.ndarray, k: np.ndarray, dt: D.DType
) -> tuple[np.ndarray, np.ndarray]:
    """(undecided mask, the rounded values where decided) for enclosures
    ``[hi + lo - err, hi + lo + err] · 2**k``: undecided where the two ends do not round to one
    ``dt`` value (sign of zero included). A non-finite ``hi`` (a special value) is decided, an
    infinite or nan ``err`` is not; ``err == 0`` rounds ``hi + lo`` itself."""
    fin = np.isfinite(hi)
    finite_err = np.isfinite(err)
    check = fin & finite_err & (err > 0)
    every = bool(check.all())  # the common case: no subsetting, no value outside the check
    out = fin & ~finite_err
    values = hi if every else D.round_scaled(hi, lo, k, dt)
    if not check.any():
        return out, values
    kk = np.broadcast_to(np.asarray(k, dtype=np.int64), hi.shape)
    h, l_, e, kk = (hi, lo, err, kk) if every else (hi[check], lo[check], err[check], kk[check])
    with np.errstate(over="ignore", invalid="ignore"):
        if dt.p >= 53:
            ra, rb, ends = _ends64(h, l_, e, kk, dt)
        else:
            a_hi, a_lo = _plus(h, _outward(l_ - e, -1.0), dt.p)
            b_hi, b_lo = _plus(h, _outward(l_ + e, 1.0), dt.p)
            ra = D.round_scaled(a_hi, a_lo, kk, dt)
            rb = D.round_scaled(b_hi, b_lo, kk, dt)
            ends = a_hi + b_hi
        undecided = (ra != rb) | (np.signbit(ra) != np.signbit(rb)) | ~np.isfinite(ends)
    if every:
        return undecided, ra
    out[check] = undecided
    values[check] = ra
    return out, values


def _ends64(
    h: np.ndarray, l_: np.ndarray, e: np.ndarray, kk: np.ndarray, dt: D.DType
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both ends rounded to float64, and their float64 sum (not finite where an end
    overflows). An end ``s = fl(h + t)`` is its own float64 rounding (``round_scaled`` of
    ``s`` and the exact error rounds to ``s``: a float64 needs the error only at a tie of a
    narrower format), and scaling it by ``2**k`` is exact while the result stays normal, so
    neither TwoSum nor ``round_scaled`` is needed except where a scaled end falls below
    2**-1022 (a σ far below float64's range), which takes the general path."""
    a = h + _outward(l_ - e, -1.0)
    b = h + _outward(l_ + e, 1.0)
    if not kk.any():
        return a, b, a + b
    ra, rb = np.ldexp(a, kk), np.ldexp(b, kk)
    low = (kk != 0) & ((np.abs(ra) < 2.0**-1022) | (np.abs(rb) < 2.0**-1022))
    if low.any():
        hh, kl = h[low], kk[low]
        ra[low] = D.round_scaled(*_plus(hh, _outward(l_[low] - e[low], -1.0), 53), kl, dt)
        rb[low] = D.round_scaled(*_plus(hh, _outward(l_[low] + e[low], 1.0), 53), kl, dt)
    return ra, rb, a + b


def _outward(t: np.ndarray, sign: float) -> np.ndarray:
    """A float beyond the exact value that ``t`` is the float64 rounding of, on the side of
    ``sign``, when ``t`` is a sum or difference of two floats: ``t ± RN(|t|·2**-51)``,
    rounded to nearest. As rigorous as ``np.nextafter`` and about twice as fast (that is a
    libm call per element):

    - ``|t| >= 2**-1022``: the step is at least two ulps of ``t`` (exact, or rounded up to a
      representable ``2**(e-51)`` at least); ``t``'s own error is half an ulp, and the
      result's rounding at most an ulp of ``t`` (half, or one where it crosses into the next
      binade).
    - ``|t| < 2**-1022``: a sum of two floats that is subnormal is exact (gradual underflow),
      so ``t`` is the exact value, and any step, 0 included, keeps it in.
    """
    step = np.abs(t)
    step *= _STEP
    if sign < 0:
        return np.subtract(t, step, out=step)
    return np.add(t, step, out=step)


def _plus(h: np.ndarray, t: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """``s = fl(h + t)`` and a ``lo`` for :func:`~conformance.dtypes.round_scaled`: the exact
    error where ``s`` may be a tie of a ``p``-bit format, 0 elsewhere. ``round_scaled`` reads
    ``lo`` only at a tie, and a tie has at most ``p + 1`` significant bits, so its last
    ``52 - p`` stored bits are 0 (a tie is a float64: RN64 of a sum that is not one does not
    cross it, and ``s`` alone rounds as the exact sum). A float64 zero or subnormal ``s``,
    whose stored bits are not normalised, is an exact sum (gradual underflow): its error is 0
    as given. float64 (``p = 53``) takes the full TwoSum."""
    if p >= 53:
        return two_sum(h, t)
    s = h + t
    bits = np.ascontiguousarray(s).view(np.uint64)
    maybe = (bits & np.uint64((1 << (52 - p)) - 1)) == 0
    lo = np.zeros_like(s)
    if maybe.any():
        hs, ts, ss = h[maybe], t[maybe], s[maybe]
        bb = ss - hs
        lo[maybe] = (hs - (ss - bb)) + (ts - bb)
    return s, lo
