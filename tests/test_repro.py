"""Reproduction programs: each one runs, reproduces its row's output bit for bit, cannot be made
to run code by a case file or a known-deviation reason, and gets a file name of its own."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conformance import report
from conformance.outputs import OutputStore
from conformance.registry import available_specs, load_class
from conformance.report import repro
from conformance.results import Row
from conformance.runner import RunOptions, RunResult, run

from .conftest import load_results, packaged_adapters
from .report_fixtures import synthetic

Cli = Callable[..., tuple[int, str, str]]
WriteCase = Callable[[str, str], Path]

# Every path of every framework gets a program from these cases: weight and kernel layouts,
# with and without bias, a 1-D input, narrow dtypes, sigmoid-only inputs, and inputs too large
# to write out (redrawn from the seed). The frameworks pass them, so the test marks every row
# failed to ask for its program (which then reproduces the row's ULP error, or says it has none).
CASES = {
    "weight-2d.yaml": """\
dtypes: [float32, bfloat16]
inputs: {x: [[1.5, -2.0, 0.375], [0.25, 3.0, -1.0]]}
params: {weight: [[0.5, -1.25, 2.0], [1.0, 0.125, -0.75]], bias: [0.5, -3.0]}
""",
    "kernel-1d.yaml": """\
dtypes: [float32, float16]
inputs: {x: [0.3, -1.7, 2.2]}
params: {kernel: [[0.5, -1.0], [0.25, 2.0], [-0.125, 1.5]]}
""",
    "z.yaml": """\
dtypes: [float32, bfloat16]
inputs: {z: [-20.0, -1.5, 0.0, 0.3, 7.25]}
""",
    "generated.yaml": """\
seed: 7
dtypes: [float64]
shapes: {batch: [20], in_features: 16, out_features: 2}
inputs: {x: {distribution: normal}}
params: {kernel: {distribution: uniform, low: -2, high: 2}, bias: {distribution: student_t}}
""",
}

DRIVER = """\
import json, runpy, sys
jobs, report = json.loads(sys.argv[1]), sys.argv[2]
codes = {}
for program, out in jobs:
    sys.argv = [program, out]
    try:
        runpy.run_path(program, run_name="__main__")
        codes[program] = 0
    except SystemExit as exc:
        codes[program] = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:
        codes[program] = repr(exc)
with open(report, "w") as fh:
    json.dump(codes, fh)
