"""Fuzzing the loader: random YAML-ish text and random mutations of valid case files must give
loaded cases or CaseErrors (one short escaped line each), never another exception.

Quick and deterministic in CI (150 examples per test);
``CONFORMANCE_FUZZ_EXAMPLES=5000 pytest tests/test_loader_fuzz.py`` runs the long profile by hand
with fresh random examples.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.escape import visible
from conformance.loader import load_cases

from .conftest import CASES

LONG = os.environ.get("CONFORMANCE_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(LONG or 150),
    derandomize=not LONG,  # CI: the same examples every run; by hand: new ones each time
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
SEEDS = [
    CASES / "semantics" / "torch-linear-2x1-seed0.yaml",
    CASES / "layout" / "core-kernel-3x5.yaml",
    CASES / "generated" / "uniform-7x61x13.yaml",
    CASES / "sigmoid" / "around-zero-float16.yaml",
    CASES / "init" / "torch-linear-4x3-seed42.yaml",
]
TEXTS = [p.read_text() for p in SEEDS]
TOKENS = [
    "inputs:", "x:", "z:", "params:", "weight:", "kernel:", "bias:", "init: torch", "expected:",
    "affine:", "sigmoid:", "tolerance:", "ulp:", "rtol:", "atol:", "shapes:", "batch:",
    "in_features:", "out_features:", "dtypes:", "seed:", "id:", "description:", "tags:",
    "{distribution: uniform, low: -1, high: 1}", "{distribution: normal}", "student_t", "df:",
    "std:", "mean:", "float16", "bfloat16", "float32", "float64", "[", "]", "{", "}", ",", ":",
    "- ", "? ", "|", ">", "&a ", "*a", "&b ", "*b", "!foo ", "!!python/tuple ", "!!binary ",
    "!<tag:yaml.org,2002:str> ", "%TAG ! tag:x,2024:\n", "%YAML 1.1\n", "%YAML 1.2\n", "---\n",
    "...\n", "<<: ", "#", "'", '"', "\\", "1", "0", "-0.0", "0.5", "1e400", "-1e-400",
    "1e100000000", "9" * 1200, ".nan", ".inf", "-.inf", '"0x1.8p-2"', '"0x1p99999"', "null",
    "~", "true", "2024-01-01", "0o17", "0x1F", "1_000", "é", "\u202e", "\ufeff", "\t", "\x00",
    "\x07", "\x1b[31m", "\x85", "\r", "\n", "\n  ", "\n    ", " ",
]  # fmt: skip

NUMBER = re.compile(r"-?[0-9][0-9.eE+-]*")
_DIR = Path(tempfile.mkdtemp(prefix="conformance-fuzz-"))


def _check(data: bytes, name: str = "fuzz.yaml") -> None:
    path = _DIR / "cases" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    cases, errors = load_cases([path])  # anything but CaseError propagates and fails the test
    assert len(cases) + len(errors) >= 1
    for e in errors:
        text = str(e)
        assert visible(text) == text and len(text) <= 600, text
    for case in cases:
        if math.prod(case.input_shape) <= 1 << 16 and case.init is None:
            for dtype in case.dtypes:
                case.arrays(dtype)


yamlish = st.lists(st.sampled_from(TOKENS) | st.text(max_size=8), max_size=60).map("".join)


@FUZZ
@given(yamlish)
def test_yamlish_text(text: str) -> None:
    _check(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _check(data)


KEYS = [
    "inputs", "x", "z", "params", "weight", "kernel", "bias", "init", "expected", "affine",
    "sigmoid", "tolerance", "ulp", "rtol", "atol", "shapes", "batch", "in_features",
    "out_features", "dtypes", "seed", "id", "description", "tags", "distribution", "low", "high",
    "mean", "std", "df", "scale", "float16", "bfloat16", "float32", "float64", "<<", "other",
]  # fmt: skip
SCALARS = [
    "0", "1", "2", "-1", "0.5", "-0.0", "1e16", "1e400", "-1e-400", "1e100000000", "9" * 1200,
    ".nan", ".inf", "-.inf", '"0x1.8p-2"', '"0x1p99999"', "null", "true", "uniform", "normal",
    "student_t", "torch", "keras", "float16", "float32", "bfloat16", "float64", '"a/../b"',
    "'..'", '"\\e[31m"', '"\\0"', "2024-01-01", "0o17", "0x1F",
]  # fmt: skip
TAGS = ["!foo", "!!python/tuple", "!!binary", "!!str", "!", "!<tag:yaml.org,2002:seq>"]


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Flow-style YAML over the case-file keys, with anchors, aliases (also to an enclosing
    collection), tags and numbers of every kind."""
    anchors: list[str] = []
    scalar = st.sampled_from(SCALARS) | st.floats().map(repr) | st.integers(-9, 9).map(str)

    def node(depth: int) -> str:
        if anchors and draw(st.integers(0, 7)) == 0:
            return "*" + draw(st.sampled_from(anchors))
        prefix = draw(st.sampled_from(TAGS)) + " " if draw(st.integers(0, 15)) == 0 else ""
        if draw(st.integers(0, 5)) == 0:
            anchors.append(f"a{len(anchors)}")
            prefix += f"&{anchors[-1]} "
        kind = draw(st.integers(0, 2)) if depth < 8 else 0
        if kind == 0:
            return prefix + draw(scalar)
        if kind == 1:
            return (
                prefix
                + "["
                + ", ".join(node(depth + 1) for _ in range(draw(st.integers(0, 4))))
                + "]"
            )
        keys = draw(st.lists(st.sampled_from(KEYS), max_size=4, unique=True))
        return prefix + "{" + ", ".join(f"{k}: {node(depth + 1)}" for k in keys) + "}"

    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=6, unique=True))
    return "".join(f"{k}: {node(1)}\n" for k in keys)


