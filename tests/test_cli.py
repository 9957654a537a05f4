"""End to end through the CLI: exit codes, located case errors, plugins, isolation."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from conformance.cli import build_parser
from conformance.errors import UsageError
from conformance.loader import load_cases
from conformance.registry import BUILTIN, load_class, select

from . import plugins
from .conftest import CASES, KNOWN, load_results, packaged_adapters

Cli = Callable[..., tuple[int, str, str]]
SEED = CASES / "semantics" / "torch-linear-2x1-seed0.yaml"
LAYOUT = [str(CASES / "layout" / f"core-{form}-3x5.yaml") for form in ("weight", "kernel")]

WRONG = """\
id: wrong-expected
inputs:
  x: [[1.0, 2.0]]
params:
  weight: [[0.5, 0.25]]
  bias: [1.0]
expected:
  affine: [[2.5]]
"""


def test_numpy_seed_case_passes(cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli(
        "run", str(SEED), "--framework", "numpy", "--report-dir", str(tmp_path), "--quiet"
    )
    assert code == 0, out
    rows = load_results(tmp_path)
    assert {r["status"] for r in rows} == {"pass"}
    assert {r["op"] for r in rows} == {"affine", "sigmoid"}


def test_wrong_output_exits_1_and_names_everything(cli: Cli, tmp_path: Path, write_case) -> None:
    path = write_case("right.yaml", WRONG.replace("2.5", "2.0").replace("wrong-expected", "half"))
    code, out, _ = cli(
        "run",
        str(path),
        "--adapter",
        "tests.plugins:OffByHalfAdapter",
        "--framework",
        "offbyhalf",
        "--report-dir",
        str(tmp_path / "r"),
        "--quiet",
    )
    assert code == 1
    line = next(s for s in out.splitlines() if "FAIL" in s)
    assert "half" in line and "offbyhalf" in line and "x @ K + b" in line
    assert "got 2.5, want 2.0" in line and "ulp" in line


LOOSE = WRONG.replace("2.5", "2.0") + "tolerance:\n  affine: {ulp: 1000}\n"


@pytest.mark.parametrize("text", [WRONG, LOOSE], ids=["wrong-expected", "tolerance-ceiling"])
def test_run_refuses_what_validate_refuses(cli: Cli, tmp_path: Path, write_case, text: str) -> None:
    path = write_case("bad.yaml", text)
    ok = write_case("ok.yaml", WRONG.replace("2.5", "2.0").replace("wrong-expected", "ok"))
    v_code, _, v_err = cli("validate", str(path.parent))
    out = tmp_path / "r"
    r_code, _, r_err = cli(
        "run", str(path.parent), "--framework", "numpy", "--report-dir", str(out), "--quiet"
    )
    assert v_code == r_code == 2
    assert v_err == r_err and len(v_err.splitlines()) == 1 and path.name in v_err
    assert {r["case"] for r in load_results(out)} == {"ok"}, ok


def test_malformed_case_exits_2_and_valid_cases_still_run(
    cli: Cli, tmp_path: Path, write_case
) -> None:
    write_case("ok.yaml", WRONG.replace("2.5", "2.0").replace("wrong-expected", "ok"))
    bad = write_case("broken.yaml", "inputs:\n  x: [[1, 2]]\nparams:\n  weight: [[1, 2, 3]]\n")
    out = tmp_path / "r"
    code, _, err = cli(
        "run", str(bad.parent), "--framework", "numpy", "--report-dir", str(out), "--quiet"
    )
    assert code == 2
    assert f"{bad.name}:4: params.weight: in_features is 3 here but 2 from inputs.x" in err
    assert "Traceback" not in err
    assert {r["case"] for r in load_results(out)} == {"ok"}


def test_validate_exit_codes(cli: Cli, write_case) -> None:
    good = write_case("g.yaml", WRONG.replace("2.5", "2.0"))
    assert cli("validate", str(good))[0] == 0
    wrong = write_case("w.yaml", WRONG)
    code, _, err = cli("validate", str(wrong))
    assert code == 2 and "expected.affine[0][0]" in err and "exact reference is 2.0" in err


def test_usage_errors_exit_2(cli: Cli, tmp_path: Path) -> None:
    assert cli("run", "--framework", "nosuch", str(SEED))[0] == 2
    assert cli("run", str(tmp_path / "missing.yaml"))[0] == 2
    assert cli("run", "--adapter", "no.such.module:Cls", str(SEED))[0] == 2
    assert cli("frobnicate")[0] == 2


def test_bundled_cases_validate(cli: Cli) -> None:
    code, _out, err = cli("validate")
    assert code == 0, err


def test_plugin_adapter_and_layout_translation(cli: Cli, tmp_path: Path) -> None:
    code, _, _ = cli(
        "run",
        *LAYOUT,
        "--adapter",
        "tests.plugins:TinyAdapter",
        "--framework",
        "numpy",
        "--framework",
        "tiny",
        "--report-dir",
        str(tmp_path),
        "--quiet",
    )
    assert code == 0
    rows = load_results(tmp_path)
    assert {r["framework"] for r in rows} == {"numpy", "tiny"}
    assert all(r["status"] == "pass" for r in rows)
    assert {r["case"] for r in rows} == {"layout/core-weight-3x5", "layout/core-kernel-3x5"}


SQUARE = {form: CASES / "layout" / f"square-3x3-{form}.yaml" for form in ("weight", "kernel")}


@pytest.mark.parametrize(
    ("adapter", "bug", "fixed", "caught_in"),
    [
        ("WrongLayoutAdapter", "x @ P + b", "x @ kernel_of(P) + b", "weight"),
        ("WrongLayoutWeightAdapter", "x @ P.T + b", "x @ weight_of(P).T + b", "kernel"),
    ],
)
def test_a_layout_bug_is_caught(
    cli: Cli, tmp_path: Path, adapter: str, bug: str, fixed: str, caught_in: str
) -> None:
    """A forgotten transpose fails on values, in the layout it forgets, and nowhere else."""
    for path in SQUARE.values():  # what makes the test honest: no shape error can catch it
        case = load_cases([path])[0][0]
        p = case.arrays("float64").param
        assert p is not None and p.shape[0] == p.shape[1] and not np.array_equal(p, p.T)
        assert case.bias is not None
    cls = getattr(plugins, adapter)
    code, _out, _ = cli(
        "run",
        *map(str, SQUARE.values()),
        "--adapter",
        f"tests.plugins:{adapter}",
        "--framework",
        cls.name,
        "--report-dir",
        str(tmp_path),
        "--quiet",
    )
    assert code == 1
    rows = {(r["case"], r["path"], r["dtype"]): r for r in load_results(tmp_path)}
    assert len(rows) == 2 * 2 * 2
    for form in SQUARE:
        for dtype in ("float32", "float64"):
            case = f"layout/square-3x3-{form}"
            assert rows[(case, fixed, dtype)]["status"] == "pass"  # the correct path, same case
            wrong = rows[(case, bug, dtype)]
            if form == caught_in:
                assert wrong["status"] == "fail", wrong
                assert "elements outside tolerance vs reference" in wrong["message"], wrong
            else:
                assert wrong["status"] == "pass", wrong  # the parameter already had its layout


def test_adapter_adds_and_framework_selects_any_adapter() -> None:
    tiny = "tests.plugins:TinyAdapter"
    chosen, known = select([], [tiny])
    assert set(chosen) == set(known) == {*BUILTIN, *packaged_adapters(), "tiny"}
    chosen, _ = select(["tiny", "numpy"], [tiny])
    assert chosen == {"tiny": tiny, "numpy": BUILTIN["numpy"]}
    with pytest.raises(UsageError, match="'tiny': unknown"):
        select(["tiny"], [])


def test_a_plugin_named_like_a_builtin_is_refused_unless_replacing(
    cli: Cli, tmp_path: Path
) -> None:
    args = ["run", str(SEED), "--adapter", "tests.plugins:NumpyImpostor", "--framework", "numpy"]
    code, _, err = cli(*args, "--report-dir", str(tmp_path / "a"), "--quiet")
    assert code == 2
    assert "'numpy' is taken by conformance.adapters.numpy_adapter" in err
    assert "--replace-adapter" in err
    code, out, _ = cli(*args, "--replace-adapter", "--report-dir", str(tmp_path / "b"), "--quiet")
    assert code == 0, out
    rows = load_results(tmp_path / "b")
    assert {(r["framework"], r["framework_version"]) for r in rows} == {("numpy", "impostor 0.1")}
    assert {r["path"] for r in rows} == {"x @ K + b"}


def test_an_entry_point_named_like_a_builtin_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real installed distribution (a dist-info folder on sys.path) declaring plugins."""
    site = tmp_path / "site"
    dist = site / "fake_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[conformance.adapters]\n"
        "numpy = tests.plugins:NumpyImpostor\n"
        "tiny2 = tests.plugins:TinyAdapter\n"
    )
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(UsageError, match=re.escape("entry point numpy = tests.plugins:Numpy")):
        select([], [])
    chosen, known = select(["tiny2", "numpy"], [], replace=True)
    assert chosen == {"tiny2": "tests.plugins:TinyAdapter", "numpy": "tests.plugins:NumpyImpostor"}
    assert known["torch"] == BUILTIN["torch"]


