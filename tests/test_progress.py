"""The progress display: in place on a terminal, plain lines in logs, nothing when quiet; rate
and ETA from the rows done; framework names escaped."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from conformance.progress import Lines, Live, Progress, for_stream

from .conftest import CASES, ROOT

Cli = Callable[..., tuple[int, str, str]]
SEED = str(CASES / "semantics" / "torch-linear-2x1-seed0.yaml")
HOSTILE = "\x1b[31mevil\nname\x07"
OURS = re.compile(r"\x1b\[\d*F\x1b\[J")  # the only escape sequence Live writes


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_give_rate_and_eta_at_most_every_ten_seconds_and_a_line_per_finish() -> None:
    out, clock = io.StringIO(), Clock()
    p = Lines(out, clock)
    p.planned("numpy", 100)
    clock.now += 5
    p.advanced("numpy", 50)  # too soon for a status line
    assert out.getvalue() == ""
    clock.now += 5
    p.advanced("numpy", 80)  # 80 rows in 10 s: 8/s, 20 left: ETA 2 s
    assert out.getvalue() == "[conformance] numpy          80/100 rows (80%), 8.0/s, ETA 2 s\n"
    clock.now += 2.5
    p.advanced("numpy", 100)
    p.finished("numpy")
    assert (
        out.getvalue().splitlines()[-1]
        == "[conformance] numpy          100/100 rows (100%) in 12.5 s"
    )
    p.message("all rows in")
    assert out.getvalue().splitlines()[-1] == "[conformance] all rows in"


def test_names_and_notes_are_escaped_in_both_displays() -> None:
    for cls in (Lines, Live):
        out, clock = io.StringIO(), Clock()
        p = cls(out, clock)
        p.planned(HOSTILE, 3)
        p.finished(HOSTILE, f"error: worker said {HOSTILE}")
        p.message(f"message {HOSTILE}")
        p.close()
        text = OURS.sub("", out.getvalue())
        assert "\x1b" not in text and "\x07" not in text, (cls, text)
        assert "\\x1b[31mevil\\nname" in text
        assert "error: worker said \\x1b[31mevil" in text


def test_live_redraws_its_block_in_place_and_messages_scroll_above_it() -> None:
    out, clock = io.StringIO(), Clock()
    p = Live(out, clock)
    p.planned("numpy", 10)
    p.planned("torch", 10)
    clock.now += 1
    p.advanced("numpy", 5)
    first = out.getvalue()
    assert first.endswith("numpy          [##########..........] 5/10 rows (50%), 5.0/s, ETA 1 s\n"
                          "torch          [....................] 0/10 rows (0%)\n")  # fmt: skip
    clock.now += 0.01
    p.advanced("numpy", 6)  # within 0.1 s of the last draw: nothing
    assert out.getvalue() == first
    p.message("hello")
    tail = out.getvalue()[len(first) :]
    assert tail.startswith("\x1b[2F\x1b[Jhello\n")  # up over the 2 lines, clear, message, block
    assert tail.count("\n") == 3


def test_for_stream_picks_the_display() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert type(for_stream(io.StringIO())) is Lines
    assert type(for_stream(Tty())) is Live
    assert type(for_stream(Tty(), quiet=True)) is Progress


def test_cli_shows_lines_in_logs_and_nothing_when_quiet(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("run", SEED, "--framework", "numpy", "--report-dir", str(tmp_path))
    assert code == 0
    assert "[conformance] numpy          4/4 rows (100%) in " in err
    assert "[conformance] exact reference 2/2 cases (100%)" in err
    assert "\x1b" not in err
    code, _, err = cli(
        "run", SEED, "--framework", "numpy", "--report-dir", str(tmp_path), "--quiet"
    )
    assert code == 0 and err == ""


def test_cli_on_a_terminal_draws_in_place(tmp_path: Path) -> None:
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", SEED, "--framework", "numpy",
         "--report-dir", str(tmp_path / "r"), "--format", "json"],
        stderr=slave, stdout=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode()
    assert OURS.search(text), text
    assert "numpy          [####################] 4/4 rows (100%) in " in text
    assert "[conformance]" not in text
