"""Hypothesis strategies for reference inputs at the edges of each format.

Every value drawn is a value of the format (built from bit patterns or from exact powers of
two, or rounded by the oracle's own rounding); no strategy relies on the code under test.
Each dense strategy returns a :class:`Dense` problem, whose repr prints hex floats so that a
falsifying example is a ready reproducer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import numpy as np
from hypothesis import strategies as st

from tests import oracle as O


def _hexes(a: np.ndarray) -> str:
    return "[" + ", ".join(float(v).hex() for v in np.asarray(a).reshape(-1)) + "]"


@dataclass(frozen=True)
class Dense:
    """One reference call: x ``(..., n)``, weight ``(m, n)``, bias ``(m,)`` or None."""

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(repr(self))  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        bias = "None" if self.b is None else _hexes(self.b)
        return (
            f"Dense(x{self.x.shape}={_hexes(self.x)}, w{self.w.shape}={_hexes(self.w)}, b={bias})"
        )


def value_of_bits(bits: int, fmt: O.Format) -> float:
    return float(O.bits_to_values([bits], fmt)[0])


def rounded(v: float | Fraction, fmt: O.Format) -> float:
    """The oracle's rounding of a real into ``fmt`` (a value of ``fmt``)."""
    return value_of_bits(O.round_bits(O.exact_value(v) if isinstance(v, float) else v, fmt), fmt)


def pow2(k: int) -> float:
    return math.ldexp(1.0, k)


def fmt_max(fmt: O.Format) -> float:
    return value_of_bits(fmt.max_bits, fmt)


def spacing_exp(v: float, fmt: O.Format) -> int:
    """Exponent of the gap between ``|v|`` and the next larger magnitude (v finite)."""
    e = math.frexp(abs(v))[1] - 1 if v else fmt.emin
    return max(e, fmt.emin) - fmt.p + 1


# --------------------------------------------------------------------------------------------
# Values


def signed(magnitudes: st.SearchStrategy[float]) -> st.SearchStrategy[float]:
    return st.tuples(magnitudes, st.booleans()).map(lambda t: -t[0] if t[1] else t[0])


@cache
def finite_bits(fmt: O.Format) -> st.SearchStrategy[float]:
    """Any finite value: a uniformly drawn bit pattern below inf, and a sign."""
    return signed(st.integers(0, fmt.max_bits).map(lambda b: value_of_bits(b, fmt)))


@cache
def powers(fmt: O.Format, lo: int | None = None, hi: int | None = None) -> st.SearchStrategy[float]:
    lo = fmt.quantum_exp if lo is None else max(lo, fmt.quantum_exp)
    hi = fmt.emax if hi is None else min(hi, fmt.emax)
    return st.integers(lo, hi).map(pow2)


@cache
def with_exponent(fmt: O.Format, lo: int, hi: int) -> st.SearchStrategy[float]:
    """Normal values with a binary exponent in [lo, hi] and any significand, either sign."""
    lo, hi = max(lo, fmt.emin), min(hi, fmt.emax)
    mant = st.integers(0, (1 << (fmt.p - 1)) - 1)
    return signed(
        st.tuples(st.integers(lo, hi), mant).map(
            lambda t: math.ldexp(1 + t[1] / (1 << (fmt.p - 1)), t[0])
        )
    )


@cache
def subnormals(fmt: O.Format) -> st.SearchStrategy[float]:
    return signed(st.integers(1, (1 << (fmt.p - 1)) - 1).map(lambda m: m * pow2(fmt.quantum_exp)))


@cache
def finite(fmt: O.Format) -> st.SearchStrategy[float]:
    """Finite values with the edges weighted in: zeros, small integers, powers of two,
    subnormals, values near the maximum, moderate values, any bit pattern."""
    return st.one_of(
        st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0]),
        with_exponent(fmt, -4, 4),
        signed(powers(fmt)),
        subnormals(fmt),
        signed(st.integers(0, 3).map(lambda k: value_of_bits(fmt.max_bits - k, fmt))),
        finite_bits(fmt),
    )


@cache
def moderate(fmt: O.Format) -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from([0.0, 1.0, -1.0, 0.5]), with_exponent(fmt, -3, 3))


SIGNS = st.sampled_from([1.0, -1.0])
ZEROS = st.sampled_from([0.0, -0.0])
NUDGES = st.sampled_from([0, 1, -1])
ZERO_BIASES = st.sampled_from([None, 0.0, -0.0])
BATCH_SHAPES = st.lists(st.integers(0, 3), min_size=0, max_size=3)


@cache
def ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    """``st.integers(lo, hi)``, built once: the strategies here are cached because hypothesis
    validates every strategy object it meets, which dominates the cost of a draw otherwise."""
    return st.integers(lo, hi)