def test_run_help_and_readme_say_what_the_adapter_options_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--adapter MOD:CLS add this adapter class to the adapters of the run" in text
    assert "an --adapter class's name" in text and "--replace-adapter" in text
    readme = " ".join((CASES.parent / "README.md").read_text(encoding="utf-8").split())
    assert "`--adapter` adds" in readme and "--replace-adapter" in readme


def test_crash_costs_only_its_own_rows_and_missing_framework_skips(
    cli: Cli, tmp_path: Path
) -> None:
    code, _, _ = cli(
        "run",
        str(SEED),
        "--framework",
        "numpy",
        "--framework",
        "crashy",
        "--framework",
        "missing",
        "--adapter",
        "tests.plugins:CrashingAdapter",
        "--adapter",
        "tests.plugins:MissingAdapter",
        "--report-dir",
        str(tmp_path),
        "--quiet",
    )
    assert code == 1
    rows = load_results(tmp_path)
    by_fw: dict[str, set[str]] = {}
    for r in rows:
        by_fw.setdefault(r["framework"], set()).add(r["status"])
    assert by_fw["numpy"] == {"pass"}
    assert by_fw["crashy"] == {"error"}
    assert by_fw["missing"] == {"skip"}
    crash = next(r for r in rows if r["framework"] == "crashy")
    assert "worker" in crash["message"]
    missing = next(r for r in rows if r["framework"] == "missing")
    assert "no_such_framework_xyz is not installed" in missing["message"]


