"""Worker processes: both halves of the protocol between the runner and one framework.

The child (``python -m conformance.worker``, :func:`main`) runs one adapter over the batches it
is sent, isolated from the other frameworks; the parent side (:class:`WorkerProcess`) starts
it, checks and forwards its answers to the runner's event queue from a reader thread, and
:class:`Watchdog` kills it when it stops answering or runs out of time.

Protocol (frames of :mod:`conformance.wire`: pickles to the worker, JSON and plain arrays back):

1. parent -> worker: ``{"adapter": "mod:Class", "options": {...}, "inits": [InitRequest]}``;
2. worker -> parent: ``hello`` (version, settings), then ``init`` per request and
   ``inits_done`` (phase 1: framework-native parameter draws); with compiled mode on, then
   ``settings`` (compiled-mode denormal behaviour); ``fatal`` when the adapter cannot start;
3. parent -> worker: ``{"batches": [(index, Batch), ...]}``, one or more times: the batches
   that need no init draw at once, those of the init cases once their draws are in; the parent
   closes the stream after the last;
4. worker -> parent: ``tick`` (batch, path, items done; when a path starts and at most every
   :data:`TICK_S` between items), and per batch ``batch`` (results), ``batch_error`` or
   ``batch_skip``, in the order sent; ``done`` once the stream is closed and every batch
   answered.

Anything the framework prints goes to stderr (kept, bounded, for the exit description), so it
cannot corrupt the stream. Each worker leads its own process group: the parent's Ctrl-C does
not reach it (the parent stops it), and killing the group also ends what it started. A worker
dies with its parent (``PR_SET_PDEATHSIG``). However a worker ends — a segfault, SIGKILL from
the OOM killer, a non-zero exit, the watchdog, a protocol error — :meth:`WorkerProcess.ended`
says which, with the stderr tail, and costs only that framework's unfinished rows.
"""

from __future__ import annotations

import collections
import contextlib
import faulthandler
import inspect
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from . import escape, wire
from .adapters.base import Batch, InitRequest, InitResult, SkipBatch
from .host import host_settings

#: the longest a worker waits between progress ticks while items finish
TICK_S = 0.5
#: how long a worker may take to exit after closing its end of the stream
EXIT_GRACE_S = 5.0
#: how often the watchdog looks
WATCH_S = 0.1
#: bytes of a worker's stderr kept for the exit description
STDERR_KEEP = 64 << 10
#: lines and characters of the stderr tail shown in a row's message
TAIL_LINES = 6
TAIL_CHARS = 600
#: traceback text kept per failure (the report's environment.json holds it)
TRACEBACK_CHARS = 8000
PARENT_ENV = "_CONFORMANCE_PARENT_PID"


# --------------------------------------------------------------------------------------------
# Child side


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the parent dies (even by SIGKILL)."""
    parent = os.environ.get(PARENT_ENV)
    if not sys.platform.startswith("linux") or not parent:
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the parent died before prctl
        os._exit(1)


class _Ticker:
    """``Adapter.run``'s progress callback: a tick when a path starts, else every TICK_S."""

    def __init__(self, out: BinaryIO, index: int) -> None:
        self.out, self.index = out, index
        self.path: str | None = None
        self.last = 0.0

    def __call__(self, path: str, done: int) -> None:
        now = time.monotonic()
        if path != self.path or now - self.last >= TICK_S:
            self.path, self.last = path, now
            wire.send(self.out, "tick", batch=self.index, path=str(path), done=int(done))


def _takes_progress(fn: Any) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "progress" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _tb() -> str:
    return traceback.format_exc()[-TRACEBACK_CHARS:]


