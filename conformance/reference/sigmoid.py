"""Correctly rounded ``sigmoid(S) = 1 / (1 + exp(-S))`` of the exact affine value ``S``.

``S`` arrives as an enclosure ``hi + lo ± err``; its uncertainty widens σ by at most a factor
``exp(err)`` (``|d ln σ / dS| = 1 - σ < 1``). Three tiers, each deciding by Ziv's test what it
can and passing on the rest:

1. float64 (float16/bfloat16/float32 results): NumPy's ``exp``, relative error stated as
   2**-48 (a few ulp of float64);
2. double-double (float64 results, and what tier 1 leaves): ``exp`` by a table of
   ``2**(j/256)`` and a short polynomial, the power of two kept apart so that results far below
   float64's range round correctly; relative error about 2**-78, stated as 2**-72 (the tests
   measure it);
3. the standard library's correctly rounded ``decimal`` arithmetic at 40, 80, 160, ... digits
   from the *exact* ``S``, until both ends of the error interval round alike. ``σ(S)`` is
   transcendental for rational ``S ≠ 0`` (Lindemann–Weierstrass), so this always ends.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from .. import dtypes as D
from .blocks import each_block
from .eft import fast_two_sum, two_prod, two_sum
from .rounding import decide

FLOAT64_REL_ERR = 2.0**-48  # tier 1: exp, add and divide in float64
DD_REL_ERR = 2.0**-72  # tier 2: double-double exp and sigmoid
SATURATE_ONE = 50.0  # σ(S) > 1 - 2**-72 for S > 50: rounds to 1 in every dtype
SATURATE_ZERO = -800.0  # σ(S) < 2**-1154 for S < -800: rounds to +0 in every dtype
_MAX_INPUT_ERR = 0.5  # wider input enclosures go straight to the exact tier


def _constants() -> tuple[tuple[float, float, float], np.ndarray, np.ndarray]:
    """ln2/256 in three parts (Cody and Waite: the first two with 32 significant bits, so
    ``n·part`` is exact for ``|n| < 2**21``; the third rounded, its product with ``n`` off by
    under 2**-104) and ``2**(j/256)``, j = 0..255, as double-doubles, from 60-digit decimals."""
    ctx = decimal.Context(prec=60)
    ln2 = Fraction(ctx.ln(decimal.Decimal(2))) / 256
    first = Fraction(math.floor(ln2 * 2**40 + Fraction(1, 2)), 2**40)
    rest = ln2 - first  # about 2**-41: its leading 32 bits lie on the grid 2**-72
    second = float(Fraction(math.floor(rest * 2**72 + Fraction(1, 2)), 2**72))
    third = float(ln2 - first - Fraction(second))
    his, los = [], []
    for j in range(256):
        v = Fraction(ctx.power(decimal.Decimal(2), decimal.Decimal(j) / 256))
        h = float(v)
        his.append(h)
        los.append(float(v - Fraction(h)))
    return (float(first), second, third), np.array(his), np.array(los)


(_L1, _L2, _L3), _TABLE_HI, _TABLE_LO = _constants()
_INV = 256 / math.log(2)
_POLY = [1 / math.factorial(j) for j in range(3, 8)]  # r³·(1/3! + r/4! + ... + r⁴/7!)


def exp_dd(xh: np.ndarray, xl: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``exp(xh + xl) = 2**k · (mh + ml)`` for ``|x| <= 2000``; ``m = 2**(j/256) · e**r``
    with ``|r| <= ln2/512`` lies within ``[2**(-1/512), 2**(1 + 1/512))``."""
    n = np.rint(xh * _INV)
    k = np.floor(n / 256)
    j = (n - 256 * k).astype(np.int64)
    # r = x - n·ln2/256: the first subtraction is exact (Sterbenz), n·_L2 too (32 bits), the
    # rest carried along
    rh, rl = two_sum(xh - n * _L1, -(n * _L2))
    rl = rl + (xl - n * _L3)
    rh, rl = fast_two_sum(rh, rl)
    # expm1(r) = r + r²/2 + r³·poly(r), |r| <= ln2/512: the last part in float64 is enough
    poly = np.full_like(rh, _POLY[-1])
    for c in reversed(_POLY[:-1]):
        poly = poly * rh + c
    sh, sl = two_prod(rh, rh)
    ah, al = two_sum(rh, 0.5 * sh)
    al = al + (rl + 0.5 * sl + rh * rl + rh * sh * poly)
    eh, el = fast_two_sum(ah, al)
    # m = T·(1 + expm1(r)) with T = 2**(j/256)
    th, tl = _TABLE_HI[j], _TABLE_LO[j]
    ph, pl = two_prod(th, eh)
    pl = pl + (th * el + tl * eh)
    mh, ml = two_sum(th, ph)
    mh, ml = fast_two_sum(mh, ml + (pl + tl))
    return mh, ml, k.astype(np.int64)


