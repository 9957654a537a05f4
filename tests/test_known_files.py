"""Known-deviations files as untrusted input: every problem is one ``FILE:LINE: field: reason``
line and exit 2, never a traceback, a hang or a memory blow-up."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance import known
from conformance.errors import UsageError
from conformance.results import write_json

from .deadline import deadline
from .report_fixtures import synthetic

Cli = Callable[..., tuple[int, str, str]]

BAD = [
    ("- reason: x\n  expires: 2026-02-30\n", "known.yaml:2: expires: 2026-02-30 is not a date"),
    ("- reason: x\n  expires: 2026-13-01\n", "known.yaml:2: expires: 2026-13-01 is not a date"),
    ("- reason: x\n  expires: '2026-02-30'\n", "known.yaml:2: expires: '2026-02-30' is not a date"),
    ("- reason: x\n  expires: [2026]\n", "known.yaml:2: expires: must be a date (YYYY-MM-DD)"),
    ("- reason: x\n  case: " + "1" * 5000 + "\n", "known.yaml:2: case: longer than 4096"),
    (
        "- reason: x\n  case: " + "7" * 100 + "\n",
        "known.yaml:2: case: an integer with more than 18",
    ),
    ("- reason: x\n  case: " + "[" * 3000 + "]" * 3000 + "\n", "known.yaml:2: case: nested deeper"),
    ("- reason: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "known.yaml:1: reason: nested deeper"),
    ("- " * 3000 + "x\n", "known.yaml:1: yaml: nested deeper"),
    ("- reason: &a x\n  case: *a\n", "known.yaml:2: case: aliases (*name) are not allowed"),
    ("- reason: [a, b]\n", "known.yaml:1: reason: must be a non-empty string"),
    ("- reason: x\n  framework: [torch]\n", "known.yaml:2: framework: must be a glob pattern"),
    ("- reason: x\n  version: [1, 2]\n", "known.yaml:2: version: must be a version range string"),
    ("- reason: x\n  status: {fail: 1}\n", "known.yaml:2: status: must be fail, error or a list"),
    ("- reason: x\n  status: [fail, [error]]\n", "known.yaml:2: status: must be fail, error"),
    ("- framework: torch\n", "known.yaml:1: entry 1: 'reason' is required"),
    ("- reason: x\n  frameworks: torch\n", "known.yaml:2: frameworks: unknown key(s) frameworks"),
    ("deviations: 3\n", "known.yaml: expected a list of entries"),
    ("- reason: x\n  case: [unclosed\n", "known.yaml:3: yaml:"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_known_file_is_one_located_line(
    cli: Cli, tmp_path: Path, text: str, message: str
) -> None:
    kf = tmp_path / "known.yaml"
    kf.write_text(text, encoding="utf-8")
    t0 = time.perf_counter()
    with pytest.raises(UsageError) as info:
        known.load(kf)
    assert time.perf_counter() - t0 < 2.0  # bounded work, whatever the nesting
    assert str(info.value).startswith(f"{tmp_path}/{message}"), str(info.value)
    rows, _ = synthetic(tmp_path / "cases")
    write_json(rows, tmp_path / "r.json")
    code, _, err = cli(
        "diff", str(tmp_path / "r.json"), str(tmp_path / "r.json"), "--known", str(kf)
    )
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_known_file_must_be_a_small_regular_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with deadline(10), pytest.raises(UsageError, match=r"fifo\.yaml: not a regular file"):
        known.load(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    with deadline(10), pytest.raises(UsageError, match=r"zero\.yaml: not a regular file"):
        known.load(zero)
    big = tmp_path / "big.yaml"
    big.write_text("- reason: x\n" * 100, encoding="utf-8")
    monkeypatch.setattr(known, "MAX_FILE_BYTES", 1000)
    with pytest.raises(UsageError, match=r"big\.yaml: larger than"):
        known.load(big)
    with pytest.raises(UsageError, match=r"nope\.yaml: no such known-deviations file"):
        known.load(tmp_path / "nope.yaml")


def test_valid_file_still_loads_with_dates_lists_and_numbers(tmp_path: Path) -> None:
    kf = tmp_path / "known.yaml"
    kf.write_text(
        "deviations:\n"
        "  - framework: tensorflow\n"
        "    dtype: float32\n"
        "    case: 2024\n"
        "    status: [fail, error]\n"
        '    version: ">=2.16,<3"\n'
        "    reason: Eigen's logistic kernel\n"
        "    expires: 2026-02-28\n",
        encoding="utf-8",
    )
    (d,) = known.load(kf)
    assert d.patterns == {"framework": "tensorflow", "dtype": "float32", "case": "2024"}
    assert d.statuses == ("fail", "error") and str(d.expires) == "2026-02-28"
    assert d.where == f"{tmp_path}/known.yaml:2"


def test_known_lines_are_terminal_safe(tmp_path: Path) -> None:
    kf = tmp_path / "known.yaml"
    kf.write_text('- framework: nosuch\n  reason: "evil \\e[31m red \\a bell"\n', encoding="utf-8")
    rows, _ = synthetic(tmp_path / "cases")
    rep = known.apply(rows, known.load(kf))
    (line,) = rep.lines()
    assert "\x1b" not in line and "\x07" not in line and "\\x1b[31m" in line