def main() -> int:
    _die_with_parent()
    proto = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # framework chatter on stdout goes to stderr
    sys.stdout = sys.stderr
    faulthandler.enable(file=sys.stderr, all_threads=True)  # a segfault shows where
    job = wire.receive_pickle(sys.stdin.buffer)
    # Idle OpenMP threads (torch's libgomp) sleep instead of spinning, before any framework
    # loads its runtime: the workers share the cores, and spinning pools made torch 4x slower
    # beside the others. No result changes (the same threads split the same work); a policy
    # the user set is kept, and the rows' settings say which one ran.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from .registry import load_class

    try:
        adapter = load_class(job["adapter"])()
        adapter.setup()
        adapter.configure(job.get("options") or {})
        settings = {**host_settings(), **adapter.denormals(), **adapter.settings()}
        settings["omp_wait_policy"] = os.environ["OMP_WAIT_POLICY"]
        wire.send(
            proto,
            "hello",
            version=str(adapter.version()),
            settings={str(k): str(v) for k, v in settings.items()},
        )
    except Exception as exc:
        wire.send(proto, "fatal", message=f"worker setup failed: {_one_line(exc)}", traceback=_tb())
        return 1
    for request in job.get("inits") or []:
        try:
            fields = wire.init_result_fields(adapter.init_params(request))
        except Exception as exc:
            fields = wire.init_result_fields(InitResult(request.key, error=_one_line(exc)))
        wire.send(proto, "init", **fields)
    wire.send(proto, "inits_done")
    if "compiled" in (job.get("options") or {}).get("modes", ""):
        try:  # after the draws: a slow first compile (inductor) must not hold them up
            late = adapter.denormals(compiled=True)
        except Exception as exc:
            late = {"denormals_compiled": f"not measured ({_one_line(exc)})"}
        if late:
            wire.send(proto, "settings", settings={str(k): str(v) for k, v in late.items()})
    ticks = _takes_progress(adapter.run)
    ahead = _WarmAhead(adapter) if getattr(adapter, "warm_ahead", False) else None
    while True:
        try:
            batches = wire.receive_pickle(sys.stdin.buffer)["batches"]
        except EOFError:
            break  # the parent sent its last batches
        if ahead:
            ahead.add(batches)
        for index, batch in batches:
            if ahead:
                ahead.take(index)
            _run_batch(proto, adapter, index, batch, ticks)
    wire.send(proto, "done")
    sys.stderr.flush()
    os._exit(0)  # skip the frameworks' slow (sometimes hanging) teardown


class _WarmAhead:
    """A second thread that runs :meth:`Adapter.warm` on the batches ahead of the main loop,
    the last one first: the main loop takes batches from the front, this thread from the
    back, so the two meet once and no batch is warmed after its run has begun (or twice).
    What the batches compute is unchanged: the main loop runs every batch as before."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self.ahead: collections.deque[tuple[int, Batch]] = collections.deque()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        threading.Thread(target=self._run, name="warm-ahead", daemon=True).start()

    def add(self, batches: list[tuple[int, Batch]]) -> None:
        with self.lock:
            self.ahead.extend(batches)
            self.wake.set()

    def take(self, index: int) -> None:
        """The main loop starts batch ``index``: not to be warmed any more."""
        with self.lock:
            if self.ahead and self.ahead[0][0] == index:
                self.ahead.popleft()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            with self.lock:
                if not self.ahead:
                    self.wake.clear()
                    continue
                _, batch = self.ahead.pop()
            with contextlib.suppress(BaseException):  # best effort: the batch's run reports
                self.adapter.warm(batch)


def _run_batch(proto: BinaryIO, adapter: Any, index: int, batch: Batch, ticks: bool) -> None:
    """Run one batch and send its answer (results, a skip or an error)."""
    try:
        ticker = _Ticker(proto, index)
        got = adapter.run(batch, progress=ticker) if ticks else adapter.run(batch)
        if not isinstance(got, list | tuple):
            raise TypeError(f"run() returned a {type(got).__name__}, not a list")
        results = [wire.path_result_fields(pr) for pr in got]
    except SkipBatch as exc:
        wire.send(proto, "batch_skip", batch=index, reason=str(exc))
        return
    except Exception as exc:
        wire.send(proto, "batch_error", batch=index, message=_one_line(exc), traceback=_tb())
        return
    wire.send(proto, "batch", batch=index, results=results)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


# --------------------------------------------------------------------------------------------
# Parent side


@dataclass
class FrameworkRun:
    """What the runner knows of one framework's worker: the facts its rows carry."""

    name: str
    version: str = ""
    #: shared by every row of the framework (a copy each cost ~1 KB a row): replace it,
    #: never change it in place
    settings: dict[str, str] = field(default_factory=dict)
    fatal: str = ""  # why its unfinished rows are errors
    skip: str = ""  # why all its rows are skipped (not installed)
    seconds: float = 0.0
    modes: tuple[str, ...] = ("eager",)
    devices: tuple[str, ...] = ("cpu",)
    inits: dict[tuple[str, str], InitResult] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """A worker's time limits in seconds: the whole run, and the longest silence."""

    total: float
    stall: float


