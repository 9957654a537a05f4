"""The upgrade gate: diff, known deviations, merge, and run --baseline (one small real run)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance import gate, known
from conformance.errors import UsageError
from conformance.results import Row, read_rows, write_csv, write_json

from .conftest import CASES
from .report_fixtures import clone, synthetic

Cli = Callable[..., tuple[int, str, str]]


def _save(rows: list[Row], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(rows, folder / "results.json")
    return folder / "results.json"


def _worse_torch(rows: list[Row]) -> list[Row]:
    """torch 2.13 -> 2.14: torch.sigmoid now fails by 9 ulp, nn.Sigmoid drifts by 3 ulp."""
    cand = clone(rows)
    for r in cand:
        if r.framework == "torch":
            r.framework_version = "2.14.0"
            r.settings = {**r.settings, "threads": "4"}
            if r.path == "torch.sigmoid":
                r.status, r.max_ulp, r.message = "fail", 9.0, "1 of 8 elements outside tolerance"
            if r.path == "nn.Sigmoid":
                r.max_ulp = 3.0
    return cand


def test_identical_pair_exits_0(cli: Cli, tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    a = _save(rows, tmp_path / "a")
    b = tmp_path / "b.csv"
    write_csv(rows, b)  # a results.csv compares equal to the same rows in JSON
    code, out, _ = cli("diff", str(a), str(b))
    assert code == 0, out
    assert "✅ Conformance gate: no regressions" in out


def test_worse_framework_exits_1_with_readable_diff(cli: Cli, tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    a = _save(rows, tmp_path / "base")
    b = _save(_worse_torch(rows), tmp_path / "cand")
    code, out, _ = cli(
        "diff", str(tmp_path / "base"), str(b), "--output", str(tmp_path / "gate.md")
    )
    assert code == 1
    assert "❌ Conformance gate: 2 regressions" in out
    assert "| torch | 2.13.0 | 2.14.0 |" in out  # version changes
    assert "| torch | threads | 2 | 4 |" in out  # settings changes
    assert "| pass 0 ulp | fail 9 ulp | pass → fail |" in out
    assert "max ULP grew by 3 (threshold 2)" in out
    assert "By framework: torch 2" in out
    assert (tmp_path / "gate.md").read_text(encoding="utf-8") == out
    # a higher threshold forgives the drift but not the new failure
    code, out, _ = cli("diff", str(a), str(b), "--ulp-threshold", "5")
    assert code == 1 and "1 regression" in out


def test_new_error_and_new_failing_row_regress(tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    cand = clone(rows)
    cand[0].status, cand[0].max_ulp, cand[0].message = "error", None, "RuntimeError"
    extra = clone(rows[:1])[0]
    extra.case, extra.status = "synth/new-case", "fail"
    res = gate.compare(rows, [*cand, extra])
    assert sorted(c.kind for c in res.regressions) == ["error", "new-fail"]
    gone = gate.compare(rows, cand[1:])  # a lost row fails the gate ...
    assert [c.kind for c in gone.regressions] == ["missing"] and gone.failed
    accepted = gate.compare(rows, cand[1:], allow_missing=True)  # ... unless accepted
    assert [c.kind for c in accepted.missing] == ["missing"] and not accepted.failed


KNOWN = """\
- framework: torch
  path: torch.sigmoid
  dtype: float32
  version: ">=2.14,<3"
  reason: sigmoid kernel rewrite in 2.14 (tracked upstream)
  expires: 2999-01-01
- framework: numpy
  op: affine
  reason: the dense-2x3 expected value is deliberately wrong
- framework: jax
  case: "synth/*"
  reason: nothing fails on jax any more
- framework: tensorflow
  reason: typo'd entry that matches nothing
- framework: torch
  path: F.linear
  reason: expired acceptance
  expires: 2020-01-01