@cache
def permutations(n: int) -> st.SearchStrategy[list[int]]:
    return st.permutations(range(n))


@cache
def lists(values: st.SearchStrategy[float], size: int) -> st.SearchStrategy[list[float]]:
    return st.lists(values, min_size=size, max_size=size)


@cache
def biases(values: st.SearchStrategy[float], m: int) -> st.SearchStrategy[np.ndarray | None]:
    return st.none() | lists(values, m).map(np.array)


@cache
def _cancel_weights(fmt: O.Format) -> st.SearchStrategy[float]:
    return st.one_of(SIGNS, moderate(fmt), finite(fmt))


@cache
def _cancel_small(fmt: O.Format) -> st.SearchStrategy[float]:
    return st.one_of(moderate(fmt), with_exponent(fmt, -12, 12))


@cache
def _cancel_bias(fmt: O.Format) -> st.SearchStrategy[float | None]:
    tails = st.floats(-760.0, 60.0).map(lambda v: rounded(v, fmt))  # σ far from ½
    return st.none() | moderate(fmt) | tails | finite(fmt)


@cache
def _tiny_values(fmt: O.Format) -> st.SearchStrategy[float]:
    return st.one_of(subnormals(fmt), with_exponent(fmt, fmt.emin, fmt.emin + 3))


@cache
def _tiny_weights(fmt: O.Format) -> st.SearchStrategy[float]:
    return st.one_of(moderate(fmt), _tiny_values(fmt))


@cache
def _special_pool(fmt: O.Format) -> st.SearchStrategy[float]:
    return st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0]), finite(fmt)
    )


@cache
def _sigmoid_lists(fmt: O.Format) -> st.SearchStrategy[list[float]]:
    return st.lists(sigmoid_inputs(fmt), min_size=0, max_size=48)


def _product_of_powers(draw: st.DrawFn, fmt: O.Format, k: int) -> tuple[float, float]:
    """Two values of ``fmt`` whose product is exactly 2**k (2·quantum_exp <= k <= 2·emax)."""
    lo = max(fmt.quantum_exp, k - fmt.emax)
    hi = min(fmt.emax, k - fmt.quantum_exp)
    a = draw(ints(lo, hi))
    return pow2(a), pow2(k - a)


def _scaled_pair(draw: st.DrawFn, fmt: O.Format, x: float, w: float) -> tuple[float, float]:
    """``(x·2**-s, w·2**s)`` when both stay exact in ``fmt`` (same product), else ``(x, w)``."""
    s = draw(ints(-6, 6))
    try:
        xs, ws = math.ldexp(x, -s), math.ldexp(w, s)
    except OverflowError:
        return x, w
    exact = (
        Fraction(xs) * Fraction(ws) == Fraction(x) * Fraction(w)
        if math.isfinite(xs * 0 + ws * 0)
        else False
    )
    if exact and O.is_value(xs, fmt) and O.is_value(ws, fmt):
        return xs, ws
    return x, w


def _assemble(
    draw: st.DrawFn, fmt: O.Format, terms: list[tuple[float, float]], bias: float | None
) -> Dense:
    """Shuffle the terms; a second output negates every weight and the bias (sum −S)."""
    order = draw(permutations(len(terms)))
    xs = [terms[i][0] for i in order]
    ws = [terms[i][1] for i in order]
    x = np.array([xs], dtype=np.float64).reshape(1, len(xs))
    w = np.array([ws, [-v for v in ws]], dtype=np.float64).reshape(2, len(ws))
    b = None if bias is None else np.array([bias, -bias])
    return Dense(x, w, b)


# --------------------------------------------------------------------------------------------
# Dense problems aimed at one edge each


@st.composite
def cancellation(draw: st.DrawFn, fmt: O.Format) -> Dense:
    """Large products that cancel exactly, at one or several magnitudes, leaving small terms
    and a bias (partial sums may overflow the format, or float64, on the way)."""
    terms: list[tuple[float, float]] = []
    for _ in range(draw(ints(1, 3))):
        near_max = draw(st.booleans())
        top = draw(ints(fmt.emax - 12, fmt.emax) if near_max else ints(0, fmt.emax))
        a = draw(with_exponent(fmt, top, top))
        c = draw(_cancel_weights(fmt))
        terms.append(_scaled_pair(draw, fmt, a, c))
        if draw(st.booleans()):
            terms.append(_scaled_pair(draw, fmt, -a, c))
        else:
            terms.append(_scaled_pair(draw, fmt, a, -c))
    for _ in range(draw(ints(0, 3))):
        terms.append((draw(_cancel_small(fmt)), draw(moderate(fmt))))
    bias = draw(_cancel_bias(fmt))
    return _assemble(draw, fmt, terms, bias)


