"""The oracle of tests/oracle.py checked by itself: hand-worked values and the correctly
rounded conversions of CPython (int/int division), NumPy (float64 to float32/float16 casts)
and ml_dtypes (float32 to bfloat16)."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import ml_dtypes
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import oracle as O

F16, BF16, F32, F64 = (O.FORMATS[n] for n in ("float16", "bfloat16", "float32", "float64"))
F64_MAX = float.fromhex("0x1.fffffffffffffp+1023")
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def h(text: str) -> float:
    return float.fromhex(text)


def b64(bits: int) -> float:
    """The float64 with these bits."""
    return struct.unpack("<d", bits.to_bytes(8, "little"))[0]


@pytest.mark.parametrize(
    ("fmt", "value", "bits"),
    [
        (F16, Fraction(65520), 0x7C00),  # max + ½ulp(max): the tie goes to inf
        (F16, Fraction(-65520), 0xFC00),
        (F16, Fraction(6551999, 100), 0x7BFF),  # just below the threshold: max
        (F16, Fraction(65504), 0x7BFF),
        (F16, Fraction(1, 2**25), 0x0000),  # half the smallest subnormal: tie to even 0
        (F16, Fraction(-1, 2**25), 0x8000),  # keeps its sign
        (F16, Fraction(1, 2**25) + Fraction(1, 2**60), 0x0001),
        (F16, Fraction(3, 2**25), 0x0002),  # 1.5 quanta: tie to even 2
        (F16, Fraction(2**11 - 1, 2**25), 0x0400),  # (1024 - ½) quanta: up to the smallest normal
        (F16, 1 + Fraction(1, 2**11), 0x3C00),  # tie below 1 + 2**-10: even is 1
        (F16, 1 + Fraction(3, 2**11), 0x3C02),
        (BF16, 1 + Fraction(1, 2**8), 0x3F80),
        (BF16, 1 + Fraction(3, 2**8), 0x3F82),
        (BF16, 1 + Fraction(1, 2**8) + Fraction(1, 2**100), 0x3F81),
        (BF16, Fraction(255 * 2**120 + 2**119), 0x7F80),  # bfloat16 overflow threshold
        (BF16, Fraction(255 * 2**120 + 2**119) - Fraction(1, 2**200), 0x7F7F),
        (F32, Fraction(1, 2**150), 0x00000000),
        (F32, Fraction(-1, 2**150), 0x80000000),
        (F32, Fraction(1, 2**150) + Fraction(1, 2**300), 0x00000001),
        (F64, Fraction(F64_MAX) + 2**970, 0x7FF0000000000000),
        (F64, Fraction(F64_MAX) + 2**970 - Fraction(1, 2**1075), 0x7FEFFFFFFFFFFFFF),
        (F64, Fraction(2**53 - 1, 2**1075), 0x0010000000000000),
        (F64, Fraction(1, 10), 0x3FB999999999999A),
        (F64, Fraction(-1, 3), 0xBFD5555555555555),
    ],
)
def test_rounding_hand_checked(fmt: O.Format, value: Fraction, bits: int) -> None:
    assert O.round_bits(value, fmt) == bits


def test_rounding_of_specials_and_zeros() -> None:
    for fmt in O.FORMATS.values():
        assert O.round_bits(0.0, fmt) == 0
        assert O.round_bits(-0.0, fmt) == fmt.sign_bit
        assert O.round_bits(math.inf, fmt) == fmt.inf_bits
        assert O.round_bits(-math.inf, fmt) == fmt.sign_bit | fmt.inf_bits
        assert math.isnan(O.bits_to_values([O.round_bits(math.nan, fmt)], fmt)[0])
        assert O.bits_to_values([fmt.max_bits], fmt)[0] == float(
            (2 - 2.0 ** (1 - fmt.p)) * 2.0**fmt.emax
        )


def test_dyadic_rounding_at_far_exponents() -> None:
    assert O.round_dyadic(False, 0, 0, F64) == 0
    assert O.round_dyadic(True, 0, 0, F64) == F64.sign_bit
    assert O.round_dyadic(False, 3, -5000, F64) == 0  # far below every subnormal
    assert O.round_dyadic(True, 3, -5000, F16) == F16.sign_bit
    assert O.round_dyadic(False, 1, 5000, BF16) == BF16.inf_bits
    assert O.round_dyadic(True, 1, 5000, F32) == F32.sign_bit | F32.inf_bits
    assert O.round_dyadic(False, 1, -1075, F64) == 0  # half the smallest subnormal: tie to 0
    assert O.round_dyadic(False, 3, -1076, F64) == 1  # 0.75 of it
    for man, exp in [(12345, -30), (7, 3), (2**60 + 1, -100)]:
        for fmt in O.FORMATS.values():
            assert O.round_dyadic(True, man, exp, fmt) == O.round_bits(
                -Fraction(man) * Fraction(2) ** exp, fmt
            )


def _f64_bits(v: float) -> int:
    return int.from_bytes(struct.pack("<d", v), "little")


@SETTINGS
@given(
    st.integers(-(2**2100), 2**2100).filter(bool),
    st.integers(1, 2**2200),
)
def test_float64_rounding_matches_cpython(num: int, den: int) -> None:
    try:
        want = _f64_bits(num / den)  # int / int is correctly rounded in CPython
    except OverflowError:
        want = _f64_bits(math.inf if num > 0 else -math.inf)
    assert O.round_ratio(num, den, F64) == want


@SETTINGS
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_narrow_rounding_matches_numpy_casts(v: float) -> None:
    exact = O.exact_value(v)
    with np.errstate(over="ignore"):
        want32 = int(np.array([v]).astype(np.float32).view(np.uint32)[0])
        want16 = int(np.array([v]).astype(np.float16).view(np.uint16)[0])
    assert O.round_bits(exact, F32) == want32
    assert O.round_bits(exact, F16) == want16


@SETTINGS
@given(st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_bfloat16_rounding_matches_ml_dtypes_from_float32(v: float) -> None:
    # ml_dtypes rounds float32 -> bfloat16 once (its float64 path goes through float32)
    with np.errstate(over="ignore"):
        want = int(np.array([v], np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)[0])
    assert O.round_bits(O.exact_value(v), BF16) == want


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        (F16, [65504.0, 2.0**-24, 1 + 2.0**-10, -0.0], [65520.0, 2.0**-25, 1 + 2.0**-11, 0.1]),
        (BF16, [1 + 2.0**-7, 2.0**-133, 255 * 2.0**120], [1 + 2.0**-8, 2.0**-134, 2.0**128]),
        (F32, [2.0**-149, 3.4028234663852886e38], [2.0**-150, 1 + 2.0**-24, 0.1]),
        (F64, [5e-324, F64_MAX, 0.1], []),
    ],
)
def test_representability(fmt: O.Format, good: list[float], bad: list[float]) -> None:
    assert all(O.is_value(v, fmt) for v in good)
    assert not any(O.is_value(v, fmt) for v in bad)
    for v in bad:
        with pytest.raises(ValueError, match="is not a"):
            O.exact_affine(np.array([[1.0]]), np.array([[v]]), None, fmt)


@pytest.mark.parametrize(
    ("fmt", "z", "bits"),
    [
        (F64, 2.0**-52, 0x3FE0000000000000),  # ½ + 2⁻⁵⁴ − z³/48: just below the midpoint
        (F64, -(2.0**-53), 0x3FE0000000000000),  # ½ − 2⁻⁵⁵ + |z|³/48: just above the midpoint
        (F64, 2.0**-51, 0x3FE0000000000001),  # just below ½ + 2⁻⁵³, a float64
        (F64, -(2.0**-52), 0x3FDFFFFFFFFFFFFF),  # just above ½ − 2⁻⁵⁴, a float64
        (F64, -1000.0, 0x0),  # e⁻¹⁰⁰⁰ is far below half the smallest subnormal
        (F64, -745.0, 0x1),  # e⁻⁷⁴⁵ = 0.57·2⁻¹⁰⁷⁴
        (F64, -746.0, 0x0),  # e⁻⁷⁴⁶ = 0.21·2⁻¹⁰⁷⁴
        (F64, 36.7, 0x3FEFFFFFFFFFFFFF),  # 1 − 1.14e-16 is nearer 1 − 2⁻⁵³ than 1
        (F64, 1000.0, 0x3FF0000000000000),
        (F16, 8.0, 0x3BFF),  # 0.999665 < 0.999756, the midpoint below 1
        (F16, 9.0, 0x3C00),  # 0.999877 rounds to 1
        (F16, -17.0, 0x0001),  # e⁻¹⁷ = 0.69 quanta of 2⁻²⁴
        (F16, -18.0, 0x0000),  # e⁻¹⁸ = 0.26 quanta
        (BF16, -100.0, 0x0000),
        (BF16, 0.0, 0x3F00),
        (F32, -0.0, 0x3F000000),
    ],
)
def test_sigmoid_hand_checked(fmt: O.Format, z: float, bits: int) -> None:
    assert O.sigmoid_bits(O.exact_value(z), fmt) == bits


def test_sigmoid_of_specials() -> None:
    for fmt in O.FORMATS.values():
        assert O.sigmoid_bits(math.inf, fmt) == O.round_bits(Fraction(1), fmt)
        assert O.sigmoid_bits(-math.inf, fmt) == 0  # +0
        assert math.isnan(O.sigmoid_values(np.array([math.nan]), fmt)[0])


def test_sigmoid_enclosure_is_tight_and_ordered() -> None:
    for z in (Fraction(-1000), Fraction(1, 3), Fraction(10**40), Fraction(-3, 2**1100)):
        lo, hi = O.sigmoid_enclosure(z, 200)
        lo_v, hi_v = mpmath.mpf(lo), mpmath.mpf(hi)
        assert 0 < lo_v <= hi_v
        assert hi_v - lo_v <= hi_v * mpmath.mpf(2) ** -190


@SETTINGS
@given(st.floats(-800, 800))
def test_sigmoid_matches_direct_mpmath_in_float64(z: float) -> None:
    # 600 bits decide the rounding unless σ(z) lies within 2**-540 of a midpoint
    with mpmath.workprec(600):
        want = float(1 / (1 + mpmath.exp(-mpmath.mpf(z))))
    assert O.sigmoid_bits(O.exact_value(z), F64) == _f64_bits(want)


def _affine(x: list[float], w: list[float], b: list[float] | None, fmt: O.Format) -> float:
    aff, _ = O.affine_and_sigmoid(
        np.array([x]), np.array([w]), None if b is None else np.array(b), fmt
    )
    return float(aff[0, 0])


def test_affine_hand_checked() -> None:
    x = [b64(0xC025F5010E979621), b64(0x000AD5349872338C), b64(0xBFF0000000000000)]
    w = [b64(0x800939D7F31EFDBA), b64(0x3FE0000000000000), b64(0x80033E5F084E0CED)]
    # the exact sum, worked with Fraction by hand and rounded by CPython
    exact = sum((Fraction(a) * Fraction(c) for a, c in zip(x, w, strict=True)), Fraction(0))
    assert _affine(x, w, None, F64) == float(exact) == b64(0x003B7CA1E0D7C20B)
    assert _affine([F64_MAX, 2.0**971, -(2.0**-1074)], [1, 0.5, 0.5], None, F64) == F64_MAX
    assert _affine([F64_MAX, 2.0**971], [1, 0.5], None, F64) == math.inf
    big, mid = 9.903520314283042e27, 414464344064.0
    assert _affine([big, mid, -big, -mid], [1, 1, 1, 1], [-3.578125], BF16) == -3.578125


def test_affine_signed_zeros_and_specials() -> None:
    def sign(v: float) -> float:
        return math.copysign(1.0, v)

    tiny = 2.0**-1074
    assert sign(_affine([-tiny], [tiny], [-0.0], F64)) == -1  # tiny negative sum → −0
    assert sign(_affine([-tiny], [tiny], [0.0], F64)) == -1  # the +0 bias adds nothing
    assert sign(_affine([tiny], [tiny], [-0.0], F64)) == 1
    assert sign(_affine([-0.0, 0.0], [1.0, -1.0], None, F32)) == -1  # −0 + −0
    assert sign(_affine([-0.0, 0.0], [1.0, -1.0], [0.0], F32)) == 1
    assert sign(_affine([0.0, 0.0], [-1.0, 1.0], None, F32)) == 1  # −0 + +0
    assert sign(_affine([1.5, -1.5], [-1.0, -1.0], None, F16)) == 1  # cancellation gives +0
    assert math.isnan(_affine([math.inf, 1.0], [0.0, 1.0], None, F16))  # inf·0
    assert math.isnan(_affine([math.inf, 1.0], [1.0, -math.inf], None, F16))  # inf − inf
    assert math.isnan(_affine([math.inf], [1.0], [-math.inf], F16))
    assert math.isnan(_affine([1.0], [1.0], [math.nan], BF16))
    assert _affine([math.inf, 1.0], [-1.0, 1.0], None, F16) == -math.inf
    assert _affine([65504.0, 65504.0], [1.0, 1.0], None, F16) == math.inf


def test_affine_with_no_inputs_is_the_bias() -> None:
    x = np.zeros((2, 0))
    w = np.zeros((3, 0))
    for fmt in O.FORMATS.values():
        aff, sig = O.affine_and_sigmoid(x, w, np.array([-0.0, 2.5, -math.inf]), fmt)
        assert (
            O.float64_bits(aff[0]).tolist()
            == O.float64_bits(np.array([-0.0, 2.5, -math.inf])).tolist()
        )
        assert sig[0, 2] == 0 and not math.copysign(1, sig[0, 2]) < 0
        aff, _ = O.affine_and_sigmoid(x, w, None, fmt)
        assert (O.float64_bits(aff) == 0).all()  # +0 everywhere