"""


def test_known_deviation_suppresses_exactly_its_rows(cli: Cli, tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    cand = _worse_torch(rows)
    kf = tmp_path / "known.yaml"
    kf.write_text(KNOWN, encoding="utf-8")
    before = {id(r): r.status for r in cand}
    rep = known.apply(cand, known.load(kf), today=dt.date(2026, 6, 1))
    changed = [r for r in cand if before[id(r)] != r.status]
    assert sorted((r.framework, r.path) for r in changed) == [
        ("numpy", "x @ W.T + b"),
        ("torch", "torch.sigmoid"),
    ]
    assert all(r.status == "known" and "known deviation (fail)" in r.message for r in changed)
    assert [d.patterns.get("framework") for d in rep.stale] == ["jax"]
    assert [d.patterns.get("framework") for d in rep.unused] == ["tensorflow"]
    assert [d.reason for d in rep.expired] == ["expired acceptance"]
    assert any("STALE" in line for line in rep.lines())
    # the version range matters: the same entry does not cover torch 2.13
    base = clone(rows)
    for r in base:
        if r.path == "torch.sigmoid":
            r.status = "fail"
    known.apply(base, known.load(kf))
    assert [r.status for r in base if r.path == "torch.sigmoid"] == ["fail"]
    # through the CLI: the torch failure is known, only the 3-ulp drift remains a regression
    a = _save(rows, tmp_path / "base")
    b = _save(_worse_torch(rows), tmp_path / "cand")
    code, out, _ = cli("diff", str(a), str(b), "--known", str(kf))
    assert code == 1 and "1 regression" in out and "Known deviations (not failing): 2" in out
    code, out, _ = cli("diff", str(a), str(b), "--known", str(kf), "--ulp-threshold", "3")
    assert code == 0, out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- framework: torch\n", "known.yaml:1: entry 1: 'reason' is required"),
        ("- reason: x\n  expires: soon\n", "is not a date"),
        ("- reason: x\n  version: banana\n", "is not a version range"),
        ("- reason: x\n  frameworks: torch\n", "unknown key(s) frameworks"),
    ],
)
def test_known_file_errors_are_located(tmp_path: Path, text: str, message: str) -> None:
    kf = tmp_path / "known.yaml"
    kf.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        known.load(kf)


def test_merge_builds_a_version_trend(cli: Cli, tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    a = _save(rows, tmp_path / "torch-2.13")
    b = _save(_worse_torch(rows), tmp_path / "torch-2.14")
    code, out, _ = cli("merge", str(a), str(b), "--out", str(tmp_path / "trend"))
    assert code == 0, out
    trend_md = (tmp_path / "trend" / "trend.md").read_text(encoding="utf-8")
    assert "## torch" in trend_md and "2.13.0" in trend_md and "2.14.0" in trend_md
    torch_line = next(x for x in trend_md.splitlines() if "torch.sigmoid" in x and "synth" in x)
    assert torch_line.index("pass 0 ulp") < torch_line.index("fail 9 ulp")  # oldest first
    merged = (tmp_path / "trend" / "merged.csv").read_text(encoding="utf-8").splitlines()
    assert merged[0].startswith("run,framework,framework_version,")
    assert len(merged) == 1 + 2 * len(rows)


@pytest.mark.slow
def test_run_writes_every_format_and_gates_against_a_baseline(cli: Cli, tmp_path: Path) -> None:
    seed = CASES / "semantics" / "torch-linear-2x1-seed0.yaml"
    base = tmp_path / "base"
    code, out, _ = cli(
        "run", str(seed), "--framework", "numpy", "--report-dir", str(base), "--quiet"
    )
    assert code == 0, out
    for name in (
        "parity.md",
        "parity.html",
        "junit.xml",
        "results.csv",
        "results.json",
        "outputs.npz",
        "environment.json",
    ):
        assert (base / name).exists(), name
    cand = tmp_path / "cand"
    code, out, _ = cli(
        "run",
        str(seed),
        "--framework",
        "numpy",
        "--report-dir",
        str(cand),
        "--quiet",
        "--baseline",
        str(base / "results.json"),
    )
    assert code == 0, out
    assert "no regressions" in (cand / "gate.md").read_text(encoding="utf-8")
    assert len(read_rows(cand)) == len(read_rows(base))
    # a baseline row this run does not produce: lost, so the gate fails (on stderr and gate.md)
    extra = clone(read_rows(base)[:1])[0]
    extra.case = "semantics/a-case-this-run-lost"
    bigger = _save([*read_rows(base), extra], tmp_path / "bigger")
    args = ("run", str(seed), "--framework", "numpy", "--report-dir", str(cand), "--quiet")
    code, _, err = cli(*args, "--baseline", str(bigger))
    assert code == 1 and "gate failed: 1 regression (missing from the candidate 1)" in err
    assert "a-case-this-run-lost" in (cand / "gate.md").read_text(encoding="utf-8")
    assert cli(*args, "--baseline", str(bigger), "--allow-missing")[0] == 0
    # a report dir that is not one is refused before the run, not after
    code, _, err = cli("run", str(seed), "--framework", "numpy", "--report-dir", str(tmp_path))
    assert code == 2 and "refusing to replace" in err
    code, _, err = cli("run", str(seed), "--baseline", str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json: no such file" in err


# --------------------------------------------------------------------------------------------
# A gate that cannot be fooled into green


def _header_only_csv(path: Path) -> None:
    write_csv([], path)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("empty.json", lambda p: p.write_text("[]\n", encoding="utf-8")),
        ("object.json", lambda p: p.write_text("{}\n", encoding="utf-8")),
        ("rows.json", lambda p: p.write_text('{"rows": []}\n', encoding="utf-8")),
        ("header.csv", _header_only_csv),
        ("empty.jsonl", lambda p: p.write_text("", encoding="utf-8")),
    ],
)
def test_empty_candidate_fails_the_gate(
    cli: Cli, tmp_path: Path, name: str, make: Callable[[Path], None]
) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    base = _save(rows, tmp_path / "base")
    cand = tmp_path / name
    make(cand)
    for flags in ((), ("--allow-skipped", "--allow-missing")):
        code, out, err = cli("diff", str(base), str(cand), *flags)
        assert code == 1, out
        assert "❌" in out and "the candidate has no rows" in out
        assert "gate failed: the candidate has no rows" in err


def test_candidate_that_ran_nothing_fails_even_with_allow_skipped(cli: Cli, tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    cand = clone(rows)
    for r in cand:
        r.status, r.max_ulp, r.message = "skip", None, "not installed"
    base, c = _save(rows, tmp_path / "base"), _save(cand, tmp_path / "cand")
    code, out, err = cli("diff", str(base), str(c), "--allow-skipped")
    assert code == 1
    assert "the candidate ran nothing: all 7 rows are skip" in out
    assert "the candidate ran nothing" in err
    # against itself (a baseline that also ran nothing) it still checked nothing
    assert cli("diff", str(c), str(c), "--allow-skipped")[0] == 1


def test_framework_now_skipped_fails_unless_allowed(cli: Cli, tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    cand = clone(rows)
    for r in cand:
        if r.framework == "torch":
            r.status, r.max_ulp, r.message = "skip", None, "torch is not installed"
    base, c = _save(rows, tmp_path / "base"), _save(cand, tmp_path / "cand")
    code, out, err = cli("diff", str(base), str(c))
    assert code == 1
    assert "3 regressions (ran in the baseline, skipped now 3)" in err
    assert "pass → skip: torch is not installed (--allow-skipped accepts this)" in out
    code, out, _ = cli("diff", str(base), str(c), "--allow-skipped")
    assert code == 0, out
    assert "Now skipped (accepted by --allow-skipped): 3" in out


def test_lost_rows_fail_unless_allowed(cli: Cli, tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    cand = [r for r in clone(rows) if r.framework != "numpy"]
    base, c = _save(rows, tmp_path / "base"), _save(cand, tmp_path / "cand")
    code, out, err = cli("diff", str(base), str(c))
    assert code == 1
    assert "2 regressions (missing from the candidate 2)" in err
    assert "in the baseline, not in the candidate" in out
    code, out, _ = cli("diff", str(base), str(c), "--allow-missing")
    assert code == 0, out
    assert "Missing from the candidate (accepted by --allow-missing): 2" in out


def test_undefined_status_fails_the_gate(cli: Cli, tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    cand = clone(rows)
    cand[1].status = "exploded"
    base, c = _save(rows, tmp_path / "base"), _save(cand, tmp_path / "cand")
    code, out, err = cli("diff", str(base), str(c))
    assert code == 1
    assert "status the suite does not define 1" in err
    assert "candidate status 'exploded' is not one of pass, fail, error, skip, known" in out
    # an undefined status in the baseline is no better: the gate cannot judge the row
    code, _, err = cli("diff", str(c), str(base))
    assert code == 1 and "baseline status 'exploded'" in gate_json(tmp_path, c, base, cli)


def gate_json(tmp_path: Path, base: Path, cand: Path, cli: Cli) -> str:
    out = tmp_path / "gate.json"
    cli("diff", str(base), str(cand), "--json", str(out))
    return out.read_text(encoding="utf-8")


def test_duplicate_rows_fail_the_gate(tmp_path: Path) -> None:
    """A passing duplicate must not hide a failing row of the same key."""
    rows, _ = synthetic(tmp_path / "cases")
    cand = clone(rows)
    worse = clone(rows[:1])[0]
    worse.status, worse.max_ulp = "fail", 99.0
    res = gate.compare(rows, [worse, *cand])
    assert res.failed
    assert "duplicate" in {c.kind for c in res.regressions}


def test_more_wrong_signed_zeros_is_a_regression(cli: Cli, tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    base = clone(rows)
    base[1].wrong_sign_zeros = 1
    cand = clone(base)
    cand[1].wrong_sign_zeros = 4  # still "pass", same max ULP: only the zeros changed
    res = gate.compare(base, cand)
    assert [(c.kind, c.note) for c in res.regressions] == [
        ("signed-zero", "wrong-signed zeros 1 → 4")
    ]
    assert not gate.compare(cand, base).failed  # fewer is not a regression
    b, c = _save(base, tmp_path / "base"), _save(cand, tmp_path / "cand")
    code, out, err = cli("diff", str(b), str(c))
    assert code == 1 and "more wrong-signed zeros 1" in err
    assert "| pass 0 ulp, 1 ±0 | pass 0 ulp, 4 ±0 | wrong-signed zeros 1 → 4 |" in out


def test_gate_markdown_escapes_hostile_rows(tmp_path: Path) -> None:
    """Rendered as GitHub would (CommonMark + tables): no live HTML, no split table cells."""
    markdown_it = pytest.importorskip("markdown_it")
    rows, _ = synthetic(tmp_path / "cases")
    cand = clone(rows)
    evil = "<img src=x onerror=alert(1)>|`](javascript:x)\x1b[31m"
    for r in cand:
        r.framework_version = evil
        r.settings = {**r.settings, "threads": evil}
    cand[0].status, cand[0].case, cand[0].path = "fail", evil, evil
    cand[1].status = evil
    text = gate.markdown(gate.compare(rows, cand), evil, "cand")
    assert "\x1b" not in text
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(text)
    assert "<img" not in html and "<a " not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, inert
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        widths = {len(re.findall(r"<t[dh]", tr)) for tr in re.findall(r"<tr>.*?</tr>", table, re.S)}
        assert len(widths) == 1, table  # every row has the header's number of cells