@st.composite
def midpoint(draw: st.DrawFn, fmt: O.Format, overflow: bool = False) -> Dense:
    """A sum that is exactly a rounding midpoint of ``fmt``, or one nudged off it by a
    term far below the format's precision. With ``overflow``, the midpoint between the
    largest finite value and the next power of two (the overflow threshold)."""
    if overflow:
        v = draw(SIGNS) * fmt_max(fmt)
        up = v > 0
    else:
        v = draw(finite(fmt))
        up = draw(st.booleans())
    k = spacing_exp(v, fmt)
    if (
        (v < 0) == up
        and v != 0
        and abs(v) == pow2(math.frexp(abs(v))[1] - 1)
        and k > fmt.quantum_exp
    ):
        k -= 1  # moving towards zero from a power of two: the gap below is half as wide
    mid = Fraction(v) + (Fraction(2) ** (k - 1) if up else -(Fraction(2) ** (k - 1)))
    terms: list[tuple[float, float]] = []
    bias: float | None = None
    if draw(st.booleans()):
        bias = v
    else:
        terms.append(_scaled_pair(draw, fmt, v, 1.0))
    a, c = _product_of_powers(draw, fmt, k - 1)
    terms.append((a if up else -a, c))
    nudge = draw(NUDGES)
    if nudge:
        j = draw(ints(2 * fmt.quantum_exp, k - 2))
        a, c = _product_of_powers(draw, fmt, j)
        terms.append((nudge * a, c))
        mid += nudge * Fraction(2) ** j
    for _ in range(draw(ints(0, 2))):  # noise that cancels exactly
        a, c = draw(finite(fmt)), draw(moderate(fmt))
        terms += [(a, c), (-a, c)]
    dense = _assemble(draw, fmt, terms, bias)
    total = sum(
        (Fraction(p) * Fraction(q) for p, q in zip(dense.x[0], dense.w[0], strict=True)),
        Fraction(0) if bias is None else Fraction(bias),
    )
    assert total == mid, "the strategy must build the midpoint it claims"
    return dense


@st.composite
def overflow_sums(draw: st.DrawFn, fmt: O.Format) -> Dense:
    """Sums at and around max + ½ulp(max): the threshold itself (inf), just below (max),
    far above with cancellation back into range, and max + max − max."""
    big = fmt_max(fmt)
    top = pow2(fmt.emax)
    half = pow2(fmt.emax - fmt.p)  # ½ulp(max)
    s = draw(SIGNS)
    form = draw(ints(0, 3))
    if form == 0:  # 2**emax + 2**emax − ½ulp = the threshold
        terms = [(top, s), (top, s), (-half, s)]
    elif form == 1:  # max + max − max
        terms = [(big, s), (big, s), (-big, s)]
    elif form == 2:  # max + ½ulp(max) as a product
        a, c = _product_of_powers(draw, fmt, fmt.emax - fmt.p)
        terms = [(big, s), (a * s, c)]
    else:  # exact sum > 2·max, then cancelled down to the threshold ± a few half-ulps
        terms = [(big, s), (big, s), (big, -s), (half * draw(ints(0, 3)), s)]
    if draw(st.booleans()):
        j = draw(ints(2 * fmt.quantum_exp, fmt.emax - fmt.p - 1))
        a, c = _product_of_powers(draw, fmt, j)
        terms.append((draw(SIGNS) * a, c))
    return _assemble(draw, fmt, terms, None)


@st.composite
def signed_zeros(draw: st.DrawFn, fmt: O.Format) -> Dense:
    """Sums of ±0 products, exact cancellations and tiny products that round to zero (or to
    the smallest subnormal), with a ±0 bias or none."""
    terms: list[tuple[float, float]] = []
    for _ in range(draw(ints(0, 4))):
        zero = draw(ZEROS)
        other = draw(finite(fmt))
        terms.append((zero, other) if draw(st.booleans()) else (other, zero))
    if draw(st.booleans()):
        a, c = draw(finite(fmt)), draw(finite(fmt))
        terms += [(a, c), (-a, c)]
    if draw(st.booleans()):  # |product| around half the smallest subnormal, or far below
        j = draw(ints(2 * fmt.quantum_exp, fmt.quantum_exp))
        a, c = _product_of_powers(draw, fmt, j)
        terms.append((draw(SIGNS) * a, c))
    bias = draw(ZERO_BIASES)
    if not terms:
        terms.append((-0.0, 1.0))
    return _assemble(draw, fmt, terms, bias)


@st.composite
def subnormal_rows(draw: st.DrawFn, fmt: O.Format) -> Dense:
    """Subnormal inputs and sums landing in or near the subnormal range."""
    small = _tiny_values(fmt)
    n = draw(ints(1, 5))
    rows = draw(ints(1, 3))
    m = draw(ints(1, 3))
    x = np.array(draw(lists(small, rows * n))).reshape(rows, n)
    w = np.array(draw(lists(_tiny_weights(fmt), m * n))).reshape(m, n)
    b = draw(biases(small, m))
    return Dense(x, w, b)


