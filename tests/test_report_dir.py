"""A report directory is always exactly one run: replaced as a whole, never half-written, never
mixed with an earlier or a concurrent run (``report.write`` over ``conformance.atomicdir``)."""

from __future__ import annotations

import hashlib
import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance import report
from conformance.errors import UsageError
from conformance.results import read_rows, write_json

from .report_fixtures import clone, synthetic

Cli = Callable[..., tuple[int, str, str]]
ROOT = Path(__file__).resolve().parent.parent


def _snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> content hash of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _fixed(rows: list) -> list:
    """The same run with every failing and erroring row passing now."""
    out = clone(rows)
    for r in out:
        if r.status in ("fail", "error"):
            r.status, r.max_ulp, r.against = "pass", 0.0, "reference"
    return out


def test_rewrite_leaves_nothing_of_the_previous_run(tmp_path: Path) -> None:
    rows, store = synthetic(tmp_path / "cases")
    out = tmp_path / "rep"
    report.write(rows, out, ["md", "csv", "junit"], outputs=store, env={"cpu": "x"})
    assert len(list((out / "repro").iterdir())) == 2 and (out / "plots").is_dir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")  # a user's files
    (out / ".gitignore").write_text("*.npz\n", encoding="utf-8")
    (out / "mine").mkdir()
    (out / "mine" / "data.csv").write_text("1,2\n", encoding="utf-8")
    report.write(_fixed(rows), out, ["json"])
    # only this run's report (and the user's files): no repro/, plots/, formats or side files
    # of the earlier run
    names = sorted(p.name for p in out.iterdir())
    assert names == [".gitignore", "mine", "notes.txt", "results.json"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "mine" / "data.csv").read_text(encoding="utf-8") == "1,2\n"
    assert {r.status for r in read_rows(out)} <= {"pass", "skip"}
    report.write(_fixed(rows), out, ["md"], outputs=store)  # passing rows: no repro/ at all
    assert not (out / "repro").exists() and (out / "parity.md").exists()
    leftovers = [p.name for p in tmp_path.iterdir() if ".conformance-" in p.name]
    assert leftovers == []


def test_two_rename_fallback_and_recovery_from_a_kill_between_the_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without renameat2 the swap is two renames; a writer killed between them left the
    previous version aside, and the next writer puts it back before replacing it."""
    atomicdir = importlib.import_module("conformance.atomicdir")
    monkeypatch.setattr(atomicdir, "RENAMEAT2", None)
    rows, _ = synthetic(tmp_path / "cases")
    out = tmp_path / "rep"
    report.write(rows, out, ["json", "csv"])
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    report.write(rows, out, ["json"])
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "results.json"]
    out.rename(tmp_path / ".rep.conformance-old-123-abcd")  # killed between the renames
    (tmp_path / ".rep.conformance-new-123-abcd").mkdir()
    report.write(rows, out, ["csv"])
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "results.csv"]
    assert not any(".conformance-" in p.name for p in tmp_path.iterdir())


WRITE = """
import sys
from pathlib import Path
from conformance import report
from tests.report_fixtures import synthetic
rows, store = synthetic(Path(sys.argv[1]) / "cases2")
for r in rows:
    r.message = "second run"
report.write(rows, Path(sys.argv[2]), ["json", "csv"], lock_timeout=float(sys.argv[3]))
"""


def _writer(tmp_path: Path, out: Path, pause: str, timeout: float = 60) -> subprocess.Popen:
    env = {**os.environ, report.PAUSE_ENV: pause}
    return subprocess.Popen(
        [sys.executable, "-c", WRITE, str(tmp_path), str(out), str(timeout)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_write_leaves_the_previous_report_whole(tmp_path: Path) -> None:
    rows, store = synthetic(tmp_path / "cases")
    out = tmp_path / "rep"
    report.write(rows, out, ["md", "json", "junit"], outputs=store)
    before = _snapshot(out)
    proc = _writer(tmp_path, out, pause="60")
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "conformance: paused in report.write"
    proc.send_signal(signal.SIGKILL)  # what the OOM killer or a CI timeout sends
    proc.wait()
    assert _snapshot(out) == before
    assert all(r.message != "second run" for r in read_rows(out))
    # the next writer cleans up what the killed one left beside the directory
    assert any(".conformance-new-" in p.name for p in tmp_path.iterdir())
    report.write(_fixed(rows), out, ["json"])
    assert not any(".conformance-" in p.name for p in tmp_path.iterdir())
    assert sorted(p.name for p in out.iterdir()) == ["results.json"]


def test_second_writer_waits_for_the_first_or_fails_clearly(tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    out = tmp_path / "rep"
    first = _writer(tmp_path, out, pause="60")
    assert first.stderr is not None
    assert first.stderr.readline().strip() == "conformance: paused in report.write"
    try:
        atomicdir = importlib.import_module("conformance.atomicdir")
        said: list[str] = []
        busy = rf"another conformance process \(pid {first.pid}\)"
        with (
            pytest.raises(UsageError, match=busy),
            atomicdir.replacing(out, report.OWNED, report.MARKERS, timeout=0.3, say=said.append),
        ):
            pytest.fail("entered while the first writer holds the lock")
        assert said == [f"waiting for pid {first.pid}, which is writing {out}"]
        second = _writer(tmp_path, out, pause="", timeout=60)  # waits, then writes
        assert second.stderr is not None
        assert "waiting for pid" in second.stderr.readline()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert second.wait(timeout=60) == 0
    assert {r.message for r in read_rows(out)} == {"second run"}
    report.write(rows, out, ["json"])  # and the lock is free again afterwards


def test_directories_that_are_not_reports_are_never_replaced(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    write_json(rows, tmp_path / "r.json")
    home = tmp_path / "home"
    (home / "docs").mkdir(parents=True)
    (home / "thesis.tex").write_text("precious", encoding="utf-8")
    code, _, err = cli("report", str(tmp_path / "r.json"), "--out", str(home))
    assert code == 2 and "refusing to replace a directory that holds no report" in err
    assert sorted(p.name for p in home.iterdir()) == ["docs", "thesis.tex"]
    rep = tmp_path / "rep"
    assert cli("report", str(tmp_path / "r.json"), "--out", str(rep), "--format", "json")[0] == 0
    monkeypatch.chdir(rep)
    code, _, err = cli("report", str(tmp_path / "r.json"), "--out", ".", "--format", "json")
    assert code == 2 and "is (or contains) the current directory" in err
    file = tmp_path / "file"
    file.write_text("x", encoding="utf-8")
    code, _, err = cli("report", str(tmp_path / "r.json"), "--out", str(file))
    assert code == 2 and "exists and is not a directory" in err
