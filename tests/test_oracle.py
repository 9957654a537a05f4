"""The reference, bit for bit, against the independent oracle of tests/oracle.py.

Every dtype, both ops; the sign of zero and nan count. Inputs come from hypothesis strategies
aimed at the edges (tests/oracle_strategies.py), from every float16 and bfloat16 bit pattern
(sigmoid) and from large random batches; the reference is called on whole arrays.

Two profiles. The quick one (the default, in CI) is derandomized and checks over 300,000
values; the count is printed at the end of the session. The long one draws fresh random
examples, many more of them, and larger batches; run it by hand with

    CONFORMANCE_ORACLE=long .venv/bin/pytest tests/test_oracle.py
"""

from __future__ import annotations

import math
import os
import struct
from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conformance.reference import reference
from tests import oracle as O
from tests import oracle_strategies as S

PROFILE = os.environ.get("CONFORMANCE_ORACLE", "quick")
if PROFILE not in ("quick", "long"):
    raise pytest.UsageError(f"CONFORMANCE_ORACLE must be quick or long, not {PROFILE!r}")
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
settings.register_profile(
    "oracle-quick",
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=_SLOW_OK,
    phases=_PHASES,
)
settings.register_profile(
    "oracle-long",
    max_examples=1000,
    deadline=None,
    suppress_health_check=_SLOW_OK,
    phases=_PHASES,
)
EDGES = settings(settings.get_profile(f"oracle-{PROFILE}"))
SCALE = 1 if PROFILE == "quick" else 10  # random batch sizes
MIN_CHECKED = 300_000

DTYPES = tuple(O.FORMATS)
CHECKED: Counter[tuple[str, str]] = Counter()


def summary() -> str:
    """One line: how many values were compared, per op and dtype."""
    total = sum(CHECKED.values())
    parts = ", ".join(f"{op} {dtype} {n:,}" for (op, dtype), n in sorted(CHECKED.items()))
    return f"oracle ({PROFILE}): {total:,} reference values compared bit for bit ({parts})"


# --------------------------------------------------------------------------------------------
# Comparison


def show(v: float, fmt: O.Format) -> str:
    """A value as a hex float, with its bit pattern in ``fmt`` when it is a value of ``fmt``."""
    if O.is_value(v, fmt):
        width = fmt.bits // 4
        return f"{float(v).hex()} (0x{O.value_bits(v, fmt):0{width}x})"
    return f"{float(v).hex()} (not a {fmt.name} value)"


