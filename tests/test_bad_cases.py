"""Hostile and clumsy case files: each is one located line and exit 2, loaded within 2 s of CPU
and 200 MB, and never stops the valid cases beside it from running.

``tests/data/bad_cases/`` holds one problem per file; its first line says where the error is
and what it says (``# expect: LINE TEXT``, ``-`` for no line). Files git cannot hold well (a
FIFO, links to /dev/zero and /dev/urandom, a 50 MB file, a socket, names with control
characters) are made here in a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import resource
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conformance.errors import CaseError
from conformance.escape import visible
from conformance.limits import MAX_DIGITS, MAX_FILE_BYTES
from conformance.loader import load_cases
from conformance.yamlio import read_bytes

from .conftest import CASES, ROOT, load_results

CORPUS = ROOT / "tests" / "data" / "bad_cases"
HEADER = re.compile(rb"# expect: (\d+|-) (.*)\n")
MAX_CPU_S = 2.0
MAX_MB = 200.0
MAX_LINE = 600  # characters in one error line (CaseError bounds its parts)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork, rlimits, FIFOs, /proc")

SIG = "inputs:\n  z: [0.5, -1.0]\n"
TWO_TO_MINUS_1074 = format(np.float64(5e-324).item(), ".1074f")  # all 1,075 digits, exact
VALID = {
    "alias-ok": "inputs:\n  x: &row [[1.0, 2.0]]\nparams:\n  weight: *row\n",
    "beyond-float64": "inputs:\n  z: [1e400, -1e400, 1e-400, -1e-1100]\n",
    "exact-subnormal": f"dtypes: [float64]\ninputs:\n  z: [{TWO_TO_MINUS_1074}]\n",
    "eight-batch-dims": "shapes: {batch: [1, 1, 1, 1, 1, 1, 1, 1], in_features: 2, out_features: 2}\n"
    "inputs:\n  x: {distribution: normal}\nparams:\n  weight: {distribution: normal}\n",
    "nested-z": "inputs:\n  z: [[[[[[[[0.25]]]]]]]]\n",
    "constant-uniform": "shapes: {batch: [2], in_features: 3, out_features: 1}\n"
    "inputs:\n  x: {distribution: uniform, low: 0.5, high: 0.5}\n"
    "params:\n  weight: {distribution: uniform, low: 1, high: 1}\n",
    "date-like-description": "description: 2024-01-01\n" + SIG,
    "yaml-1-2-directive": "%YAML 1.2\n---\n" + SIG,
}


@dataclass(frozen=True)
class Bad:
    path: Path
    line: int | None
    text: str


def corpus() -> list[Bad]:
    out = []
    for path in sorted(CORPUS.iterdir()):
        match = HEADER.match(path.read_bytes())
        assert match, f"{path.name}: no '# expect: LINE TEXT' header"
        line = None if match.group(1) == b"-" else int(match.group(1))
        out.append(Bad(path, line, match.group(2).decode()))
    return out


@pytest.fixture(scope="module")
def specials(tmp_path_factory: pytest.TempPathFactory) -> list[Bad]:
    d = tmp_path_factory.mktemp("special")
    out: list[Bad] = []

    def bad(name: str, text: str, line: int | None = None) -> Path:
        out.append(Bad(d / name, line, text))
        return d / name

    os.mkfifo(bad("fifo.yaml", "not a regular file (a FIFO)"))
    os.symlink("/dev/zero", bad("zero.yaml", "not a regular file (a character device)"))
    os.symlink("/dev/urandom", bad("urandom.yaml", "not a regular file (a character device)"))
    with open(bad("fifty-mb.yaml", "larger than the 256 KiB a case file may have"), "wb") as f:
        f.write(SIG.encode())
        f.truncate(50 * 2**20)
    over = bad("over-limit.yaml", "larger than the 256 KiB a case file may have")
    over.write_text("#" * (MAX_FILE_BYTES + 2) + "\n")
    bad("dir.yaml", "not a regular file (a directory)").mkdir()
    os.symlink("nowhere.yaml", bad("dangling.yaml", "no such file"))
    os.symlink("loop.yaml", bad("loop.yaml", "no such file"))
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(bad("socket.yaml", "cannot read: No such device or address")))
    bad("utf16.yaml", "not UTF-8", 1).write_bytes(SIG.encode("utf-16"))
    for name in ("new\nline", "\x1b[31mred", "tab\there", "bell\x07", "rtl\u202eoverride"):
        bad(f"{name}.yaml", "the file name gives none", 1).write_text(SIG)
    return out


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("valid")
    for name, text in VALID.items():
        (d / f"{name}.yaml").write_text(text)
    seed = CASES / "semantics" / "torch-linear-2x1-seed0.yaml"
    (d / "seed.yaml").write_text(seed.read_text())
    return d


def test_the_corpus_covers_every_class() -> None:
    bad = corpus()
    assert len(bad) >= 150
    classes = {b.path.name.split("-")[0] for b in bad}
    for needed in (
        "syntax", "tag", "alias", "node", "deep", "char", "utf8", "escaped", "num", "dist",
        "batch", "tol", "exp", "id", "top", "inputs", "unknown", "params", "dtypes", "shape",
        "type",
    ):  # fmt: skip
        assert needed in classes, needed
    assert any("the file name gives none" in b.text for b in bad)


def _probe(files: list[Path]) -> dict[str, dict]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.case_probe", "--mem-mb", str(MAX_MB), "--timeout-s", "30"]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60 + 30 * len(files),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    return {r["file"]: r for r in records}


def _one_clean_line(text: str) -> bool:
    return len(text) <= MAX_LINE and visible(text) == text


def test_each_bad_file_is_one_located_line_within_2s_and_200mb(
    specials: list[Bad], valid: Path
) -> None:
    # a directory named *.yaml is a file to the discovery of a folder (the CLI test), not here
    bad = [b for b in corpus() + specials if not b.path.is_dir()]
    good = sorted(valid.iterdir())
    records = _probe([b.path for b in bad] + good)
    problems = []
    for b in bad:
        r = records[str(b.path)]
        errors = r.get("errors", [])
        if r.get("exception") or r["signal"]:
            problems.append(f"{b.path.name}: {r.get('exception') or 'killed by signal'}")
        elif len(errors) != 1 or r["cases"]:
            problems.append(f"{b.path.name}: {len(errors)} errors, {r['cases']} cases: {errors}")
        elif b.text not in errors[0] or r["lines"][0] != b.line:
            problems.append(f"{b.path.name}: want line {b.line} {b.text!r}, got {errors[0]!r}")
        elif not _one_clean_line(errors[0]):
            problems.append(f"{b.path.name}: not one short escaped line: {errors[0]!r}")
        elif r["cpu_seconds"] > MAX_CPU_S or r["rss_growth_mb"] > MAX_MB:
            problems.append(f"{b.path.name}: {r['cpu_seconds']:.2f} s, {r['rss_growth_mb']:.0f} MB")
    for g in good:
        r = records[str(g)]
        if r.get("exception") or r["signal"] or r.get("errors") or r.get("cases") != 1:
            problems.append(f"valid {g.name}: {r}")
    assert problems == []


def _shown(path: Path) -> str:
    """How an error line starts for ``path`` when the CLI runs in ROOT."""
    try:
        name = path.resolve().relative_to(ROOT).as_posix()
    except (ValueError, RuntimeError):  # not under ROOT; a symlink loop
        name = str(path)
    return visible(name) + ":"


def _cli(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    def limit() -> None:  # a guard against bombs: any one of them would need gigabytes
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
        preexec_fn=limit,
    )


@pytest.mark.slow
def test_validate_and_run_give_one_line_per_bad_file_and_run_the_valid_ones(
    specials: list[Bad], valid: Path, tmp_path: Path
) -> None:
    bad = corpus() + specials
    paths = [str(CORPUS), str(specials[0].path.parent), str(valid)]
    checked = _cli(["validate", *paths], timeout=300)
    ran = _cli(
        ["run", *paths, "--framework", "numpy", "--quiet", "--report-dir", str(tmp_path)],
        timeout=300,
    )
    assert checked.returncode == ran.returncode == 2, (checked.stderr[-3000:], ran.stderr[-3000:])
    assert "Traceback" not in checked.stderr + ran.stderr
    lines = checked.stderr.splitlines()
    assert sorted(ran.stderr.splitlines()) == sorted(lines)  # run refuses what validate refuses
    assert len(lines) == len(bad)
    for b in bad:
        shown = _shown(b.path)
        mine = [line for line in lines if line.startswith(shown)]
        assert len(mine) == 1 and b.text in mine[0], (b.path.name, mine)
    assert all(_one_clean_line(line) for line in lines)
    rows = load_results(tmp_path)
    assert {r["case"] for r in rows} == {*VALID, "torch-linear-2x1-seed0"}
    assert {r["status"] for r in rows} == {"pass"}


def test_decimals_beyond_float64_round_to_inf_and_zero(valid: Path) -> None:
    (case,), errors = load_cases([valid / "beyond-float64.yaml"])
    assert errors == []
    for dtype in ("float16", "float32", "float64"):
        z = case.arrays(dtype).z
        assert z is not None
        assert list(z[:2]) == [np.inf, -np.inf]
        assert z[2] == 0 and not np.signbit(z[2]) and z[3] == 0 and np.signbit(z[3])


def test_every_float64_written_out_exactly_fits_the_digit_limit(valid: Path) -> None:
    assert sum(c.isdigit() for c in TWO_TO_MINUS_1074) == 1075 <= MAX_DIGITS
    (case,), errors = load_cases([valid / "exact-subnormal.yaml"])
    assert errors == [] and case.arrays("float64").z.tolist() == [5e-324]  # type: ignore[union-attr]


def test_reading_stops_one_byte_past_the_limit_whatever_fstat_says() -> None:
    # /proc files are regular files whose size reads as 0: fstat cannot catch them
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    with pytest.raises(CaseError, match="larger than the 100 bytes a case file may have"):
        read_bytes(status, "status", limit=100)
    assert len(read_bytes(status, "status", limit=1 << 20)) > 101


def test_case_error_is_one_bounded_escaped_line() -> None:
    err = CaseError("a\nb\x1b[2J.yaml" * 100, 7, "params.\x00" * 100, "bad\r\nvalue\u202e" * 1000)
    text = str(err)
    assert _one_clean_line(text) and "\\x1b[2J" in text and "\\x00" in text and "\\n" in text
    assert err.message.startswith("bad\r\n")  # the exception keeps the full text
