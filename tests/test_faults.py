"""Faults in frameworks and runs, with real worker processes and real signals: each costs only
its own rows, is said precisely, and leaves no process behind; interrupted runs keep their
finished rows and write a report marked partial."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance import gate, report
from conformance.adapters.base import Batch, Item
from conformance.interrupts import RunInterrupted
from conformance.progress import Progress
from conformance.results import INTERRUPTED, Row, read_rows
from conformance.runner import RunOptions, run
from conformance.worker import Ended, Limits, Watchdog, WorkerProcess

from .conftest import CASES, ROOT, load_results
from .deadline import deadline

Cli = Callable[..., tuple[int, str, str]]
SEED = str(CASES / "semantics" / "torch-linear-2x1-seed0.yaml")  # dense, float32 and float64
LAYOUT = [str(CASES / "layout" / f"core-{form}-3x5.yaml") for form in ("weight", "kernel")]
MARK = "_CONFORMANCE_TEST_MARK"


# --------------------------------------------------------------------------------------------
# Processes


def processes_with(token: str) -> list[int]:
    """Live processes (not this one) whose environment holds ``MARK=token``: workers inherit
    it, also once orphaned."""
    needle = f"{MARK}={token}".encode()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            env = (d / "environ").read_bytes()
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in env.split(b"\0") and state != "Z":
            found.append(int(d.name))
    return found


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A mark in the environment of this run's workers; none may outlive the test."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK, value)
    yield value
    left = processes_with(value)
    for pid in left:  # do not leak them into the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind: {left}"


def rows_by_framework(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["framework"], []).append(r)
    return out


# --------------------------------------------------------------------------------------------
# Faulty adapters through --adapter: each costs only its own rows, and says what happened

STALL = "5"  # --stall-timeout for the hanging adapters (numpy must start within it)

FAULTS = [
    # (adapter class, status of its rows, fragments of their message, extra options)
    ("HangInSetup", "error", ["killed by the watchdog", "timeout after", "no answer for",
                              "during setup (importing the framework)"], ["--stall-timeout", STALL]),
    ("HangInPath", "error", ["killed by the watchdog", "--stall-timeout 5 s",
                             "path 'faulty affine', 0 items done"], ["--stall-timeout", STALL]),
    ("SpawnsAndHangs", "error", ["killed by the watchdog", "path 'faulty affine'"],
     ["--stall-timeout", STALL]),
    ("KillsItself", "error", ["worker killed by SIGKILL (not by this run",
                              "path 'faulty affine'"], []),
    ("Segfaults", "error", ["worker killed by SIGSEGV (segmentation fault)",
                            "Fatal Python error: Segmentation fault", "in bad"], []),
    ("ExitsNonZero", "error", ["worker exited with code 3", "about to fail \\x1b[31mred"], []),
    ("ReturnsString", "error", ["returned str 'garbage', not an array"], []),
    ("ReturnsNone", "error", ["returned None"], []),
    ("ReturnsUnpicklable", "error", ["returned an array of object (Unpicklable)"], []),
    ("WrongShape", "fail", ["output shape [1, 1, 1], expected [1, 1]"], []),
    ("ShortOutputs", "error", ["the adapter returned 0 outputs and 1 errors for 1 items"], []),
    ("RunReturnsString", "error", ["run() returned a str, not a list"], []),
    ("DeviceRaises", "error", ["LookupError: no device for this batch"], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cls", "status", "fragments", "extra"), FAULTS, ids=[f[0] for f in FAULTS]
)
def test_a_faulty_adapter_costs_only_its_own_rows(
    cli: Cli,
    tmp_path: Path,
    token: str,
    cls: str,
    status: str,
    fragments: list[str],
    extra: list[str],
) -> None:
    from . import plugins

    name = getattr(plugins, cls).name
    start = time.monotonic()
    with deadline(60):  # a watchdog that never fires fails here, instead of hanging
        code, out, _err = cli(
            "run", SEED, "--framework", "numpy", "--framework", name,
            "--adapter", f"tests.plugins:{cls}", "--report-dir", str(tmp_path / "r"),
            "--format", "json", "--quiet", *extra,
        )  # fmt: skip
    took = time.monotonic() - start
    assert code == 1, out
    by_fw = rows_by_framework(load_results(tmp_path / "r"))
    assert {r["status"] for r in by_fw["numpy"]} == {"pass"} and len(by_fw["numpy"]) == 4
    mine = by_fw[name]
    assert {(r["dtype"], r["path"]) for r in mine} == {
        ("float32", "faulty affine"),
        ("float64", "faulty affine"),
    }
    assert {r["status"] for r in mine} == {status}
    for r in mine:
        for fragment in fragments:
            assert fragment in r["message"], r["message"]
        assert "\x1b" not in r["message"]
    if extra:  # a hang is found within the stall time (plus start-up), not after 30 minutes
        assert took < float(STALL) + 10


def test_wrong_dtype_fails_its_row(cli: Cli, tmp_path: Path, token: str) -> None:
    code, _, _ = cli(
        "run", SEED, "--framework", "wrongdtype", "--adapter", "tests.plugins:WrongDtype",
        "--report-dir", str(tmp_path), "--format", "json", "--quiet",
    )  # fmt: skip
    assert code == 1
    rows = {r["dtype"]: r for r in load_results(tmp_path)}
    assert rows["float32"]["status"] == "fail"
    assert rows["float32"]["message"] == "output dtype float64, expected float32"
    assert rows["float64"]["status"] == "pass"  # float64 is right in float64


def test_the_total_timeout_kills_a_worker_that_keeps_answering_too_long(
    cli: Cli, tmp_path: Path, token: str
) -> None:
    start = time.monotonic()
    with deadline(60):
        code, _, _ = cli(
            "run", SEED, "--framework", "hangpath", "--adapter", "tests.plugins:HangInPath",
            "--report-dir", str(tmp_path), "--format", "json", "--quiet",
            "--timeout", "4", "--stall-timeout", "1000",
        )  # fmt: skip
    assert code == 1 and time.monotonic() - start < 14
    for r in load_results(tmp_path):
        assert "killed by the watchdog: timeout after 4 s" in r["message"], r["message"]
        assert "the framework's time limit (--timeout 4 s) ran out" in r["message"]


def test_error_details_are_kept_in_the_report_and_printed_with_verbose(
    cli: Cli, tmp_path: Path, token: str
) -> None:
    code, _, err = cli(
        "run", SEED, "--framework", "deviceraises", "--framework", "segfault",
        "--adapter", "tests.plugins:DeviceRaises", "--adapter", "tests.plugins:Segfaults",
        "--report-dir", str(tmp_path), "--format", "json", "--quiet",
    )  # fmt: skip
    assert code == 1
    assert f"error details (tracebacks, worker stderr) in {tmp_path}" in err
    problems = json.loads((tmp_path / "environment.json").read_text())["problems"]
    text = "\n".join(problems)
    # the batch's traceback from the worker, and the crashed worker's stderr, whole
    assert "Traceback (most recent call last)" in text and "in device" in text
    assert "LookupError: no device for this batch" in text
    assert "--- its stderr ---\nFatal Python error: Segmentation fault" in text
    code, _, err = cli(
        "run", SEED, "--framework", "deviceraises", "--adapter", "tests.plugins:DeviceRaises",
        "--report-dir", str(tmp_path), "--format", "json", "--quiet", "--verbose",
    )  # fmt: skip
    assert "Traceback (most recent call last)" in err and "in device" in err


def test_a_reference_failure_keeps_its_traceback(
    cli: Cli, tmp_path: Path, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the reference (injected: no valid case makes it raise) costs that unit's rows
    and leaves the traceback where the user can find it."""
    import conformance.runner as runner_mod

    real = runner_mod.reference

    def flaky(dtype: str, **arrays: Any) -> Any:
        if dtype == "float64":
            return 1 // 0
        return real(dtype, **arrays)

    monkeypatch.setattr(runner_mod, "reference", flaky)
    code, _, err = cli(
        "run", SEED, "--framework", "numpy", "--report-dir", str(tmp_path), "--format", "json",
        "--quiet", "--verbose",
    )  # fmt: skip
    assert code == 1
    rows = load_results(tmp_path)
    assert {r["status"] for r in rows if r["dtype"] == "float32"} == {"pass"}
    f64 = [r for r in rows if r["dtype"] == "float64"]
    assert f64 and all(
        r["status"] == "error" and r["message"].startswith("reference failed: ZeroDivisionError")
        for r in f64
    )
    problems = "\n".join(json.loads((tmp_path / "environment.json").read_text())["problems"])
    assert "Traceback (most recent call last)" in problems and "in flaky" in problems
    assert "in flaky" in err  # --verbose


