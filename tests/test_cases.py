"""The case loader: YAML 1.2 numbers, exact literal rounding, and one located line per bad file."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from conformance import dtypes as D
from conformance.cases import BUNDLED_CASES
from conformance.distributions import Generated
from conformance.limits import MAX_ARRAY_ELEMENTS, MAX_MACS
from conformance.loader import load_cases

GOOD = """\
id: good
dtypes: [float32, float64]
inputs:
  x: [[1e16, 1.0e16, -0.0, .nan, "0x1.8p-2"]]
params:
  weight: [[1, 2, 3, 4, 5]]
"""


def test_yaml12_numbers_and_specials(write_case: Callable[[str, str], Path]) -> None:
    path = write_case("good.yaml", GOOD)
    cases, errors = load_cases([path])
    assert errors == []
    x = cases[0].arrays("float64").x
    assert x is not None
    assert x[0, 0] == 1e16 and x[0, 1] == 1e16
    assert x[0, 2] == 0.0 and np.signbit(x[0, 2])
    assert np.isnan(x[0, 3])
    assert x[0, 4] == 0.375


def test_decimal_literals_round_once_to_each_dtype(write_case: Callable[[str, str], Path]) -> None:
    # d = (float32 midpoint between 1 and 1+2**-23) + 2**-80: float64 rounds it onto the
    # midpoint, after which float32 rounds to even (1.0). Rounded once, it must go up.
    from decimal import Decimal, localcontext

    with localcontext() as ctx:  # never the process-wide context: other tests share it
        ctx.prec = 60
        d = Decimal(1) + Decimal(2) ** -24 + Decimal(2) ** -80
    path = write_case("dr.yaml", f'dtypes: [float32]\ninputs:\n  z: ["{d}"]\n')
    cases, errors = load_cases([path])
    assert errors == []
    z = cases[0].arrays("float32").z
    assert z is not None
    assert float(np.float32(float(d))) == 1.0  # the double-rounding trap
    assert z[0] == 1.0 + 2.0**-23


def test_generated_arrays_are_seeded_and_shared_across_dtypes(
    write_case: Callable[[str, str], Path],
) -> None:
    text = """\
