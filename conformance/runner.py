"""Running cases: plan batches, run each framework in its own worker process, compare.

Workers run in parallel while this process computes the exact references. Cases of one
(kind, dtype, in, out, bias) form one batch, so each framework builds its layers once per
batch. A framework that is not installed yields ``skip`` rows; one whose worker dies yields
``error`` rows for its own unfinished work only.

Issue 3 (docs/native.md): a run has modes (eager, compiled) and devices (cpu, cuda); a batch
is one (kind, dtype, in, out, bias, mode, device) and each framework gets only the batches its
adapter can run. Cases with ``params.init`` need a first phase: every worker starts (imports
in parallel), the owning framework's worker draws the parameters, and only then are the
batches built — with the drawn arrays, exact in the case dtype — and sent to every worker.
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
from .adapters.base import Batch, InitRequest, InitResult, Item, PathResult
from .cases import INIT_OWNER, Case, load_cases
from .compare import Metrics, measure
from .errors import CaseError
from .outputs import OutputStore
from .reference import Reference, reference
from .registry import available_specs, load_class, select
from .results import Row
from .tolerances import Allowance, Tolerance, case_allowance, resolve
from .worker import receive, send

WORKER_TIMEOUT_S = 1800
MODES = ("eager", "compiled")
DEVICES = ("cpu", "cuda")
MATMUL_PRECISIONS = ("highest", "high", "medium")
# Unit roundoff of the matmul *inputs* under a reduced-precision float32 matmul mode.
REDUCED_MATMUL_U = {"tf32": 2.0**-11, "bf16": 2.0**-8}


def expand(value: str, choices: tuple[str, ...]) -> list[str]:
    """``all`` -> every choice; a single choice -> itself (``--mode``/``--device``)."""
    return list(choices) if value == "all" else [value]


@dataclass
class RunOptions:
    paths: list[str]
    frameworks: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    adapters: list[str] = field(default_factory=list)
    mode: str = "eager"  # eager | compiled | all
    device: str = "cpu"  # cpu | cuda | all
    matmul_precision: str = ""  # "" (leave each framework's default) | highest | high | medium
    timeout: float = WORKER_TIMEOUT_S

    def worker_options(self) -> dict[str, str]:
        out = {
            "modes": ",".join(expand(self.mode, MODES)),
            "devices": ",".join(expand(self.device, DEVICES)),
        }
        if self.matmul_precision:
            out["matmul_precision"] = self.matmul_precision
        return out


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


@dataclass
class RunResult:
    rows: list[Row]
    errors: list[CaseError]
    frameworks: dict[str, FrameworkRun]
    cases: list[Case]
    seconds: float
    outputs: OutputStore = field(default_factory=OutputStore)  # arrays for outputs.npz


@dataclass
class Unit:
    """One case in one dtype, and where it sits in a batch per (mode, device)."""

    case: Case
    dtype: str
    x: np.ndarray | None
    z: np.ndarray | None
    weight: np.ndarray | None
    bias: np.ndarray | None
    slots: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    blocked: tuple[str, str] | None = None  # (status, why) when an init draw is missing
    drawn: InitResult | None = None


def _wanted(cases: list[Case], dtypes: list[str]) -> list[tuple[Case, str]]:
    return [(c, d) for c in cases for d in c.dtypes if not dtypes or d in dtypes]


def plan(
    cases: list[Case],
    dtypes: list[str],
    modes: list[str] | str = "eager",
    devices: list[str] | str = "cpu",
    draws: dict[tuple[str, str], InitResult] | None = None,
    init_blocked: dict[str, tuple[str, str]] | None = None,
) -> tuple[list[Unit], list[Batch]]:
    """Units and batches; an init case takes its parameters from ``draws`` (or is blocked
    with the reason in ``init_blocked[init]``/the draw's error)."""
    modes = [modes] if isinstance(modes, str) else modes
    devices = [devices] if isinstance(devices, str) else devices
    units: list[Unit] = []
    batches: list[Batch] = []
    index: dict[tuple[Any, ...], int] = {}
    for case, dtype in _wanted(cases, dtypes):
        drawn = None
        if case.init is not None and case.kind == "dense":
            drawn = (draws or {}).get((case.id, dtype))
            blocked = (init_blocked or {}).get(case.init)
            if drawn is None or drawn.error or drawn.param is None:
                why = f"init: {case.init} draw failed: {drawn.error}" if drawn else ""
                status, why = blocked or ("error", why or f"init: {case.init}: nothing drawn")
                units.append(Unit(case, dtype, None, None, None, None, blocked=(status, why)))
                continue
        pair = None if drawn is None or drawn.param is None else (drawn.param, drawn.bias)
        arr = case.arrays(dtype, pair)
        dt = D.get(dtype)
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
        unit = Unit(case, dtype, arr.x, arr.z, arr.weight, arr.bias, drawn=drawn)
        for mode in modes:
            for device in devices:
                key = (case.kind, dtype, case.in_features, case.out_features, arr.bias is not None)
                full = (*key, mode, device)
                if full not in index:
                    index[full] = len(batches)
                    batches.append(Batch(*key, [], mode, device))  # type: ignore[arg-type]
                b = index[full]
                unit.slots[(mode, device)] = (b, len(batches[b].items))
                batches[b].items.append(item)
        units.append(unit)
    return units, batches


class _Worker:
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


def run(options: RunOptions, progress: Callable[[str], None] | None = None) -> RunResult:
    start = time.perf_counter()
    say = progress or (lambda _msg: None)
    cases, errors = load_cases(options.paths)
    chosen = select(options.frameworks, options.adapters)
    modes, devices = expand(options.mode, MODES), expand(options.device, DEVICES)
    worker_options = options.worker_options()

    # References of cases with explicit or generated parameters need no framework: compute
    # them in a thread while the workers import and draw (NumPy and decimal do the work).
    early: dict[tuple[str, str], Reference | str] = {}

    def precompute() -> None:
        for case, dtype in _wanted(cases, options.dtypes):
            if case.init is None:
                arr = case.arrays(dtype)
                early[(case.id, dtype)] = _reference(dtype, arr.x, arr.weight, arr.bias, arr.z)

    ref_thread = threading.Thread(target=precompute, daemon=True)
    ref_thread.start()

    # Phase 1: start every worker (imports run in parallel); owners of params.init draw first.
    requests: dict[str, list[InitRequest]] = {}
    for case, dtype in _wanted(cases, options.dtypes):
        if case.init is not None and case.kind == "dense":
            requests.setdefault(INIT_OWNER[case.init], []).append(
                InitRequest(
                    (case.id, dtype),
                    case.init,
                    case.seed,
                    case.in_features,
                    case.out_features,
                    case.init_bias,
                    dtype,
                )
            )
    specs = available_specs()
    needed = dict(chosen)
    for owner in requests:
        if owner not in needed and owner in specs:
            needed[owner] = specs[owner]  # draws only; its rows are not in this run
    workers: list[_Worker] = []
    runs: dict[str, FrameworkRun] = {}
    init_blocked: dict[str, tuple[str, str]] = {}
    for name, spec in needed.items():
        cls = load_class(spec)
        reason = cls().unavailable()
        if reason:
            runs[name] = FrameworkRun(name, skip=reason, modes=cls.modes, devices=cls.devices)
            continue
        w = _Worker(
            name,
            spec,
            options.timeout,
            worker_options,
            requests.get(name, []),
            cls.modes,
            cls.devices,
        )
        w.start()
        workers.append(w)
    for init, owner in INIT_OWNER.items():
        if owner in runs and runs[owner].skip:
            init_blocked[init] = ("skip", f"init: {init} needs {owner}: {runs[owner].skip}")
        elif owner not in needed and owner in requests:
            init_blocked[init] = ("skip", f"init: {init} needs the {owner} adapter")
    draws: dict[tuple[str, str], InitResult] = {}
    for w in workers:
        if w.run.name in requests:
            got = w.wait_inits()
            draws.update(got)
            if len(got) < len(requests[w.run.name]):
                w.join()  # it died before drawing everything; say why
                for r in requests[w.run.name]:
                    if r.key not in draws:
                        draws[r.key] = InitResult(r.key, error=w.run.fatal or "worker died")
    if requests:
        say(f"init draws done in {time.perf_counter() - start:.1f}s")

    # Phase 2: batches (every mode x device) with the drawn parameters, to every worker.
    units, batches = plan(cases, options.dtypes, modes, devices, draws, init_blocked)
    say(
        f"{len(cases)} cases, {len(units)} case/dtype units in {len(batches)} batches "
        f"(modes {', '.join(modes)}; devices {', '.join(devices)})"
    )
    for w in workers:
        mine = [
            (i, b)
            for i, b in enumerate(batches)
            if w.run.name in chosen and b.mode in w.run.modes and b.device in w.run.devices
        ]
        w.send_batches(mine)

    ref_thread.join()
    refs: dict[int, Reference | str] = {}
    for i, u in enumerate(units):
        if u.blocked is not None:
            refs[i] = u.blocked[1]
        elif (u.case.id, u.dtype) in early:
            refs[i] = early[(u.case.id, u.dtype)]
        else:  # params.init: the parameters exist only now
            refs[i] = _reference(u.dtype, u.x, u.weight, u.bias, u.z)
    say(f"references done in {time.perf_counter() - start:.1f}s")

    for w in workers:
        runs[w.run.name] = w.join()
        say(f"{w.run.name}: {w.run.seconds:.1f}s")

    combos = [(m, d) for m in modes for d in devices]
    rows: list[Row] = []
    store = OutputStore()
    for i, u in enumerate(units):
        if u.case.init is not None and INIT_OWNER[u.case.init] in chosen:
            rows.extend(_init_rows(u, runs[INIT_OWNER[u.case.init]]))
        for name in chosen:
            rows.extend(_rows_for(u, refs[i], runs[name], store, combos))
        _keep_reference(store, u, refs[i])
    return RunResult(rows, errors, runs, cases, time.perf_counter() - start, store)


def _reference(
    dtype: str,
    x: np.ndarray | None,
    weight: np.ndarray | None,
    bias: np.ndarray | None,
    z: np.ndarray | None,
) -> Reference | str:
    """The exact reference of one case in one dtype, or why it failed (costs that unit only)."""
    try:
        return reference(dtype, x=x, weight=weight, bias=bias, z=z)
    except Exception as exc:
        return f"reference failed: {type(exc).__name__}: {exc}"


def _keep_reference(store: OutputStore, u: Unit, ref: Reference | str) -> None:
    """Reference values and the sigmoid's input, for the agreement matrix and the plots."""
    if isinstance(ref, str):
        return
    if ref.affine is not None:
        store.add_reference(u.case.id, u.dtype, "affine", ref.affine)
        store.add_input(u.case.id, u.dtype, ref.affine)
    elif u.z is not None:
        store.add_input(u.case.id, u.dtype, u.z)
    store.add_reference(u.case.id, u.dtype, "sigmoid", ref.sigmoid)


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


def _status_row(
    u: Unit,
    fw: FrameworkRun,
    op: str,
    status: str,
    message: str,
    mode: str = "eager",
    device: str = "cpu",
) -> Row:
    r = _base_row(u, fw, op, "-", mode, device)
    r.status, r.message = status, message
    return r


def _rows_for(
    u: Unit,
    ref: Reference | str,
    fw: FrameworkRun,
    store: OutputStore | None = None,
    combos: list[tuple[str, str]] | None = None,
) -> list[Row]:
    """Rows of one unit for one framework, per (mode, device) the framework has."""
    combos = combos if combos is not None else list(u.slots)
    rows: list[Row] = []
    for mode, device in combos:
        if mode not in fw.modes or device not in fw.devices:
            continue  # e.g. NumPy has no compiled mode and no CUDA: no rows at all
        rows.extend(_rows_in(u, ref, fw, store, mode, device))
    return rows


def _rows_in(
    u: Unit,
    ref: Reference | str,
    fw: FrameworkRun,
    store: OutputStore | None,
    mode: str,
    device: str,
) -> list[Row]:
    def status_rows(status: str, why: str) -> list[Row]:
        return [_status_row(u, fw, op, status, why, mode, device) for op in u.case.ops]

    if fw.skip:
        return status_rows("skip", fw.skip)
    if u.blocked is not None:
        return status_rows(*u.blocked)
    batch, slot = u.slots[(mode, device)]
    if batch in fw.batch_skips:
        return status_rows("skip", fw.batch_skips[batch])
    results = fw.results.get(batch)
    if results is None:
        why = fw.batch_errors.get(batch) or fw.fatal or "worker returned no result"
        return status_rows("error", why)
    rows = []
    for pr in results:
        r = _base_row(u, fw, pr.op, pr.path, pr.mode, pr.device)
        err = pr.errors[slot]
        y = pr.outputs[slot]
        r.seconds = pr.seconds[slot] if slot < len(pr.seconds) else 0.0
        if isinstance(ref, str):
            r.status, r.message = "error", ref
        elif err is not None or y is None:
            r.status, r.message = "error", err or "no output"
        else:
            _judge(r, u, ref, y)
        if store is not None and y is not None:
            store.add_output(r, y)
        rows.append(r)
    return rows


def _init_rows(u: Unit, fw: FrameworkRun) -> list[Row]:
    """``op: init`` rows: the owning framework's drawn parameters against the case's pins."""
    case = u.case
    rows = []
    for name, per in case.pins.items():
        lit = per.get(u.dtype) or per.get("*")
        if lit is None:
            continue
        drawn = u.drawn
        path = (drawn.paths.get(name) if drawn else None) or f"{case.init} init {name}"
        r = _base_row(u, fw, "init", path, "eager", "cpu")
        if fw.skip or u.blocked is not None or drawn is None:
            r.status = "skip" if fw.skip else (u.blocked[0] if u.blocked else "error")
            r.message = fw.skip or (u.blocked[1] if u.blocked else "nothing drawn")
            rows.append(r)
            continue
        got = drawn.bias if name == "bias" else drawn.param
        if got is None:
            r.status, r.message = "error", f"{case.init} drew no {name}"
            rows.append(r)
            continue
        if name != "bias" and name != drawn.layout:
            got = got.T  # the pin is in the other layout
        dt = D.get(u.dtype)
        y = np.asarray(got).astype(np.float64)
        if y.shape != lit.shape:
            r.status = "fail"
            r.message = f"drawn {name} has shape {list(y.shape)}, pinned {list(lit.shape)}"
            rows.append(r)
            continue
        slack = lit.slack(dt)
        exact = Allowance(np.zeros(y.shape), 0.0, "exact")
        m = measure(y, lit.rounded(dt), dt, exact, slack)
        printed = float(np.max(slack, initial=0.0))
        r.tolerance = "exact" + (f"; printed digits ±{printed:.1g}" if printed > 0 else "")
        r.against = "expected"
        _fill(r, m)
        if r.status == "fail":
            within = " beyond its printed digits" if printed > 0 else ""
            r.message = (
                f"drawn {name}{r.worst_index} = {m.worst_value!r} differs from the pin "
                f"{m.worst_target!r}{within} by {_ulp_text(m.max_ulp)} "
                f"({m.n_bad} of {m.n} values differ; did the {case.init} random stream change?)"
            )
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
    ref_vals = ref.of(op)
    tol = _device_tolerance(resolve(op, u.dtype, case.tolerance), r)
    allow = case_allowance(tol, op, ref, case.in_features if case.kind == "dense" else None)
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


def _device_tolerance(tol: Tolerance, r: Row) -> Tolerance:
    """Widen a default float32 tolerance on CUDA where the framework's float32 matmul rounds
    its inputs to TF32/bfloat16 (TF and JAX by default; torch only with high/medium)."""
    mode = r.settings.get("cuda_float32_matmul", "ieee")
    if r.device != "cuda" or tol.dtype != "float32" or tol.source != "default":
        return tol
    if mode not in REDUCED_MATMUL_U:
        return tol
    return Tolerance(tol.op, tol.dtype, tol.source, matmul_u=REDUCED_MATMUL_U[mode], note=mode)


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
