"""Running cases: plan batches, run each framework in its own worker process, compare.

Workers run in parallel while this process computes the exact references. Cases of one
(kind, dtype, in, out, bias) form one batch, so each framework builds its layers once per
batch. A framework that is not installed yields ``skip`` rows; one whose worker dies yields
``error`` rows for its own unfinished work only.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import dtypes as D
from .adapters.base import Batch, Item, PathResult
from .cases import Case, load_cases
from .compare import Metrics, measure
from .errors import CaseError
from .reference import Reference, reference
from .registry import load_class, select
from .results import Row
from .tolerances import resolve
from .worker import receive

WORKER_TIMEOUT_S = 1800


@dataclass
class RunOptions:
    paths: list[str]
    frameworks: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    adapters: list[str] = field(default_factory=list)
    mode: str = "eager"
    device: str = "cpu"
    timeout: float = WORKER_TIMEOUT_S


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


@dataclass
class RunResult:
    rows: list[Row]
    errors: list[CaseError]
    frameworks: dict[str, FrameworkRun]
    cases: list[Case]
    seconds: float


@dataclass
class Unit:
    """One case in one dtype, and where it sits in a batch."""

    case: Case
    dtype: str
    batch: int
    slot: int
    x: np.ndarray | None
    z: np.ndarray | None
    weight: np.ndarray | None
    bias: np.ndarray | None


def plan(
    cases: list[Case], dtypes: list[str], mode: str, device: str
) -> tuple[list[Unit], list[Batch]]:
    units: list[Unit] = []
    batches: list[Batch] = []
    index: dict[tuple[Any, ...], int] = {}
    for case in cases:
        for dtype in case.dtypes:
            if dtypes and dtype not in dtypes:
                continue
            arr = case.arrays(dtype)
            dt = D.get(dtype)
            key = (case.kind, dtype, case.in_features, case.out_features, arr.bias is not None)
            if key not in index:
                index[key] = len(batches)
                batches.append(Batch(case.kind, dtype, key[2], key[3], key[4], [], mode, device))
            b = index[key]
            if case.kind == "dense":
                assert arr.x is not None and arr.weight is not None
                param = arr.weight if case.layout == "weight" else arr.weight.T
                item = Item(
                    case.id,
                    x=D.to_dtype(arr.x, dt),
                    param=np.ascontiguousarray(D.to_dtype(param, dt)),
                    layout=case.layout,
                    bias=None if arr.bias is None else D.to_dtype(arr.bias, dt),
                )
            else:
                assert arr.z is not None
                item = Item(case.id, z=D.to_dtype(arr.z, dt))
            units.append(
                Unit(case, dtype, b, len(batches[b].items), arr.x, arr.z, arr.weight, arr.bias)
            )
            batches[b].items.append(item)
    return units, batches


class _Worker:
    """One framework's worker process and the thread that reads its answers."""

    def __init__(self, name: str, spec: str, batches: list[Batch], timeout: float) -> None:
        self.run = FrameworkRun(name)
        self.spec = spec
        self.batches = batches
        self.timeout = timeout
        self.thread = threading.Thread(target=self._go, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self) -> FrameworkRun:
        self.thread.join()
        return self.run

    def _go(self) -> None:
        start = time.perf_counter()
        env = dict(os.environ)
        pkg_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "conformance.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
            )
            assert proc.stdin is not None and proc.stdout is not None
            timer = threading.Timer(self.timeout, proc.kill)
            timer.start()
            try:
                try:
                    pickle.dump({"adapter": self.spec, "batches": self.batches}, proc.stdin)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
                self._read(proc.stdout)
            finally:
                timer.cancel()
                code = proc.wait()
            if code != 0 or not self._done:
                err.seek(0)
                tail = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
                why = "timed out" if code in (-9, 137) else f"exited with code {code}"
                self.run.fatal = self.run.fatal or f"worker {why}: {' | '.join(tail)[-400:]}"
        self.run.seconds = time.perf_counter() - start

    _done = False

    def _read(self, stream: Any) -> None:
        while True:
            try:
                msg = receive(stream)
            except (EOFError, pickle.UnpicklingError, OSError):
                return
            kind = msg[0]
            if kind == "hello":
                self.run.version, self.run.settings = msg[1], msg[2]
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