@st.composite
def specials(draw: st.DrawFn, fmt: O.Format) -> Dense:
    """nan and ±inf among zeros and finite values: inf·0, +inf + −inf, nan in x, w or b."""
    pool = _special_pool(fmt)
    n = draw(ints(1, 4))
    rows = draw(ints(1, 3))
    m = draw(ints(1, 3))
    x = np.array(draw(lists(pool, rows * n))).reshape(rows, n)
    w = np.array(draw(lists(pool, m * n))).reshape(m, n)
    b = draw(biases(pool, m))
    return Dense(x, w, b)


@st.composite
def shapes(draw: st.DrawFn, fmt: O.Format, in_features: int | None = None) -> Dense:
    """Extra batch dimensions and empty batches; ``in_features`` fixes n (0: no inputs)."""
    batch = tuple(draw(BATCH_SHAPES))
    n = draw(ints(1, 4)) if in_features is None else in_features
    m = draw(ints(1, 3))
    size = math.prod(batch) * n
    x = np.array(draw(lists(finite(fmt), size)), dtype=np.float64).reshape((*batch, n))
    w = np.array(draw(lists(finite(fmt), m * n)), dtype=np.float64)
    b = draw(biases(finite(fmt), m))
    return Dense(x, w.reshape(m, n), b)


@st.composite
def sigmoid_midpoints(draw: st.DrawFn, fmt: O.Format) -> Dense:
    """Affine sums ``±2**-k`` nudged by a far smaller term: σ lies next to ½ ± 2**-(k+2), a
    rounding midpoint of σ for k near p, and the sigmoid must use the exact sum."""
    k = draw(ints(1, -fmt.quantum_exp))
    z = draw(SIGNS) * pow2(-k)
    terms = [(z, 1.0)]
    if draw(st.booleans()):
        j = draw(ints(2 * fmt.quantum_exp, -k - 2))
        a, c = _product_of_powers(draw, fmt, j)
        terms.append((draw(SIGNS) * a, c))
    return _assemble(draw, fmt, terms, draw(ZERO_BIASES))


# --------------------------------------------------------------------------------------------
# Sigmoid-only inputs


def sigmoid_landmarks(fmt: O.Format) -> dict[str, float]:
    """Where σ changes character in ``fmt``: its output underflows to 0, leaves the subnormal
    range, and saturates to 1."""
    ln2 = math.log(2)
    return {
        "underflow": (fmt.quantum_exp - 1) * ln2,  # σ(z) ≈ e^z = half the smallest subnormal
        "normal": fmt.emin * ln2,
        "saturate": (fmt.p + 1) * ln2,  # 1 − e^-z = 1 − 2**-(p+1), the midpoint below 1
    }


@cache
def near(fmt: O.Format, centre: float, radius: float) -> st.SearchStrategy[float]:
    return st.floats(centre - radius, centre + radius).map(lambda v: rounded(v, fmt))


@cache
def sigmoid_inputs(fmt: O.Format) -> st.SearchStrategy[float]:
    marks = sigmoid_landmarks(fmt)
    small_k = st.integers(1, -fmt.quantum_exp)
    steps = st.integers(-4, 4)
    return st.one_of(
        near(fmt, marks["underflow"], 4),
        near(fmt, marks["normal"], 2),
        near(fmt, marks["saturate"], 3),
        near(fmt, -marks["saturate"], 3),
        # far negative tail: below −800 in float64, down to the format's largest magnitudes
        st.floats(-fmt_max(fmt), marks["underflow"] - 4).map(lambda v: rounded(v, fmt)),
        st.floats(-1e4, -800.0).map(lambda v: rounded(v, fmt)),
        # ±2**-k and its neighbours: σ next to the midpoints around ½
        st.tuples(small_k, steps, st.booleans()).map(
            lambda t: rounded(
                (-1 if t[2] else 1) * Fraction(2) ** -t[0] * (1 + Fraction(t[1], 1 << (fmt.p - 1))),
                fmt,
            )
        ),
        finite(fmt),
        st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0]),
    )


@st.composite
def sigmoid_arrays(draw: st.DrawFn, fmt: O.Format) -> np.ndarray:
    """Arrays of sigmoid inputs in one of a few shapes (1-D, 2-D, empty)."""
    values = draw(_sigmoid_lists(fmt))
    z = np.array(values, dtype=np.float64)
    if len(values) % 4 == 0 and draw(st.booleans()):
        z = z.reshape(-1, 4) if values else z.reshape(0, 3)
    return z
