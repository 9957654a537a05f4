"""Authoring: new -> fill -> run, fill --check / refusal / --force, exact decimal texts, list,
schema file, tolerance ceiling."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import localcontext
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from ruamel.yaml import YAML

from conformance import dtypes as D
from conformance.casefile import dtype_text
from conformance.cases import BUNDLED_CASES
from conformance.commands.schema import schema_text
from conformance.literals import parse_literal
from conformance.loader import discover, load_cases
from conformance.schema import SCHEMA_FILE
from conformance.yamlio import number

from .conftest import KNOWN, packaged_adapters

Cli = Callable[..., tuple[int, str, str]]


def _read_back(text: str, dtype: str) -> tuple[float, list[bool]]:
    """The value ``text`` rounds to, and whether it admits (value, next below, next above)."""
    lit = parse_literal(number(text))
    dt = D.get(dtype)
    v = float(lit.rounded(dt))
    o = int(D.ordinal(np.array([v]), dt)[0])
    sign = -1 if np.signbit(v) else 1
    around = [v] + [_from_ordinal(o + d, dt, sign) for d in (-1, 1)]
    admits = [bool(lit.contains(np.array(a), dt)) for a in around]
    return v, admits


def _from_ordinal(o: int, dt: D.DType, sign: int) -> float:
    """The dtype value with ordinal ``o`` (a neighbour of a value of sign ``sign``)."""
    mag = abs(o)
    bits = np.array([mag], dtype=np.uint64).astype(dt.uint).view(dt.np)
    v = float(bits.astype(np.float64)[0])
    return -v if o < 0 or (o == 0 and sign < 0) else v


@pytest.mark.parametrize("dtype", D.DTYPE_NAMES)
def test_dtype_text_reads_back_exactly_and_tightly(dtype: str) -> None:
    dt = D.get(dtype)
    rng = np.random.default_rng(5)
    raw = np.concatenate(
        [
            rng.normal(size=200),
            rng.standard_t(1, size=100) * 1e3,
            [dt.min_subnormal, 3 * dt.min_subnormal, dt.tiny, dt.max, -dt.max, 1.0, 0.1, 1 - dt.u],
        ]
    )
    values = D.round_pair(raw, np.zeros_like(raw), dt)
    for v in values:
        text = dtype_text(float(v), dtype)
        got, admits = _read_back(text, dtype)
        assert got == v, (text, v)
        # The printed-output reading (± half a unit of the last digit of the decimal) admits
        # the value itself and neither neighbour: the pin names one value.
        assert admits[0] and not admits[1] and not admits[2], (text, v, admits)


def test_dtype_text_does_not_depend_on_the_decimal_context() -> None:
    values = [1024.5, 2.0**-24, 0.1, float(np.float32(0.38391373)), 5e-324, 1 - 2.0**-53]
    want = [dtype_text(v, "float64") for v in values]
    for prec in (3, 60):
        with localcontext() as ctx:
            ctx.prec = prec
            assert [dtype_text(v, "float64") for v in values] == want, prec


def test_dtype_text_short_and_special() -> None:
    assert dtype_text(float(np.float32(0.38391373)), "float32") == "0.38391373"
    assert dtype_text(1024.5, "float32") == "1024.5"
    assert dtype_text(0.5, "float64") == "0.5"
    assert dtype_text(-0.0, "float16") == "-0.0"
    assert dtype_text(math.inf, "bfloat16") == ".inf"
    assert dtype_text(math.nan, "float32") == ".nan"
    assert dtype_text(float(ml_dtypes.bfloat16(0.1)), "bfloat16") == "0.1001"
    # float64 0.1 needs 18 digits: "0.1" would read as 0.1 ± 0.05 (printed output).
    assert dtype_text(0.1, "float64") == "0.100000000000000006"


@pytest.mark.slow
def test_new_fill_run_keeps_comments(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("new", "demo", "--in", "3", "--out", "2")
    assert code == 0, out
    path = tmp_path / "cases" / "demo.yaml"
    scaffold = path.read_text()
    assert scaffold.startswith("# yaml-language-server: $schema=")
    code, out, _ = cli("fill", "cases/demo.yaml")
    assert code == 0, out
    filled = path.read_text()
    # Only additions: every scaffold line (comments included) is still there, in order.
    it = iter(filled.splitlines())
    assert all(any(line == f for f in it) for line in scaffold.splitlines())
    assert "expected:" in filled and filled.count("\n") > scaffold.count("\n")
    (case,), errors = load_cases([path])
    assert not errors and set(case.expected) == {"affine", "sigmoid"}
    code, out, err = cli(
        "run", "cases/demo.yaml", "--known", str(KNOWN), "--report-dir", str(tmp_path / "r"),
        "--quiet",
    )  # fmt: skip
    assert code == 0, out + err
    rows = json.loads((tmp_path / "r" / "results.json").read_text())
    assert {r["framework"] for r in rows} == set(packaged_adapters())
    # every row passes; a listed deviation (ONNX Runtime's sigmoid below z = -1.96) is known,
    # an optional framework that is not installed or lacks the dtype is skipped
    assert {r["status"] for r in rows} <= {"pass", "known", "skip"}
    assert "pass" in {r["status"] for r in rows}


def test_fill_check_and_idempotent(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cli(
        "new",
        "sub/k",
        "--in",
        "2",
        "--out",
        "3",
        "--layout",
        "kernel",
        "--dtype",
        "float16",
        "--dtype",
        "bfloat16",
        "--batch",
        "2",
        "2",
    )
    path = tmp_path / "cases" / "sub" / "k.yaml"
    assert "kernel:" in path.read_text()
    before = path.read_text()
    code, out, _ = cli("fill", "--check", str(path))
    assert code == 1 and "missing expected.affine.float16" in out
    assert path.read_text() == before  # --check writes nothing
    assert cli("fill", str(path))[0] == 0
    after = path.read_text()
    assert cli("fill", "--check", str(path))[0] == 0
    assert cli("fill", str(path))[0] == 0 and path.read_text() == after  # idempotent
    assert cli("validate", str(path))[0] == 0


SMALL = """\
# keep me
dtypes: [float32, float64]
inputs:
  x: [[1.5, 2.0]]   # inline comment