"""


def _run_programs(folder: Path, programs: dict[str, repro.Snippet]) -> dict[str, object]:
    """Run each program (one interpreter per framework, each program as ``__main__``) with an
    output file argument; returns the exit code per program name."""
    jobs = []
    for snip in programs.values():
        path = folder / snip.name
        path.write_text(snip.code, encoding="utf-8")
        jobs.append((str(path), str(path.with_suffix(".npy"))))
    codes_file = folder / "codes.json"
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(jobs), str(codes_file)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert codes_file.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    codes = json.loads(codes_file.read_text())
    return {Path(p).name: c for p, c in codes.items()}


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.shape == b.shape
        and np.array_equal(a, b, equal_nan=True)
        and np.array_equal(np.signbit(a), np.signbit(b))
    )


ADAPTERS = packaged_adapters()


def _installed() -> list[str]:
    return [n for n, spec in ADAPTERS.items() if load_class(spec)().unavailable() is None]


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    folder = tmp_path_factory.mktemp("cases")
    for name, text in CASES.items():
        (folder / name).write_text(text, encoding="utf-8")
    options = RunOptions(paths=[str(folder)], frameworks=_installed(), keep_inputs=True)
    return run(options), folder


@pytest.mark.slow
@pytest.mark.parametrize("framework", list(ADAPTERS))
def test_every_path_has_a_program_that_reproduces_its_row_bitwise(
    framework: str, failing_run: tuple[RunResult, Path], tmp_path: Path
) -> None:
    """The programs are eager and on the CPU, as these rows are; a compiled or CUDA row's
    program calls the path eagerly (it says so), so bitwise equality is not claimed there.
    A row that fails (a listed deviation, such as ONNX Runtime's sigmoid at z = -20) is
    reproduced with its error; a skipped one (a dtype without a kernel) has no output."""
    result, _ = failing_run
    cls = load_class(ADAPTERS[framework])
    if cls().unavailable():
        pytest.skip(f"{framework} is not installed")
    ran = [r for r in result.rows if r.framework == framework]
    assert ran and not [r for r in ran if r.status == "error"], [(r.path, r.message) for r in ran]
    assert {r.path for r in ran} == {p.name for p in cls.paths}  # every declared path ran
    assert all(r.message for r in ran if r.status == "skip")
    rows = [replace(r, status="fail") for r in ran if r.status != "skip"]  # every row's program
    assert rows
    programs = repro.programs(rows, result.outputs, result.adapters)
    assert programs.missing == {}
    assert len(programs.written) == len(rows)
    codes = _run_programs(tmp_path, programs.written)
    for r in rows:
        snip = programs.written[id(r)]
        # the row's own ULP error reproduced ("MISMATCH reproduced"), or none to reproduce
        assert codes[snip.name] == (1 if r.max_ulp else 0), (snip.name, codes[snip.name])
        got = np.load(tmp_path / snip.name.replace(".py", ".npy"))
        kept = result.outputs.output(r)
        assert kept is not None and not kept.sampled
        assert _same_bits(got, kept.values.reshape(kept.shape)), (snip.name, got, kept.values)


@pytest.mark.slow
def test_a_plugin_program_against_the_reference_with_a_large_output(
    write_case: WriteCase, tmp_path: Path
) -> None:
    """Judged against the exact reference (no expected values), an output too large to write
    out (the worst element is checked), a plugin's own reproduction code, and a path without
    one (said, not silent)."""
    path = write_case(
        "big-z.yaml",
        "seed: 1\nshapes: {batch: [300]}\ninputs: {z: {distribution: normal, std: 4}}\n",
    )
    result = run(
        RunOptions(
            paths=[str(path)], frameworks=["sloppy"], adapters=["tests.plugins:SloppyAdapter"]
        )
    )
    assert [r.status for r in result.rows] == ["fail", "fail"], [r.message for r in result.rows]
    with_code, without = result.rows
    programs = repro.programs(result.rows, result.outputs, result.adapters)
    assert programs.missing == {
        id(without): "sloppy declares no reproduction code for 'expit16, no program'"
    }
    snip = programs.written[id(with_code)]
    assert "rng = np.random.default_rng(1)" in snip.code and "IDX = " in snip.code
    codes = _run_programs(tmp_path, programs.written)
    assert codes[snip.name] == 1
    kept = result.outputs.output(with_code)
    assert kept is not None
    got = np.load(tmp_path / snip.name.replace(".py", ".npy"))
    assert _same_bits(got, kept.values.reshape(kept.shape))
    out = tmp_path / "report"
    report.write(result.rows, out, ["md", "html"], outputs=result.outputs, adapters=result.adapters)
    for name in ("parity.md", "parity.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert "No reproduction program: sloppy declares no reproduction code" in text


HOSTILE_NAME = 'rt"""+str(__import__("os").system("touch pwned"))+"""'
HOSTILE_REASON = (
    '"""+str(__import__("os").system("touch pwned2"))+"""\n'
    "import os; os.system('touch pwned3') # '''"
)


def _row_literal(code: str) -> dict[str, object]:
    """The program's ROW dict, read as a literal (what the program itself holds)."""
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ROW":
            value = ast.literal_eval(node.value)
            assert isinstance(value, dict)
            return value
    raise AssertionError("no ROW literal")


def test_hostile_case_file_names_and_known_reasons_stay_data(
    cli: Cli, write_case: WriteCase, tmp_path: Path
) -> None:
    # The loader refuses such a name as an id, so the case names its own; the file name still
    # reaches every row. NumPy turns -0 + -0 into +0 (a measured known deviation): real
    # failing rows.
    case = write_case(
        f"{HOSTILE_NAME}.yaml",
        "id: hostile-file\ndtypes: [float32, float64]\ninputs: {x: [[-0.0, -0.0]]}\n"
        "params: {weight: [[1.0, 1.0]]}\ntolerance: {affine: {signed_zeros: true}}\n",
    )
    known = tmp_path / "known.yaml"
    known.write_text(
        f"- framework: numpy\n  path: x @ W.T + b\n  dtype: float32\n"
        f"  reason: {json.dumps(HOSTILE_REASON)}\n",
        encoding="utf-8",
    )
    out = tmp_path / "report"
    code, _, err = cli(
        "run", str(case), "--framework", "numpy", "--known", str(known),
        "--report-dir", str(out), "--quiet",
    )  # fmt: skip
    assert code == 1, err
    rows = load_results(out)
    assert {r["case"] for r in rows} == {"hostile-file"}
    assert all(HOSTILE_NAME in r["file"] for r in rows)
    assert {r["status"] for r in rows} == {"known", "fail", "pass"}  # sigmoid(±0) passes
    programs = sorted((out / "repro").iterdir())
    assert len(programs) == 2
    recorded = [_row_literal(p.read_text(encoding="utf-8")) for p in programs]
    assert all(HOSTILE_NAME in str(r["file"]) for r in recorded)  # the payloads are data
    assert any(HOSTILE_REASON in str(r["message"]) for r in recorded), recorded
    run_dir = tmp_path / "cwd"
    run_dir.mkdir()
    for p in programs:
        done = subprocess.run(
            [sys.executable, str(p)], cwd=run_dir, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1 and "MISMATCH reproduced" in done.stdout, done.stderr
    created = [p.name for p in tmp_path.rglob("pwned*")] + [
        p.name for p in Path.cwd().glob("pwned*")
    ]
    assert created == []


def test_file_names_are_safe_and_distinct() -> None:
    def row(case: str, path: str = "x @ W.T + b") -> Row:
        return Row(case, "", "float32", "affine", "numpy", "", path, "eager", "cpu", "fail")

    cases = ["a/b", "a_b", "A/B", "a b", "-rf", "../../etc/passwd", "é/ü", "x" * 400, "x" * 401]
    taken: set[str] = set()
    names = [repro.unique_name(repro.file_name(row(c)), taken) for c in cases]
    assert len({n.casefold() for n in names}) == len(names), names
    for n in names:
        assert n.endswith(".py") and len(n) <= repro.NAME_LIMIT + 6, n
        stem = n[:-3]
        assert stem and all(c.isascii() and (c.isalnum() or c in "-_") for c in stem), n
        assert not stem.startswith(("-", ".")), n
    assert names[0] == "a_b__float32__affine__numpy__x_W_T_b__eager__cpu.py"
    assert names[1] == "a_b__float32__affine__numpy__x_W_T_b__eager__cpu-2.py"
    assert names[2] == "A_B__float32__affine__numpy__x_W_T_b__eager__cpu-3.py"


def test_programs_need_no_case_file_and_a_missing_one_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, store = synthetic(tmp_path / "cases")
    for f in (tmp_path / "cases").iterdir():
        f.unlink()  # the report reads what the run kept, never the case files
    monkeypatch.chdir(tmp_path)
    programs = repro.programs(rows, store, available_specs())
    assert len(programs.written) == 2  # the dense case's failing and erroring rows
    out = tmp_path / "no-store"
    report.write(rows, out, ["md", "html"], outputs=None)
    md = (out / "parity.md").read_text(encoding="utf-8")
    assert md.count("No reproduction program: no outputs.npz with the run") == 2
    assert not (out / "repro").exists()
    bare = OutputStore()
    missing = repro.programs(rows, bare, available_specs()).missing
    assert set(missing.values()) == {
        "the run kept no inputs for this case (its init draw failed, or an older run)"
    }