@FUZZ
@given(documents())
def test_yaml_documents(text: str) -> None:
    _check(text.encode("utf-8", "surrogatepass"))


EDGE_NUMBERS = [
    "0", "-0.0", "1", "0.5", "1e16", "1e400", "-1e400", "1e-400", "5e-324", "65504", "65520",
    "3.4028235e38", "1.7976931348623157e308", ".nan", ".inf", "-.inf", '"0x1.8p-2"',
    '"0x1p-1074"', '"0x1p99999"', "1e1100", "1e-1100", "0.1000000000000000055511151231257827",
]  # fmt: skip
PARAMS = {"uniform": ["low", "high"], "normal": ["mean", "std"], "student_t": ["df", "scale"]}


@st.composite
def case_like(draw: st.DrawFn) -> str:
    """Case files, mostly well formed, whose numbers, shapes, distribution parameters, dtypes,
    expected values and tolerances are drawn from the edges (and now and then made wrong)."""
    rare = st.integers(0, 9).map(lambda i: i == 0)  # true one time in ten
    number = st.one_of(
        st.sampled_from(EDGE_NUMBERS),
        st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
        st.integers(-4, 4).map(str),
    )

    def array(dims: list[int]) -> str:
        if not dims:
            return draw(number)
        return "[" + ", ".join(array(dims[1:]) for _ in range(dims[0])) + "]"

    def source(dims: list[int]) -> str:
        if draw(st.booleans()):
            return array(dims)
        name = draw(st.sampled_from(sorted(PARAMS)))
        pool = [k for ks in PARAMS.values() for k in ks] if draw(rare) else PARAMS[name]
        keys = draw(st.lists(st.sampled_from(pool), max_size=2, unique=True))
        value = number if draw(rare) else st.floats(0, 4).map(repr)
        return (
            "{" + ", ".join([f"distribution: {name}"] + [f"{k}: {draw(value)}" for k in keys]) + "}"
        )

    batch = draw(st.lists(st.integers(0 if draw(rare) else 1, 3), min_size=1, max_size=3))
    n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    names = ["float16", "bfloat16", "float32", "float64"]
    dtypes = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    dense = draw(st.booleans())
    lines = [f"dtypes: [{', '.join(dtypes)}]", f"seed: {draw(st.integers(0, 5))}"]
    dims = ", ".join(map(str, batch))
    lines.append(f"shapes: {{batch: [{dims}], in_features: {n_in}, out_features: {n_out}}}")
    if dense:
        lines.append(f"inputs:\n  x: {source([*batch, n_in])}")
        layout = draw(st.sampled_from(["weight", "kernel"]))
        shape = [n_out, n_in] if layout == "weight" else [n_in, n_out]
        lines.append(f"params:\n  {layout}: {source(shape)}")
        if draw(st.booleans()):
            lines.append(f"  bias: {source([n_out])}")
    else:
        lines.append(f"inputs:\n  z: {source(batch)}")
    ops = ["affine", "sigmoid"] if dense else ["sigmoid"]
    if draw(st.booleans()):
        op = draw(st.sampled_from(ops))
        out = array([*batch, n_out] if dense else batch)
        per = draw(st.sampled_from(["*", *dtypes] + (names if draw(rare) else [])))
        lines.append(f"expected:\n  {op}: " + (out if per == "*" else f"{{{per}: {out}}}"))
    if draw(st.booleans()):
        op = draw(st.sampled_from(ops))
        key = draw(st.sampled_from(["ulp", "rtol", "atol"]))
        value = draw(number if draw(rare) else st.sampled_from(["0", "1", "4", "1.0e-7"]))
        lines.append(f"tolerance:\n  {op}: {{{key}: {value}}}")
    return "\n".join(lines) + "\n"


@FUZZ
@given(case_like())
def test_case_like_documents(text: str) -> None:
    _check(text.encode())


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["number", "insert", "delete", "replace", "line", "truncate"]))
        numbers = list(NUMBER.finditer(text))
        if kind == "number" and numbers:
            m = draw(st.sampled_from(numbers))
            text = text[: m.start()] + draw(st.sampled_from(SCALARS)) + text[m.end() :]
        elif kind == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)) :]
        elif kind == "replace":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos + 1 :]
        elif kind == "line":  # repeat or drop a whole line
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(0, max(0, len(lines) - 1)))
            if lines:
                lines[i : i + 1] = [] if draw(st.booleans()) else [lines[i]] * 2
            text = "".join(lines)
        else:
            text = text[:pos]
    return text.encode("utf-8", "surrogatepass")


@FUZZ
@given(mutated())
def test_mutated_case_files(data: bytes) -> None:
    _check(data)


@FUZZ
@given(st.text(min_size=1, max_size=30).filter(lambda s: "/" not in s and "\x00" not in s))
def test_any_file_name(name: str) -> None:
    try:
        (_DIR / "names").mkdir(exist_ok=True)
        path = _DIR / "names" / f"{name}.yaml"
        path.write_text("inputs:\n  z: [0.5]\n")
    except (OSError, UnicodeEncodeError):
        return  # a name this file system refuses is not the loader's to handle
    try:
        cases, errors = load_cases([path])
        assert len(cases) + len(errors) == 1
        assert all(visible(str(e)) == str(e) for e in errors)
    finally:
        path.unlink()
