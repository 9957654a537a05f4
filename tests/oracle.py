"""An independent exact oracle for the dense layer and its sigmoid, one value at a time.

It shares no code with ``conformance.reference`` or ``conformance.dtypes`` on purpose: a bug
copied into both would agree with itself. Everything here is exact or rigorously bounded:

* **Affine**: the inputs are dyadic rationals, so ``S = Σ x_i·w_i + b`` is summed exactly with
  integers over a common power-of-two denominator and returned as a ``fractions.Fraction``.
  IEEE specials follow IEEE 754 (nan propagates, inf·0 and +inf + −inf are nan; an exact zero
  is −0 only when every term, bias included, is −0).
* **Rounding**: :func:`round_bits` rounds an exact value into a format with integer arithmetic
  only (round to nearest, ties to even, subnormals, overflow to ±inf, signed zeros) and returns
  the format's bit pattern.
* **Sigmoid**: ``σ(S) = 1/(1 + e^−S)`` is enclosed with ``mpmath``'s low-level arithmetic under
  directed rounding (the input bounded below and above, each operation rounded outward, the
  exponential widened by 16 units of the working precision as a margin over mpmath's own
  accuracy); the working precision doubles until both ends of the enclosure round to the same
  value (Ziv). σ(S) is transcendental for rational S ≠ 0, so it is never a rounding midpoint
  and the loop ends.

numpy and ml_dtypes are used only to turn bit patterns into values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import ml_dtypes
import numpy as np
from mpmath import libmp


@dataclass(frozen=True)
class Format:
    """A binary interchange format: storage bits, significand bits ``p`` (hidden bit
    included) and largest exponent ``emax`` (the bias); ``emin = 1 − emax``."""

    name: str
    bits: int
    p: int
    emax: int
    storage: type
    uint: type

    @property
    def emin(self) -> int:
        return 1 - self.emax

    @property
    def quantum_exp(self) -> int:
        """Exponent of the smallest subnormal: every value is an integer times 2**quantum_exp."""
        return self.emin - self.p + 1

    @property
    def sign_bit(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def inf_bits(self) -> int:
        return ((2 * self.emax + 1) << (self.p - 1)) & ~self.sign_bit

    @property
    def nan_bits(self) -> int:
        return self.inf_bits | (1 << (self.p - 2))

    @property
    def max_bits(self) -> int:
        return self.inf_bits - 1


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("float16", 16, 11, 15, np.float16, np.uint16),
        Format("bfloat16", 16, 8, 127, ml_dtypes.bfloat16, np.uint16),
        Format("float32", 32, 24, 127, np.float32, np.uint32),
        Format("float64", 64, 53, 1023, np.float64, np.uint64),
    )
}

# An exact affine value: a Fraction when finite and nonzero, else a float that is ±0.0
# (with its IEEE sign), ±inf or nan.
Exact = Fraction | float


# --------------------------------------------------------------------------------------------
# Bits and values


def bits_to_values(bits: np.ndarray | Sequence[int], fmt: Format) -> np.ndarray:
    """float64 values of bit patterns of ``fmt`` (widening is exact)."""
    raw = np.asarray(bits, dtype=np.uint64).astype(fmt.uint)
    with np.errstate(invalid="ignore"):  # nan patterns widen to nan
        return raw.view(fmt.storage).astype(np.float64)


def all_values(fmt: Format) -> np.ndarray:
    """Every bit pattern of a 16-bit format, as float64 values (nan patterns included)."""
    if fmt.bits != 16:
        raise ValueError(f"{fmt.name} has too many values to list")
    return bits_to_values(np.arange(1 << 16, dtype=np.uint64), fmt)


def float64_bits(values: np.ndarray) -> np.ndarray:
    """The float64 bit patterns of ``values`` (for exact comparison, sign of zero included)."""
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)


def _scaled_integer(v: float, fmt: Format) -> int:
    """``v / 2**quantum_exp`` for a finite value of ``fmt`` (an exact integer); ValueError if
    ``v`` is not a value of ``fmt``."""
    num, den = v.as_integer_ratio()
    shift = -fmt.quantum_exp - (den.bit_length() - 1)
    scaled = num << shift if shift >= 0 else 0
    a = abs(scaled)
    odd = a >> ((a & -a).bit_length() - 1) if a else 0
    largest = ((1 << fmt.p) - 1) << (fmt.emax - fmt.p + 1 - fmt.quantum_exp)
    if shift < 0 or odd.bit_length() > fmt.p or a > largest:
        raise ValueError(f"{v!r} is not a {fmt.name} value")
    return scaled


# --------------------------------------------------------------------------------------------
# Correct rounding with integers


def _encode(negative: bool, m: int, q: int, fmt: Format) -> int:
    """Bits of ``±m·2**q`` where ``m < 2**p`` or ``m == 2**p`` (a carry), ``q >= quantum_exp``."""
    sign = fmt.sign_bit if negative else 0
    if m == 1 << fmt.p:
        m, q = m >> 1, q + 1
    if m < 1 << (fmt.p - 1):  # subnormal or zero: q is the quantum exponent
        return sign | m
    exponent = q + fmt.p - 1
    if exponent > fmt.emax:
        return sign | fmt.inf_bits
    return sign | ((exponent + fmt.emax) << (fmt.p - 1)) | (m - (1 << (fmt.p - 1)))


def round_ratio(num: int, den: int, fmt: Format) -> int:
    """Bits of ``num/den`` (``den > 0``, ``num != 0``) rounded to nearest, ties to even; a
    nonzero value that rounds to zero keeps its sign; ``≥ max + ½ulp(max)`` is inf."""
    if den <= 0 or num == 0:
        raise ValueError("round_ratio needs den > 0 and num != 0")
    negative = num < 0
    a = -num if negative else num
    e = a.bit_length() - den.bit_length()  # floor(log2(a/den)) is e or e - 1
    if (a < den << e) if e >= 0 else (a << -e < den):
        e -= 1
    q = max(e, fmt.emin) - (fmt.p - 1)
    if q >= 0:
        big_n, big_d = a, den << q
    else:
        big_n, big_d = a << -q, den
    m, r = divmod(big_n, big_d)
    twice = 2 * r
    if twice > big_d or (twice == big_d and m & 1):
        m += 1
    return _encode(negative, m, q, fmt)


def round_dyadic(negative: bool, man: int, exp: int, fmt: Format) -> int:
    """Bits of ``±man·2**exp`` rounded, without building huge integers for far exponents."""
    if man == 0:
        return fmt.sign_bit if negative else 0
    top = exp + man.bit_length()  # value < 2**top
    if top <= fmt.quantum_exp - 1:  # below half the smallest subnormal
        return fmt.sign_bit if negative else 0
    if top - 1 > fmt.emax + 1:  # at least 2**(emax + 2)
        return (fmt.sign_bit if negative else 0) | fmt.inf_bits
    signed = -man if negative else man
    if exp >= 0:
        return round_ratio(signed << exp, 1, fmt)
    return round_ratio(signed, 1 << -exp, fmt)


def round_bits(value: Exact, fmt: Format) -> int:
    """Bits of an exact value (see :data:`Exact`) rounded once to ``fmt``."""
    if isinstance(value, Fraction):
        return round_ratio(value.numerator, value.denominator, fmt)
    if math.isnan(value):
        return fmt.nan_bits
    sign = fmt.sign_bit if math.copysign(1.0, value) < 0 else 0
    if math.isinf(value):
        return sign | fmt.inf_bits
    if value != 0:
        raise ValueError("finite nonzero exact values are Fractions")
    return sign


def exact_value(v: float) -> Exact:
    """A float64 value as an :data:`Exact` (a Fraction when finite and nonzero)."""
    return Fraction(v) if math.isfinite(v) and v != 0 else v


def value_bits(v: float, fmt: Format) -> int:
    """Bit pattern of ``v``, which must be a value of ``fmt`` (nan gives the quiet nan)."""
    if math.isfinite(v):
        _scaled_integer(v, fmt)
    return round_bits(exact_value(v), fmt)


def is_value(v: float, fmt: Format) -> bool:
    """True when the float64 ``v`` is exactly a value of ``fmt`` (nan and ±inf included)."""
    try:
        value_bits(v, fmt)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Exact affine


@dataclass(frozen=True)
class _Operand:
    """One input value, split for the exact sum: integer (value / 2**quantum_exp) or special."""

    scaled: int
    is_zero: bool
    negative: bool
    is_inf: bool
    is_nan: bool


def _operand(v: float, fmt: Format) -> _Operand:
    negative = math.copysign(1.0, v) < 0
    if math.isnan(v):
        return _Operand(0, False, negative, False, True)
    if math.isinf(v):
        return _Operand(0, False, negative, True, False)
    return _Operand(_scaled_integer(v, fmt), v == 0, negative, False, False)


def _exact_row(
    xs: Sequence[_Operand], ws: Sequence[_Operand], b: _Operand | None, fmt: Format
) -> Exact:
    if any(o.is_nan for o in xs) or any(o.is_nan for o in ws) or (b is not None and b.is_nan):
        return math.nan
    pos_inf = neg_inf = False
    for xo, wo in zip(xs, ws, strict=True):
        if xo.is_inf or wo.is_inf:
            if xo.is_zero or wo.is_zero:
                return math.nan
            if xo.negative != wo.negative:
                neg_inf = True
            else:
                pos_inf = True
    if b is not None and b.is_inf:
        if b.negative:
            neg_inf = True
        else:
            pos_inf = True
    if pos_inf and neg_inf:
        return math.nan
    if pos_inf or neg_inf:
        return -math.inf if neg_inf else math.inf
    total = sum(xo.scaled * wo.scaled for xo, wo in zip(xs, ws, strict=True))
    scale_shift = -2 * fmt.quantum_exp
    if b is not None:
        total += b.scaled << -fmt.quantum_exp
    if total:
        return Fraction(total, 1 << scale_shift)
    terms_negative_zero = [xo.is_zero or wo.is_zero for xo, wo in zip(xs, ws, strict=True)]
    all_neg = all(
        z and (xo.negative != wo.negative)
        for z, xo, wo in zip(terms_negative_zero, xs, ws, strict=True)
    )
    if b is not None:
        all_neg = all_neg and b.is_zero and b.negative
    elif not xs:
        all_neg = False  # the empty sum with no bias is +0
    return -0.0 if all_neg else 0.0


def exact_affine(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, fmt: Format) -> np.ndarray:
    """Exact values of ``x @ w.T + b`` as an object array of shape ``(..., m)``.

    ``x`` is ``(..., n)``, ``w`` is ``(m, n)``, ``b`` is ``(m,)`` or None; every entry must be a
    value of ``fmt`` (ValueError otherwise).
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    batch = x.shape[:-1]
    n = x.shape[-1]
    m = w.shape[0]
    if w.shape != (m, n) or (b is not None and np.shape(b) != (m,)):
        raise ValueError("shapes must be x (..., n), w (m, n), b (m,)")
    rows = [[_operand(v, fmt) for v in row] for row in x.reshape(math.prod(batch), n).tolist()]
    wrows = [[_operand(v, fmt) for v in row] for row in w.tolist()]
    bias = None if b is None else [_operand(v, fmt) for v in np.asarray(b, np.float64).tolist()]
    out = np.empty((len(rows), m), dtype=object)
    for i, xr in enumerate(rows):
        for j, wr in enumerate(wrows):
            out[i, j] = _exact_row(xr, wr, None if bias is None else bias[j], fmt)
    return out.reshape((*batch, m))