def mismatches(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Flat indices where ``got`` and ``want`` differ in their float64 bits (nan equals nan)."""
    got = np.ascontiguousarray(got, dtype=np.float64).reshape(-1)
    want = np.ascontiguousarray(want, dtype=np.float64).reshape(-1)
    same = (O.float64_bits(got) == O.float64_bits(want)) | (np.isnan(got) & np.isnan(want))
    return np.flatnonzero(~same)


def assert_same(
    op: str, dtype: str, got: object, want: np.ndarray, where: Callable[[int], str]
) -> None:
    fmt = O.FORMATS[dtype]
    assert isinstance(got, np.ndarray) and got.dtype == np.float64, f"{op}: {type(got)}"
    assert got.shape == want.shape, f"{op} {dtype}: shape {got.shape}, expected {want.shape}"
    CHECKED[(op, dtype)] += want.size
    bad = mismatches(got, want)
    if bad.size:
        flat_got, flat_want = got.reshape(-1), want.reshape(-1)
        lines = [
            f"  {where(int(i))}: expected {show(flat_want[i], fmt)}, got {show(flat_got[i], fmt)}"
            for i in bad[:5]
        ]
        raise AssertionError(
            f"{op} {dtype}: {bad.size} of {want.size} values differ from the oracle\n"
            + "\n".join(lines)
        )


def check_dense(dtype: str, d: S.Dense) -> None:
    fmt = O.FORMATS[dtype]
    want_aff, want_sig = O.affine_and_sigmoid(d.x, d.w, d.b, fmt)
    ref = reference(dtype, x=d.x, weight=d.w, bias=d.b)
    n, m = d.w.shape[1], d.w.shape[0]
    xs = d.x.reshape(math.prod(d.x.shape[:-1]), n)

    def where(i: int) -> str:
        row, j = divmod(i, m)
        b = "None" if d.b is None else float(d.b[j]).hex()
        return (
            f"x={S._hexes(xs[row])} w={S._hexes(d.w[j])} b={b}"
            f" (element {tuple(int(k) for k in np.unravel_index(i, want_aff.shape))})"
        )

    assert_same("affine", dtype, ref.affine, want_aff, where)
    assert_same("sigmoid", dtype, ref.sigmoid, want_sig, where)


def check_sigmoid(dtype: str, z: np.ndarray) -> None:
    want = O.sigmoid_values(z, O.FORMATS[dtype])
    ref = reference(dtype, z=z)
    assert ref.affine is None
    flat = z.reshape(-1)
    assert_same("sigmoid", dtype, ref.sigmoid, want, lambda i: f"z={float(flat[i]).hex()}")


# --------------------------------------------------------------------------------------------
# The comparison itself catches what it must


def test_comparison_flags_zero_signs_nans_and_one_ulp() -> None:
    want = np.array([0.0, -0.0, 1.0, np.nan, np.inf])
    assert mismatches(want.copy(), want).size == 0
    assert mismatches(np.array([0.0, -0.0, 1.0, -np.nan, np.inf]), want).size == 0
    assert mismatches(np.array([-0.0, 0.0, 1.0, np.nan, np.inf]), want).tolist() == [0, 1]
    one_up = np.array([0.0, -0.0, 1.0 + 2.0**-52, 1.0, -np.inf])
    assert mismatches(one_up, want).tolist() == [2, 3, 4]
    with pytest.raises(AssertionError, match="0x3c01"):
        assert_same("affine", "float16", np.array([1.0 + 2.0**-10]), np.array([1.0]), str)


def test_dense_check_fails_on_a_wrong_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    real = reference

    def negated(*args: object, **kwargs: object) -> object:
        ref = real(*args, **kwargs)  # type: ignore[arg-type]
        ref.affine = -ref.affine  # type: ignore[operator]
        return ref

    monkeypatch.setattr(f"{__name__}.reference", negated)
    d = S.Dense(np.array([[0.0, 1.5]]), np.array([[1.0, 1.0]]), None)
    with pytest.raises(AssertionError, match="affine float32"):
        check_dense("float32", d)
    monkeypatch.undo()
    check_dense("float32", d)


# --------------------------------------------------------------------------------------------
# Edge classes, every dtype, both ops (hypothesis)


def _edge_test(strategy: Callable[[O.Format], st.SearchStrategy[S.Dense]]) -> Callable:
    @pytest.mark.parametrize("dtype", DTYPES)
    @EDGES
    @given(data=st.data())
    def test(dtype: str, data: st.DataObject) -> None:
        check_dense(dtype, data.draw(strategy(O.FORMATS[dtype]), label="dense"))

    return test


test_cancellation_of_huge_terms = _edge_test(S.cancellation)
test_sums_at_rounding_midpoints = _edge_test(S.midpoint)
test_sums_at_the_overflow_threshold = _edge_test(lambda f: S.midpoint(f, overflow=True))
test_overflow_and_cancellation_around_max = _edge_test(S.overflow_sums)
test_signed_zero_results = _edge_test(S.signed_zeros)
test_subnormal_inputs_and_outputs = _edge_test(S.subnormal_rows)
test_nan_and_inf_operands = _edge_test(S.specials)
test_batch_shapes = _edge_test(S.shapes)
test_no_inputs_gives_the_bias = _edge_test(lambda f: S.shapes(f, in_features=0))
test_sigmoid_of_exact_sums_near_half = _edge_test(S.sigmoid_midpoints)


@pytest.mark.parametrize("dtype", DTYPES)
@EDGES
@given(data=st.data())
def test_sigmoid_tails_and_midpoints(dtype: str, data: st.DataObject) -> None:
    check_sigmoid(dtype, data.draw(S.sigmoid_arrays(O.FORMATS[dtype]), label="z"))


# --------------------------------------------------------------------------------------------
# Known hard inputs, named


def h(text: str) -> float:
    return float.fromhex(text)


def b64(bits: int) -> float:
    """The float64 with these bits."""
    return struct.unpack("<d", bits.to_bytes(8, "little"))[0]


def _row(*values: float) -> np.ndarray:
    return np.array([values], dtype=np.float64)


BIG_BF16, MID_BF16 = 9.903520314283042e27, 414464344064.0
NAMED_DENSE = {
    "bfloat16 huge terms cancel to the bias": (
        "bfloat16",
        S.Dense(
            _row(BIG_BF16, MID_BF16, -BIG_BF16, -MID_BF16), _row(1, 1, 1, 1), np.array([-3.578125])
        ),
    ),
    "float64 huge terms cancel to a moderate sum": (
        "float64",
        S.Dense(_row(2.0**54, -520.5, -(2.0**54)), _row(1, 1, 1), None),
    ),
    "float64 exact path rounds once": (
        "float64",
        S.Dense(
            _row(b64(0xC025F5010E979621), b64(0x000AD5349872338C), b64(0xBFF0000000000000)),
            _row(b64(0x800939D7F31EFDBA), b64(0x3FE0000000000000), b64(0x80033E5F084E0CED)),
            None,
        ),
    ),
    "float32 huge terms cancel to 2**-23 (σ next to a midpoint)": (
        "float32",
        S.Dense(_row(2.0**100, 2.0**-23, -(2.0**100)), _row(1, 1, 1), None),
    ),
    "float64 exact path rounds once (normal range)": (
        "float64",
        S.Dense(_row(1, 1, 1), _row(1, 2.0**-53, 2.0**-107), None),
    ),
    "float64 just below the overflow threshold is max": (
        "float64",
        S.Dense(
            _row(S.fmt_max(O.FORMATS["float64"]), 2.0**971, -(2.0**-1074)), _row(1, 0.5, 0.5), None
        ),
    ),
    "float64 tiny negative sum is -0": (
        "float64",
        S.Dense(_row(-(2.0**-1074)), _row(2.0**-1074), np.array([-0.0])),
    ),
    "float64 tiny negative sum beside a zero input is -0": (
        "float64",
        S.Dense(_row(0.0, -0.5), _row(1, 2.0**-1074), None),
    ),
    "in_features = 0": (
        "float32",
        S.Dense(np.zeros((2, 0)), np.zeros((3, 0)), np.array([-0.0, 1.5, -np.inf])),
    ),
    "in_features = 0, no bias": ("bfloat16", S.Dense(np.zeros((1, 2, 0)), np.zeros((2, 0)), None)),
}


@pytest.mark.parametrize("name", NAMED_DENSE)
def test_named_dense_inputs(name: str) -> None:
    dtype, d = NAMED_DENSE[name]
    check_dense(dtype, d)


@pytest.mark.parametrize("dtype", DTYPES)
def test_named_sigmoid_inputs(dtype: str) -> None:
    z = [2.0**-52, -(2.0**-53), 2.0**-24, -(2.0**-12), -800.5, -1000.0, -1e300, 1e300, 36.7]
    fmt = O.FORMATS[dtype]
    check_sigmoid(dtype, np.array([S.rounded(v, fmt) for v in z]))


# --------------------------------------------------------------------------------------------
# Exhaustive and random volume


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_sigmoid_of_every_16_bit_pattern(dtype: str) -> None:
    check_sigmoid(dtype, O.all_values(O.FORMATS[dtype]))


def random_values(
    rng: np.random.Generator, fmt: O.Format, shape: tuple[int, ...], lo: int, hi: int
) -> np.ndarray:
    """Values with a random sign, binary exponent in [lo, hi] (clipped to the normal range)
    and significand; built from bit patterns."""
    lo, hi = max(lo, fmt.emin), min(hi, fmt.emax)
    sign = rng.integers(0, 2, shape, dtype=np.uint64) << np.uint64(fmt.bits - 1)
    exp = rng.integers(lo + fmt.emax, hi + fmt.emax + 1, shape).astype(np.uint64)
    mant = rng.integers(0, 1 << (fmt.p - 1), shape, dtype=np.uint64)
    return O.bits_to_values(sign | (exp << np.uint64(fmt.p - 1)) | mant, fmt)


def random_bits(rng: np.random.Generator, fmt: O.Format, shape: tuple[int, ...]) -> np.ndarray:
    """Any finite value (uniform over bit patterns, subnormals included)."""
    sign = rng.integers(0, 2, shape, dtype=np.uint64) << np.uint64(fmt.bits - 1)
    return O.bits_to_values(sign | rng.integers(0, fmt.max_bits + 1, shape, dtype=np.uint64), fmt)


def random_dense(kind: str, fmt: O.Format, seed: int) -> S.Dense:
    rng = np.random.default_rng(seed)
    rows, m = 768 * SCALE, 8
    if kind == "unit":  # ordinary data, n = 16
        x = random_values(rng, fmt, (rows, 16), -3, 3)
        w = random_values(rng, fmt, (m, 16), -3, 3)
        b = random_values(rng, fmt, (m,), -3, 3)
    elif kind == "wide":  # any finite value: overflow, underflow, huge cancellation
        x, w, b = random_bits(rng, fmt, (rows, 4)), random_bits(rng, fmt, (m, 4)), None
    elif kind == "tiny":  # subnormal inputs and outputs
        x = np.where(
            rng.random((rows, 6)) < 0.5,
            random_values(rng, fmt, (rows, 6), fmt.emin, fmt.emin + 2),
            O.bits_to_values(rng.integers(0, 1 << (fmt.p - 1), (rows, 6), dtype=np.uint64), fmt),
        )
        w = random_values(rng, fmt, (m, 6), -2, 2)
        b = O.bits_to_values(rng.integers(0, 1 << (fmt.p - 1), (m,), dtype=np.uint64), fmt)
    else:  # "cancel": pairs x·w and −x·w' with w' a few ulps from w
        half = random_values(rng, fmt, (rows, 4), -2, 2)
        x = np.concatenate([half, -half], axis=1)
        w0 = random_values(rng, fmt, (m, 4), -2, 2)
        w_bits = np.array([O.value_bits(v, fmt) for v in w0.reshape(-1)], dtype=np.uint64)
        step = rng.integers(0, 4, w_bits.shape).astype(np.uint64)
        w1 = O.bits_to_values(w_bits + step, fmt).reshape(w0.shape)
        w = np.concatenate([w0, w1], axis=1)
        b = None
    return S.Dense(x, w, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["unit", "wide", "tiny", "cancel"])
def test_random_batches(dtype: str, kind: str) -> None:
    seed = 1000 * DTYPES.index(dtype) + ["unit", "wide", "tiny", "cancel"].index(kind)
    check_dense(dtype, random_dense(kind, O.FORMATS[dtype], seed))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_random_batches(dtype: str) -> None:
    fmt = O.FORMATS[dtype]
    rng = np.random.default_rng(7 + DTYPES.index(dtype))
    size = 10_000 * SCALE
    check_sigmoid(dtype, random_bits(rng, fmt, (size,)))
    marks = S.sigmoid_landmarks(fmt)
    lo = math.floor(math.log2(-marks["underflow"])) + 1
    check_sigmoid(dtype, random_values(rng, fmt, (size,), -60, lo))


# --------------------------------------------------------------------------------------------


def test_at_least_300000_values_checked(request: pytest.FixtureRequest) -> None:
    """Runs last: with the whole module selected, the count covers every test above."""
    mine = {
        item.originalname
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.module is not None
        and item.module.__name__ == __name__
    }
    wanted = {name for name in globals() if name.startswith("test_")}
    if not wanted <= mine:
        pytest.skip("only part of the oracle module was selected")
    print(summary())
    assert sum(CHECKED.values()) >= MIN_CHECKED, summary()
    assert {op for op, _ in CHECKED} == {"affine", "sigmoid"}
    assert {dtype for _, dtype in CHECKED} == set(DTYPES)