@dataclass
class Ended:
    """How a worker ended: ``reason`` is empty for a clean exit after ``done``."""

    reason: str
    returncode: int | None
    seconds: float
    watchdog: bool = False
    stderr: str = ""  # the end of its stderr (at most STDERR_KEEP bytes), as written


#: worker events on the runner's queue: (worker, message); the last is kind "exit"
Event = tuple["WorkerProcess", wire.Message]


class WorkerProcess:
    """One framework's worker process, the thread that reads its answers and its stderr.

    Every checked message is put on ``events`` as ``(self, message)``; when the stream ends the
    last event is ``Message("exit", {"ended": Ended})``. Answers the protocol does not allow
    (unknown kinds, bad fields, results for a batch that was not sent or twice) kill the
    worker: its remaining rows are errors saying so.
    """

    def __init__(
        self,
        name: str,
        spec: str,
        events: queue.Queue[Event],
        limits: Limits,
        options: dict[str, str] | None = None,
        inits: list[InitRequest] | None = None,
        argv: list[str] | None = None,
        key: str = "",
    ) -> None:
        self.name = name  # the framework
        self.key = key or name  # this process among the framework's (spread.py)
        self.spec = spec
        self.events = events
        self.limits = limits
        self.options = options or {}
        self.inits = inits or []
        self.argv = argv or [sys.executable, "-m", "conformance.worker"]
        self.sent: dict[int, Batch] = {}
        self._answered: set[int] = set()
        self._lock = threading.Lock()
        self._started = 0.0
        self._last = 0.0  # monotonic time of the last answer
        #: setup (until hello), inits (until inits_done), batches, done; the stall clock runs
        #: while it owes an answer (:meth:`_owes`)
        self._stage = "setup"
        self._where = ""  # in the batches stage: the batch and path it is in
        self._closed = False  # the last batches were sent
        self._outbox: queue.Queue[tuple[Any, bool]] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._killed = ""  # why this side killed it
        self._by_watchdog = False
        self._reaped = False
        self._stderr = bytearray()
        self.ended: Ended | None = None

    # -- life

    def start(self) -> None:
        env = dict(os.environ)
        pkg_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env[PARENT_ENV] = str(os.getpid())
        self._started = self._last = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: killed as a whole, no Ctrl-C
        )
        self._err_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._err_thread.start()
        self._write({"adapter": self.spec, "options": self.options, "inits": self.inits})
        self.thread = threading.Thread(target=self._read_all, daemon=True)
        self.thread.start()

    def send_batches(self, batches: list[tuple[int, Batch]], last: bool = True) -> None:
        """Send batches (from a thread, in order: a busy worker must not block the runner)
        and start the stall clock again; ``last``: no more will follow (the stream closes)."""
        with self._lock:
            self.sent.update(batches)
            self._closed = self._closed or last
            self._last = time.monotonic()
            self._where = self._next()
        self._outbox.put(({"batches": batches}, last))
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_out, daemon=True)
            self._writer.start()

    def _write_out(self) -> None:
        while True:
            msg, last = self._outbox.get()
            self._write(msg, close=last)
            if last:
                return

    def kill(self, why: str, watchdog: bool = False) -> None:
        """SIGKILL the worker's process group (once; a worker already reaped is left alone)."""
        with self._lock:
            if self._reaped or self._killed or self.proc.returncode is not None:
                return
            self._killed, self._by_watchdog = why, watchdog
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def check(self, now: float) -> None:
        """The watchdog's look: kill when out of time, or silent too long while owing."""
        with self._lock:
            if self._reaped or self._killed:
                return
            elapsed, silent = now - self._started, now - self._last
            over_total = elapsed > self.limits.total
            stalled = self._owes() and silent > self.limits.stall
            where = self._doing()
        if over_total:
            why = (
                f"timeout after {elapsed:.0f} s (no answer for {silent:.0f} s): the "
                f"framework's time limit (--timeout {self.limits.total:g} s) ran out "
                f"during {where}"
            )
        elif stalled:
            why = (
                f"timeout after {elapsed:.0f} s (no answer for {silent:.0f} s, "
                f"--stall-timeout {self.limits.stall:g} s) during {where}"
            )
        else:
            return
        self.kill(why, watchdog=True)

    @property
    def alive(self) -> bool:
        return self.ended is None

    # -- writing

    def _write(self, msg: Any, close: bool = False) -> None:
        assert self.proc.stdin is not None
        try:
            wire.send_pickle(self.proc.stdin, msg)  # type: ignore[arg-type]
            if close:
                self.proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the worker died; its exit event says why

    # -- reading

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        while True:
            try:
                chunk = self.proc.stderr.read1(1 << 16)  # type: ignore[attr-defined]
            except (OSError, ValueError):
                return
            if not chunk:
                return
            self._stderr += chunk
            del self._stderr[:-STDERR_KEEP]

    def _read_all(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                msg = wire.read(self.proc.stdout)  # type: ignore[arg-type]
                self._note(msg)
                self.events.put((self, msg))
                if msg.kind in ("done", "fatal"):
                    break
        except EOFError:
            pass
        except wire.ProtocolError as exc:
            self.kill(f"protocol error: {exc}")
        except Exception as exc:  # the reader must always end with an exit event
            self.kill(f"protocol error: {type(exc).__name__}: {exc}")
        finally:
            self.ended = self._reap()
            self.events.put((self, wire.Message("exit", {"ended": self.ended})))

    def _note(self, msg: wire.Message) -> None:
        """Check what the message refers to and move the watchdog's clock and phase."""
        kind = msg.kind
        with self._lock:
            self._last = time.monotonic()
            if kind == "hello":
                self._stage = "inits"
            elif kind == "inits_done":
                self._stage = "batches"
            elif kind == "init":
                if msg["result"].key not in {r.key for r in self.inits}:
                    raise wire.ProtocolError(f"a draw for {msg['result'].key!r}, not requested")
            elif kind in ("tick", "batch", "batch_error", "batch_skip"):
                index = msg["batch"]
                if index not in self.sent:
                    raise wire.ProtocolError(f"{kind} for batch {index}, which was not sent")
                if kind == "tick":
                    self._where = self._describe(index, msg["path"], msg["done"])
                else:
                    if index in self._answered:
                        raise wire.ProtocolError(f"a second answer for batch {index}")
                    self._answered.add(index)
                    self._where = self._next()
            elif kind == "done":
                self._stage = "done"

    def _describe(self, index: int, path: str | None, done: int = 0) -> str:
        b = self.sent[index]
        what = (
            f"batch {index} ({b.kind} {b.dtype} {b.in_features}x{b.out_features}, "
            f"{b.mode}/{b.device}; {len(b.items)} case{'s' if len(b.items) != 1 else ''})"
        )
        if path is None:
            return f"{what}, before its first path"
        return f"{what} path {escape.visible(path, 80)!r}, {done} items done"

    def _owes(self) -> bool:
        """Whether an answer is due: always before its draws are done; then while a sent
        batch is unanswered, and its ``done`` once the last batches are sent. A worker that
        has answered everything sent so far waits for the runner, on no clock."""
        if self._stage in ("setup", "inits"):
            return True
        if self._stage == "done":
            return False
        return self._closed or any(i not in self._answered for i in self.sent)

    def _doing(self) -> str:
        """What the worker was doing when last heard of."""
        if self._stage == "batches" and not self._owes():
            return "a wait for its batches"
        return {
            "setup": "setup (importing the framework)",
            "inits": "the init draws",
            "done": "its exit",
        }.get(self._stage, self._where)

    def _next(self) -> str:
        waiting = [i for i in self.sent if i not in self._answered]
        return self._describe(waiting[0], None) if waiting else "its last answer"

    def _reap(self) -> Ended:
        """Wait for the process (killing it if it lingers), kill what is left of its group,
        and say how it ended."""
        pid = self.proc.pid
        deadline = time.monotonic() + EXIT_GRACE_S
        while not self._exited_unreaped(pid, block=False):
            if time.monotonic() > deadline:
                self.kill(f"it did not exit within {EXIT_GRACE_S:g} s of closing its stream")
                self._exited_unreaped(pid, block=True)
                break
            time.sleep(0.02)
        with self._lock:
            if self.proc.returncode is None:  # not reaped yet: its group is still its own
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)  # anything it started
            code = self.proc.wait()
            self._reaped = True
        self._err_thread.join(timeout=2)
        return Ended(
            self._why(code),
            code,
            time.monotonic() - self._started,
            self._by_watchdog,
            bytes(self._stderr).decode("utf-8", "replace"),
        )

    def _exited_unreaped(self, pid: int, block: bool) -> bool:
        """Whether the process has exited, without reaping it (so its pid, which names its
        process group, cannot be reused before the group is killed)."""
        if not hasattr(os, "waitid"):  # macOS: reaped here; the group is then left alone
            return (self.proc.wait() if block else self.proc.poll()) is not None
        flags = os.WEXITED | os.WNOWAIT | (0 if block else os.WNOHANG)
        try:
            res = os.waitid(os.P_PID, pid, flags)
        except ChildProcessError:
            return True
        return res is not None

    def _why(self, code: int) -> str:
        clean = code == 0 and not self._killed and self._stage == "done"
        if clean and self._answered >= set(self.sent):
            return ""
        if self._killed:
            head = (
                f"worker killed by the watchdog: {self._killed}"
                if self._by_watchdog
                else f"worker killed: {self._killed}"
            )
        elif code < 0:
            head = f"worker killed by {_signal_name(-code)}"
            if -code == signal.SIGKILL:
                head += " (not by this run: the OOM killer, or someone else)"
            head += f" during {self._doing()}"
        elif code > 0:
            head = f"worker exited with code {code} during {self._doing()}"
        else:
            head = f"worker exited (code 0) before answering, during {self._doing()}"
        tail = stderr_tail(bytes(self._stderr))
        return f"{head}; stderr: {tail}" if tail else f"{head}; no stderr"