# --------------------------------------------------------------------------------------------
# Sigmoid


_FLOOR = libmp.round_floor
_CEIL = libmp.round_ceiling
_ONE = libmp.fone
_MAX_PREC = 1 << 16


def _widen(v: tuple, prec: int, up: bool) -> tuple:
    """``v·(1 ± 2**(4 − prec))`` rounded outward: 16 units of ``prec`` bits of margin."""
    margin = libmp.mpf_shift(v, 4 - prec)
    if up:
        return libmp.mpf_add(v, margin, prec, _CEIL)
    return libmp.mpf_sub(v, margin, prec, _FLOOR)


def sigmoid_enclosure(s: Fraction, prec: int) -> tuple[tuple, tuple]:
    """Rigorous mpmath bounds ``lo <= σ(s) <= hi`` at ``prec`` bits (σ increases with s)."""
    num, den = s.numerator, s.denominator
    s_lo = libmp.from_rational(num, den, prec, _FLOOR)
    s_hi = libmp.from_rational(num, den, prec, _CEIL)
    # lower bound: 1 / (1 + e^-s_lo) with e^-s_lo over-estimated
    e_up = _widen(libmp.mpf_exp(libmp.mpf_neg(s_lo), prec, _CEIL), prec, up=True)
    lo = libmp.mpf_div(_ONE, libmp.mpf_add(_ONE, e_up, prec, _CEIL), prec, _FLOOR)
    # upper bound: 1 / (1 + e^-s_hi) with e^-s_hi under-estimated
    e_dn = _widen(libmp.mpf_exp(libmp.mpf_neg(s_hi), prec, _FLOOR), prec, up=False)
    hi = libmp.mpf_div(_ONE, libmp.mpf_add(_ONE, e_dn, prec, _FLOOR), prec, _CEIL)
    return lo, hi