def _sigmoid_dd(h: np.ndarray, l_: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """σ(h + l) = 2**k · (gh + gl). With t = exp(-|S|) = 2**k·m: σ = 1/(1 + t) for S >= 0
    (k reported as 0) and 2**k · m/(1 + t) for S < 0; each quotient is corrected once by its
    exact remainder."""
    neg = h < 0
    mh, ml, k = exp_dd(np.where(neg, h, -h), np.where(neg, l_, -l_))
    far = k < -1000  # t < 2**-999: 1 + t is 1 far beyond double-double precision
    kk = np.where(far, 0, k).astype(np.int32)
    th = np.where(far, 0.0, np.ldexp(mh, kk))
    tl = np.where(far, 0.0, np.ldexp(ml, kk))
    dh, dl = two_sum(np.ones_like(th), th)
    dh, dl = fast_two_sum(dh, dl + tl)
    nh, nl = np.where(neg, mh, 1.0), np.where(neg, ml, 0.0)
    q = nh / dh
    p, e = two_prod(q, dh)
    r = (((nh - p) - e) + nl) - q * dl
    gh, gl = fast_two_sum(q, r / dh)
    return gh, gl, np.where(neg, k, 0)


def _sigmoid64(s: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(s))
    return np.where(s >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_of(
    hi: np.ndarray,
    lo: np.ndarray,
    err: np.ndarray,
    exact: Callable[[tuple[int, ...]], Fraction],
    dt: D.DType,
    refine: Callable[[tuple[int, ...]], tuple[float, float, float]] | None = None,
) -> np.ndarray:
    """σ(S) rounded to ``dt`` for the exact ``S`` enclosed by ``hi + lo ± err``; ``exact(index)``
    gives one element's ``S`` exactly where the enclosure is too wide to decide, and
    ``refine(index)``, if given, a far tighter enclosure ``(hi, lo, err)`` of it that the fast
    tiers try first. The fast tiers run in cache-sized blocks on every core
    (:mod:`.blocks`), the exact one element by element."""
    hi = np.asarray(hi, np.float64)
    hi, lo, err = (np.broadcast_to(np.asarray(a, np.float64), hi.shape) for a in (hi, lo, err))
    flat = [a.reshape(-1) for a in (hi, lo, err)]  # views, or copies of broadcast arrays
    out = np.empty(hi.shape)
    todo = np.empty(hi.shape, dtype=bool)
    out_flat, todo_flat = out.reshape(-1), todo.reshape(-1)  # views of new arrays

    def block(part: slice) -> None:
        h, l_, e = (a[part] for a in flat)
        out_flat[part], todo_flat[part] = _fast_tiers(h, l_, e, dt)

    with np.errstate(all="ignore"):
        each_block(hi.size, 1, block)
        if refine is not None:
            _retry_refined(hi, err, out, todo, refine, dt)
    for index in zip(*np.nonzero(todo), strict=True):
        if err[index] == 0:
            s = Fraction(float(hi[index])) + Fraction(float(lo[index]))
        else:
            s = exact(index)
        out[index] = sigmoid_exact(s, dt)
    return out


def _retry_refined(
    hi: np.ndarray,
    err: np.ndarray,
    out: np.ndarray,
    todo: np.ndarray,
    refine: Callable[[tuple[int, ...]], tuple[float, float, float]],
    dt: D.DType,
) -> None:
    """The fast tiers again, in place, on the undecided elements whose enclosure was not
    exact, from ``refine``'s tighter enclosures; what they decide leaves ``todo``."""
    wide = todo & (err != 0) & np.isfinite(hi)
    if not wide.any():
        return
    where = np.nonzero(wide)
    pairs = np.array([refine(index) for index in zip(*where, strict=True)], dtype=np.float64)
    values, undecided = _fast_tiers(pairs[:, 0], pairs[:, 1], pairs[:, 2], dt)
    out[where] = np.where(undecided, out[where], values)
    todo[where] = undecided


def _fast_tiers(
    hi: np.ndarray, lo: np.ndarray, err: np.ndarray, dt: D.DType
) -> tuple[np.ndarray, np.ndarray]:
    """(σ rounded to ``dt`` where the float64 and double-double tiers decide, the mask of the
    elements they leave to the exact tier) for one block of enclosures."""
    out = np.where(np.isnan(hi), np.nan, np.where(hi > 0, 1.0, 0.0))  # nan, ±inf
    fin = np.isfinite(hi)
    centre = hi + lo
    ones = fin & (centre - err > SATURATE_ONE)
    zeros = fin & (centre + err < SATURATE_ZERO)
    half = fin & (hi == 0) & (lo == 0) & (err == 0)
    out[ones], out[zeros], out[half] = 1.0, 0.0, 0.5
    open_ = fin & ~(ones | zeros | half)
    todo = open_ & ~(err <= _MAX_INPUT_ERR)
    todo_dd = open_ & ~todo
    if dt.p < 53 and todo_dd.any():
        h, extra = hi[todo_dd], np.abs(lo[todo_dd]) + err[todo_dd]
        v = _sigmoid64(h)
        rel = FLOAT64_REL_ERR + np.expm1(extra) * (1 + 2.0**-40)
        verr = rel * v + 2.0**-1060  # exp's result may be subnormal
        zero_k = np.zeros(v.shape, np.int64)
        undecided, values = decide(v, np.zeros_like(v), verr, zero_k, dt)
        _assign(out, todo_dd, ~undecided, values)
        todo_dd = _subset(todo_dd, undecided)
    if todo_dd.any():
        every = bool(todo_dd.all())  # the common case for float64: no gathers, no scatters
        h, l_, e = (hi, lo, err) if every else (hi[todo_dd], lo[todo_dd], err[todo_dd])
        gh, gl, k = _sigmoid_dd(h, l_)
        rel = DD_REL_ERR + np.expm1(e) * (1 + 2.0**-40)
        gerr = rel * np.abs(gh) * (1 + 2.0**-50)
        undecided, values = decide(gh, gl, gerr, k, dt)
        if every:  # todo was all False; undecided values are the exact tier's to set
            return values, undecided
        _assign(out, todo_dd, ~undecided, values)
        todo |= _subset(todo_dd, undecided)
    return out, todo


def _assign(out: np.ndarray, where: np.ndarray, pick: np.ndarray, values: np.ndarray) -> None:
    """``out[where][pick] = values[pick]`` (``where`` a mask of ``out``)."""
    sub = out[where]
    sub[pick] = values[pick]
    out[where] = sub


def _subset(where: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """The mask of the elements of ``where`` that ``pick`` selects."""
    mask = np.zeros(where.shape, dtype=bool)
    mask[where] = pick
    return mask


def sigmoid_exact(s: Fraction, dt: D.DType) -> float:
    """σ(s) correctly rounded to ``dt`` for an exact rational ``s`` (decimal, Ziv loop)."""
    if s == 0:
        return 0.5
    if s > SATURATE_ONE:
        return 1.0
    if s < SATURATE_ZERO:
        return 0.0
    for prec in (40, 80, 160, 320, 640, 1280, 2560):
        ctx = decimal.Context(prec=prec, Emax=10**6, Emin=-(10**6), traps=[])
        dec_s = ctx.divide(decimal.Decimal(s.numerator), decimal.Decimal(s.denominator))
        v = Fraction(ctx.divide(1, ctx.add(1, ctx.exp(ctx.minus(dec_s)))))
        # s to prec digits moves σ by at most |s|·10**(1-prec) relative; exp, add and divide
        # are each within half a unit: pad generously, in exact arithmetic.
        pad = (abs(s) + 4) * Fraction(10) ** (1 - prec)
        a = D.round_fraction(v * (1 - pad), dt)
        b = D.round_fraction(v * (1 + pad), dt)
        if a == b:
            return a
    raise ArithmeticError(f"sigmoid of {float(s)!r} undecided at 2560 digits")  # pragma: no cover
