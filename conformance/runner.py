"""Running cases: plan batches, run each framework in its own worker process, compare.

Workers run in parallel while this process computes the exact references. Cases of one
(kind, dtype, in, out, bias) form one batch, so each framework builds its layers once per
batch. A framework that is not installed yields ``skip`` rows; one whose worker dies yields
``error`` rows for its own unfinished work only.

A run has modes (eager, compiled) and devices (cpu, cuda); each framework gets only the
batches its adapter can run (docs/native.md). Cases with ``params.init`` need a first phase:
every worker starts (imports in parallel), the worker of the adapter that declares the init
kind (``Adapter.init_kinds``) draws the parameters, and only then are the batches built — with
the drawn arrays, exact in the case dtype — and sent to every worker.

Rows name the paths of each adapter's table (``Adapter.paths``), also when a framework is
skipped or its worker died. Units with a failing or erroring row keep their inputs and
expected values in the :class:`OutputStore`, for the report's reproduction programs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import dtypes as D
from .adapters.base import ApiPath, InitRequest, InitResult
from .cases import Arrays, Case
from .checks import pin_errors
from .errors import CaseError
from .judge import base_row, init_rows, judge
from .loader import load_cases
from .outputs import INPUTS_MAX, Inputs, OutputStore
from .planning import DEVICES, MODES, Unit, expand, plan, wanted
from .reference import Reference, reference
from .registry import init_owners, load_class, select
from .results import Row
from .worker import WORKER_TIMEOUT_S, FrameworkRun, WorkerProcess

MATMUL_PRECISIONS = ("highest", "high", "medium")


@dataclass
class RunOptions:
    paths: list[str]
    frameworks: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    adapters: list[str] = field(default_factory=list)  # "module:Class", added to the run
    replace_adapters: bool = False  # an --adapter may take the name of a known adapter
    mode: str = "eager"  # eager | compiled | all
    device: str = "cpu"  # cpu | cuda | all
    matmul_precision: str = ""  # "" (leave each framework's default) | highest | high | medium
    accumulation: str = ""  # "" (the default model: float32 or wider) | "dtype" (tolerances)
    keep_inputs: bool = False  # keep every unit's inputs for programs, not only failing ones
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
class RunResult:
    rows: list[Row]
    errors: list[CaseError]
    frameworks: dict[str, FrameworkRun]
    cases: list[Case]
    seconds: float
    outputs: OutputStore = field(default_factory=OutputStore)  # arrays for outputs.npz
    adapters: dict[str, str] = field(default_factory=dict)  # name -> spec of every adapter known


def run(options: RunOptions, progress: Callable[[str], None] | None = None) -> RunResult:
    start = time.perf_counter()
    say = progress or (lambda _msg: None)
    chosen, known = select(options.frameworks, options.adapters, options.replace_adapters)
    owners = init_owners(known, chosen)
    cases, errors = load_cases(options.paths, {k: o.layout for k, o in owners.items()})
    tables = {name: load_class(spec).paths for name, spec in chosen.items()}
    modes, devices = expand(options.mode, MODES), expand(options.device, DEVICES)
    worker_options = options.worker_options()

    # References of cases with explicit or generated parameters need no framework: compute
    # them in a thread while the workers import and draw (NumPy and decimal do the work).
    early: dict[tuple[str, str], Reference | str] = {}

    def precompute() -> None:
        for case, dtype in wanted(cases, options.dtypes):
            if case.init is None:
                early[(case.id, dtype)] = _reference(case.arrays(dtype))

    ref_thread = threading.Thread(target=precompute, daemon=True)
    ref_thread.start()

    # Phase 1: start every worker (imports run in parallel); owners of params.init draw first.
    requests: dict[str, list[InitRequest]] = {}
    needed = dict(chosen)
    for case, dtype in wanted(cases, options.dtypes):
        if case.init is not None and case.kind == "dense":
            owner = owners[case.init]
            needed.setdefault(owner.name, owner.spec)  # draws only when not in this run
            requests.setdefault(owner.name, []).append(
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
    workers: list[WorkerProcess] = []
    runs: dict[str, FrameworkRun] = {}
    for name, spec in needed.items():
        cls = load_class(spec)
        reason = cls().unavailable()
        if reason:
            runs[name] = FrameworkRun(name, skip=reason, modes=cls.modes, devices=cls.devices)
            continue
        w = WorkerProcess(
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
    init_blocked = {
        kind: ("skip", f"init: {kind} needs {o.name}: {runs[o.name].skip}")
        for kind, o in owners.items()
        if o.name in runs and runs[o.name].skip
    }
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
            refs[i] = _reference(u.arrays)
        ref = refs[i]
        if u.case.init is not None and isinstance(ref, Reference):
            # the loader checked the other cases' pins; an init case's exist only now
            errors.extend(pin_errors(u.case, u.dtype, ref))
    say(f"references done in {time.perf_counter() - start:.1f}s")

    for w in workers:
        runs[w.run.name] = w.join()
        say(f"{w.run.name}: {w.run.seconds:.1f}s")

    combos = [(m, d) for m in modes for d in devices]
    rows: list[Row] = []
    store = OutputStore()
    for i, u in enumerate(units):
        unit_rows: list[Row] = []
        drew = owners[u.case.init].name if u.case.init is not None else ""
        if drew in chosen:
            unit_rows.extend(init_rows(u, runs[drew]))
        for name in chosen:
            unit_rows.extend(
                _rows_for(u, refs[i], runs[name], tables[name], store, combos, options.accumulation)
            )
        _keep_reference(store, u, refs[i])
        if options.keep_inputs or any(r.status in ("fail", "error") for r in unit_rows):
            _keep_inputs(store, u)
        rows.extend(unit_rows)
    seconds = time.perf_counter() - start
    return RunResult(rows, errors, runs, cases, seconds, store, known)


def _reference(arr: Arrays | None) -> Reference | str:
    """The exact reference of one case in one dtype, or why it failed (costs that unit only)."""
    assert arr is not None
    try:
        return reference(arr.dtype, x=arr.x, weight=arr.weight, bias=arr.bias, z=arr.z)
    except Exception as exc:
        return f"reference failed: {type(exc).__name__}: {exc}"


def _keep_reference(store: OutputStore, u: Unit, ref: Reference | str) -> None:
    """Reference values and the sigmoid's input, for the agreement matrix and the plots."""
    if isinstance(ref, str):
        return
    if ref.affine is not None:
        store.add_reference(u.case.id, u.dtype, "affine", ref.affine)
        store.add_input(u.case.id, u.dtype, ref.affine)
    elif u.arrays is not None and u.arrays.z is not None:
        store.add_input(u.case.id, u.dtype, u.arrays.z)
    store.add_reference(u.case.id, u.dtype, "sigmoid", ref.sigmoid)


