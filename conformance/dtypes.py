"""Floating-point formats the suite knows, and exact rounding into them.

Every value the suite handles travels as float64 (which holds float16, bfloat16 and float32
values exactly) until the moment it is handed to a framework. Rounding an *exact* value into
a narrow format must not go through float32 first (ml_dtypes' float64 -> bfloat16 cast does,
and can round twice), so :func:`round_pair` rounds a value given as an unevaluated float64 sum
``hi + lo`` straight to the target precision with round-to-nearest-even.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import ml_dtypes
import numpy as np


@dataclass(frozen=True)
class DType:
    """IEEE-style binary format: ``p`` significand bits (implicit bit included)."""

    name: str
    np_type: type
    uint: type
    bits: int
    p: int
    emin: int
    emax: int

    @property
    def np(self) -> np.dtype:
        return np.dtype(self.np_type)

    @property
    def u(self) -> float:
        """Unit roundoff 2**-p."""
        return float(2.0**-self.p)

    @property
    def eps(self) -> float:
        return float(2.0 ** (1 - self.p))

    @property
    def tiny(self) -> float:
        """Smallest positive normal number."""
        return float(2.0**self.emin)

    @property
    def min_subnormal(self) -> float:
        return float(2.0 ** (self.emin - self.p + 1))

    @property
    def max(self) -> float:
        return float((2.0 - 2.0 ** (1 - self.p)) * 2.0**self.emax)


FLOAT16 = DType("float16", np.float16, np.uint16, 16, 11, -14, 15)
BFLOAT16 = DType("bfloat16", ml_dtypes.bfloat16, np.uint16, 16, 8, -126, 127)
FLOAT32 = DType("float32", np.float32, np.uint32, 32, 24, -126, 127)
FLOAT64 = DType("float64", np.float64, np.uint64, 64, 53, -1022, 1023)

DTYPES: dict[str, DType] = {d.name: d for d in (FLOAT16, BFLOAT16, FLOAT32, FLOAT64)}
DTYPE_NAMES: tuple[str, ...] = tuple(DTYPES)


def get(name: str) -> DType:
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; expected one of {', '.join(DTYPES)}") from None


def round_pair(hi: np.ndarray, lo: np.ndarray, dt: DType) -> np.ndarray:
    """Round the exact values ``hi + lo`` to ``dt`` (round to nearest, ties to even).

    Contract: ``hi`` is the float64 nearest to the exact value and ``lo`` has the sign of the
    remainder (``0`` when ``hi`` is exact). Because every rounding boundary of a narrower format
    is a float64 number, only a tie at ``hi`` needs ``lo`` to decide the direction.
    Returns float64 values that are exactly representable in ``dt`` (inf on overflow).
    """
    return round_scaled(hi, lo, 0, dt)


def round_float64(values: np.ndarray, dt: DType) -> np.ndarray:
    """Round float64 values to ``dt`` (nearest, ties to even): :func:`round_pair` with
    ``lo = 0``, by NumPy's own cast where that is one IEEE conversion (float64 to float32 or
    float16: correctly rounded, subnormals and overflow included; several times faster), and
    by :func:`round_pair` for bfloat16 (ml_dtypes' cast goes through float32: two roundings).
    The tests hold both ways to the independent oracle on ties, thresholds and subnormals."""
    v = np.asarray(values, dtype=np.float64)
    if dt.np_type is ml_dtypes.bfloat16:
        return round_pair(v, np.zeros_like(v), dt)
    with np.errstate(over="ignore"):
        return v.astype(dt.np).astype(np.float64)


def round_scaled(hi: np.ndarray, lo: np.ndarray, k: np.ndarray | int, dt: DType) -> np.ndarray:
    """Round the exact values ``(hi + lo) * 2**k`` to ``dt`` (nearest, ties to even).

    ``hi``/``lo`` follow :func:`round_pair`'s contract; the power of two ``2**k`` is kept apart so
    that values far outside float64's range (a sigmoid of -1000 is about 2**-1443) round
    correctly, to 0 or to a subnormal. A value that rounds to zero keeps its sign.
    """
    hi = np.asarray(hi, dtype=np.float64)
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), hi.shape)
    kk = np.broadcast_to(np.asarray(k, dtype=np.int64), hi.shape)
    cast = dt.np_type is not ml_dtypes.bfloat16 and not np.any(k)
    finite = _round_cast if cast else _round_finite
    zero = hi == 0
    fin = np.isfinite(hi) & ~zero
    if fin.all():  # the common case: no subsetting
        return finite(hi, lo, kk, dt)
    out = hi.copy()
    out[zero] = np.copysign(0.0, np.where(lo[zero] != 0, lo[zero], hi[zero]))
    out[fin] = finite(hi[fin], lo[fin], kk[fin], dt)
    return out


def _round_cast(h: np.ndarray, low: np.ndarray, ks: np.ndarray, dt: DType) -> np.ndarray:
    """:func:`_round_finite` where every ``ks`` is 0 and ``dt`` is float16/float32/float64,
    about 3x faster: the float64 ``h`` is already the result for float64 (it is the nearest
    float64 to the exact value), and NumPy's cast rounds it correctly to float16/float32. Only
    a tie at ``h`` needs ``low``; a tie has ``52 - p`` trailing zero bits in ``h``'s
    significand, so those rare candidates (every value exactly in ``dt`` among them) take
    :func:`_round_finite`."""
    if dt.p == 53:
        return h.copy()
    h1, low1 = np.atleast_1d(h), np.atleast_1d(low)  # a 0-d array cannot be masked
    with np.errstate(over="ignore"):
        out = h1.astype(dt.np).astype(np.float64)
    trailing = np.uint64((1 << (52 - dt.p)) - 1)
    tie = (np.ascontiguousarray(h1).view(np.uint64) & trailing) == 0
    if tie.any():
        out[tie] = _round_finite(h1[tie], low1[tie], np.zeros(1, np.int64), dt)
    return out.reshape(h.shape)


def _round_finite(h: np.ndarray, low: np.ndarray, ks: np.ndarray, dt: DType) -> np.ndarray:
    """:func:`round_scaled` of finite nonzero values."""
    _, e = np.frexp(np.abs(h))
    q = np.maximum(e - 1 + ks, dt.emin) - (dt.p - 1)  # exponent of the grid at the value
    with np.errstate(under="ignore"):
        scaled = np.ldexp(h, (ks - q).astype(np.int32))  # exact, or far below 1/2
    r = np.rint(scaled)
    tie = (scaled - np.floor(scaled)) == 0.5
    r = np.where(tie & (low > 0), np.ceil(scaled), r)
    r = np.where(tie & (low < 0), np.floor(scaled), r)
    with np.errstate(over="ignore"):
        res = np.ldexp(r, q.astype(np.int32))
    return np.where(np.abs(res) > dt.max, np.copysign(np.inf, h), res)


def to_dtype(values64: np.ndarray, dt: DType) -> np.ndarray:
    """Cast float64 values that are already representable in ``dt`` (no rounding happens)."""
    return np.asarray(values64, dtype=np.float64).astype(dt.np)


def round_fraction(x: Fraction, dt: DType) -> float:
    """Correctly round an exact rational to ``dt``; returned as a float64."""
    try:
        hi = float(x)
    except OverflowError:
        return float("inf") if x > 0 else float("-inf")
    rem = x - Fraction(hi)
    lo = 0.0 if rem == 0 else (1.0 if rem > 0 else -1.0)
    return float(round_pair(np.array([hi]), np.array([lo]), dt)[0])


def ordinal(a: np.ndarray, dt: DType) -> np.ndarray:
    """Map values of ``dt`` to int64 so that adjacent floats differ by 1 and ±0 both map to 0."""
    arr = np.ascontiguousarray(np.asarray(a).astype(dt.np))
    bits = arr.view(dt.uint).astype(np.uint64)
    sign = (bits >> np.uint64(dt.bits - 1)).astype(bool)
    mag = (bits & np.uint64((1 << (dt.bits - 1)) - 1)).astype(np.int64)
    return np.where(sign, -mag, mag)


def ulp_distance(a: np.ndarray, b: np.ndarray, dt: DType) -> np.ndarray:
    """Number of representable ``dt`` values between ``a`` and ``b`` (float64 array).

    ±0 are 0 apart; nan is 0 from nan and infinitely far from anything else; an infinity is
    0 from the same infinity and infinitely far from anything else.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return ulp_distance_from(a, ordinal(a, dt), b, ordinal(b, dt), np.isnan(b), np.isinf(b))


def ulp_distance_from(
    a: np.ndarray,
    oa: np.ndarray,
    b: np.ndarray,
    ob: np.ndarray,
    nb: np.ndarray,
    ib: np.ndarray,
) -> np.ndarray:
    """:func:`ulp_distance` given both ordinals and ``b``'s nan and inf masks, which a caller
    comparing many arrays against one ``b`` computes once."""
    ua, ub = oa.astype(np.uint64), ob.astype(np.uint64)
    dist = np.where(oa >= ob, ua - ub, ub - ua).astype(np.float64)
    na, ia = np.isnan(a), np.isinf(a)
    special = na | nb | ia | ib
    same_special = (na & nb) | (ia & ib & (a == b))
    return np.where(special, np.where(same_special, 0.0, np.inf), dist)


def ulp_of(values: np.ndarray, dt: DType) -> np.ndarray:
    """Spacing of ``dt`` at each value: 2**(max(floor(log2|v|), emin) - p + 1)."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = np.where(np.isfinite(v), v, dt.max)
    _, e = np.frexp(v)
    e = np.maximum(e - 1, dt.emin)
    return np.ldexp(1.0, e - (dt.p - 1))