# --------------------------------------------------------------------------------------------
# Malformed answers: the protocol, checked by the parent


def _rogue(mode: str) -> tuple[Ended, list[str], float]:
    events: queue.Queue[Any] = queue.Queue()
    w = WorkerProcess(
        "rogue",
        "tests.plugins:TinyAdapter",
        events,
        Limits(total=60, stall=60),
        argv=[sys.executable, str(ROOT / "tests" / "rogue_worker.py"), mode],
    )
    start = time.monotonic()
    w.start()
    batch = Batch("dense", "float32", 1, 1, False, [Item("c", x=np.ones((1, 1), np.float32))])
    w.send_batches([(0, batch)])
    kinds = []
    while True:
        _, msg = events.get(timeout=20)
        kinds.append(msg.kind)
        if msg.kind == "exit":
            return msg["ended"], kinds, time.monotonic() - start


def test_a_worker_waiting_for_more_batches_is_on_no_clock() -> None:
    """Between the batches that need no draw and the init cases' batches a worker may have
    answered everything sent so far: the stall clock must not run then (the runner, not the
    worker, is behind), and it runs again once batches are sent."""
    events: queue.Queue[Any] = queue.Queue()
    w = WorkerProcess("tiny", "tests.plugins:TinyAdapter", events, Limits(total=60, stall=1.5))
    item = Item("c", x=np.ones((1, 1), np.float32), param=np.ones((1, 1), np.float32))
    batch = Batch("dense", "float32", 1, 1, False, [item])
    kinds: list[str] = []

    def until(kind: str) -> None:
        while not kinds or kinds[-1] != kind:
            _, msg = events.get(timeout=30)
            kinds.append(msg.kind)
            assert msg.kind != "exit", msg["ended"]

    w.start()
    with Watchdog([w]):
        w.send_batches([(0, batch)], last=False)
        until("batch")
        time.sleep(3)  # twice the stall timeout with nothing owed
        assert w.alive and events.empty()
        w.send_batches([(1, batch)], last=True)
        until("done")
        _, msg = events.get(timeout=30)
    assert msg.kind == "exit" and msg["ended"].reason == "", msg["ended"]
    assert kinds.count("batch") == 2