def _keep_inputs(store: OutputStore, u: Unit) -> None:
    """What the unit's reproduction programs need: its inputs and expected values."""
    if u.arrays is None:
        return  # an init draw is missing: there is nothing to reproduce with
    store.add_inputs(u.case.id, u.dtype, Inputs.of(u.case, u.arrays))
    dt = D.get(u.dtype)
    for op, per in u.case.expected.items():
        lit = per.get(u.dtype) or per.get("*")
        if lit is not None and lit.rounded(dt).size <= INPUTS_MAX:
            store.add_expected(u.case.id, u.dtype, op, lit.rounded(dt))


def _status_row(
    u: Unit,
    fw: FrameworkRun,
    path: ApiPath,
    status: str,
    message: str,
    mode: str = "eager",
    device: str = "cpu",
) -> Row:
    r = base_row(u, fw, path.op, path.name, mode, device)
    r.status, r.message = status, message
    return r


def _rows_for(
    u: Unit,
    ref: Reference | str,
    fw: FrameworkRun,
    paths: tuple[ApiPath, ...],
    store: OutputStore | None = None,
    combos: list[tuple[str, str]] | None = None,
    accumulate: str = "",
) -> list[Row]:
    """Rows of one unit for one framework, per (mode, device) the framework has."""
    combos = combos if combos is not None else list(u.slots)
    rows: list[Row] = []
    for mode, device in combos:
        if mode not in fw.modes or device not in fw.devices:
            continue  # e.g. NumPy has no compiled mode and no CUDA: no rows at all
        rows.extend(_rows_in(u, ref, fw, paths, store, mode, device, accumulate))
    return rows


def _rows_in(
    u: Unit,
    ref: Reference | str,
    fw: FrameworkRun,
    paths: tuple[ApiPath, ...],
    store: OutputStore | None,
    mode: str,
    device: str,
    accumulate: str = "",
) -> list[Row]:
    def status_rows(status: str, why: str) -> list[Row]:
        mine = [p for p in paths if p.kind == u.case.kind]
        return [_status_row(u, fw, p, status, why, mode, device) for p in mine]

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
        r = base_row(u, fw, pr.op, pr.path, pr.mode, pr.device)
        err = pr.errors[slot]
        y = pr.outputs[slot]
        r.seconds = pr.seconds[slot] if slot < len(pr.seconds) else 0.0
        if isinstance(ref, str):
            r.status, r.message = "error", ref
        elif err is not None or y is None:
            r.status, r.message = "error", err or "no output"
        else:
            judge(r, u, ref, y, accumulate)
        if store is not None and y is not None:
            store.add_output(r, y)
        rows.append(r)
    return rows