def test_python_dash_m_works(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "validate", str(SEED)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_every_framework_agrees_on_the_seed_and_layout_cases(cli: Cli, tmp_path: Path) -> None:
    """The original confusion, settled on every framework path: affine != sigmoid. Listed
    deviations (Keras' float64 matmul on torch) are known rows; everything else passes."""
    code, out, err = cli(
        "run",
        str(SEED),
        *LAYOUT,
        "--known",
        str(KNOWN),
        "--report-dir",
        str(tmp_path),
        "--quiet",
    )
    assert code == 0, out + err
    rows = load_results(tmp_path)
    installed = {
        name for name, spec in packaged_adapters().items() if not load_class(spec)().unavailable()
    }
    seed = [r for r in rows if r["case"] == "torch-linear-2x1-seed0" and r["dtype"] == "float32"]
    frameworks = {r["framework"] for r in seed if r["status"] != "skip"}
    assert frameworks == installed and {"numpy", "torch", "tensorflow", "jax"} <= frameworks
    # an adapter whose framework is missing is there too, every row a skip
    assert {r["framework"] for r in seed} == set(packaged_adapters())
    for r in seed:
        if r["status"] == "skip":  # a path whose optional package is missing
            assert "not installed" in r["message"], r
            continue
        assert r["status"] == "pass", r
        want = -0.47296917 if r["op"] == "affine" else 0.38391373
        assert r["worst_value"] == pytest.approx(want, abs=1e-7), r
    paths = {(r["framework"], r["path"]) for r in seed}
    assert ("torch", "nn.Linear") in paths and (
        "torch",
        "nn.Sequential(nn.Linear, nn.Sigmoid)",
    ) in paths
    assert ("tensorflow", "keras.layers.Dense(activation='sigmoid')") in paths
    # Layout: both forms pass on every framework path (bfloat16 without a kernel is skipped).
    layout = [r for r in rows if r["case"].startswith("layout/")]
    assert layout and {r["status"] for r in layout} <= {"pass", "known", "skip"}
    assert all(r["dtype"] == "float64" for r in layout if r["status"] == "known")
    assert {r["framework"] for r in layout if r["status"] != "skip"} == installed


def test_bundled_runs_apply_the_bundled_known_deviations() -> None:
    from conformance.cli import build_parser
    from conformance.commands.run import BUNDLED_KNOWN, known_file_for

    parse = build_parser().parse_args
    assert known_file_for(parse(["run"])) == str(BUNDLED_KNOWN)
    assert known_file_for(parse(["run", "--no-known"])) is None
    assert known_file_for(parse(["run", str(SEED)])) is None  # own paths: no implicit file
    assert known_file_for(parse(["run", str(SEED), "--known", "k.yaml"])) == "k.yaml"
    assert BUNDLED_KNOWN.exists()
