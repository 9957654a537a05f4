"""The exact affine map ``S = x @ w.T + b``, enclosed at BLAS speed and rounded correctly.

Method (error-free matrix multiplication, Ozaki, Ogita, Oishi & Rump, Numer. Algorithms 59,
2012): each row of ``x`` (and of ``w``) is split into slices ``x = x_1 + x_2 + ... + r``; slice
``a`` holds the row's bits between ``2**(e - (a-1)·β)`` and ``2**(e - a·β)`` (``e``: the row's
largest exponent) as integers times a power of two, with ``β = ⌊(53 - ⌈log2 n⌉) / 2⌋``. Any
product of two slices then has at most ``2β`` bits on one grid, so every partial sum of a
length-``n`` dot product is an integer below ``2**53`` on that grid: the float64 GEMM
``x_a @ w_b.T`` is *exact*, whatever order or FMA the BLAS uses. float16 and bfloat16 multiply
the few pairs that matter and bound the rest; float32 and float64 multiply the pairs of the
first level(s) and take the rest as ordinary GEMMs of whole remainders, whose rounding is
bounded (:func:`_enclose`: 3 GEMMs for 4, 6 for 10). The matrices are added with TwoSum into
an enclosure ``hi + lo ± err``, ``err`` the rigorous bound of everything not exact.

Rounding to the dtype is decided where both ends of the enclosure round alike (Ziv's
strategy). The rest — ties, sums that cancel, overflowing partial sums, exponent ranges a GEMM
cannot hold exactly — are recomputed exactly per element (``math.fsum`` of exact products, or
integers), which also yields the exact ``S`` the sigmoid asks for when its enclosure is too wide.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import partial

import numpy as np

from .. import dtypes as D
from .blocks import each_block
from .eft import two_prod, two_sum, two_sum_into
from .rounding import decide

_U = 2.0**-53
_CHUNK = 1 << 22  # output elements per block of rows (memory bound)
EXTRA_BITS = 16  # bits beyond the dtype's precision that the slices hold
PAIR_BITS = 22  # ... and that the slice pairs multiplied reach (the rest is bounded, crudely)


@dataclass
class Enclosure:
    """Per element: ``S ∈ [hi + lo - err, hi + lo + err]`` with ``hi = RN64(hi + lo)``;
    ``err == 0`` means ``hi + lo`` is ``S`` exactly (or a special value in ``hi``)."""

    hi: np.ndarray
    lo: np.ndarray
    err: np.ndarray


@dataclass
class Affine:
    """Rounded values, the enclosure of the exact sums, and a way to get one exactly."""

    values: np.ndarray  # correctly rounded to the dtype (float64 array of dtype values)
    enclosure: Enclosure
    products: np.ndarray  # float64 approximation of sum_i x_i w_i (no bias), for tolerances
    abs_sum: np.ndarray  # sum_i |x_i w_i| + |b|, rounded up, for tolerances
    exact: Callable[[tuple[int, ...]], Fraction]  # exact S of one finite element
    # one finite element's S as a float pair ``hi + lo`` and its (tiny) uncertainty, by
    # ``math.fsum`` of exact products: far cheaper than ``exact`` and nearly always enough
    refine: Callable[[tuple[int, ...]], tuple[float, float, float]]


def affine_map(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, dt: D.DType) -> Affine:
    """``x`` (..., n), ``w`` (m, n), ``b`` (m,) or None: float64 arrays of ``dt`` values."""
    with np.errstate(all="ignore"):
        return _affine(np.asarray(x, np.float64), np.asarray(w, np.float64), b, dt)


def _affine(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, dt: D.DType) -> Affine:
    batch_shape, n = x.shape[:-1], x.shape[-1]
    m = w.shape[0]
    rows = math.prod(batch_shape)
    xs = x.reshape(rows, n)
    bias = None if b is None else np.asarray(b, np.float64)
    x0, w0 = _finite(xs), _finite(w)
    b0 = np.zeros(m) if bias is None else _finite(bias)

    hi = np.zeros((rows, m))
    lo = np.zeros((rows, m))
    err = np.zeros((rows, m))
    products = np.zeros((rows, m))
    if rows and m:
        if n == 0:
            hi[:] = b0  # the empty sum contributes nothing: S is the bias
        else:
            _enclose(x0, w0, b0, dt, hi, lo, err, products)
    values = np.empty((rows, m))  # every element is set below
    exact_zero = np.empty((rows, m), dtype=bool)

    def exact(index: tuple[int, ...]) -> Fraction:
        i, j = np.unravel_index(np.ravel_multi_index(index, (*batch_shape, m)), (rows, m))
        return exact_sum(x0[i], w0[j], float(b0[j]))

    def refine(index: tuple[int, ...]) -> tuple[float, float, float]:
        i, j = np.unravel_index(np.ravel_multi_index(index, (*batch_shape, m)), (rows, m))
        h, lo_, _, _ = _exact_element(x0[i], w0[j], float(b0[j]), dt)
        return h, lo_, _lo_uncertainty(lo_)

    # Decide the rounding where the enclosure can; recompute the rest exactly.
    todo = np.empty((rows, m), dtype=bool)

    def settle(r: slice) -> None:
        undecided, rounded = decide(hi[r], lo[r], err[r], np.zeros((), np.int64), dt)
        todo[r] = undecided
        values[r] = np.where(undecided, 0.0, rounded)
        exact_zero[r] = ~undecided & (hi[r] == 0) & (lo[r] == 0) & (err[r] == 0)

    each_block(rows, m, settle)
    for i, j in zip(*np.nonzero(todo), strict=True):
        h, lo_, zero, value = _exact_element(x0[i], w0[j], float(b0[j]), dt)
        hi[i, j], lo[i, j], err[i, j] = h, lo_, _lo_uncertainty(lo_)
        values[i, j], exact_zero[i, j] = value, zero

    _ieee(xs, w, bias, values, hi, lo, err, exact_zero)
    abs_sum = _abs_sum(x0, w0, b0, n, dt)
    shape = (*batch_shape, m)
    return Affine(
        values.reshape(shape),
        Enclosure(hi.reshape(shape), lo.reshape(shape), err.reshape(shape)),
        products.reshape(shape),
        abs_sum.reshape(shape),
        exact,
        refine,
    )


# --------------------------------------------------------------------------------------------
# The fast enclosure


def _row_exponents(a: np.ndarray) -> np.ndarray:
    """``e`` per row with ``|a_k| < 2**e`` (0 for all-zero rows)."""
    _, e = np.frexp(np.maximum(np.max(a, axis=1), -np.min(a, axis=1)))  # no |a| array
    return e.astype(np.int64)


_E_RANGE = 900  # rows whose largest exponent lies outside ±this are recomputed exactly


def _slice(
    rest: np.ndarray, ee: np.ndarray, s: int, beta: int, out: np.ndarray | None = None
) -> np.ndarray:
    """``rest`` rounded, row by row, to the grid ``2**(ee - s·β)``: adding and subtracting
    ``1.5·2**(ee - s·β + 52)`` (exact for ``|rest| < 2**(ee - (s-1)·β)``)."""
    sigma = np.ldexp(1.5, (ee - s * beta + 52).astype(np.int32))[:, None]
    sl = np.add(rest, sigma, out=out)
    sl -= sigma  # in place: a fresh large array costs its page faults (measured ~1/3)
    return sl


def _slices(
    a: np.ndarray, e: np.ndarray, beta: int, count: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Up to ``count`` slices of each row of ``a``, slice ``s`` on the grid ``2**(e - s·β)``
    (rounded to nearest by adding and subtracting ``1.5·2**(e - s·β + 52)``, which is exact
    for ``|rest| < 2**(e - (s-1)·β)``), and upper bounds of the row sums of ``|remainder|``
    after each slice: ``n·2**(e - s·β - 1)`` (half a grid step each) for all but the last,
    whose sum is computed. Stops once nothing remains (the common case for narrow dtypes: no
    ``|rest|`` array). Row blocks on every core (:mod:`.blocks`); each row is sliced alone."""
    ee = np.clip(e, -_E_RANGE, _E_RANGE)
    rows, n = a.shape
    out = [np.empty_like(a) for _ in range(count)]
    nonzero = np.zeros((count, rows), dtype=bool)  # a remainder left after slice j, per row
    made = np.zeros(rows, dtype=np.int64)  # slices made per row (a block stops at a zero rest)
    last_sum = np.zeros(rows)

    def block(r: slice) -> None:
        rest = a[r]
        for j in range(count):
            sl = _slice(rest, ee[r], j + 1, beta, out=out[j][r])
            rest = np.subtract(rest, sl, out=None if j == 0 else rest)  # exact: sl is rest
            # rounded to a coarser grid
            made[r] = j + 1
            nonzero[j, r] = rest.any(axis=1)
            if not nonzero[j, r].any():
                return
        last_sum[r] = np.abs(rest).sum(axis=1)

    each_block(rows, n, block)
    levels = count
    for j in range(count):
        if not nonzero[j].any():
            levels = j + 1
            break
    for j in range(levels):  # slices that a block did not make, as it had nothing left: 0
        unmade = made <= j
        if unmade.any():
            out[j][unmade] = 0.0
    rest_sums = [n * np.ldexp(1.0, (ee - s * beta - 1).astype(np.int32)) for s in range(1, levels)]
    rest_sums.append(last_sum * (1 + 2.0**-20))
    return out[:levels], rest_sums


