"""Error-free transformations and double-double arithmetic on NumPy arrays.

Every function is elementwise and vectorised. ``two_sum``/``two_prod`` return the rounded
result and its exact error (Knuth; Dekker/Veltkamp), so ``a + b == s + e`` exactly. The
double-double (dd) operations keep a value as an unevaluated sum ``hi + lo`` with about 106
bits (Bailey's QD library, "accurate" variants); their relative error is a small multiple of
2**-104, which the callers state as 2**-100 per operation.
"""

from __future__ import annotations

import numpy as np

Arr = np.ndarray
_SPLITTER = 134217729.0  # 2**27 + 1


def two_sum(a: Arr, b: Arr) -> tuple[Arr, Arr]:
    """``s = fl(a + b)`` and the exact error ``e`` (any magnitudes, no overflow)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def two_sum_into(a: Arr, b: Arr, e_sum: Arr, e_abs: Arr, out: Arr, scratch: Arr) -> None:
    """:func:`two_sum` for accumulating, without new arrays (a fresh large array costs its
    page faults): ``out = fl(a + b)``, the exact error added to ``e_sum`` and its magnitude
    to ``e_abs``. The same operations in the same order as :func:`two_sum`, so the same
    bits. ``b`` and ``scratch`` are overwritten; ``out`` must not be ``a`` or ``b``."""
    np.add(a, b, out=out)
    bb = np.subtract(out, a, out=scratch)
    np.subtract(b, bb, out=b)  # b - bb
    np.subtract(out, bb, out=bb)  # s - bb
    np.subtract(a, bb, out=bb)  # a - (s - bb)
    np.add(bb, b, out=bb)  # the error
    e_sum += bb
    e_abs += np.abs(bb, out=bb)


def fast_two_sum(a: Arr, b: Arr) -> tuple[Arr, Arr]:
    """As :func:`two_sum` for ``|a| >= |b|`` (or a == 0)."""
    s = a + b
    return s, b - (s - a)


def split(a: Arr) -> tuple[Arr, Arr]:
    """Veltkamp: ``a = hi + lo`` with 26-bit halves (``|a| < 2**996``)."""
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(a: Arr, b: Arr) -> tuple[Arr, Arr]:
    """``p = fl(a * b)`` and the exact error (no overflow, and ``e_a + e_b >= -969``)."""
    p = a * b
    ah, al = split(a)
    bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def dd_add(ah: Arr, al: Arr, bh: Arr, bl: Arr) -> tuple[Arr, Arr]:
    s, e = two_sum(ah, bh)
    t, f = two_sum(al, bl)
    e = e + t
    s, e = fast_two_sum(s, e)
    e = e + f
    return fast_two_sum(s, e)


def dd_add_d(ah: Arr, al: Arr, b: Arr | float) -> tuple[Arr, Arr]:
    s, e = two_sum(ah, np.asarray(b, dtype=np.float64))
    e = e + al
    return fast_two_sum(s, e)


def dd_mul(ah: Arr, al: Arr, bh: Arr, bl: Arr) -> tuple[Arr, Arr]:
    p, e = two_prod(ah, bh)
    e = e + (ah * bl + al * bh)
    return fast_two_sum(p, e)


def dd_mul_d(ah: Arr, al: Arr, b: Arr | float) -> tuple[Arr, Arr]:
    b = np.asarray(b, dtype=np.float64)
    p, e = two_prod(ah, b)
    e = e + al * b
    return fast_two_sum(p, e)


def dd_div(ah: Arr, al: Arr, bh: Arr, bl: Arr) -> tuple[Arr, Arr]:
    """``(ah + al) / (bh + bl)``: three quotient digits, each corrected by the remainder."""
    q1 = ah / bh
    rh, rl = dd_add(ah, al, *_neg(dd_mul_d(bh, bl, q1)))
    q2 = rh / bh
    rh, rl = dd_add(rh, rl, *_neg(dd_mul_d(bh, bl, q2)))
    q3 = rh / bh
    q1, q2 = fast_two_sum(q1, q2)
    return dd_add_d(q1, q2, q3)


def _neg(pair: tuple[Arr, Arr]) -> tuple[Arr, Arr]:
    return -pair[0], -pair[1]