ROGUE = [
    ("unknown-kind", "unknown message kind 'explode'"),
    ("pickle", "not a JSON message"),
    ("unsent-batch", "batch for batch 7, which was not sent"),
    ("answered-twice", "a second answer for batch 0"),
    ("wrong-type", "batch: field 'batch' has the wrong type"),
    ("extra-field", "batch_skip: fields"),
    ("object-array", "array dtype '|O' may not cross"),
    ("short-array", "array of 8 bytes for shape [2] of <f8"),
    ("huge-length", "a message of 4611686018427387904 bytes"),
    ("bad-result", "a path result is an object with"),
    ("bad-array-ref", "an array reference is"),
    ("deep-json", "not a JSON message: RecursionError"),
    ("not-an-object", "a message is a JSON object, not list"),
    ("garbage", "not a JSON message"),
]


@pytest.mark.parametrize(("mode", "fragment"), ROGUE, ids=[r[0] for r in ROGUE])
def test_a_worker_breaking_the_protocol_is_killed_and_said(
    token: str, mode: str, fragment: str
) -> None:
    ended, kinds, took = _rogue(mode)
    assert kinds[:2] == ["hello", "inits_done"] and kinds[-1] == "exit"
    assert ended.reason.startswith("worker killed: protocol error: "), ended.reason
    assert fragment in ended.reason, ended.reason
    assert ended.returncode == -signal.SIGKILL and took < 10  # not left to linger 60 s


