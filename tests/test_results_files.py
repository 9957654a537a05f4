"""Result files as untrusted input (validated, bounded, one line per problem), their formats
(JSON, CSV, JSON Lines) and the row stream a run appends to."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance import gate, results
from conformance.errors import UsageError
from conformance.results import Row, read_rows, write_csv, write_json

from .deadline import deadline
from .report_fixtures import clone, synthetic

Cli = Callable[..., tuple[int, str, str]]
ROOT = Path(__file__).resolve().parent.parent


def _row(**kw: object) -> dict[str, object]:
    d = Row("c", "c.yaml", "float32", "affine", "numpy", "2.0", "x @ W.T", "eager", "cpu", "pass")
    out = d.to_json()
    out.update(kw)
    return out


DEEP = "[" * 3000 + " " * 30_000 + "]" * 3000  # sparse enough to pass the density bound

BAD_JSON = [
    ("[1]", "bad.json: row 1: must be an object with the row's fields, not a number"),
    ("[[]]", "bad.json: row 1: must be an object with the row's fields, not a list"),
    (json.dumps([_row(), _row(case=None)]), "bad.json: row 2: case: must be a string, not null"),
    (json.dumps([_row(case=7)]), "bad.json: row 1: case: must be a string, not a number"),
    (json.dumps([{"case": "x"}]), "bad.json: row 1: file: missing (required: case, file,"),
    (
        json.dumps([_row(settings=["a"])]),
        "bad.json: row 1: settings: must be an object of strings, not a list",
    ),
    (
        json.dumps([_row(settings={"a": {"b": 1}})]),
        "bad.json: row 1: settings: value of 'a' must be a string, not an object",
    ),
    (
        json.dumps([_row(framework_version=["2", "1"])]),
        "bad.json: row 1: framework_version: must be a string, not a list",
    ),
    (json.dumps([_row(max_ulp="lots")]), "bad.json: row 1: max_ulp: must be a number, null,"),
    (json.dumps([_row(max_ulp=True)]), "bad.json: row 1: max_ulp: must be a number or null"),
    (json.dumps([_row(n=-1)]), "bad.json: row 1: n: must be between 0 and 10^18"),
    (json.dumps([_row(n=1.5)]), "bad.json: row 1: n: must be a whole number, not a number"),
    (json.dumps([_row(message="m" * 40_000)]), "bad.json: row 1: message: longer than 32768"),
    ('[{"case": "a", "n": ' + "9" * 5000 + "}]", "bad.json: an integer with more than 18 digits"),
    (DEEP, "bad.json: the file nests too deeply"),
    ('[{"case": ' + DEEP + "}]", "bad.json: the file nests too deeply"),
    ('[{"n": NaN}]', "bad.json: NaN is not JSON"),
    ("[1, 2", "bad.json: not valid JSON"),
    ('{"deviations": []}', "bad.json: not a results file: unexpected key 'deviations'"),
    ('"rows"', "bad.json: not a results file: expected a list of rows, not a string"),
    ("[" + "[]," * 2000 + "[]]", "bad.json: not a results file (too many values for its size)"),
    (b"\xff\xfe[]", "bad.json: not UTF-8 text"),
]


@pytest.mark.parametrize(("content", "message"), BAD_JSON, ids=[m for _, m in BAD_JSON])
@pytest.mark.parametrize("command", ["diff", "report", "merge"])
def test_invalid_json_results_exit_2_with_one_located_line(
    cli: Cli, tmp_path: Path, command: str, content: str | bytes, message: str
) -> None:
    bad = tmp_path / "bad.json"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    good = tmp_path / "good.json"
    write_json([Row.from_json(_row())], good)
    args = {
        "diff": ["diff", str(good), str(bad)],
        "report": ["report", str(bad), "--out", str(tmp_path / "out")],
        "merge": ["merge", str(good), str(bad), "--out", str(tmp_path / "out")],
    }[command]
    code, out, err = cli(*args)
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert f"{tmp_path}/{message}" in lines[0]


BAD_CSV = [
    ("", "bad.csv: empty CSV file (no header line)"),
    ("case,file\nx,y\n", "bad.csv:1: header: missing column(s) dtype, op,"),
    (None, "bad.csv:2: row 1: n: must be a whole number >= 0, not 'abc'"),
    (None, "bad.csv:2: row 1: max_ulp: must be a number, null, 'inf', '-inf' or 'nan', not '1_0'"),
    (None, "bad.csv:2: row 1: settings: must be an object of strings, not a list"),
    (None, "bad.csv:2: row 1: more cells than the header has columns"),
    (None, "bad.csv:2: row 1: fewer cells than the header has columns"),
]


def _csv_with(tmp_path: Path, message: str) -> str:
    """A one-row results.csv broken the way ``message`` says."""
    path = tmp_path / "one.csv"
    write_csv([Row.from_json(_row())], path)
    header, line = path.read_text(encoding="utf-8").splitlines()
    cells = line.split(",")
    cols = header.split(",")
    if "n:" in message:
        cells[cols.index("n")] = "abc"
    elif "max_ulp" in message:
        cells[cols.index("max_ulp")] = "1_0"
    elif "settings" in message:
        cells[cols.index("settings")] = '"[1]"'
    elif "more cells" in message:
        cells.append("extra")
    else:
        cells.pop()
    return header + "\n" + ",".join(cells) + "\n"


@pytest.mark.parametrize(("content", "message"), BAD_CSV, ids=[m for _, m in BAD_CSV])
def test_invalid_csv_results_exit_2(
    cli: Cli, tmp_path: Path, content: str | None, message: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(_csv_with(tmp_path, message) if content is None else content, encoding="utf-8")
    code, _, err = cli("report", str(bad), "--out", str(tmp_path / "out"))
    assert code == 2 and "Traceback" not in err
    assert f"{tmp_path}/{message}" in err


def test_results_file_bounds_and_special_files(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    big = tmp_path / "big.json"
    write_json(rows, big)
    monkeypatch.setattr(results, "MAX_FILE_BYTES", big.stat().st_size - 1)
    code, _, err = cli("report", str(big), "--out", str(tmp_path / "o"))
    assert code == 2 and "big.json: larger than" in err
    monkeypatch.undo()
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with deadline(10):
        code, _, err = cli("diff", str(big), str(fifo))
    assert code == 2 and "fifo.json: not a regular file" in err
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    with deadline(10):
        code, _, err = cli("diff", str(big), str(zero))
    assert code == 2 and "zero.json: not a regular file" in err


def test_every_format_round_trips_non_finite_values_and_hostile_strings(tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    rows[0].max_ulp, rows[1].max_ulp, rows[2].max_abs_err = math.inf, math.nan, -math.inf
    rows[0].case = '=HYPERLINK("http://x","y")'
    rows[1].path = "+cmd|' /C calc'!A0"
    rows[2].message = '-2+3\nsecond line, "quoted"'
    rows[3].wrong_sign_zeros, rows[3].budget_used = 3, 0.5
    write_json(rows, tmp_path / "r.json")
    write_csv(rows, tmp_path / "r.csv")
    with results.RowStream(tmp_path / "r.jsonl") as stream:
        for r in rows:
            stream.write(r)
    text = (tmp_path / "r.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'+cmd" in text  # inert in a spreadsheet
    assert '"inf"' in (tmp_path / "r.json").read_text(encoding="utf-8")
    want = [json.dumps(r.to_json(), sort_keys=True) for r in rows]
    for name in ("r.json", "r.csv", "r.jsonl"):
        back = read_rows(tmp_path / name)
        assert [json.dumps(r.to_json(), sort_keys=True) for r in back] == want, name
        assert back[1].max_ulp is not None and math.isnan(back[1].max_ulp)


def test_gate_and_merge_write_non_finite_numbers_like_results(cli: Cli, tmp_path: Path) -> None:
    """One encoding of inf/nan everywhere: gate.json and merged.json agree with results.json,
    and a missing value (None) stays null rather than becoming nan."""
    rows, _ = synthetic(tmp_path / "cases")
    base = clone(rows)
    cand = clone(rows)
    cand[0].max_ulp = math.inf
    cand[1].max_ulp = math.nan
    b, c = tmp_path / "b.json", tmp_path / "c.json"
    write_json(base, b)
    write_json(cand, c)
    assert json.loads(c.read_text())[0]["max_ulp"] == "inf"
    cli("diff", str(b), str(c), "--json", str(tmp_path / "gate.json"))
    g = json.loads((tmp_path / "gate.json").read_text())
    assert g["regressions"][0]["cand"]["max_ulp"] == "inf"
    assert (
        cli("merge", str(b), str(c), "--label", "b", "--label", "c", "--out", str(tmp_path / "m"))[
            0
        ]
        == 0
    )
    merged = json.loads((tmp_path / "m" / "merged.json").read_text())
    by = {(m["run"], m["framework"], m["path"], m["case"]): m for m in merged}
    key = ("c", cand[0].framework, cand[0].path, cand[0].case)
    assert by[key]["max_ulp"] == "inf"
    assert by[("c", cand[1].framework, cand[1].path, cand[1].case)]["max_ulp"] == "nan"
    skipped = next(m for m in merged if m["status"] == "skip")
    assert skipped["max_ulp"] is None


# --------------------------------------------------------------------------------------------
# Streaming rows as JSON Lines


def test_stream_keeps_complete_rows_and_skips_a_torn_last_line(cli: Cli, tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    path = tmp_path / "results.jsonl"
    with results.RowStream(path) as stream:
        for r in rows[:3]:
            stream.write(r)
        assert len(read_rows(path)) == 3  # flushed per row, readable while still open
        stream.write(rows[3])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # killed in the middle of the fourth row
    warnings: list[str] = []
    back = read_rows(path, warn=warnings.append)
    assert [r.case for r in back] == [r.case for r in rows[:3]]
    assert len(warnings) == 1 and "results.jsonl:4: ignored an incomplete last line" in warnings[0]
    # the CLI reads the stream (as a file and as a directory without results.json)
    code, out, err = cli("report", str(path), "--out", str(tmp_path / "rep"), "--format", "json")
    assert code == 0, err
    assert "3 rows" in out and "ignored an incomplete last line" in err
    assert len(read_rows(tmp_path / "rep")) == 3
    code, _, _ = cli("diff", str(tmp_path / "rep"), str(tmp_path))
    assert code == 0  # tmp_path holds only results.jsonl: read as a report directory


def test_stream_lines_in_the_middle_are_not_forgiven(tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    path = tmp_path / "s.jsonl"
    with results.RowStream(path) as stream:
        for r in rows[:3]:
            stream.write(r)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(lines[0] + lines[1][:20] + "\n" + lines[2], encoding="utf-8")
    with pytest.raises(results.ResultsError, match=r"s\.jsonl:2: not valid JSON"):
        read_rows(path)
    path.write_text(lines[0] + json.dumps(_row(case=5)) + "\n", encoding="utf-8")
    with pytest.raises(results.ResultsError, match=r"s\.jsonl:2: row 2: case: must be a string"):
        read_rows(path)


def test_second_stream_into_one_file_fails_clearly(tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    path = tmp_path / "s.jsonl"
    with results.RowStream(path) as first:
        first.write(rows[0])
        with pytest.raises(UsageError, match="another run is streaming rows into this file"):
            results.RowStream(path)
        first.write(rows[1])
    assert len(read_rows(path)) == 2  # the refused stream truncated nothing
    with results.RowStream(path) as again:  # free once the first is closed; a new run starts afresh
        again.write(rows[2])
    assert [r.case for r in read_rows(path)] == [rows[2].case]


WRITER = """
import sys, time
from pathlib import Path
from conformance.results import Row, RowStream
with RowStream(Path(sys.argv[1])) as s:
    for i in range(100000):
        s.write(Row(f"case-{i}", "f.yaml", "float32", "affine", "numpy", "2", "p", "eager",
                    "cpu", "pass", message="x" * 3000))
        if i == 50:
            print("written", flush=True)
"""


def test_stream_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    back = read_rows(path, warn=lambda _m: None)
    assert len(back) > 50
    assert [r.case for r in back] == [f"case-{i}" for i in range(len(back))]


def test_gate_reads_a_stream(tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    with results.RowStream(tmp_path / "c.jsonl") as s:
        for r in rows:
            s.write(r)
    res = gate.compare(rows, read_rows(tmp_path / "c.jsonl"))
    assert not res.failed and res.unchanged == len(rows)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_write_json_streams_the_text_json_dumps_would_give(tmp_path: Path, count: int) -> None:
    """results.json is written a row at a time; the bytes are those of one json.dumps."""
    rows = [
        Row(
            case=f"c{i}",
            file="f.yaml",
            dtype="float32",
            op="affine",
            framework="numpy",
            framework_version="1",
            path="p",
            mode="eager",
            device="cpu",
            status="pass",
            message='a\nb "q" é',
            settings={"k": "v"},
        )
        for i in range(count)
    ]
    path = tmp_path / "results.json"
    write_json(rows, path)
    want = json.dumps([r.to_json() for r in rows], indent=1) + "\n"
    assert path.read_text(encoding="utf-8") == want
