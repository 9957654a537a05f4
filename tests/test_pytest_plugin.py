"""The pytest plugin, through real pytest sessions (pytester: in this process, or a pytest
subprocess where the process itself is the point): collection, ids, markers, outcomes against
``conformance run``, failure reports, baselines, shards, xdist."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

import conformance.pytest_plugin.session
import conformance.report.repro  # noqa: F401
from conformance import shards
from conformance.cli import build_parser, main
from conformance.loader import load_cases
from conformance.registry import select
from conformance.rowplan import CaseFacts, RunShape, unit_rows

from .conftest import CASES, ROOT, load_results

# pytester's in-process sessions drop the modules first imported inside them; a module kept
# from before would then meet new copies of its imports (two Progress classes, ...): import
# the suite here, once (the plugin, the runner, every command, the reports)
build_parser()

KNOWN = ROOT / "known-deviations.yaml"
# NumPy's -0 sums are known deviations (with the known file) or failures (without); a grid
# and an all-dtypes case pass; the empty batch and an init case whose owner may be missing
PICK = [
    "semantics/negative-zero.yaml",
    "semantics/core-no-bias.yaml",
    "sigmoid/grid-float32.yaml",
    "dtypes/core-small-all-dtypes.yaml",
    "shapes/empty-batch-2d.yaml",
]


@pytest.fixture
def cases(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of some bundled cases under ``cases/`` in pytester's folder (ids as bundled);
    ``tests.plugins`` importable there for --conformance-adapter."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    for rel in PICK:
        dst = pytester.path / "cases" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CASES / rel, dst)
    return pytester.path / "cases"


# the hypothesis plugin imports hypothesis in every session's summary: not needed here
QUIET = ("-p", "no:hypothesispytest")


def run_in(pytester: pytest.Pytester, *args: str | Path) -> pytest.RunResult:
    """A pytest session in this process (the suite's modules stay imported)."""
    return pytester.runpytest(*args, *QUIET)


def run_sub(pytester: pytest.Pytester, *args: str | Path) -> pytest.RunResult:
    """A pytest session in a process of its own."""
    return pytester.runpytest_subprocess(*args, *QUIET)


def predicted(
    paths: list[str | Path], frameworks: list[str], extra: list[str] | None = None
) -> list[str]:
    """Node ids rowplan predicts (relative to the case folders' parent)."""
    loaded, errors = load_cases(paths, check=False)
    assert not errors
    chosen, known = select(frameworks, extra or [])
    shape = RunShape.of(chosen, known, ["eager"], ["cpu"])
    ids = []
    for c in loaded:
        f = CaseFacts.of(c)
        for d in f.dtypes:
            for r in unit_rows(f, d, shape):
                name = r.pin if r.op == "init" else r.path
                ids.append(f"cases/{c.id}.yaml::{d}::{r.op}::{r.framework}::{name}::{r.mode}")
    return ids


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line and not line.startswith(" ")]


