"""Worker processes: both halves of the protocol between the runner and one framework.

The child (``python -m conformance.worker``, :func:`main`) runs one adapter over the batches it
is sent, isolated from the other frameworks; the parent side (:class:`WorkerProcess`) starts it,
reads its answers in a thread and collects them in a :class:`FrameworkRun`.

Protocol (length-prefixed pickles both ways, see :func:`send`/:func:`receive`):

1. parent -> worker: ``{"adapter": "mod:Class", "options": {...}, "inits": [InitRequest]}``;
2. worker -> parent: ``("hello", version, settings)``, then ``("init", InitResult)`` per request
   and ``("inits_done",)`` (phase 1: framework-native parameter draws, issue 3); with
   compiled mode on, then ``("settings", {...})`` (compiled-mode denormal behaviour);
3. parent -> worker: ``{"batches": [(index, Batch), ...]}`` (built once every draw is known);
4. worker -> parent: ``("batch", index, [PathResult])``, ``("batch_error", index, message)`` or
   ``("batch_skip", index, reason)`` per batch, then ``("done",)``.

Anything the framework prints goes to stderr, so it cannot corrupt the stream. A crash (even a
segfault) costs only this framework's remaining work.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .adapters.base import Batch, InitRequest, InitResult, PathResult, SkipBatch
from .host import host_settings


def send(out: BinaryIO, msg: Any) -> None:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(struct.pack("<Q", len(data)))
    out.write(data)
    out.flush()


def receive(inp: BinaryIO) -> Any:
    head = inp.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", head)
    data = inp.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def main() -> int:
    proto = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # framework chatter on stdout goes to stderr
    sys.stdout = sys.stderr
    job = receive(sys.stdin.buffer)
    from .registry import load_class

    try:
        adapter = load_class(job["adapter"])()
        adapter.setup()
        adapter.configure(job.get("options") or {})
        settings = {**host_settings(), **adapter.denormals(), **adapter.settings()}
        send(proto, ("hello", adapter.version(), settings))
    except Exception as exc:
        send(proto, ("fatal", f"{type(exc).__name__}: {exc}"))
        return 1
    for request in job.get("inits") or []:
        try:
            result = adapter.init_params(request)
        except Exception as exc:
            result = InitResult(request.key, error=_one_line(exc))
        send(proto, ("init", result))
    send(proto, ("inits_done",))
    if "compiled" in (job.get("options") or {}).get("modes", ""):
        try:  # after the draws: a slow first compile (inductor) must not hold them up
            late = adapter.denormals(compiled=True)
        except Exception as exc:
            late = {"denormals_compiled": f"not measured ({_one_line(exc)})"}
        if late:
            send(proto, ("settings", late))
    try:
        batches = receive(sys.stdin.buffer)["batches"]
    except EOFError:
        batches = []
    for index, batch in batches:
        try:
            send(proto, ("batch", index, adapter.run(batch)))
        except SkipBatch as exc:
            send(proto, ("batch_skip", index, str(exc)))
        except Exception:
            send(
                proto,
                ("batch_error", index, traceback.format_exc(limit=3).strip().splitlines()[-1]),
            )
    send(proto, ("done",))
    return 0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


# --------------------------------------------------------------------------------------------
# Parent side: one worker process per framework, and the thread that reads its answers.

WORKER_TIMEOUT_S = 1800


@dataclass
class FrameworkRun:
    name: str
    version: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    results: dict[int, list[PathResult]] = field(default_factory=dict)
    batch_errors: dict[int, str] = field(default_factory=dict)
    batch_skips: dict[int, str] = field(default_factory=dict)
    fatal: str = ""
    skip: str = ""
    seconds: float = 0.0
    modes: tuple[str, ...] = ("eager",)
    devices: tuple[str, ...] = ("cpu",)
    inits: dict[tuple[str, str], InitResult] = field(default_factory=dict)


class WorkerProcess:
    """One framework's worker process and the thread that reads its answers.

    Two phases (see ``conformance.worker``): :meth:`start` sends the run options and the init
    requests; :meth:`wait_inits` returns once the draws are in; :meth:`send_batches` sends the
    batches; :meth:`join` waits for the end.
    """

    def __init__(
        self,
        name: str,
        spec: str,
        timeout: float,
        options: dict[str, str] | None = None,
        inits: list[InitRequest] | None = None,
        modes: tuple[str, ...] = ("eager",),
        devices: tuple[str, ...] = ("cpu",),
    ) -> None:
        self.run = FrameworkRun(name, modes=modes, devices=devices)
        self.spec = spec
        self.timeout = timeout
        self.options = options or {}
        self.inits = inits or []
        self.inits_ready = threading.Event()
        self.thread = threading.Thread(target=self._read_all, daemon=True)
        self._start = 0.0
        self._done = False

    def start(self) -> None:
        self._start = time.perf_counter()
        env = dict(os.environ)
        pkg_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        self.err = tempfile.TemporaryFile()  # noqa: SIM115 - closed in join()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            env=env,
        )
        self.timer = threading.Timer(self.timeout, self.proc.kill)
        self.timer.start()
        self._write({"adapter": self.spec, "options": self.options, "inits": self.inits})
        self.thread.start()

    def _write(self, msg: Any, close: bool = False) -> None:
        assert self.proc.stdin is not None
        try:
            send(self.proc.stdin, msg)  # type: ignore[arg-type]
            if close:
                self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # the worker died; join() reports why

    def wait_inits(self) -> dict[tuple[str, str], InitResult]:
        self.inits_ready.wait()
        return self.run.inits

    def send_batches(self, batches: list[tuple[int, Batch]]) -> None:
        self._write({"batches": batches}, close=True)

    def join(self) -> FrameworkRun:
        self.thread.join()
        try:
            code = self.proc.wait()
        finally:
            self.timer.cancel()
        if code != 0 or not self._done:
            self.err.seek(0)
            tail = self.err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
            why = "timed out" if code in (-9, 137) else f"exited with code {code}"
            self.run.fatal = self.run.fatal or f"worker {why}: {' | '.join(tail)[-400:]}"
        self.err.close()
        self.run.seconds = time.perf_counter() - self._start
        return self.run

    def _read_all(self) -> None:
        assert self.proc.stdout is not None
        try:
            self._read(self.proc.stdout)
        finally:
            self.inits_ready.set()  # never leave the runner waiting on a dead worker

    def _read(self, stream: Any) -> None:
        while True:
            try:
                msg = receive(stream)
            except (EOFError, pickle.UnpicklingError, OSError):
                return
            kind = msg[0]
            if kind == "hello":
                self.run.version, self.run.settings = msg[1], msg[2]
            elif kind == "init":
                self.run.inits[msg[1].key] = msg[1]
            elif kind == "inits_done":
                self.inits_ready.set()
            elif kind == "settings":  # measured later (compiled-mode denormals)
                self.run.settings.update(msg[1])
            elif kind == "batch":
                self.run.results[msg[1]] = msg[2]
            elif kind == "batch_error":
                self.run.batch_errors[msg[1]] = msg[2]
            elif kind == "batch_skip":
                self.run.batch_skips[msg[1]] = msg[2]
            elif kind == "fatal":
                self.run.fatal = msg[1]
            elif kind == "done":
                self._done = True
                return


if __name__ == "__main__":
    sys.exit(main())