params:
  weight: [[1.0, 1.0]]
expected:
  affine:
    float32: [[3.5]]
    float64: [[WRONG]]
"""


@pytest.mark.parametrize("wrong", ["3.5000000000000004", "3.75"])
def test_fill_refuses_disagreeing_value_unless_force(
    cli: Cli, write_case: Callable[[str, str], Path], wrong: str
) -> None:
    # a pin is a check on the case file: even 1 ulp off the exact reference is an error
    path = write_case("c.yaml", SMALL.replace("WRONG", wrong))
    code, out, err = cli("fill", str(path))
    assert "ulp from the exact reference" in out and "kept (--force overwrites it)" in out
    assert code == 1, out + err
    assert "do not admit it" in err
    text = path.read_text()
    assert wrong in text and "sigmoid:" in text  # the missing op was still added
    code, out, _ = cli("fill", "--force", str(path))
    assert code == 0 and "replaced" in out
    text = path.read_text()
    assert wrong not in text and "# keep me" in text and "# inline comment" in text
    assert "float64: [[3.5]]" in text


def test_fill_splits_shared_list_on_force(cli: Cli, write_case: Callable[[str, str], Path]) -> None:
    path = write_case(
        "s.yaml",
        "dtypes: [float16, float64]\ninputs:\n  z: [1.0, -1.0]\nexpected:\n  sigmoid: [0.75, 0.25]\n",
    )
    code, out, _ = cli("fill", "--force", str(path))
    assert code == 0, out
    (case,), errors = load_cases([path])
    assert not errors and set(case.expected["sigmoid"]) == {"float16", "float64"}


def test_fill_large_output_not_inlined(cli: Cli, write_case: Callable[[str, str], Path]) -> None:
    path = write_case(
        "big.yaml",
        "shapes: {batch: [64], in_features: 4, out_features: 64}\n"
        "inputs:\n  x: {distribution: normal}\nparams:\n  weight: {distribution: normal}\n",
    )
    code, out, _ = cli("fill", str(path))
    assert code == 0 and "not filled" in out and "expected" not in path.read_text()


def test_list_shows_shapes_dtypes_tags(cli: Cli) -> None:
    code, out, _ = cli("list", "cases/sigmoid", "cases/layout", "--tag", "saturation")
    assert code == 0
    assert "sigmoid/saturate-one-float32" in out and "layout/" not in out
    code, out, _ = cli("list", "cases/layout/pair-2to3-kernel.yaml")
    assert "[2] x 2 -> 3" in out and "kernel" in out and "float32,float64" in out


def test_schema_file_is_generated_from_code(cli: Cli) -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text()
    code, out, _ = cli("schema", "--check", str(SCHEMA_FILE))
    assert code == 0, out


# Mistakes an editor must flag, as (case text, the JSON path the schema rejects).
SCHEMA_REJECTS = {
    "dtypes: [float8]\ninputs: {z: [1]}\n": ["dtypes", 0],
    "inputs: {z: [1]}\nexpect: {sigmoid: [0.7]}\n": [],
    "inputs: {x: [[1]]}\nparams: {wieght: [[1]]}\n": ["params"],
    "inputs: {z: {distribution: gamma}}\n": ["inputs", "z"],
    "inputs: {z: [1]}\ntolerance: {sigmoid: {ulp: -1}}\n": ["tolerance", "sigmoid"],
    "inputs: {z: [1, true]}\n": ["inputs", "z"],
}


def test_the_committed_schema_accepts_the_library_and_flags_mistakes() -> None:
    """The schema file as an editor's YAML language server uses it: plain YAML data checked
    with a JSON Schema validator, independently of the loader."""
    validator = Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    plain = YAML(typ="safe", pure=True)
    files = [p for p, _root in discover([BUNDLED_CASES])]
    assert len(files) >= 150
    for path in files:
        error = best_match(validator.iter_errors(plain.load(path.read_text(encoding="utf-8"))))
        assert error is None, f"{path}: {error.message if error else ''}"
    for text, where in SCHEMA_REJECTS.items():
        errors = list(validator.iter_errors(plain.load(text)))
        assert errors, text
        assert any(list(e.absolute_path)[: len(where)] == where for e in errors), (text, errors)


def test_validate_reports_loose_tolerance(cli: Cli, write_case: Callable[[str, str], Path]) -> None:
    path = write_case(
        "t.yaml",
        "dtypes: [float32]\ninputs:\n  z: [1.0]\ntolerance:\n  sigmoid: {float32: {rtol: 1.0e-3}}\n",
    )
    code, _, err = cli("validate", str(path))
    assert code == 2 and "tolerance.sigmoid.float32.rtol" in err and "ceiling" in err
