"""Load case files one at a time, each in a forked child with a memory and a time limit.

``python -m tests.case_probe [--mem-mb N] [--timeout-s S] FILE...`` imports the loader once,
then forks a child per file that sets ``RLIMIT_AS`` to its current address space plus N MiB
and an alarm of S wall-clock seconds, loads the file as ``validate`` and ``run`` do
(``load_cases``, with the reference checks), and reports. One JSON line per file: ``file``,
``seconds`` and ``cpu_seconds`` (the load alone: wall clock, and CPU time, which other work on
a shared machine does not inflate), ``errors`` (their one-line texts), ``lines``, ``cases`` (how many loaded),
``exception`` (anything that escaped, with its type), ``signal`` (what killed the child: 14 is
the alarm), ``rss_growth_mb`` (the child's peak resident memory above what it had at the start).

Used by tests/test_bad_cases.py and benchmarks/bad_cases.py; POSIX only (fork, rlimits).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _child(file: str, mem_mb: float, timeout_s: float) -> dict[str, Any]:
    from conformance.loader import load_cases

    limit = _status_kib("VmSize") * 1024 + int(mem_mb * 2**20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS (VmHWM) := current RSS
    rss_start = _status_kib("VmRSS")
    signal.alarm(max(1, math.ceil(timeout_s)))
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        cases, errors = load_cases([file])
        record: dict[str, Any] = {
            "errors": [str(e) for e in errors],
            "lines": [e.line for e in errors],
            "cases": len(cases),
        }
    except BaseException as exc:  # reported, never swallowed: the test fails on it
        record = {"exception": f"{type(exc).__name__}: {str(exc)[:300]}"}
    record["seconds"] = time.perf_counter() - start
    record["cpu_seconds"] = time.process_time() - cpu_start
    record["rss_growth_mb"] = (_status_kib("VmHWM") - rss_start) / 1024
    return record


def probe(file: str, mem_mb: float, timeout_s: float) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into the parent's code
        os.close(read_end)
        try:
            out = json.dumps(_child(file, mem_mb, timeout_s)).encode()
        except BaseException as exc:
            out = json.dumps({"exception": f"{type(exc).__name__}: {str(exc)[:300]}"}).encode()
        try:
            os.write(write_end, out)
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, "rb") as pipe:
        for chunk in iter(lambda: pipe.read(65536), b""):
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    record: dict[str, Any] = json.loads(b"".join(chunks) or b"{}")
    record["file"] = file
    record["signal"] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mem-mb", type=float, default=200.0)
    parser.add_argument("--timeout-s", type=float, default=20.0)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    from conformance.loader import load_cases  # import everything before the first fork

    warm = (
        Path(__file__).resolve().parent.parent
        / "cases"
        / "semantics"
        / "torch-linear-2x1-seed0.yaml"
    )
    if warm.exists():
        load_cases([warm])
    for file in args.files:
        print(json.dumps(probe(file, args.mem_mb, args.timeout_s)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