def _mpf_bits(v: tuple, fmt: Format) -> int:
    sign, man, exp, _ = v
    return round_dyadic(bool(sign), int(man), int(exp), fmt)


def sigmoid_bits(value: Exact, fmt: Format) -> int:
    """Bits of σ(value) correctly rounded to ``fmt``; ``value`` is an exact affine value."""
    if not isinstance(value, Fraction):
        if math.isnan(value):
            return fmt.nan_bits
        if math.isinf(value):
            return round_ratio(1, 1, fmt) if value > 0 else 0
        return round_ratio(1, 2, fmt)  # σ(±0) = 1/2
    prec = fmt.p + 32
    while prec <= _MAX_PREC:
        lo, hi = sigmoid_enclosure(value, prec)
        lo_bits, hi_bits = _mpf_bits(lo, fmt), _mpf_bits(hi, fmt)
        if lo_bits == hi_bits:
            return lo_bits
        prec *= 2
    raise ArithmeticError(f"sigmoid undecided at {value!r} after {_MAX_PREC} bits")


# --------------------------------------------------------------------------------------------
# Array entry points


def affine_and_sigmoid(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, fmt: Format
) -> tuple[np.ndarray, np.ndarray]:
    """Correctly rounded affine and sigmoid values (float64 arrays of ``fmt`` values)."""
    exact = exact_affine(x, w, b, fmt)
    flat = exact.reshape(-1).tolist()
    aff = [round_bits(v, fmt) for v in flat]
    sig = [sigmoid_bits(v, fmt) for v in flat]
    return (
        bits_to_values(aff, fmt).reshape(exact.shape),
        bits_to_values(sig, fmt).reshape(exact.shape),
    )


def sigmoid_values(z: np.ndarray, fmt: Format) -> np.ndarray:
    """Correctly rounded σ(z) for values ``z`` of ``fmt`` (float64 array of ``fmt`` values)."""
    z = np.asarray(z, dtype=np.float64)
    out = []
    for v in z.reshape(-1).tolist():
        if math.isfinite(v):
            _scaled_integer(v, fmt)  # must be a value of fmt
        out.append(sigmoid_bits(exact_value(v), fmt))
    return bits_to_values(out, fmt).reshape(z.shape)