def _signal_name(num: int) -> str:
    try:
        name = signal.Signals(num).name
    except ValueError:
        return f"signal {num}"
    what = {"SIGSEGV": "segmentation fault", "SIGABRT": "abort", "SIGBUS": "bus error"}
    return f"{name} ({what[name]})" if name in what else name


def stderr_tail(data: bytes, lines: int = TAIL_LINES, limit: int = TAIL_CHARS) -> str:
    """A worker's stderr as one escaped line of at most ``limit`` characters: the last
    ``lines`` lines, or, after a fatal error (``faulthandler``: innermost frame first), the
    first lines of its report."""
    text = data[-16 * limit :].decode("utf-8", "replace")
    kept = [ln.strip() for ln in text.splitlines() if ln.strip()]
    fatal = [i for i, ln in enumerate(kept) if ln.startswith("Fatal Python error")]
    kept = kept[fatal[-1] :][: lines + 2] if fatal else kept[-lines:]
    joined = escape.visible(" | ".join(kept))
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


class Watchdog:
    """A daemon thread that checks every worker every :data:`WATCH_S` (see
    :meth:`WorkerProcess.check`); a context manager, stopped on every exit path."""

    def __init__(self, workers: list[WorkerProcess]) -> None:
        self.workers = workers
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_S):
            now = time.monotonic()
            for w in list(self.workers):
                w.check(now)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=1)


if __name__ == "__main__":
    sys.exit(main())
