"""The exact reference: correctly rounded ``x @ W.T + b`` and ``sigmoid`` of that exact value.

Method (docs/reference.md has the argument in full):

* Products are exact: float16/bfloat16/float32 products fit a float64; float64 products are
  split into ``p + e`` with Dekker's TwoProduct (an error-free transformation).
* The 2n+1 terms of each output are summed by a pairwise TwoSum tree (error-free), whose
  error terms are added in float64 with a rigorous bound. That yields an *enclosure*:
  the exact value S lies in ``hi + lo ± err``.
* Rounding to the case dtype is certain when both ends of the enclosure round the same way
  (Ziv's strategy). Elements where they do not, or where TwoProduct's range conditions fail,
  are recomputed exactly with rational arithmetic (``fractions.Fraction``).
* Sigmoid of the exact affine value is evaluated from the enclosure: first in float64 with a
  stated error bound, then, where that cannot decide the rounding (always for float64), with
  the correctly rounded ``decimal`` arithmetic of the standard library at 40, 80 or 160 digits,
  rounded to the dtype through exact rationals.
* IEEE special values follow IEEE semantics: nan propagates, inf*0 is nan, +inf + -inf is nan,
  an exact zero is -0 only when every term is -0.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from . import dtypes as D

_U64 = 2.0**-53
_CHUNK = 1 << 22  # terms per vectorised block (memory bound)
_SPLIT = 134217729.0  # 2**27 + 1, Dekker/Veltkamp splitter


@dataclass
class Enclosure:
    """Exact values S with ``|S - (hi + lo)| <= err``; ``hi`` is finite-or-special."""

    hi: np.ndarray
    lo: np.ndarray
    err: np.ndarray


@dataclass
class Reference:
    """Reference outputs of one case in one dtype (float64 arrays of dtype values)."""

    affine: np.ndarray | None
    sigmoid: np.ndarray
    affine_enclosure: Enclosure | None
    abs_sum: np.ndarray | None  # sum |x_i w_i| + |b| per output, for tolerances

    def of(self, op: str) -> np.ndarray:
        """The reference output of ``op`` ("affine" or "sigmoid")."""
        values = self.affine if op == "affine" else self.sigmoid
        if values is None:
            raise ValueError(f"no {op} reference for a sigmoid-only case")
        return values


# --------------------------------------------------------------------------------------------
# Error-free transformations


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = _SPLIT * a
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p + e == a * b exactly where ``safe``; Dekker needs no overflow and e_a + e_b >= -969."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    mag = np.abs(a) * np.abs(b)
    big = 2.0**995
    safe = (
        np.isfinite(p)
        & (np.abs(a) < big)
        & (np.abs(b) < big)
        & ((mag >= 2.0**-960) | (a == 0) | (b == 0))
    )
    return p, e, safe


def _sum_enclosure(terms: np.ndarray) -> Enclosure:
    """Enclose the exact row sums of ``terms`` (N, T) of finite float64 values."""
    n, t = terms.shape
    s = terms
    err_sum = np.zeros(n)
    err_abs = np.zeros(n)
    count = 0
    while s.shape[1] > 1:
        if s.shape[1] % 2:
            s = np.concatenate([s, np.zeros((n, 1))], axis=1)
        a, b = s[:, 0::2], s[:, 1::2]
        s, e = _two_sum(a, b)
        err_sum += e.sum(axis=1)
        err_abs += np.abs(e).sum(axis=1)
        count += e.shape[1]
    top = s[:, 0] if t else np.zeros(n)
    hi, lo = _two_sum(top, err_sum)
    # err_sum is a float sum of `count` terms plus the running additions: gamma bound, padded.
    m = count + 2 * max(1, math.ceil(math.log2(max(t, 2)))) + 4
    gamma = m * _U64 / (1 - m * _U64)
    err = gamma * err_abs * (1 + 4 * m * _U64)
    bad = ~(np.isfinite(hi) & np.isfinite(lo) & np.isfinite(err))
    err = np.where(bad, np.inf, err)
    return Enclosure(hi, lo, err)


# --------------------------------------------------------------------------------------------
# Affine


def _exact_affine_element(x: np.ndarray, w: np.ndarray, b: float | None) -> Fraction:
    total = Fraction(0)
    for xi, wi in zip(x.tolist(), w.tolist(), strict=True):
        if xi and wi:
            total += Fraction(xi) * Fraction(wi)
    if b:
        total += Fraction(b)
    return total


def affine_enclosure(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, dtype: str) -> Enclosure:
    """Enclosures of ``x @ w.T + b`` for x (..., n), w (m, n) and b (m,) of float64 values."""
    with np.errstate(all="ignore"):
        return _affine_enclosure(x, w, b, dtype)


def _affine_enclosure(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, dtype: str) -> Enclosure:
    batch_shape = x.shape[:-1]
    n = x.shape[-1]
    m = w.shape[0]
    xs = x.reshape(-1, n)
    rows = xs.shape[0]
    hi = np.zeros((rows, m))
    lo = np.zeros((rows, m))
    err = np.zeros((rows, m))
    if rows == 0:
        shape = (*batch_shape, m)
        return Enclosure(hi.reshape(shape), lo.reshape(shape), err.reshape(shape))

    fx, fw = np.isfinite(xs), np.isfinite(w)
    x0 = np.where(fx, xs, 0.0)
    w0 = np.where(fw, w, 0.0)
    bias = np.zeros(m) if b is None else b
    b0 = np.where(np.isfinite(bias), bias, 0.0)
    exact64 = dtype == "float64"
    step = max(1, _CHUNK // max(1, m * (2 * n + 1)))
    fallback: list[tuple[int, int]] = []
    for r0 in range(0, rows, step):
        xc = x0[r0 : r0 + step]
        prod_a = xc[:, None, :]
        prod_b = w0[None, :, :]
        if exact64:
            p, e, safe = _two_prod(prod_a, prod_b)
            terms = np.concatenate(
                [p, e, np.broadcast_to(b0[None, :, None], (xc.shape[0], m, 1))], axis=2
            )
            unsafe = ~safe.all(axis=2)
        else:
            p = prod_a * prod_b
            terms = np.concatenate(
                [p, np.broadcast_to(b0[None, :, None], (xc.shape[0], m, 1))], axis=2
            )
            unsafe = np.zeros((xc.shape[0], m), dtype=bool)
        enc = _sum_enclosure(terms.reshape(-1, terms.shape[2]))
        sl = slice(r0, r0 + xc.shape[0])
        hi[sl] = enc.hi.reshape(-1, m)
        lo[sl] = enc.lo.reshape(-1, m)
        err[sl] = np.where(unsafe, np.inf, enc.err.reshape(-1, m))

    # Decide the rounding; recompute exactly where the enclosure cannot.
    dt = D.get(dtype)
    # Overflowed partial sums show up as non-finite hi/err (true specials were zeroed above).
    ambiguous = _ambiguous(hi, lo, err, dt) | ~np.isfinite(hi) | ~np.isfinite(err)
    for i, j in zip(*np.nonzero(ambiguous), strict=True):
        fallback.append((int(i), int(j)))
    for i, j in fallback:
        s = _exact_affine_element(x0[i], w0[j], float(b0[j]))
        try:
            h = float(s)
            lo[i, j] = float(s - Fraction(h))
        except OverflowError:
            h = math.inf if s > 0 else -math.inf
            lo[i, j] = 0.0
        hi[i, j] = h
        err[i, j] = 0.0

    _apply_specials(xs, w, bias if b is not None else None, hi, lo, err)
    shape = (*batch_shape, m)
    return Enclosure(hi.reshape(shape), lo.reshape(shape), err.reshape(shape))


def _apply_specials(
    xs: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    hi: np.ndarray,
    lo: np.ndarray,
    err: np.ndarray,
) -> None:
    """IEEE semantics for nan/inf operands and the sign of exact zeros (in place)."""
    f = np.float64
    xnan, wnan = np.isnan(xs), np.isnan(w)
    xpos, xneg = (xs > 0).astype(f), (xs < 0).astype(f)
    wpos, wneg = (w > 0).astype(f), (w < 0).astype(f)
    xpi, xni = (xs == np.inf).astype(f), (xs == -np.inf).astype(f)
    wpi, wni = (w == np.inf).astype(f), (w == -np.inf).astype(f)
    xzero, wzero = (xs == 0).astype(f), (w == 0).astype(f)
    nan = (xnan.any(axis=1)[:, None] | wnan.any(axis=1)[None, :]) | (
        ((xpi + xni) @ wzero.T + xzero @ (wpi + wni).T) > 0
    )
    pinf = xpi @ wpos.T + xni @ wneg.T + xpos @ wpi.T + xneg @ wni.T
    ninf = xpi @ wneg.T + xni @ wpos.T + xpos @ wni.T + xneg @ wpi.T
    if b is not None:
        nan = nan | np.isnan(b)[None, :]
        pinf = pinf + (b == np.inf)[None, :]
        ninf = ninf + (b == -np.inf)[None, :]
    nan = nan | ((pinf > 0) & (ninf > 0))
    # Exact zero: -0 only if every product is -0 and the bias is absent or -0.
    xs_sign, w_sign = np.signbit(xs).astype(f), np.signbit(w).astype(f)
    negzero_terms = (xzero * xs_sign) @ (1 - w_sign).T + (xzero * (1 - xs_sign)) @ w_sign.T
    negzero_terms += (1 - xzero) * xs_sign @ (wzero * (1 - w_sign)).T
    negzero_terms += (1 - xzero) * (1 - xs_sign) @ (wzero * w_sign).T
    all_negzero = negzero_terms == xs.shape[1]
    if b is not None:
        all_negzero &= ((b == 0) & np.signbit(b))[None, :]
    zero = (hi == 0) & (lo == 0) & (err == 0)
    hi[zero] = np.where(all_negzero[zero], -0.0, 0.0)
    special = nan | (pinf > 0) | (ninf > 0)
    hi[special] = np.where(nan, np.nan, np.where(pinf > 0, np.inf, -np.inf))[special]
    lo[special] = 0.0
    err[special] = 0.0


def _ambiguous(hi: np.ndarray, lo: np.ndarray, err: np.ndarray, dt: D.DType) -> np.ndarray:
    """True where the enclosure ``hi + lo ± err`` does not round to one ``dt`` value."""
    fin = np.isfinite(hi)
    bad = ~np.isfinite(err) & fin
    check = fin & (err > 0) & ~bad
    if not check.any():
        return bad
    h = hi[check]
    e = err[check]
    l_ = lo[check]
    # hi is RN64 of hi+lo when |lo| <= ulp(hi)/2; the interval may cross into neighbours of hi.
    lo_lo = np.nextafter(l_ - e, -np.inf)
    lo_hi = np.nextafter(l_ + e, np.inf)
    a_hi, a_lo = _two_sum(h, lo_lo)
    b_hi, b_lo = _two_sum(h, lo_hi)
    ra = D.round_pair(a_hi, a_lo, dt)
    rb = D.round_pair(b_hi, b_lo, dt)
    diff = (ra != rb) | (np.signbit(ra) != np.signbit(rb))
    out = bad.copy()
    out[check] = diff
    return out


def round_enclosure(enc: Enclosure, dt: D.DType) -> np.ndarray:
    """Correctly rounded values (callers have made every enclosure unambiguous)."""
    hi, lo = _two_sum(np.where(np.isfinite(enc.hi), enc.hi, 0.0), enc.lo)
    out = D.round_pair(hi, lo, dt)
    out = np.where(np.isfinite(enc.hi), out, enc.hi)
    # keep the sign of exact zeros
    return np.where((enc.hi == 0) & (out == 0), enc.hi, out)


# --------------------------------------------------------------------------------------------
# Sigmoid


def _sigmoid64(s: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore"):
        e = np.exp(-np.abs(s))
        pos = 1.0 / (1.0 + e)
        return np.where(s >= 0, pos, e / (1.0 + e))


def _sigmoid_fast(enc: Enclosure) -> Enclosure:
    """float64 sigmoid with a stated bound: 16 ulp64 relative for the evaluation (np.exp is
    within a few ulp), twice sigmoid' times the input's uncertainty (linearisation included),
    plus 4 subnormal quanta for exp results in the subnormal range."""
    s = enc.hi
    v = _sigmoid64(s)
    d = v * (1.0 - v)
    hi = v + d * enc.lo
    lo = np.abs(enc.lo)
    err = 16 * 2.0**-52 * np.abs(v) + 2 * d * (enc.err + 2.0**-52 * lo + lo * lo) + 4 * 2.0**-1074
    return Enclosure(hi, np.zeros_like(hi), err)


def _dec_sigmoid(s: decimal.Decimal, ctx: decimal.Context) -> decimal.Decimal:
    return ctx.divide(1, ctx.add(1, ctx.exp(ctx.minus(s))))


def _sigmoid_decimal(hi: float, lo: float, err: float, prec: int, dt: D.DType) -> float | None:
    """sigmoid over [hi+lo-err, hi+lo+err] in ``prec``-digit decimal arithmetic, rounded to
    ``dt`` through exact rationals when both ends of the padded enclosure agree, else None."""
    ctx = decimal.Context(prec=prec, Emax=10**7, Emin=-(10**7), traps=[])
    mid = ctx.add(decimal.Decimal(hi), decimal.Decimal(lo))
    de = decimal.Decimal(err)
    # Each decimal operation is correctly rounded: pad by a few units of 10**-prec relative.
    pad = decimal.Decimal(10) ** (-(prec - 3))
    lo_end = _dec_sigmoid(ctx.subtract(mid, de), ctx)
    hi_end = lo_end if err == 0 else _dec_sigmoid(ctx.add(mid, de), ctx)
    a = ctx.multiply(lo_end, 1 - pad)
    b = ctx.multiply(hi_end, 1 + pad)
    if dt.p == 53:  # float(Decimal) is correctly rounded (subnormals included)
        ra, rb = float(a), float(b)
    else:
        ra, rb = D.round_fraction(Fraction(a), dt), D.round_fraction(Fraction(b), dt)
    return ra if ra == rb else None


def sigmoid_enclosure(enc: Enclosure, dt: D.DType) -> Enclosure:
    """Enclosures of sigmoid(S) for the exact values enclosed by ``enc``, sure to round in ``dt``."""
    fin = np.isfinite(enc.hi)
    out = _sigmoid_fast(Enclosure(np.where(fin, enc.hi, 0.0), enc.lo, enc.err))
    hi, lo, err = out.hi, out.lo, out.err
    # Far tails: |S| > 800 gives 1 - tiny or a value below every subnormal.
    big = fin & (np.abs(enc.hi) > 800)
    hi = np.where(big, np.where(enc.hi > 0, 1.0, 0.0), hi)
    lo = np.where(big, np.where(enc.hi > 0, -(2.0**-1074), 2.0**-1074), lo)
    err = np.where(big, 0.0, err)
    exact_half = fin & (enc.hi == 0) & (enc.lo == 0) & (enc.err == 0)
    hi, lo, err = (
        np.where(exact_half, 0.5, hi),
        np.where(exact_half, 0.0, lo),
        np.where(exact_half, 0.0, err),
    )
    hi = np.where(fin, hi, np.where(np.isnan(enc.hi), np.nan, np.where(enc.hi > 0, 1.0, 0.0)))
    lo = np.where(fin, lo, 0.0)
    err = np.where(fin, err, 0.0)
    todo = _ambiguous(hi, lo, err, dt)
    for idx in zip(*np.nonzero(todo), strict=True):
        args = float(enc.hi[idx]), float(enc.lo[idx]), float(enc.err[idx])
        for prec in (40, 80, 160):
            value = _sigmoid_decimal(*args, prec, dt)
            if value is not None:  # already rounded to dt: an exact enclosure of itself
                hi[idx], lo[idx], err[idx] = value, 0.0, 0.0
                break
        else:  # pragma: no cover - needs an input enclosure too wide to decide
            raise ArithmeticError(f"sigmoid reference undecided at {args[0]!r}")
    return Enclosure(hi, lo, err)


# --------------------------------------------------------------------------------------------
# Public entry points


def reference(
    dtype: str,
    x: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    z: np.ndarray | None = None,
) -> Reference:
    """Reference outputs for one case in one dtype: sigmoid-only when ``z`` is given, else the
    dense layer of ``x``, ``weight``, ``bias``. Inputs are float64 arrays of dtype values."""
    dt = D.get(dtype)
    if z is not None:
        enc = Enclosure(np.asarray(z, np.float64), np.zeros(np.shape(z)), np.zeros(np.shape(z)))
        sig = round_enclosure(sigmoid_enclosure(enc, dt), dt)
        return Reference(None, sig, None, None)
    assert x is not None and weight is not None
    enc = affine_enclosure(x, weight, bias, dtype)
    affine = round_enclosure(enc, dt)
    sig = round_enclosure(sigmoid_enclosure(enc, dt), dt)
    with np.errstate(invalid="ignore", over="ignore"):
        absx = np.abs(np.where(np.isfinite(x), x, 0.0))
        absw = np.abs(np.where(np.isfinite(weight), weight, 0.0))
        abs_sum = absx @ absw.T
        if bias is not None:
            abs_sum = abs_sum + np.abs(np.where(np.isfinite(bias), bias, 0.0))
    return Reference(affine, sig, enc, abs_sum)