# --------------------------------------------------------------------------------------------
# Every exit path ends the workers


class RaisingProgress(Progress):
    """A caller's display that raises once the workers are running (any crash of the parent)."""

    def planned(self, task: str, total: int, unit: str = "rows") -> None:
        if task == "hangpath":
            raise RuntimeError("the display broke")


def test_a_crash_in_the_parent_ends_every_worker_at_once(token: str) -> None:
    options = RunOptions(
        [SEED], frameworks=["numpy", "hangpath"], adapters=["tests.plugins:HangInPath"]
    )
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="the display broke"):
        run(options, progress=RaisingProgress())
    assert time.monotonic() - start < 15
    assert not processes_with(token)
    # nothing keeps the interpreter alive (a non-daemon timer once did, for 30 minutes)
    assert [t for t in threading.enumerate() if not t.daemon] == [threading.main_thread()]


# --------------------------------------------------------------------------------------------
# Interrupts and kills of the CLI (real signals, a real process)


def _start_cli(tmp_path: Path, token: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, MARK: token, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            sys.executable, "-m", "conformance", "run", SEED, *LAYOUT,
            "--framework", "numpy", "--framework", "hangpath",
            "--adapter", "tests.plugins:HangInPath", "--report-dir", str(tmp_path / "r"),
            "--format", "json,md", "--stall-timeout", "100", *extra,
        ],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own group, as a shell gives a foreground job
    )  # fmt: skip


def _wait_for_numpy_rows(tmp_path: Path, proc: subprocess.Popen[str]) -> list[Row]:
    """The numpy rows, read from the stream while the run still goes (hangpath hangs)."""
    stream = tmp_path / "r.partial.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        rows = read_rows(stream) if stream.exists() else []
        numpy = [r for r in rows if r.framework == "numpy"]
        if len(numpy) == 12:  # 3 cases x 2 dtypes x 2 paths
            return rows
        time.sleep(0.1)
    raise AssertionError("numpy rows never streamed")


SIGNALS = [
    ("SIGINT to the CLI", signal.SIGINT, False, 130),
    ("Ctrl-C: SIGINT to its process group", signal.SIGINT, True, 130),
    ("SIGTERM", signal.SIGTERM, False, 143),
]


@pytest.mark.parametrize(("how", "sig", "group", "code"), SIGNALS, ids=[s[0] for s in SIGNALS])
def test_an_interrupt_stops_everything_and_writes_a_partial_report(
    tmp_path: Path, token: str, how: str, sig: int, group: bool, code: int
) -> None:
    proc = _start_cli(tmp_path, token)
    streamed = _wait_for_numpy_rows(tmp_path, proc)
    assert all(r.status == "pass" for r in streamed)  # judged as they arrived, not at the end
    assert len(processes_with(token)) >= 2  # the CLI and the hanging worker
    start = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - start < 5, "the run did not stop within a few seconds"
    assert proc.returncode == code, err
    assert not processes_with(token)
    name = signal.Signals(sig).name
    assert f"{name}: the run was stopped; the report is partial" in err
    rows = load_results(tmp_path / "r")
    by_fw = rows_by_framework(rows)
    assert {r["status"] for r in by_fw["numpy"]} == {"pass"}
    assert {r["status"] for r in by_fw["hangpath"]} == {"error"}
    assert all(
        r["message"] == f"{INTERRUPTED}: the run was stopped by {name} before this row finished"
        for r in by_fw["hangpath"]
    )
    env = json.loads((tmp_path / "r" / "environment.json").read_text())
    assert env["partial"] == f"interrupted by {name}: 6 of 18 rows never ran"
    assert "# Parity report (partial: interrupted by" in (tmp_path / "r" / "parity.md").read_text()
    assert not (tmp_path / "r.partial.jsonl").exists()  # the report holds every row
    # the gate refuses a partial candidate, whatever the flags and the baseline say
    cand = [Row.from_json(d) for d in rows]
    base = [replace(r, status="error") for r in cand]  # errors in the baseline too
    res = gate.compare(base, cand, allow_missing=True, allow_skipped=True)
    assert res.failed
    assert "the candidate is partial: 6 of its rows never ran" in res.reasons()[0]