def test_plugin_is_off_without_the_option(pytester: pytest.Pytester, cases: Path) -> None:
    result = run_sub(pytester, "--collect-only", "-q", str(cases))
    assert "::" not in result.stdout.str()  # no case file collected
    # importing the plugin costs only pytest: nothing of the suite, no NumPy
    code = (
        "import sys, conformance.pytest_plugin as p\n"
        "print(sorted(m for m in sys.modules if m.startswith(('numpy', 'conformance.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['conformance.pytest_plugin']"


def test_collect_only_names_one_item_per_row_and_imports_no_framework(
    pytester: pytest.Pytester, cases: Path
) -> None:
    args = ["--conformance", "--collect-only", "-q", "cases", *QUIET]
    code = (
        "import sys, pytest\n"
        f"rc = pytest.main({args!r})\n"
        "heavy = ('torch', 'tensorflow', 'jax', 'keras', 'pandas', 'matplotlib')\n"
        "print('IMPORTED', sorted(m for m in heavy if m in sys.modules), rc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=pytester.path
    )
    lines = out.stdout.splitlines()
    assert lines[-1] == "IMPORTED [] 0", out.stdout[-2000:] + out.stderr[-2000:]
    ids = [s for s in lines if "::" in s]
    assert sorted(ids) == sorted(predicted([cases], [])) and len(set(ids)) == len(ids)
    assert (
        "cases/semantics/negative-zero.yaml::float32::sigmoid::torch::"
        "nn.Sequential(nn.Linear, nn.Sigmoid)::eager" in ids
    )


def test_a_node_id_given_selects_that_item(pytester: pytest.Pytester, cases: Path) -> None:
    nodeid = "cases/semantics/negative-zero.yaml::float16::affine::numpy::x @ W.T + b::eager"
    result = run_in(pytester, "--conformance", "--collect-only", "-q", nodeid)
    assert collected(result) == [nodeid]
    part = "cases/sigmoid/grid-float32.yaml::float32::sigmoid::torch"
    result = run_in(pytester, "--conformance", "--collect-only", "-q", part)
    assert collected(result) == [f"{part}::torch.sigmoid::eager", f"{part}::nn.Sigmoid::eager"]


def test_markers_and_keywords_select(pytester: pytest.Pytester, cases: Path) -> None:
    all_ids = predicted([cases], [])
    result = run_in(
        pytester, "--conformance", "--collect-only", "-q", str(cases), "-m", "numpy and float16"
    )
    assert sorted(collected(result)) == sorted(
        i for i in all_ids if "::float16::" in i and "::numpy::" in i
    )
    result = run_in(
        pytester,
        "--conformance",
        "--collect-only",
        "-q",
        str(cases),
        "-m",
        "init or (sigmoid and jax)",
    )
    assert sorted(collected(result)) == sorted(i for i in all_ids if "::sigmoid::jax::" in i)
    result = run_in(
        pytester, "--conformance", "--collect-only", "-q", str(cases), "-m", "eager and semantics"
    )  # "semantics": the case tag
    assert sorted(collected(result)) == sorted(i for i in all_ids if "/semantics/" in i)


def test_a_tag_that_names_a_marker_with_a_meaning_is_only_a_keyword(
    pytester: pytest.Pytester, cases: Path
) -> None:
    text = (cases / "sigmoid" / "grid-float32.yaml").read_text()
    path = cases / "sigmoid" / "grid-float32.yaml"
    path.write_text(
        text.replace("tags: [", "tags: [skip, xfail, 'a b', ").replace("tags:\n", "tags:\n- skip\n")
    )
    assert "skip" in path.read_text()
    result = run_in(
        pytester,
        "--conformance",
        str(path),
        "--conformance-framework",
        "numpy",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1)  # the tag "skip" did not skip it
    result = run_in(
        pytester,
        "--conformance",
        str(path),
        "--conformance-framework",
        "numpy",
        "--collect-only",
        "-q",
        "-k",
        "skip",
    )
    assert len(collected(result)) == 1


def test_broken_files_are_collection_errors_the_rest_collects(
    pytester: pytest.Pytester, cases: Path
) -> None:
    (cases / "bad").mkdir()
    (cases / "bad" / "syntax.yaml").write_text("id: x\ninputs: {x: [[1, 2]]\n")
    (cases / "bad" / "schema.yaml").write_text(
        "inputs:\n  x: [[1, 2]]\nparams:\n  weight: [[1, 2]]\n  colour: red\n"
    )
    dup = (cases / "semantics" / "negative-zero.yaml").read_text()
    (cases / "bad" / "dup.yaml").write_text("id: semantics/negative-zero\n" + dup.split("\n", 1)[1])
    result = run_in(pytester, "--conformance", "--collect-only", "-q", str(cases))
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED  # collection errors stop the session
    assert "cases/bad/schema.yaml:5: params: unknown key 'colour'" in out
    assert "cases/bad/syntax.yaml:" in out
    assert "duplicate id 'semantics/negative-zero'" in out
    assert "Traceback" not in out and "def collect" not in out  # one line each, no traceback
    result = run_in(
        pytester,
        "--conformance",
        "--collect-only",
        "-q",
        str(cases),
        "--continue-on-collection-errors",
    )
    assert len(collected(result)) == len(
        predicted([cases / n for n in ("semantics", "sigmoid", "dtypes", "shapes")], [])
    )


def outcome_counts(rows: list[dict]) -> dict[str, int]:
    """A run's status counts as pytest outcomes."""
    c = Counter(r["status"] for r in rows)
    return {
        "passed": c["pass"],
        "failed": c["fail"] + c["error"],
        "xfailed": c["known"],
        "skipped": c["skip"],
    }


def test_outcomes_are_the_statuses_of_conformance_run(
    pytester: pytest.Pytester, cases: Path, tmp_path: Path
) -> None:
    """pass/fail/known/skip of `conformance run` = passed/failed/xfailed/skipped items."""
    args = [
        "--framework", "numpy", "--framework", "missing", "--framework", "oneminus",
        "--adapter", "tests.plugins:MissingAdapter",
        "--adapter", "tests.wrong_adapters:OneMinusSigmoidAdapter",
        "--known", str(KNOWN),
    ]  # fmt: skip
    assert main(["run", str(cases), *args, "--report-dir", str(tmp_path), "--quiet"]) == 1
    counts = outcome_counts(load_results(tmp_path))
    assert all(counts.values())  # every outcome occurs
    plugin_args = [a.replace("--", "--conformance-", 1) if a.startswith("--") else a for a in args]
    result = run_in(pytester, "--conformance", str(cases), *plugin_args, "-q")
    result.assert_outcomes(**counts)
    out = result.stdout.str()
    # a known deviation is an xfail carrying its reason; a missing framework a skip with why
    assert "NumPy's matmul starts every dot product from +0" in out
    assert "no_such_framework_xyz is not installed" in out


def test_failing_item_shows_the_error_table_and_its_program(
    pytester: pytest.Pytester, cases: Path
) -> None:
    report = pytester.path / "report"
    result = run_in(
        pytester,
        "--conformance", str(cases / "sigmoid"), "--conformance-framework", "oneminus",
        "--conformance-adapter", "tests.wrong_adapters:OneMinusSigmoidAdapter",
        "--conformance-report-dir", str(report), "--junitxml", "junit.xml",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    for want in (
        "sigmoid/grid-float32 [float32 sigmoid] oneminus sigmoid eager cpu",
        "160 of 161 elements outside tolerance",
        "max ULP 2.42376e+08",
        "of the tolerance used",
        "tolerance ",
        "worst      at [0]: got 1.0, want 2.06115369216775e-09",
        "input      z[0] = -20.0",
        "case file  cases/sigmoid/grid-float32.yaml",
    ):
        assert want in out, want
    assert "oneminus declares no reproduction code" in out  # why there is no program
    # a path with a program: NumPy failing on -0 (no known-deviations file for these paths)
    result = run_in(
        pytester,
        "--conformance", "cases/semantics/negative-zero.yaml::float32::affine",
        "--conformance-framework", "numpy", "--conformance-report-dir", str(report),
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    program = (
        report / "repro" / "semantics_negative-zero__float32__affine__numpy__x_W_T_b__eager__cpu.py"
    )
    assert f"repro      {program} (written when the session ends)" in result.stdout.str()
    assert program.exists()
    rerun = subprocess.run([sys.executable, str(program)], capture_output=True, text=True)
    assert rerun.returncode == 1  # the program still shows the wrong-signed zero
    rows = load_results(report)
    assert [r["status"] for r in rows] == ["fail"]
    tree = ET.parse(pytester.path / "junit.xml")  # pytest's own JUnit XML carries the table
    failure = tree.find(".//failure")
    assert failure is not None and "max ULP" in (failure.text or "")


def test_a_baseline_regression_fails_only_the_item_that_regressed(
    pytester: pytest.Pytester, cases: Path
) -> None:
    base_dir = pytester.path / "base"
    target = ["--conformance", str(cases / "semantics"), "--conformance-framework", "numpy"]
    run_in(pytester, *target, "--conformance-report-dir", str(base_dir))
    rows = load_results(base_dir)
    failing = [r for r in rows if r["status"] == "fail"]
    assert len(failing) > 2
    regressed = failing[0]  # in the baseline it passed: now it is a regression
    regressed.update(status="pass", wrong_sign_zeros=0, message="")
    (base_dir / "results.json").write_text(json.dumps(rows))
    result = run_in(
        pytester, *target, "--conformance-baseline", str(base_dir / "results.json"), "-rfx"
    )
    result.assert_outcomes(failed=1, xfailed=len(failing) - 1, passed=len(rows) - len(failing))
    out = result.stdout.str()
    assert "regression against the baseline: pass → fail" in out
    assert f"FAILED cases/{regressed['case']}.yaml::{regressed['dtype']}::affine::numpy" in out
    assert "fail in the baseline too (not a regression)" in out


def test_shards_split_the_items_as_conformance_run_does(
    pytester: pytest.Pytester, cases: Path
) -> None:
    parts = []
    for k in (1, 2, 3):
        result = run_in(
            pytester,
            "--conformance",
            str(cases),
            "--collect-only",
            "-q",
            "--conformance-shard",
            f"{k}/3",
        )
        parts.append(collected(result))
    all_ids = predicted([cases], [])
    assert sorted(i for part in parts for i in part) == sorted(all_ids) and all(parts)
    loaded, _ = load_cases([cases], check=False)
    chosen, known = select([], [])
    plan = shards.plan(
        [CaseFacts.of(c) for c in loaded], [], 3, RunShape.of(chosen, known, ["eager"], ["cpu"])
    )
    for k, ids in enumerate(parts, 1):
        units = {(i.split(".yaml::")[0][len("cases/") :], i.split("::")[1]) for i in ids}
        assert units == {u for u, p in plan.part_of().items() if p == k}


def junit_outcomes(path: Path) -> dict[str, str]:
    out = {}
    for case in ET.parse(path).iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        out[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return out


@pytest.mark.slow
def test_xdist_gives_the_serial_outcomes_and_report(pytester: pytest.Pytester, cases: Path) -> None:
    common = [
        "--conformance", str(cases), "--conformance-framework", "numpy",
        "--conformance-framework", "torch", "-p", "no:randomly",
    ]  # fmt: skip
    serial = run_sub(
        pytester, *common, "--junitxml", "serial.xml", "--conformance-report-dir", "serial"
    )
    spread = run_sub(
        pytester,
        *common,
        "-n",
        "2",
        "--junitxml",
        "xdist.xml",
        "--conformance-report-dir",
        "xdist",
        "-v",
    )
    assert serial.parseoutcomes() == spread.parseoutcomes()
    # each framework's items ran whole on one worker (one runner call each), one per worker
    ran = re.findall(
        r"^\[(gw\d)\] \[.*?\] \w+ cases/.*?::\w+::\w+::(\w+)::", spread.stdout.str(), re.M
    )
    workers = {fw: {w for w, f in ran if f == fw} for _, fw in ran}
    assert len(ran) == len(predicted([cases], ["numpy", "torch"]))
    assert [len(w) for w in workers.values()] == [1, 1] and len(set.union(*workers.values())) == 2
    assert junit_outcomes(pytester.path / "serial.xml") == junit_outcomes(
        pytester.path / "xdist.xml"
    )
    a, b = load_results(pytester.path / "serial"), load_results(pytester.path / "xdist")
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert drop(a) == drop(b) and len(a) == len(predicted([cases], ["numpy", "torch"]))


@pytest.mark.slow
def test_bundled_library_by_default(pytester: pytest.Pytester) -> None:
    """`pytest --conformance` without paths collects the bundled library (not testpaths)."""
    loaded, _ = load_cases([CASES], check=False)
    chosen, known = select([], [])
    shape = RunShape.of(chosen, known, ["eager"], ["cpu"])
    n = sum(len(unit_rows(CaseFacts.of(c), d, shape)) for c in loaded for d in c.dtypes)
    pytester.makeini("[pytest]\ntestpaths = nothing_here\n")
    result = run_sub(pytester, "--conformance", "--collect-only", "-q")
    assert result.ret == 0
    assert f"{n} tests collected" in result.stdout.str()


def test_a_narrow_selection_keeps_the_sessions_init_owner(
    pytester: pytest.Pytester, cases: Path
) -> None:
    """`-k mytorch` starts only mytorch, yet torch (the session's owner of the torch init
    kind, which mytorch declares too) still draws: the rows are those of the whole session.
    mytorch draws the kind too, for the pins, with NumPy: its two op: init rows fail."""
    shutil.copy(CASES / "init" / "torch-linear-2x1-seed0.yaml", cases)
    args = [
        "--conformance", str(cases / "torch-linear-2x1-seed0.yaml"),
        "--conformance-framework", "torch", "--conformance-framework", "mytorch",
        "--conformance-adapter", "tests.plugins:TorchInitPlugin",
    ]  # fmt: skip
    whole_run = run_in(pytester, *args, "--conformance-report-dir", "whole")
    whole_run.assert_outcomes(passed=7, failed=2)
    narrow = run_in(pytester, *args, "--conformance-report-dir", "narrow", "-k", "mytorch")
    narrow.assert_outcomes(passed=1, failed=2)
    whole = [r for r in load_results(pytester.path / "whole") if r["framework"] == "mytorch"]
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert drop(load_results(pytester.path / "narrow")) == drop(whole)


def test_bad_options_are_usage_errors(pytester: pytest.Pytester, cases: Path) -> None:
    for bad, why in [
        (["--conformance-framework", "nosuch"], "--framework 'nosuch': unknown"),
        (["--conformance-dtype", "float8"], "--conformance-dtype 'float8'"),
        (["--conformance-shard", "3/2"], "--conformance-shard"),
        (["--conformance-baseline", "missing.json"], "missing.json: no such file"),
        (["--conformance-known", "missing.yaml"], "missing.yaml"),
        (["--conformance-ulp-threshold", "-1"], "must be >= 0"),
        (["--conformance-timeout", "0"], "--conformance-timeout: must be a positive"),
    ]:
        result = run_in(pytester, "--conformance", str(cases), "--collect-only", *bad)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, bad
        assert why in result.stderr.str(), (bad, result.stderr.str())


def test_collection_reads_only_changed_case_files(pytester: pytest.Pytester, cases: Path) -> None:
    def collect(*extra: str) -> pytest.RunResult:
        return run_in(pytester, "--conformance", str(cases), "--collect-only", "-v", *extra)

    def counts(result: pytest.RunResult) -> str:
        (line,) = [s for s in result.outlines if "case files collected" in s]
        return line

    assert counts(collect()) == "5 case files collected (5 read, 0 from the cache)"
    assert counts(collect()) == "5 case files collected (0 read, 5 from the cache)"
    grid = cases / "sigmoid" / "grid-float32.yaml"
    grid.write_text(grid.read_text().replace("tags: [", "tags: [newtag, "))
    (cases / "shapes" / "empty-batch-2d.yaml").write_text("inputs: [\n")  # now broken
    result = collect("-m", "newtag", "--continue-on-collection-errors")
    assert counts(result) == "5 case files collected (2 read, 3 from the cache)"
    assert "cases/shapes/empty-batch-2d.yaml:2: yaml:" in result.stdout.str()  # located
    others = predicted([cases / "semantics", cases / "dtypes"], [])
    result.assert_outcomes(errors=1, deselected=len(others))  # the grid's items are selected
    result = collect("--continue-on-collection-errors")
    assert counts(result) == "5 case files collected (0 read, 5 from the cache)"
    assert "cases/shapes/empty-batch-2d.yaml:2: yaml:" in result.stdout.str()  # from the cache