seed: 5
dtypes: [float32, float64]
shapes: {batch: [3], in_features: 4, out_features: 2}
inputs: {x: {distribution: normal}}
params: {kernel: {distribution: uniform, low: -1, high: 1}, bias: {distribution: normal}}
"""
    case = load_cases([write_case("gen.yaml", text)])[0][0]
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4))
    k = rng.uniform(-1, 1, size=(4, 2))
    a64, a32 = case.arrays("float64"), case.arrays("float32")
    assert np.array_equal(a64.x, x)
    assert np.array_equal(a64.param, k) and a64.layout == "kernel"  # travels as written
    assert np.array_equal(a64.weight, k.T)  # the (out, in) view the reference takes
    assert np.array_equal(a32.x, x.astype(np.float32).astype(np.float64))
    assert a32.layout == "kernel"


@pytest.mark.parametrize(
    "spec, numpy_call",
    [
        # the defaults the schema documents, as NumPy calls written independently
        (Generated("uniform", {}), lambda rng, n: rng.uniform(-1.0, 1.0, size=n)),
        (Generated("normal", {}), lambda rng, n: rng.normal(0.0, 1.0, size=n)),
        (Generated("student_t", {}), lambda rng, n: rng.standard_t(3.0, size=n)),
        (Generated("uniform", {"low": 2, "high": 5}), lambda rng, n: rng.uniform(2, 5, size=n)),
        (Generated("normal", {"mean": -1, "std": 1e-3}), lambda rng, n: rng.normal(-1, 1e-3, n)),
        (
            Generated("student_t", {"df": 1, "scale": 0.25}),
            lambda rng, n: rng.standard_t(1, size=n) * 0.25,
        ),
        (Generated("normal", {"std": math.inf}), lambda rng, n: rng.normal(0, math.inf, size=n)),
    ],
)
def test_a_draw_and_its_source_text_give_the_same_bits(
    spec: Generated, numpy_call: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]
) -> None:
    shape = (3, 5)
    drawn = spec.draw(np.random.default_rng(9), shape)
    assert drawn.shape == shape and drawn.dtype == np.float64
    want = numpy_call(np.random.default_rng(9), shape)
    assert np.array_equal(drawn, want, equal_nan=True)
    # the text a reproduction program embeds, evaluated with a fresh generator of the same seed
    text = spec.source(shape, rng="g")
    again = eval(text, {"__builtins__": {"float": float}, "g": np.random.default_rng(9)})
    assert np.array_equal(again, drawn, equal_nan=True), text


BAD_FILES = {
    "syntax.yaml": ("inputs:\n  x: [[1, 2]\nparams: {}\n", 3, "yaml"),
    "unknown-key.yaml": (
        "inputs:\n  x: [[1]]\nparams:\n  weight: [[1]]\n  wieght: [[2]]\n",
        5,  # the unknown key's own line
        "params",
    ),
    "no-params.yaml": ("inputs:\n  x: [[1]]\n", 1, "params"),
    "both-layouts.yaml": (
        "inputs:\n  x: [[1]]\nparams:\n  weight: [[1]]\n  kernel: [[1]]\n",
        3,
        "params",
    ),
    "shape.yaml": ("inputs:\n  x: [[1, 2, 3]]\nparams:\n  weight: [[1, 2]]\n", 4, "params.weight"),
    "ragged.yaml": ("inputs:\n  x: [[1, 2], [3]]\nparams:\n  weight: [[1, 2]]\n", 2, "inputs.x"),
    "not-number.yaml": ('inputs:\n  x: [[1, "abc"]]\nparams:\n  weight: [[1, 2]]\n', 2, "inputs.x"),
    "bad-dtype.yaml": ("dtypes: [float8]\ninputs:\n  z: [1]\n", 1, "dtypes[0]"),
    "bias-shape.yaml": (
        "inputs:\n  x: [[1]]\nparams:\n  weight: [[1]]\n  bias: [1, 2]\n",
        5,
        "params.bias",
    ),
    "needs-shapes.yaml": (
        "inputs:\n  x: {distribution: normal}\nparams:\n  weight: [[1]]\n",
        2,
        "inputs.x",
    ),
    "expected-shape.yaml": (
        "inputs:\n  x: [[1]]\nparams:\n  weight: [[1]]\nexpected:\n  affine: [1, 2]\n",
        6,
        "expected.affine",
    ),
    "huge.yaml": (
        "shapes: {batch: [100000], in_features: 100000, out_features: 100000}\n"
        "inputs: {x: {distribution: normal}}\nparams: {weight: {distribution: normal}}\n",
        1,
        "shapes",
    ),
    "not-a-mapping.yaml": ("- 1\n- 2\n", 1, ""),
    "sigmoid-params.yaml": ("inputs:\n  z: [1]\nparams:\n  weight: [[1]]\n", 3, "params"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_gives_one_located_line(name: str, write_case: Callable[[str, str], Path]) -> None:
    text, line, field = BAD_FILES[name]
    path = write_case(name, text)
    cases, errors = load_cases([path])
    assert cases == []
    assert len(errors) == 1
    msg = str(errors[0])
    assert "\n" not in msg
    assert msg.startswith(f"{errors[0].file}:{line}: "), msg
    assert errors[0].field == field or (field == "" and errors[0].field == ""), msg
    assert name in msg


def test_bad_files_do_not_stop_good_ones(write_case: Callable[[str, str], Path]) -> None:
    write_case("a-good.yaml", GOOD)
    write_case("b-bad.yaml", "inputs: [")
    write_case("c-good.yaml", GOOD.replace("id: good", "id: good2"))
    cases, errors = load_cases([write_case("a-good.yaml", GOOD).parent])
    assert [c.id for c in cases] == ["good", "good2"]
    assert len(errors) == 1 and "b-bad.yaml" in str(errors[0])


def test_duplicate_ids_are_reported(write_case: Callable[[str, str], Path]) -> None:
    write_case("one.yaml", GOOD)
    path = write_case("two.yaml", GOOD)
    cases, errors = load_cases([path.parent])
    assert len(cases) == 1
    assert len(errors) == 1 and "duplicate id 'good'" in str(errors[0])


def test_default_id_is_path_under_cases_root(write_case: Callable[[str, str], Path]) -> None:
    path = write_case("sub/dir/thing.yaml", GOOD.replace("id: good\n", ""))
    cases, _ = load_cases([path])
    assert cases[0].id == "sub/dir/thing"


def _sized(batch: int, n_in: int, n_out: int) -> str:
    return (
        f"shapes: {{batch: [{batch}], in_features: {n_in}, out_features: {n_out}}}\n"
        "inputs: {x: {distribution: normal}}\nparams: {weight: {distribution: normal}}\n"
    )


@pytest.mark.parametrize(
    "name, dims, error",
    [
        # every array within MAX_ARRAY_ELEMENTS (2**24 each), multiply-adds 2**36 > MAX_MACS
        ("macs", (1 << 12, 1 << 12, 1 << 12), "multiply-adds exceed the limit"),
        # x alone one value over MAX_ARRAY_ELEMENTS, multiply-adds far under MAX_MACS
        ("elements", (MAX_ARRAY_ELEMENTS + 1, 1, 1), f"the limit is {MAX_ARRAY_ELEMENTS}"),
    ],
)
def test_size_limits_reject_a_case_before_anything_is_allocated(
    write_case: Callable[[str, str], Path], name: str, dims: tuple[int, int, int], error: str
) -> None:
    path = write_case(f"{name}.yaml", _sized(*dims))
    tracemalloc.start()
    try:
        cases, errors = load_cases([path])
        arrays = [c.arrays("float32") for c in cases]  # what a run would do next
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not arrays and len(errors) == 1 and error in str(errors[0]), errors
    assert peak < 8 << 20, f"{peak} bytes traced: the case was drawn before the size check"


def test_a_case_at_the_multiply_add_limit_loads() -> None:
    big = BUNDLED_CASES / "shapes" / "large-64x4096x1024.yaml"
    (case,), errors = load_cases([big])
    assert not errors
    assert math.prod(case.batch) * case.in_features * case.out_features == MAX_MACS


def test_printed_expected_values_carry_half_a_unit(write_case: Callable[[str, str], Path]) -> None:
    text = GOOD + "expected:\n  affine: [[0.1]]\n  sigmoid: [[0.5]]\n"
    text = text.replace('[[1e16, 1.0e16, -0.0, .nan, "0x1.8p-2"]]', "[[1, 2, 3, 4, 5]]")
    case = load_cases([write_case("e.yaml", text)], check=False)[0][0]  # parsing only
    aff = case.expected["affine"]["*"]
    # 0.1 is not a float32 value: it admits every value within 0.05 of the decimal 0.1
    f32 = np.float32
    assert aff.contains(np.array([[float(f32(0.1))]]), D.FLOAT32).all()
    assert aff.contains(np.array([[float(f32(0.1499))]]), D.FLOAT32).all()
    assert not aff.contains(np.array([[float(f32(0.1501))]]), D.FLOAT32).any()
    assert not aff.contains(np.array([[float(f32(0.0499))]]), D.FLOAT32).any()
    sig = case.expected["sigmoid"]["*"]  # 0.5 is exact: it admits 0.5 only
    assert sig.contains(np.array([[0.5]]), D.FLOAT32).all()
    assert not sig.contains(np.array([[float(np.nextafter(f32(0.5), f32(1)))]]), D.FLOAT32).any()


def test_printed_interval_is_centred_on_the_decimal() -> None:
    from conformance.literals import parse_literal

    # "1.01" in float16 is 1.01 ± 0.005: 1.0048828125 lies below 1.005 and is not admitted,
    # although it is within half a unit of the float16 value nearest 1.01 (1.009765625).
    lit = parse_literal(["1.01"])
    assert not lit.contains(np.array([1.0048828125]), D.FLOAT16).any()
    assert lit.contains(np.array([1.0146484375]), D.FLOAT16).all()
    # float64 pins are decided exactly (the half unit of 5e-324 underflows float64)
    tiny = parse_literal(["5e-324"])
    assert tiny.contains(np.array([5e-324]), D.FLOAT64).all()
    assert not tiny.contains(np.array([0.0]), D.FLOAT64).any()