def test_a_killed_run_leaves_its_stream_and_a_report_can_be_built_from_it(
    cli: Cli, tmp_path: Path, token: str
) -> None:
    proc = _start_cli(tmp_path, token)
    _wait_for_numpy_rows(tmp_path, proc)
    proc.send_signal(signal.SIGKILL)  # no handler runs: what the OOM killer does
    proc.communicate(timeout=10)
    deadline = time.monotonic() + 5  # the worker dies with its parent
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_with(token)
    stream = tmp_path / "r.partial.jsonl"
    code, out, _ = cli("report", str(stream), "--out", str(tmp_path / "from-stream"))
    assert code == 0, out
    rows = read_rows(tmp_path / "from-stream")
    assert len(rows) == 12 and {r.framework for r in rows} == {"numpy"}
    md = (tmp_path / "from-stream" / "parity.md").read_text()
    assert "(partial: r.partial.jsonl is the row stream of a run that did not finish)" in md
    # diff refuses the stream, and the report built from it, as candidates
    for candidate in (stream, tmp_path / "from-stream"):
        code, _, err = cli("diff", str(tmp_path / "from-stream"), str(candidate), "--allow-missing")
        assert code == 1 and "gate failed: the candidate is partial" in err


def test_sigterm_in_the_report_phase_keeps_the_previous_report_and_the_stream(
    tmp_path: Path, token: str
) -> None:
    out = tmp_path / "r"
    env = {**os.environ, MARK: token, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "conformance", "run", SEED, "--framework", "numpy",
            "--report-dir", str(out), "--format", "json,md", "--quiet"]  # fmt: skip
    first = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    proc = subprocess.Popen(
        argv, env={**env, report.PAUSE_ENV: "60"}, cwd=tmp_path, stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "conformance: paused in report.write"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10)
    assert proc.returncode == 143
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    kept = read_rows(tmp_path / "r.partial.jsonl")  # every row of the stopped run
    assert len(kept) == 4 and {r.status for r in kept} == {"pass"}
    assert not processes_with(token)


class CtrlCWhenNumpyIsDone(Progress):
    """Presses Ctrl-C (a real SIGINT to this process) once numpy's rows are all in."""

    def __init__(self) -> None:
        self.total: dict[str, int] = {}

    def planned(self, task: str, total: int, unit: str = "rows") -> None:
        self.total[task] = total

    def advanced(self, task: str, done: int) -> None:
        if task == "numpy" and done == self.total.get(task):
            os.kill(os.getpid(), signal.SIGINT)


def test_the_api_raises_run_interrupted_with_the_finished_rows(token: str, tmp_path: Path) -> None:
    stream = tmp_path / "rows.jsonl"
    options = RunOptions(
        [SEED, *LAYOUT],
        frameworks=["numpy", "hangpath"],
        adapters=["tests.plugins:HangInPath"],
        stream=stream,
    )
    with pytest.raises(RunInterrupted) as info:
        run(options, progress=CtrlCWhenNumpyIsDone())
    assert isinstance(info.value, KeyboardInterrupt) and info.value.exit_code == 130
    result = info.value.result
    assert result.interrupted == "SIGINT"
    numpy = [r for r in result.rows if r.framework == "numpy"]
    hang = [r for r in result.rows if r.framework == "hangpath"]
    assert len(numpy) == 12 and {r.status for r in numpy} == {"pass"}
    assert len(hang) == 6 and all(r.message.startswith(f"{INTERRUPTED}:") for r in hang)
    key = ["case", "dtype", "path"]
    streamed = sorted([getattr(r, k) for k in key] for r in read_rows(stream))
    assert streamed == sorted([getattr(r, k) for k in key] for r in numpy)  # what finished
    assert not processes_with(token)