def run(options: RunOptions, progress: Callable[[str], None] | None = None) -> RunResult:
    start = time.perf_counter()
    say = progress or (lambda _msg: None)
    cases, errors = load_cases(options.paths)
    chosen = select(options.frameworks, options.adapters)
    units, batches = plan(cases, options.dtypes, options.mode, options.device)
    say(f"{len(cases)} cases, {len(units)} case/dtype units in {len(batches)} batches")

    workers: list[_Worker] = []
    runs: dict[str, FrameworkRun] = {}
    for name, spec in chosen.items():
        reason = load_class(spec)().unavailable()
        if reason:
            runs[name] = FrameworkRun(name, skip=reason)
            continue
        w = _Worker(name, spec, batches, options.timeout)
        w.start()
        workers.append(w)

    refs: dict[int, Reference | str] = {}
    for i, u in enumerate(units):
        try:
            if u.case.kind == "dense":
                refs[i] = reference(u.dtype, x=u.x, weight=u.weight, bias=u.bias)
            else:
                refs[i] = reference(u.dtype, z=u.z)
        except Exception as exc:  # a reference failure costs this unit only
            refs[i] = f"reference failed: {type(exc).__name__}: {exc}"
    say(f"references done in {time.perf_counter() - start:.1f}s")

    for w in workers:
        runs[w.run.name] = w.join()
        say(f"{w.run.name}: {w.run.seconds:.1f}s")

    rows: list[Row] = []
    for i, u in enumerate(units):
        for name in chosen:
            rows.extend(_rows_for(u, refs[i], runs[name]))
    return RunResult(rows, errors, runs, cases, time.perf_counter() - start)


def _base_row(u: Unit, fw: FrameworkRun, op: str, path: str, mode: str, device: str) -> Row:
    return Row(
        case=u.case.id,
        file=u.case.file,
        dtype=u.dtype,
        op=op,
        framework=fw.name,
        framework_version=fw.version,
        path=path,
        mode=mode,
        device=device,
        status="pass",
        settings=dict(fw.settings),
    )


def _status_row(u: Unit, fw: FrameworkRun, op: str, status: str, message: str) -> Row:
    r = _base_row(u, fw, op, "-", "eager", "cpu")
    r.status, r.message = status, message
    return r


def _rows_for(u: Unit, ref: Reference | str, fw: FrameworkRun) -> list[Row]:
    if fw.skip or u.batch in fw.batch_skips:
        why = fw.skip or fw.batch_skips[u.batch]
        return [_status_row(u, fw, op, "skip", why) for op in u.case.ops]
    results = fw.results.get(u.batch)
    if results is None:
        why = fw.batch_errors.get(u.batch) or fw.fatal or "worker returned no result"
        return [_status_row(u, fw, op, "error", why) for op in u.case.ops]
    rows = []
    for pr in results:
        r = _base_row(u, fw, pr.op, pr.path, pr.mode, pr.device)
        err = pr.errors[u.slot]
        y = pr.outputs[u.slot]
        if isinstance(ref, str):
            r.status, r.message = "error", ref
        elif err is not None or y is None:
            r.status, r.message = "error", err or "no output"
        else:
            _judge(r, u, ref, y)
        rows.append(r)
    return rows


def _judge(r: Row, u: Unit, ref: Reference, y: np.ndarray) -> None:
    """Fill metrics and status of one row from a framework output."""
    dt = D.get(u.dtype)
    op = r.op
    case = u.case
    want_shape = case.output_shape
    if tuple(y.shape) != want_shape:
        r.status, r.message = "fail", f"output shape {list(y.shape)}, expected {list(want_shape)}"
        return
    if y.dtype != dt.np:
        r.status, r.message = "fail", f"output dtype {y.dtype}, expected {dt.name}"
        return
    y64 = y.astype(np.float64)
    ref_vals = ref.affine if op == "affine" else ref.sigmoid
    assert ref_vals is not None
    tol = resolve(op, u.dtype, case.tolerance)
    n = case.in_features if case.kind == "dense" else None
    sprime = None
    if op == "sigmoid" and case.kind == "dense":
        sprime = ref.sigmoid * (1.0 - ref.sigmoid)
    allow = tol.allowance(ref_vals, n=n, abs_sum=ref.abs_sum, sigmoid_prime=sprime)
    r.tolerance = allow.text
    vs_ref = measure(y64, ref_vals, dt, allow)
    r.ref_max_abs_err, r.ref_max_ulp = vs_ref.max_abs_err, vs_ref.max_ulp
    expected = case.expected.get(op, {})
    lit = expected.get(u.dtype) or expected.get("*")
    if lit is not None:
        target = lit.rounded(dt)
        slack = lit.slack(dt)
        m = measure(y64, target, dt, allow, slack)
        r.against = "expected"
        if float(np.max(slack, initial=0.0)) > 0:
            r.tolerance += f" + printed digits ±{float(np.max(slack)):.1g}"
    else:
        m = vs_ref
        r.against = "reference"
    _fill(r, m)


def _fill(r: Row, m: Metrics) -> None:
    r.max_abs_err, r.max_rel_err, r.max_ulp, r.n = m.max_abs_err, m.max_rel_err, m.max_ulp, m.n
    if m.worst_index is not None:
        r.worst_index = str(list(m.worst_index))
        r.worst_value, r.worst_target = m.worst_value, m.worst_target
    if m.passed:
        r.status = "pass"
        return
    r.status = "fail"
    r.message = (
        f"{m.n_bad} of {m.n} elements outside tolerance vs {r.against}; worst at {r.worst_index}: "
        f"got {m.worst_value!r}, want {m.worst_target!r} ({_ulp_text(m.max_ulp)}, |err| {m.max_abs_err:.3g})"
    )


def _ulp_text(u: float) -> str:
    return "special-value mismatch" if u == float("inf") else f"{u:.0f} ulp"
