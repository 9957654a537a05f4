"""A phase timeline of one ``conformance run``, timed in-process (no sampling overhead).

Runs the ``run`` command in this process with timers around the runner's steps (case
loading, each reference call, the waits, row building, report writing) and timestamps every
message a worker sends (``hello`` after its imports and setup, each init draw, each batch,
``done``), then prints where the wall time went:

    python benchmarks/phases.py [RUN ARGS...]       # e.g. /tmp/cases --format json

The hooks wrap functions by name (``conformance.runner.load_cases``, ``_reference``, ...);
one that no longer exists is listed as missing rather than failing: the timeline then lacks
that phase. Pair it with ``profile_summary.py`` for the functions inside each phase.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from typing import Any

T0 = time.perf_counter()
SPANS: list[tuple[str, str, float, float]] = []  # (thread, label, start, end)
MESSAGES: dict[str, list[tuple[str, float]]] = defaultdict(list)  # worker -> (kind, time)
REF_BY_DTYPE: dict[str, list[float]] = defaultdict(list)
MISSING: list[str] = []
_local = threading.local()


def now() -> float:
    return time.perf_counter() - T0


def timed(owner: Any, name: str, label: str | Callable[..., str]) -> None:
    """Replace ``owner.name`` by a wrapper recording (thread, label, start, end)."""
    orig = getattr(owner, name, None)
    if orig is None:
        MISSING.append(f"{getattr(owner, '__name__', owner)}.{name}")
        return

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = now()
        try:
            return orig(*args, **kwargs)
        finally:
            text = label(*args, **kwargs) if callable(label) else label
            SPANS.append((threading.current_thread().name, text, start, now()))

    setattr(owner, name, wrapper)


def _dtype_of(*args: Any) -> str:
    """The dtype of a reference call: ``_reference(arrays)`` or ``_reference(dtype, ...)``."""
    first = args[0] if args else None
    return first if isinstance(first, str) else str(getattr(first, "dtype", "?"))


def install() -> None:
    from conformance import report, runner, wire
    from conformance import worker as worker_mod

    timed(runner, "load_cases", "load cases")
    timed(runner, "plan", "plan batches")
    timed(runner, "init_rows", "build rows")
    timed(runner, "_keep_reference", "build rows")
    run_cls = getattr(runner, "_Run", None)
    if run_cls is None:
        MISSING.append("conformance.runner._Run")
    else:
        timed(run_cls, "draw", "wait for the init draws")
        timed(run_cls, "_judge_batch", "judge batches")
        timed(run_cls, "collect", "collect results")
        timed(run_cls, "result", "build the result")

    orig_ref = getattr(runner, "reference", None)
    if orig_ref is None:
        MISSING.append("conformance.runner.reference")
    else:

        def reference(*args: Any, **kwargs: Any) -> Any:
            start = now()
            try:
                return orig_ref(*args, **kwargs)
            finally:
                REF_BY_DTYPE[_dtype_of(*args)].append(now() - start)
                SPANS.append((threading.current_thread().name, "reference", start, now()))

        runner.reference = reference  # type: ignore[attr-defined]
    w = getattr(worker_mod, "WorkerProcess", None)
    if w is None:
        MISSING.append("conformance.worker.WorkerProcess")
        return
    timed(w, "start", lambda self: f"start worker {self.name}")
    timed(w, "send_batches", lambda self, *_, **__: f"send batches to {self.name}")
    orig_read_all = w._read_all

    def read_all(self: Any) -> None:
        _local.worker = self.name
        MESSAGES[self.name].append(("started", now()))
        orig_read_all(self)

    w._read_all = read_all
    orig_reap = w._reap

    def reap(self: Any) -> Any:
        out = orig_reap(self)
        MESSAGES[self.name].append(("exited", now()))
        return out

    w._reap = reap
    orig_read = wire.read

    def read(stream: Any) -> Any:
        msg = orig_read(stream)
        who = getattr(_local, "worker", None)
        if who:
            MESSAGES[who].append((str(msg.kind), now()))
        return msg

    wire.read = read  # type: ignore[assignment]
    timed(report, "write", "write reports")
    timed(report, "console_summary", "console summary")


def _merge(spans: list[tuple[float, float]]) -> float:
    """Total time covered by possibly overlapping spans."""
    total, end = 0.0, -1.0
    for s, e in sorted(spans):
        if s > end:
            total += e - s
            end = e
        elif e > end:
            total += e - end
            end = e
    return total


def timeline(total: float) -> str:
    lines = [
        f"total wall {total:.2f} s since this script's first line (interpreter start-up "
        "excluded); every time below is on the same clock"
    ]
    by_thread: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for thread, label, s, e in SPANS:
        by_thread[thread][label].append((s, e))
    for thread, labels in by_thread.items():
        lines.append(f"\n-- thread {thread}")
        rows = []
        for label, spans in labels.items():
            first = min(s for s, _ in spans)
            last = max(e for _, e in spans)
            rows.append((first, label, len(spans), _merge(spans), last))
        for first, label, n, secs, last in sorted(rows):
            calls = f" ({n} calls)" if n > 1 else ""
            lines.append(f"  {first:7.2f} → {last:7.2f} s  {secs:7.2f} s  {label}{calls}")
    if REF_BY_DTYPE:
        lines.append("\n-- references per dtype (calls, total, largest)")
        for dtype, secs in sorted(REF_BY_DTYPE.items()):
            lines.append(f"  {dtype:9} {len(secs):5d}  {sum(secs):7.2f} s  {max(secs):6.2f} s")
    for worker, msgs in MESSAGES.items():
        lines.append(f"\n-- worker {worker} (times since the parent started)")
        t = dict.fromkeys(("started", "hello", "inits_done", "done", "exited"), None)
        batch_times = [x for k, x in msgs if k in ("batch", "batch_error", "batch_skip")]
        inits = [x for k, x in msgs if k == "init"]
        for k, x in msgs:
            if k in t and t[k] is None:
                t[k] = x
        start, hello = t["started"], t["hello"]
        if start is not None and hello is not None:
            lines.append(f"  {start:7.2f} → {hello:7.2f} s  start, imports, setup, settings")
        if hello is not None and t["inits_done"] is not None:
            lines.append(f"  {hello:7.2f} → {t['inits_done']:7.2f} s  {len(inits)} init draws")
        sent = [e for th, label, _, e in SPANS if label == f"send batches to {worker}"]
        if batch_times:
            ready = t["inits_done"] or hello or 0.0
            begin = max(ready, sent[0]) if sent else ready
            if sent and sent[0] > ready:
                lines.append(f"  {ready:7.2f} → {sent[0]:7.2f} s  idle: waiting for its batches")
            lines.append(
                f"  {begin:7.2f} → {batch_times[-1]:7.2f} s  {len(batch_times)} batches "
                f"(longest gap between batches {_longest_gap([begin, *batch_times]):.2f} s)"
            )
        if t["done"] is not None and t["exited"] is not None:
            lines.append(
                f"  {t['done']:7.2f} → {t['exited']:7.2f} s  'done' → process exit (an upper "
                "bound when the parent was still waiting for an earlier worker)"
            )
    if MISSING:
        lines.append("\nnot hooked (renamed or gone): " + ", ".join(MISSING))
    return "\n".join(lines)


def _longest_gap(times: list[float]) -> float:
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def main() -> int:
    args = sys.argv[1:]
    install()
    from conformance.cli import main as cli_main

    code = 2
    with tempfile.TemporaryDirectory() as tmp:
        if "--report-dir" not in args:
            args += ["--report-dir", tmp]
        try:
            code = cli_main(["run", *args])
        except BaseException:
            traceback.print_exc()
        total = now()
    print(timeline(total), file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # a run that raised may leave worker timers (non-daemon threads) behind: do not wait
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