def _slice_count(dt: D.DType, beta: int) -> int:
    """Slices per operand: enough that the pairs taken reach ``EXTRA_BITS`` beyond the
    dtype's precision below the largest product (about 1 element in 2**EXTRA_BITS is then
    left to the exact path)."""
    return -(-(dt.p + EXTRA_BITS) // beta)


def _tail_levels(dt: D.DType, beta: int, log_n: int) -> int:
    """Exact levels ``L`` (pairs with ``a + c < L``) after which the rest, one float64 GEMM per
    slice (:func:`_split`), is as accurate as the pairs would be: the rest's products lie
    ``L·β`` bits below the largest, and a length-``n`` GEMM errs by ``γ_n ≈ 2**(log n - 53)``
    of their sum, so ``L·β + 53 - log n`` bits must reach ``PAIR_BITS`` beyond the dtype's
    precision, as the pairs do (at least 1 level: an exact first product keeps exact sums of
    short values exact)."""
    levels = 1
    while levels * beta + 53 - log_n < dt.p + PAIR_BITS:
        levels += 1
    return levels


@dataclass
class _Part:
    """One operand part (a slice or a remainder) and its rows' ``max |v|`` and ``Σ |v|`` (the
    sum rounded up), for the bounds ``Σ_k |u_k v_k| <= max|u| · Σ|v|``."""

    values: np.ndarray
    max: np.ndarray
    sum: np.ndarray

    @classmethod
    def of(cls, a: np.ndarray) -> _Part:
        mag = np.abs(a)
        return cls(a, mag.max(axis=1), mag.sum(axis=1) * (1 + 2.0**-20))


def _split(
    a: np.ndarray, e: np.ndarray, beta: int, count: int, slice_parts: bool, all_rests: bool
) -> tuple[list[_Part], list[_Part | None]]:
    """The first ``count`` slices of each row of ``a`` (as :func:`_slices`; with their rows'
    ``max|v|`` and ``Σ|v|`` where ``slice_parts``, else NaN) and the remainders after each:
    ``rest[j]`` is ``a`` less its first ``j + 1`` slices (exact), None when it is zero (as
    every later one then is, and the slices after it are left out); their ``max|v|`` and
    ``Σ|v|`` for every one where ``all_rests``, else for the last only (:func:`_tail_terms`
    pairs ``x``'s last remainder alone). Row blocks on every core (:mod:`.blocks`): each row
    is sliced alone, so the blocking changes no bit."""
    ee = np.clip(e, -_E_RANGE, _E_RANGE)
    rows, n = a.shape
    slices = [np.empty_like(a) for _ in range(count)]
    rests = [np.empty_like(a) for _ in range(count)]
    stats = np.full((2, 2, count, rows), np.nan)  # [slice, rest] x [max, sum] x level x row
    nonzero = np.zeros((count, rows), dtype=bool)  # a remainder left after slice j, per row

    def block(r: slice) -> None:
        rest = a[r]
        for j in range(count):
            sl = _slice(rest, ee[r], j + 1, beta, out=slices[j][r])
            rest = np.subtract(rest, sl, out=rests[j][r])  # exact: sl is rest on a coarser grid
            for kind, v in enumerate((sl, rest)):
                if not (slice_parts if kind == 0 else all_rests or j == count - 1):
                    continue
                mag = np.abs(v)
                stats[kind, 0, j, r] = mag.max(axis=1, initial=0.0)
                stats[kind, 1, j, r] = mag.sum(axis=1)
            if np.isnan(stats[1, 1, j, r.start]):
                nonzero[j, r] = rest.any(axis=1)
            else:
                nonzero[j, r] = stats[1, 1, j, r] > 0

    each_block(rows, n, block)
    stats[:, 1] *= 1 + 2.0**-20  # the sums, rounded up
    parts: list[_Part] = []
    rest_parts: list[_Part | None] = []
    for j in range(count):
        parts.append(_Part(slices[j], stats[0, 0, j], stats[0, 1, j]))
        if not nonzero[j].any():  # nothing remains on any row
            break
        rest_parts.append(_Part(rests[j], stats[1, 0, j], stats[1, 1, j]))
    rest_parts.extend([None] * (count - len(rest_parts)))
    return parts, rest_parts


def _tail_terms(
    x_sl: list[_Part],
    x_rest: list[_Part | None],
    w: _Part,
    w_rest: list[_Part | None],
    levels: int,
) -> list[tuple[_Part, _Part]]:
    """What the exact pairs ``a + c < L`` leave of ``x @ w.T``, as products of whole parts:
    ``Σ_{a<L} x_a · (w less its first L - a slices) + (x less its first L slices) · w``
    (summing these and the pairs gives ``x @ w.T`` exactly). Zero parts are left out."""
    terms = []
    for a, xa in enumerate(x_sl[:levels]):
        rest = w_rest[levels - a - 1]
        if rest is not None and xa.sum.any():
            terms.append((xa, rest))
    x_left = x_rest[levels - 1]
    if x_left is not None:
        terms.append((x_left, w))
    return terms


def _enclose(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    dt: D.DType,
    hi: np.ndarray,
    lo: np.ndarray,
    err: np.ndarray,
    products: np.ndarray,
) -> None:
    """``hi + lo ± err`` per element, by one of two schemes, whichever takes fewer GEMMs:

    - *pairs*: every slice pair ``(a, c)`` that reaches ``PAIR_BITS`` beyond the dtype's
      precision is an exact GEMM; the pairs left out are bounded (float16, bfloat16: 3 GEMMs);
    - *tail*: the pairs of the first ``L`` levels are exact GEMMs, and the rest is ``L + 1``
      ordinary float64 GEMMs of whole remainders (:func:`_tail_terms`), each off by at most
      ``γ_n · Σ_k |u_k v_k| + n·2**-1074`` (Higham, *Accuracy and Stability*, 2nd ed., §3.1
      and §2.1: any summation order, blocking or FMA; the second term is underflow) (float32:
      3 GEMMs for 4; float64: 6 for 10, at n = 4096). This assumes a BLAS that sums the ``n``
      products with float64 operations, as every one does; no Strassen-like algorithm.
    """
    rows, n = x.shape
    m = w.shape[0]
    log_n = max(1, math.ceil(math.log2(n)))
    beta = (53 - log_n) // 2
    count = _slice_count(dt, beta)
    pairs = [
        (a, c) for a in range(count) for c in range(count) if (a + c) * beta < dt.p + PAIR_BITS
    ]
    levels = _tail_levels(dt, beta, log_n)
    tail = levels * (levels + 1) // 2 + levels + 1 < len(pairs)
    ew = _row_exponents(w)
    w_whole = _Part.of(w)
    if tail:
        pairs = [(a, c) for a in range(levels) for c in range(levels) if a + c < levels]
        w_parts_sl, w_parts = _split(w, ew, beta, levels, slice_parts=False, all_rests=True)
        w_sl = [p.values for p in w_parts_sl]
        w_rest: list[np.ndarray] = []
    else:
        w_sl, w_rest = _slices(w, ew, beta, count)
    step = max(1, _CHUNK // max(1, m))
    for r0 in range(0, rows, step):
        sl = slice(r0, min(rows, r0 + step))
        xc = x[sl]
        ex = _row_exponents(xc)
        if tail:
            x_parts_sl, x_parts = _split(xc, ex, beta, levels, slice_parts=True, all_rests=False)
            x_sl = [p.values for p in x_parts_sl]
            terms = _tail_terms(x_parts_sl, x_parts, w_whole, w_parts, levels)
        else:
            x_sl, x_rest = _slices(xc, ex, beta, count)
            terms = []
        taken = [(a, c) for a, c in pairs if a < len(x_sl) and c < len(w_sl)]
        # A slice product is exact only while its grid and its sum stay inside float64.
        finest = max(a + c for a, c in taken) + 2
        unsafe = _unsafe(ex, ew, finest * beta, log_n)
        s = x_sl[0] @ w_sl[0].T
        e_acc = np.zeros_like(s)
        e_abs = np.zeros_like(s)
        prod, part, nxt, scratch = (np.empty_like(s) for _ in range(4))
        addends = _addends(x_sl, w_sl, taken, terms)
        for group in addends:
            for g, (u_, v_) in enumerate(group):
                np.matmul(u_, v_.T, out=part if g else prod)
                if g:
                    each_block(len(s), m, partial(_add_into, prod, part))
            each_block(len(s), m, partial(_accumulate, s, prod, e_acc, e_abs, nxt, scratch))
            s, nxt = nxt, s
        del prod, part, nxt, scratch
        if tail:
            g_tail = n + len(terms) - 1  # roundings a product of the summed tail GEMMs meets
            gamma = g_tail * _U / (1 - g_tail * _U) * (1 + 2.0**-40)
            left_out = partial(_bound_tail, terms, gamma, n)
        else:
            left_out = partial(_bound_left_out, x_sl, x_rest, w_whole, w_rest, taken)
        out = _Out(hi[sl], lo[sl], err[sl], products[sl])
        chunk = _Chunk(s, e_acc, e_abs, b, len(addends) + 3, left_out, unsafe, out)
        each_block(len(s), m, chunk.finish)


def _addends(
    x_sl: list[np.ndarray],
    w_sl: list[np.ndarray],
    taken: list[tuple[int, int]],
    terms: list[tuple[_Part, _Part]],
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """The GEMMs after the first exact pair, grouped into the addends that TwoSum adds to the
    sum: each group's GEMMs are summed in plain float64 first.

    - The pairs ``(0, 1)`` and ``(1, 0)`` form one group, and their sum is exact: both lie on
      the grid ``2**(e_x + e_w - 3β)``, every product is at most ``2**(2β - 1)`` units of it
      (``|x_0| <= 2**e_x``, ``|w_1| <= 2**(e_w - β - 1)``, and alike), so the ``2n`` products
      sum to at most ``n·2**(2β) <= 2**53`` units. Later levels' pairs stand alone (three or
      more pairs per level could pass ``2**53``).
    - The tail scheme's GEMMs of whole parts form one group: their plain sum makes each
      product meet ``n + T - 1`` roundings instead of ``n`` (``T`` GEMMs), which the bound's
      ``γ`` counts (Higham, §3.1)."""
    groups: list[list[tuple[np.ndarray, np.ndarray]]] = []
    level_one = [(x_sl[a], w_sl[c]) for a, c in taken if a + c == 1]
    if level_one:
        groups.append(level_one)
    groups += [[(x_sl[a], w_sl[c])] for a, c in taken if a + c > 1]
    if terms:
        groups.append([(u.values, v.values) for u, v in terms])
    return groups


def _add_into(a: np.ndarray, b: np.ndarray, r: slice) -> None:
    """Rows ``r`` of ``a += b``."""
    a[r] += b[r]


def _accumulate(
    s: np.ndarray,
    prod: np.ndarray,
    e_acc: np.ndarray,
    e_abs: np.ndarray,
    nxt: np.ndarray,
    scratch: np.ndarray,
    r: slice,
) -> None:
    """Rows ``r`` of :func:`~.eft.two_sum_into` (``nxt = s + prod``, errors accumulated)."""
    two_sum_into(s[r], prod[r], e_acc[r], e_abs[r], nxt[r], scratch[r])


@dataclass
class _Out:
    """Where one chunk of rows writes its enclosure."""

    hi: np.ndarray
    lo: np.ndarray
    err: np.ndarray
    products: np.ndarray


@dataclass
class _Chunk:
    """One chunk of rows after its GEMMs: the sum ``s`` so far, the TwoSum errors (their sum
    and the sum of their magnitudes), and what bounds the rest."""

    s: np.ndarray
    e_acc: np.ndarray
    e_abs: np.ndarray
    b: np.ndarray
    additions: int  # roundings that e_abs bounds: the GEMM sums, the bias, the last TwoSum
    left_out: Callable[[slice, np.ndarray], None]  # adds the bound of what is not exact
    unsafe: np.ndarray | None
    out: _Out

    def finish(self, r: slice) -> None:
        """Rows ``r``: the bias added with TwoSum, the errors folded into ``lo``, the bound."""
        e_acc, e_abs = self.e_acc[r], self.e_abs[r]
        np.add(self.s[r], e_acc, out=self.out.products[r])
        s, e = two_sum(self.s[r], np.broadcast_to(self.b, e_acc.shape))
        e_acc += e
        e_abs += np.abs(e)
        h, lo_ = two_sum(s, e_acc)
        k = self.additions
        bound = (k * _U / (1 - k * _U)) * (1 + 2.0**-40) * e_abs
        self.left_out(r, bound)
        bound *= 1 + 2.0**-20
        bad = ~np.isfinite(h + lo_ + bound)  # nan or inf in any (or a sum so large it
        # overflows: then the exact path, needlessly but correctly)
        if self.unsafe is not None:
            bad |= self.unsafe[r]
        if bad.any():
            h[bad], lo_[bad], bound[bad] = 0.0, 0.0, np.inf
        self.out.hi[r], self.out.lo[r], self.out.err[r] = h, lo_, bound


def _bound_tail(
    terms: list[tuple[_Part, _Part]], gamma: float, n: int, r: slice, bound: np.ndarray
) -> None:
    """Adds to ``bound`` (rows ``r``) the rounding of the tail scheme's GEMMs of whole parts:
    ``γ_n · Σ_k |u_k v_k| + (n + 1)·2**-1074`` each, with ``Σ_k |u_k v_k|`` bounded by
    ``min(max|u|·Σ|v|, Σ|u|·max|v|)``. Plain outer products: one that rounds down (to a
    subnormal, or to 0 below 2**-1075) loses at most 2**-1075, which times ``γ_n`` the
    underflow term covers many times over; a relative rounding down the caller's final
    ``1 + 2**-20`` covers. ``γ_n`` multiplies last: ``γ_n · max|u|`` alone may underflow
    where the whole product does not."""
    for u, v in terms:
        worst = np.outer(u.max[r], v.sum)
        np.minimum(worst, np.outer(u.sum[r], v.max), out=worst)
        worst *= gamma
        bound += worst
    bound += len(terms) * (n + 1) * 2.0**-1074


def _bound_left_out(
    x_sl: list[np.ndarray],
    x_rest: list[np.ndarray],
    w: _Part,
    w_rest: list[np.ndarray],
    pairs: list[tuple[int, int]],
    r: slice,
    bound: np.ndarray,
) -> None:
    """Adds to ``bound`` (rows ``r``) what the pairs leave out (the pairs scheme): ``x_a``
    times ``w``'s remainder after the last slice paired with it, and ``x``'s remainder times
    ``w``; ``|u·v| <= max|u| · Σ|v|``, row by row."""
    for a, xa in enumerate(x_sl):
        taken = [c for aa, c in pairs if aa == a]
        if not taken:
            bound += _outer_up(np.max(np.abs(xa[r]), axis=1), w.sum)
            continue
        rest = w_rest[max(taken)]
        if rest.any():
            bound += _outer_up(np.max(np.abs(xa[r]), axis=1), rest)
    if x_rest[-1][r].any():
        bound += _outer_up(x_rest[-1][r], w.max)


def _unsafe(ex: np.ndarray, ew: np.ndarray, finest: int, log_n: int) -> np.ndarray | None:
    """Where a slice product would leave float64's exact range (its finest grid below the
    subnormals, or the sum above the largest float), or an operand row lies outside
    ``±_E_RANGE``; None when no element can (the common case: no outer array is built)."""
    lo_e, hi_e = int(ex.min()) + int(ew.min()), int(ex.max()) + int(ew.max())
    far = max(int(np.abs(ex).max()), int(np.abs(ew).max())) > _E_RANGE
    if lo_e - finest >= -1072 and hi_e + log_n <= 1020 and not far:
        return None
    e_sum = ex[:, None] + ew[None, :]
    unsafe = (e_sum - finest < -1072) | (e_sum + log_n > 1020)
    unsafe |= (np.abs(ex) > _E_RANGE)[:, None] | (np.abs(ew) > _E_RANGE)[None, :]
    return unsafe


def _outer_up(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a_i · b_j``, never rounded down to 0: a product that underflows becomes the smallest
    subnormal (a bound that vanished would claim an inexact sum is exact)."""
    out = np.outer(a, b)
    return np.where((out == 0) & np.outer(a != 0, b != 0), 2.0**-1074, out)


def _finite(a: np.ndarray) -> np.ndarray:
    """``a`` with nan and ±inf replaced by 0 (``a`` itself, not a copy, when all are finite)."""
    fin = np.isfinite(a)
    return a if fin.all() else np.where(fin, a, 0.0)


def _abs_sum(x: np.ndarray, w: np.ndarray, b: np.ndarray, n: int, dt: D.DType) -> np.ndarray:
    """``sum |x_i w_i| + |b|``, rounded up: a float32 GEMM of the magnitudes rounded up to
    float32 where everything stays well inside float32's normal range (relative error
    <= (n+1)·2**-24, padded), else float64. float16/bfloat16/float32 values are float32
    values already: their magnitudes are taken in float32 (half the memory traffic)."""
    (ax, mx, sx), (aw, mw, sw) = (_mags32(a, dt.p <= 24) for a in (x, w))
    rows, m = x.shape[0], w.shape[0]
    out = np.empty((rows, m))
    if mx * mw * n < 2.0**100 and min(sx, sw) >= 2.0**-60:
        s = ax @ aw.T
        pad, floor = 1 + (n + 2) * 2.0**-23, (n + 1) * 2.0**-126  # float32 may flush: pad
    else:
        s = np.abs(x) @ np.abs(w).T
        pad, floor = 1 + (n + 2) * _U * 2, 0.0
    bias = np.abs(b)

    def block(r: slice) -> None:
        t = s[r].astype(np.float64) * pad + floor
        t += bias
        t *= 1 + 2.0**-51  # the addition rounds too: upward
        out[r] = t + 2.0**-1074

    each_block(rows, m, block)
    return out


def _mags32(a: np.ndarray, exact: bool) -> tuple[np.ndarray, float, float]:
    """``|a|`` as float32 values no smaller than it (the values themselves where ``exact``
    and they are float32 values, else :func:`_up32`), with the largest ``|a|`` and the
    smallest nonzero one. Row blocks on every core."""
    rows, n = a.shape
    out = np.empty(a.shape, np.float32)
    big, small = np.zeros(rows), np.full(rows, np.inf)

    def block(r: slice) -> None:
        part = a[r]
        f = part.astype(np.float32) if exact else None
        if f is not None and np.array_equal(f, part):
            mag: np.ndarray = np.abs(f, out=out[r])
        else:
            mag = np.abs(part)
            out[r] = _up32(mag)
        big[r] = np.max(mag, axis=1, initial=0.0)
        small[r] = np.min(mag, axis=1, where=mag > 0, initial=np.inf)

    each_block(rows, n, block)
    return out, float(np.max(big, initial=0.0)), float(np.min(small, initial=np.inf))


def _up32(a: np.ndarray) -> np.ndarray:
    """Non-negative float64 values, each 0 or in [2**-60, 2**100], as float32 values no smaller
    than them: ``a·(1 + 2**-23)`` rounded to nearest. The step ``a·2**-23`` is at least an
    ulp of ``a`` in float32 (less ``a·2**-53`` of the float64 product's rounding), over the half
    ulp that the cast may take back; where the step crosses a power of two, that power is a
    float32 value at least ``a``. One multiply and one cast: ``np.nextafter`` on float32 is a
    libm call per element (about half of float64's ``abs_sum`` before)."""
    return (a * (1 + 2.0**-23)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Exact per element


def _exact_element(
    x: np.ndarray, w: np.ndarray, b: float, dt: D.DType
) -> tuple[float, float, bool, float]:
    """(hi = RN64(S), lo: a float with the sign of S - hi, S == 0, S rounded to ``dt``)."""
    terms = _exact_terms(x, w, b)
    if terms is not None:
        try:
            h = math.fsum(terms)  # correctly rounded; S is a sum of floats, so 0 only if exact
            if h == 0:
                return 0.0, 0.0, True, 0.0
            terms.append(-h)
            rem = math.fsum(terms)
            return h, rem, False, float(D.round_pair(np.array([h]), np.array([rem]), dt)[0])
        except OverflowError:
            pass
    exact = exact_sum(x, w, b)
    if exact == 0:
        return 0.0, 0.0, True, 0.0
    value = D.round_fraction(exact, dt)
    try:
        h = float(exact)
    except OverflowError:
        return (math.inf if exact > 0 else -math.inf), 0.0, False, value
    left = exact - Fraction(h)
    lo_ = 0.0 if left == 0 else (float(left) or (2.0**-1074 if left > 0 else -(2.0**-1074)))
    return h, lo_, False, value


def _lo_uncertainty(lo_: float) -> float:
    """How far a float ``lo`` from the exact path may be from the true remainder."""
    return 0.0 if lo_ == 0 else abs(lo_) * 2.0**-52 + 2.0**-1074


def _exact_terms(x: np.ndarray, w: np.ndarray, b: float) -> list[float] | None:
    """Floats whose exact sum is S, or None where TwoProduct would leave float64's range."""
    p = x * w
    ax, aw = np.abs(x), np.abs(w)
    nonzero = (ax > 0) & (aw > 0)
    # float16/bfloat16/float32 products are exact in float64; float64 ones need TwoProduct.
    _, e = two_prod(x, w)
    mag = ax * aw
    safe = ~nonzero | (np.isfinite(p) & (ax < 2.0**995) & (aw < 2.0**995) & (mag >= 2.0**-960))
    if not safe.all():
        return None
    terms = p[nonzero].tolist() + e[nonzero & (e != 0)].tolist()
    terms.append(b)
    return terms


def exact_sum(x: np.ndarray, w: np.ndarray, b: float) -> Fraction:
    """``sum x_i w_i + b`` exactly, with integers (finite inputs)."""
    mx, ex = _int_parts(x)
    mw, ew = _int_parts(w)
    nz = (mx != 0) & (mw != 0)
    mant = [int(a) * int(c) for a, c in zip(mx[nz].tolist(), mw[nz].tolist(), strict=True)]
    exps = (ex[nz] + ew[nz]).tolist()
    if b:
        mb, eb = _int_parts(np.array([b]))
        mant.append(int(mb[0]))
        exps.append(int(eb[0]))
    if not mant:
        return Fraction(0)
    low = min(exps)
    total = sum(mi << (ei - low) for mi, ei in zip(mant, exps, strict=True))
    return Fraction(total, 1) * Fraction(2) ** low if low >= 0 else Fraction(total, 1 << -low)


def _int_parts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a = m · 2**e`` with integer ``m`` (int64, |m| < 2**53) per element."""
    f, e = np.frexp(a)
    return np.ldexp(f, 53).astype(np.int64), e.astype(np.int64) - 53


# --------------------------------------------------------------------------------------------
# IEEE special values and the sign of zero


def _ieee(
    xs: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    values: np.ndarray,
    hi: np.ndarray,
    lo: np.ndarray,
    err: np.ndarray,
    exact_zero: np.ndarray,
) -> None:
    """IEEE semantics, in place: the sign of an exact zero sum, then nan/inf operands. Only
    rows and columns that can be affected are computed (a few GEMMs of 0/1 matrices)."""
    bias = np.zeros(w.shape[0]) if b is None else b
    bad_rows = np.flatnonzero(~np.isfinite(xs).all(axis=1))
    bad_cols = np.flatnonzero(~np.isfinite(w).all(axis=1) | ~np.isfinite(bias))
    all_rows, all_cols = np.arange(xs.shape[0]), np.arange(w.shape[0])
    if exact_zero.any():
        i_idx, j_idx = np.nonzero(exact_zero)
        ri, ii = np.unique(i_idx, return_inverse=True)
        ci, jj = np.unique(j_idx, return_inverse=True)
        neg = _all_negative_zero(xs[ri], w[ci], None if b is None else b[ci])[ii, jj]
        values[i_idx, j_idx] = hi[i_idx, j_idx] = np.where(neg, -0.0, 0.0)
    for ri, ci in ((bad_rows, all_cols), (all_rows, bad_cols)):
        if not (ri.size and ci.size):
            continue
        special, fill = _specials(xs[ri], w[ci], None if b is None else b[ci])
        block = np.ix_(ri, ci)
        for arr, new in ((values, fill), (hi, fill), (lo, 0.0), (err, 0.0)):
            arr[block] = np.where(special, new, arr[block])


def _specials(xs: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Where ``x @ w.T + b`` is nan or ±inf, and that value: nan propagates, ``inf·0`` and
    ``+inf + -inf`` are nan, otherwise an infinite term gives its infinity."""
    f = np.float64
    xpi, xni = (xs == np.inf).astype(f), (xs == -np.inf).astype(f)
    wpi, wni = (w == np.inf).astype(f), (w == -np.inf).astype(f)
    xpos, xneg = (xs > 0).astype(f), (xs < 0).astype(f)
    wpos, wneg = (w > 0).astype(f), (w < 0).astype(f)
    xzero, wzero = (xs == 0).astype(f), (w == 0).astype(f)
    nan = np.isnan(xs).any(axis=1)[:, None] | np.isnan(w).any(axis=1)[None, :]
    nan |= ((xpi + xni) @ wzero.T + xzero @ (wpi + wni).T) > 0
    pinf = xpi @ wpos.T + xni @ wneg.T + xpos @ wpi.T + xneg @ wni.T
    ninf = xpi @ wneg.T + xni @ wpos.T + xpos @ wni.T + xneg @ wpi.T
    if b is not None:
        nan |= np.isnan(b)[None, :]
        pinf = pinf + (b == np.inf)[None, :]
        ninf = ninf + (b == -np.inf)[None, :]
    nan |= (pinf > 0) & (ninf > 0)
    fill = np.where(nan, np.nan, np.where(pinf > 0, np.inf, -np.inf))
    return nan | (pinf > 0) | (ninf > 0), fill


def _all_negative_zero(xs: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """Where every term of the sum is -0 (so an exact zero sum is -0): each product is a zero
    with exactly one negative factor, and the bias, if any, is -0. An empty sum is +0."""
    f = np.float64
    xzero, wzero = (xs == 0).astype(f), (w == 0).astype(f)
    xsign, wsign = np.signbit(xs).astype(f), np.signbit(w).astype(f)
    count = (xzero * xsign) @ (1 - wsign).T + (xzero * (1 - xsign)) @ wsign.T
    count += ((1 - xzero) * xsign) @ (wzero * (1 - wsign)).T
    count += ((1 - xzero) * (1 - xsign)) @ (wzero * wsign).T
    out = count == xs.shape[1]
    if b is not None:
        return out & ((b == 0) & np.signbit(b))[None, :]
    return out & (xs.shape[1] > 0)
