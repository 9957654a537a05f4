"""Running cases: plan batches, run each framework in its own worker process, judge each batch
as its results arrive.

Workers run in parallel while a thread of this process computes the exact references. Cases
of one (kind, dtype, in, out, bias) form one batch, so each framework builds its layers once
per batch. A framework that is not installed yields ``skip`` rows; one whose worker dies or is
killed by the watchdog (:mod:`conformance.deadlines`) yields ``error`` rows, saying how it
ended, for its own unfinished work only.

A run has modes (eager, compiled) and devices (cpu, cuda); each framework gets only the
batches its adapter can run (docs/native.md). Every worker starts at once (imports in
parallel) and is sent, at once, every batch whose cases need no draw. Cases with
``params.init`` wait for the worker of the adapter that declares the init kind
(``Adapter.init_kinds``) to draw their parameters (it draws before it runs any batch); their
batches are then built — with the drawn arrays, exact in the case dtype — and sent to every
worker as the last ones. Which batch a case lands in never changes its numbers: each case is
computed alone, at its own shape.

Everything arrives on one event queue — worker messages, references — and is handled in this
thread: a batch's rows are judged as soon as its results and its cases' references are in,
appended to ``RunOptions.stream`` (JSON Lines, :class:`results.RowStream`) and counted on the
progress display. ``RunResult.rows`` keeps a fixed order (case, dtype, framework, mode/device,
path) whatever the order of arrival.

Every exit path ends every worker (process groups killed) and the watchdog. An interrupt
(``KeyboardInterrupt``: Ctrl-C, or SIGTERM/SIGHUP through :mod:`conformance.interrupts`) stops
the workers at once and raises :class:`RunInterrupted` with the finished rows, and an
``error`` row starting ``interrupted:`` for each row that never finished.

Rows name the paths of each adapter's table (``Adapter.paths``), also when a framework is
skipped or its worker died. Units with a failing or erroring row keep their inputs and
expected values in the :class:`OutputStore`, for the report's reproduction programs.
"""

from __future__ import annotations

import functools
import itertools
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import dtypes as D
from . import escape, spread
from .adapters.base import ApiPath, Batch, InitRequest, InitResult, PathResult
from .cases import Arrays, Case
from .checks import pin_errors
from .deadlines import default_limits
from .errors import CaseError, UsageError
from .host import machine_key
from .interrupts import RunInterrupted, signum_of
from .judge import Memo, base_row, init_rows, judge
from .loader import load_cases
from .outputs import INPUTS_MAX, Inputs, OutputStore
from .planning import DEVICES, MODES, Unit, expand, plan, wanted
from .progress import Progress, as_progress
from .reference import Reference, reference
from .reference import cache as refcache
from .registry import init_owners, load_class, select
from .results import INTERRUPTED, Row, RowStream, never_ran
from .rowplan import CaseFacts, RunShape, rows_per_framework
from .shards import Plan, Shard, framework_cost
from .shards import select as select_units
from .wire import Message
from .worker import Event, FrameworkRun, Limits, Watchdog, WorkerProcess

MATMUL_PRECISIONS = ("highest", "high", "medium")
REFERENCE_TASK = "exact reference"
#: how long the event loop waits before refreshing the progress display
IDLE_S = 0.5
#: how long closing waits for killed workers to be reaped
REAP_S = 3.0


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
    #: seconds each framework's worker may run; None: derived from its work (deadlines.py)
    timeout: float | None = None
    #: seconds a worker may go without answering; None: derived from the largest batch
    stall_timeout: float | None = None
    #: JSON Lines file the rows are appended to as they finish (None: no stream)
    stream: Path | None = None
    shard: Shard | None = None  # run only this part of the split (conformance/shards.py)
    units: frozenset[tuple[str, str]] | None = None  # only these (case id, dtype) units
    #: worker processes per framework; None: decided from the work (conformance/spread.py)
    worker_processes: int | None = None

    def worker_options(self) -> dict[str, str]:
        out = {
            "modes": ",".join(expand(self.mode, MODES)),
            "devices": ",".join(expand(self.device, DEVICES)),
        }
        if self.matmul_precision:
            out["matmul_precision"] = self.matmul_precision
        store = refcache.current()
        if store is not None:  # compiled programs are cached beside the references
            out["cache_dir"] = str(store.root.absolute() / "compiled" / machine_key())
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
    #: the signal that stopped the run ("SIGINT", "SIGTERM", ...); "" when it finished
    interrupted: str = ""
    #: the details behind error rows (tracebacks, how workers ended), for environment.json
    problems: list[str] = field(default_factory=list)
    #: framework -> the time limits its worker ran under
    limits: dict[str, Limits] = field(default_factory=dict)
    plan: Plan | None = None  # the split, when the run is one shard of it


def run(options: RunOptions, progress: Progress | Callable[[str], None] | None = None) -> RunResult:
    """Run the cases of ``options`` on its frameworks. ``progress``: a :class:`Progress`
    display, or a callable taking each message line. Raises :class:`RunInterrupted` (with the
    partial result) when interrupted."""
    state = _Run(options, as_progress(progress))
    try:
        state.start()
        state.send_ready()
        state.draw()
        state.send_drawn()
        state.collect()
    except KeyboardInterrupt as exc:
        signum = signum_of(exc)
        name = signal.Signals(signum).name
        state.stop()
        raise RunInterrupted(state.result(name), signum) from None
    finally:
        state.close()
    return state.result()


class _Run:
    """The state of one run; :func:`run` drives its phases."""

    def __init__(self, options: RunOptions, show: Progress) -> None:
        self.options, self.show = options, show
        self.t0 = time.perf_counter()
        self.events: queue.Queue[Event | tuple[None, Message]] = queue.Queue()
        self.runs: dict[str, FrameworkRun] = {}
        # worker processes by key: the framework's name, then "name#2", "name#3", ...
        self.workers: dict[str, WorkerProcess] = {}
        self.procs: dict[str, list[str]] = {}  # framework -> its workers' keys
        self.loads: dict[str, list[float]] = {}  # framework -> estimated seconds per worker
        self.placed: dict[str, dict[Any, int]] = {}  # framework -> batch group -> worker
        self.ticks: dict[str, int] = {}  # worker key -> rows done in its current batch
        self.limits: dict[str, Limits] = {}
        self.exited: set[str] = set()  # worker keys
        self.fatal_of: dict[str, str] = {}  # worker key -> the fatal error it reported
        self.ended_badly: set[str] = set()  # frameworks a worker of which ended with a reason
        self.requests: dict[str, list[InitRequest]] = {}
        self.units: list[Unit] = []
        self.batches: list[Batch] = []
        self.members: dict[int, list[int]] = {}  # batch -> its units
        self.sent: dict[str, list[int]] = {}  # worker key -> the batches it owes
        self.answered: set[tuple[str, int]] = set()
        # batches waiting for references, in arrival order, with the keys they still miss;
        # ``waiting`` indexes them by key, so each reference wakes only its own batches (a
        # rescan of every pending batch per reference was quadratic: 10,000 cases spent most
        # of the parent's time there, holding the GIL the reference thread needs)
        self.pending: dict[int, tuple[str, int, list[PathResult], set[tuple[str, str]]]] = {}
        self.waiting: dict[tuple[str, str], list[int]] = {}
        self.memo = Memo()
        self.arrivals = itertools.count()
        self.refs: dict[tuple[str, str], Reference | str] = {}
        self.refs_finished = False
        self.unit_of: dict[tuple[str, str], int] = {}
        self.rows: dict[tuple[int, int, int], list[Row]] = {}  # (unit, framework, slot)
        self.done: dict[str, int] = {}  # rows per framework
        self.store = OutputStore()
        self.problems: list[str] = []
        self.stream: RowStream | None = None
        self.watchdog: Watchdog | None = None
        self.ref_jobs: queue.Queue[tuple[tuple[str, str], Callable[[], Arrays]] | None]
        self.ref_jobs = queue.Queue()
        self.ref_thread = threading.Thread(target=self._references, daemon=True)
        self.stopping = threading.Event()

        o = options
        self.chosen, self.known = select(o.frameworks, o.adapters, o.replace_adapters)
        self.owners = init_owners(self.known, self.chosen)
        layouts = {k: own.layout for k, own in self.owners.items()}
        self.cases, self.errors = load_cases(o.paths, layouts)
        self.tables = {name: load_class(spec).paths for name, spec in self.chosen.items()}
        self.init_kinds = {name: load_class(spec).init_kinds for name, spec in self.chosen.items()}
        self.fw_index = {name: i for i, name in enumerate(self.chosen)}
        self.modes, self.devices = expand(o.mode, MODES), expand(o.device, DEVICES)
        self.combos = [(m, d) for m in self.modes for d in self.devices]
        self.shape = RunShape.of(self.chosen, self.known, self.modes, self.devices)
        self.cases, self.shard_plan = select_units(
            self.cases, o.dtypes, o.shard, o.units, self.shape
        )
        self.wanted = wanted(self.cases, o.dtypes)
        # every unit in the run's order; each is replaced by its planned self when its batches
        # are built (init cases: once their parameters are drawn)
        self.units = [Unit(case, dtype, None) for case, dtype in self.wanted]
        self.unit_of = {(u.case.id, u.dtype): i for i, u in enumerate(self.units)}

    # -- phase 0: stream, references, workers

    def start(self) -> None:
        if self.options.stream is not None:
            path = self.options.stream
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.stream = RowStream(path)
            except OSError as exc:
                raise UsageError(
                    f"{escape.visible(path)}: cannot stream rows here: {exc}"
                ) from None
        # References of cases with explicit or generated parameters need no framework:
        # computed in a thread while the workers import and draw.
        self.show.planned(REFERENCE_TASK, len(self.wanted), "cases")
        for case, dtype in self.wanted:
            if case.init is None:
                self.ref_jobs.put(((case.id, dtype), functools.partial(case.arrays, dtype)))
        self.ref_thread.start()

        # The owner of a case's init kind draws its parameters; the other adapters of the run
        # that declare the kind draw it too, for its pins only (Keras on each backend): their
        # op: init rows say whether the pins reproduce there.
        needed = dict(self.chosen)
        for case, dtype in self.wanted:
            if case.init is not None and _needs_draw(case):
                owner = self.owners[case.init]
                needed.setdefault(owner.name, owner.spec)  # draws only when not in this run
                request = InitRequest(
                    (case.id, dtype),
                    case.init,
                    case.seed,
                    case.in_features,
                    case.out_features,
                    case.init_bias,
                    dtype,
                )
                self.requests.setdefault(owner.name, []).append(request)
                for name in self._pin_drawers(case):
                    self.requests.setdefault(name, []).append(request)
        counts = self._process_counts()
        for name, spec in needed.items():
            cls = load_class(spec)
            fw = FrameworkRun(name, modes=cls.modes, devices=cls.devices)
            self.runs[name] = fw
            fw.skip = _unavailable(cls)
            if fw.skip:
                continue
            self.limits[name] = self._limits(name, cls.paths, cls.modes, cls.devices)
            count = counts.get(name, 1)
            self.loads[name], self.placed[name] = [0.0] * count, {}
            for k in range(count):
                key = name if k == 0 else f"{name}#{k + 1}"
                w = WorkerProcess(
                    name,
                    spec,
                    self.events,  # type: ignore[arg-type]
                    self.limits[name],
                    self.options.worker_options(),
                    self.requests.get(name, []) if k == 0 else [],  # the first one draws
                    key=key,
                )
                self.workers[key] = w
                self.procs.setdefault(name, []).append(key)
                w.start()
        self.watchdog = Watchdog(list(self.workers.values())).__enter__()

    def _process_counts(self) -> dict[str, int]:
        """Worker processes per chosen framework (conformance/spread.py): from the estimated
        work of its rows in this run, or ``worker_processes`` for every one."""
        work = dict.fromkeys(self.chosen, 0.0)
        if self.options.worker_processes is not None:
            return spread.processes(work, 1, self.options.worker_processes)
        facts: dict[str, tuple[CaseFacts, dict[str, int]]] = {}
        for case, _dtype in self.wanted:
            if case.id not in facts:
                f = CaseFacts.of(case)
                facts[case.id] = (f, rows_per_framework(f, self.shape))
            f, rows = facts[case.id]
            for name in work:
                work[name] += framework_cost(f, name, rows.get(name, 0))
        return spread.processes(work, spread.cores())

    def _limits(
        self, name: str, paths: tuple[ApiPath, ...], modes: tuple[str, ...], devs: tuple[str, ...]
    ) -> Limits:
        combos = [(m, d) for m, d in self.combos if m in modes and d in devs]
        units = self.wanted if name in self.chosen else []
        auto = default_limits(units, paths, len(combos), any(m == "compiled" for m, _ in combos))
        o = self.options
        return Limits(
            total=o.timeout if o.timeout is not None else auto.total,
            stall=o.stall_timeout if o.stall_timeout is not None else auto.stall,
        )

    # -- phase 1: the batches that need no draw go out at once; the owners draw meanwhile

    def send_ready(self) -> None:
        """Plan and send every batch whose cases need no init draw: workers that draw nothing
        start on them at once, the owners after their draws."""
        for name in self.chosen:
            fw, table = self.runs[name], self.tables[name]
            total = sum(
                sum(p.kind == u.case.kind for p in table) * len(self._slots_of(fw))
                for u in self.units
            )
            self.show.planned(name, total)
            self.done[name] = 0
            if fw.skip:
                for i, u in enumerate(self.units):
                    for c, (mode, device) in self._slots_of(fw):
                        self._emit(
                            (i, self.fw_index[name], c),
                            self._status_rows(u, name, mode, device, "skip", fw.skip),
                        )
                self.show.finished(name, f"skipped: {fw.skip}")
        ready = [c for c in self.cases if not _needs_draw(c)]
        self._send_wave(plan(ready, self.options.dtypes, self.modes, self.devices), last=False)

    def draw(self) -> None:
        """Wait for the owners' draws (answers to the batches already sent are judged as
        they come)."""
        waiting = {name for name in self.requests if name in self.workers}  # first workers
        while waiting:
            w, msg = self._next()
            self._handle(w, msg)
            if w is not None and msg.kind in ("inits_done", "fatal", "exit"):
                waiting.discard(w.key)
        if self.requests:
            self.show.message(f"init draws done in {time.perf_counter() - self.t0:.1f} s")

    # -- phase 2: the init cases' batches, with the drawn parameters

    def send_drawn(self) -> None:
        draws: dict[tuple[str, str], InitResult] = {}
        for name, reqs in self.requests.items():
            fw = self.runs[name]
            for r in reqs:
                if self.owners[r.init].name != name:
                    continue  # a draw for the pins only: it does not feed the run
                why = fw.fatal or fw.skip or "the worker ended before drawing"
                draws[r.key] = fw.inits.get(r.key) or InitResult(r.key, error=why)
        init_blocked = {
            kind: ("skip", f"init: {kind} needs {own.name}: {self.runs[own.name].skip}")
            for kind, own in self.owners.items()
            if own.name in self.runs and self.runs[own.name].skip
        }
        drawn = [c for c in self.cases if _needs_draw(c)]
        o = self.options
        wave = plan(drawn, o.dtypes, self.modes, self.devices, draws, init_blocked)
        self._send_wave(wave, last=True)
        self.ref_jobs.put(None)  # no more references to compute
        self.show.message(
            f"{len(self.cases)} cases, {len(self.units)} case/dtype units in "
            f"{len(self.batches)} batches (modes {', '.join(self.modes)}; devices "
            f"{', '.join(self.devices)})"
        )

    def _send_wave(self, wave: tuple[list[Unit], list[Batch]], last: bool) -> None:
        """Take planned units and batches into the run (in the run's unit order, batch indices
        after those already sent), emit the rows known without running, send the batches."""
        units, batches = wave
        offset = len(self.batches)
        self.batches.extend(batches)
        for u in units:
            i = self.unit_of[(u.case.id, u.dtype)]
            u.slots = {k: (b + offset, pos) for k, (b, pos) in u.slots.items()}
            self.units[i] = u
            for b, _slot in u.slots.values():
                self.members.setdefault(b, []).append(i)
            key = (u.case.id, u.dtype)
            if u.blocked is not None:
                self._got_reference(key, u.blocked[1])
            elif u.case.init is not None:
                arrays = u.arrays
                assert arrays is not None
                self.ref_jobs.put((key, functools.partial(_given, arrays)))
            drew = self.owners[u.case.init].name if u.case.init is not None else ""
            if drew in self.chosen:
                self._emit((i, -1, 0), init_rows(u, self.runs[drew]))
            for name in self._pin_drawers(u.case) if drew else []:
                self._emit((i, -1, 0), init_rows(_drawn_by(u, self.runs[name]), self.runs[name]))
            if u.blocked is None:
                continue
            status, why = u.blocked
            for name in self.chosen:
                fw = self.runs[name]
                if fw.skip:
                    continue  # its rows are skip rows already
                for c, (mode, device) in self._slots_of(fw):
                    self._emit(
                        (i, self.fw_index[name], c),
                        self._status_rows(u, name, mode, device, status, why),
                    )
        for name, keys in self.procs.items():
            fw = self.runs[name]
            mine = [
                (offset + j, b)
                for j, b in enumerate(batches)
                if name in self.chosen and b.mode in fw.modes and b.device in fw.devices
            ]
            shares = [[i for i, _ in mine]]
            if len(keys) > 1:
                paths = {
                    k: sum(p.kind == k for p in self.tables[name]) for k in ("dense", "sigmoid")
                }
                costed = [(i, b, spread.batch_cost(b, name, paths.get(b.kind, 1))) for i, b in mine]
                shares = spread.deal(costed, self.loads[name], self.placed[name])
            for wkey, share in zip(keys, shares, strict=True):
                self.sent.setdefault(wkey, []).extend(share)
                self.workers[wkey].send_batches([(i, self.batches[i]) for i in share], last=last)
                if wkey in self.exited:  # it has ended already: nothing will answer
                    self._fail_unanswered(wkey)

    def _pin_drawers(self, case: Case) -> list[str]:
        """The adapters of the run besides the owner that declare the case's init kind: they
        draw it too when the case pins a parameter, to check the pins."""
        if case.init is None or not case.pins:
            return []
        owner = self.owners[case.init].name
        return [n for n, k in self.init_kinds.items() if n != owner and case.init in k]

    def _slots_of(self, fw: FrameworkRun) -> list[tuple[int, tuple[str, str]]]:
        """(index, (mode, device)) of the run's combinations this framework has."""
        return [
            (c, (m, d)) for c, (m, d) in enumerate(self.combos) if m in fw.modes and d in fw.devices
        ]

    # -- phase 3: results as they arrive

    def collect(self) -> None:
        while set(self.workers) - self.exited or not self.refs_finished or self.pending:
            w, msg = self._next()
            self._handle(w, msg)
        self.show.message(f"all rows in after {time.perf_counter() - self.t0:.1f} s")

    def _next(self) -> Event | tuple[None, Message]:
        while True:
            try:
                return self.events.get(timeout=IDLE_S)
            except queue.Empty:
                for name, n in self.done.items():
                    self.show.advanced(name, n)

    def _handle(self, w: WorkerProcess | None, msg: Message) -> None:
        if w is None:
            self._handle_reference(msg)
            return
        fw, kind = self.runs[w.name], msg.kind
        if kind == "hello":
            fw.version, fw.settings = msg["version"], dict(msg["settings"])
        elif kind == "init":
            fw.inits[msg["result"].key] = msg["result"]
        elif kind == "settings":  # measured later (compiled-mode denormals)
            fw.settings = {**fw.settings, **msg["settings"]}  # rows share the old one
        elif kind == "tick":
            if w.name in self.done:
                self.ticks[w.key] = msg["done"]
                ticking = sum(self.ticks.get(k, 0) for k in self.procs.get(w.name, ()))
                self.show.advanced(w.name, self.done[w.name] + ticking)
        elif kind == "batch":
            self.ticks[w.key] = 0
            self.answered.add((w.name, msg["batch"]))
            self._batch_in(w.name, msg["batch"], msg["results"])
        elif kind == "batch_error":
            self.ticks[w.key] = 0
            self.problems.append(f"{w.name}: batch {msg['batch']}: {msg['traceback']}")
            self._status_batch(w.name, msg["batch"], "error", msg["message"])
        elif kind == "batch_skip":
            self.ticks[w.key] = 0
            self._status_batch(w.name, msg["batch"], "skip", msg["reason"])
        elif kind == "fatal":
            fw.fatal = self.fatal_of[w.key] = msg["message"]
            self.problems.append(f"{w.name}: {msg['traceback']}")
        elif kind == "exit":
            ended = msg["ended"]
            fw.seconds = max(fw.seconds, ended.seconds)  # its processes ran side by side
            self.exited.add(w.key)
            if ended.reason:
                fw.fatal = fw.fatal or ended.reason
                self.ended_badly.add(w.name)
                err = ended.stderr.strip()
                self.problems.append(
                    f"{w.key}: {ended.reason}" + (f"\n--- its stderr ---\n{err}" if err else "")
                )
            if w.key in self.sent:
                self._fail_unanswered(w.key, ended.reason)
            alive = [k for k in self.procs.get(w.name, ()) if k not in self.exited]
            if w.name in self.chosen and not alive:
                bad = w.name in self.ended_badly
                self.show.finished(w.name, f"error: {fw.fatal}" if bad else "")

    def _handle_reference(self, msg: Message) -> None:
        if msg.kind == "refs_done":
            self.refs_finished = True
            for key in self.unit_of:  # the thread ended early (it never should): say so
                if key not in self.refs:
                    self._got_reference(key, "reference not computed")
            self.show.finished(REFERENCE_TASK)
            return
        if msg["traceback"]:
            self.problems.append(f"reference of {msg['key']}: {msg['traceback']}")
        self._got_reference(msg["key"], msg["value"])

    def _got_reference(self, key: tuple[str, str], ref: Reference | str) -> None:
        self.refs[key] = ref
        self.show.advanced(REFERENCE_TASK, len(self.refs))
        i = self.unit_of.get(key)
        if i is not None and isinstance(ref, Reference) and self.units[i].case.init is not None:
            # the loader checked the other cases' pins; an init case's exist only now
            self.errors.extend(pin_errors(self.units[i].case, self.units[i].dtype, ref))
        for token in self.waiting.pop(key, []):
            name, b, results, missing = self.pending[token]
            missing.discard(key)
            if not missing:
                del self.pending[token]
                self._judge_batch(name, b, results)

    def _references(self) -> None:
        try:
            while not self.stopping.is_set():
                job = self.ref_jobs.get()
                if job is None:
                    return
                key, arrays = job
                tb = ""
                try:
                    a = arrays()
                    value: Reference | str = reference(
                        a.dtype, x=a.x, weight=a.weight, bias=a.bias, z=a.z
                    )
                except Exception as exc:  # costs that unit only; the traceback is kept
                    value = f"reference failed: {type(exc).__name__}: {exc}"
                    tb = traceback.format_exc()
                self.events.put(
                    (None, Message("ref", {"key": key, "value": value, "traceback": tb}))
                )
        finally:
            self.events.put((None, Message("refs_done", {})))

    # -- rows

    def _emit(self, key: tuple[int, int, int], rows: list[Row]) -> None:
        self.rows.setdefault(key, []).extend(rows)
        if self.stream is not None:
            for r in rows:
                self.stream.write(r)
        if key[1] >= 0:
            name = list(self.chosen)[key[1]]
            self.done[name] = self.done.get(name, 0) + len(rows)
            self.show.advanced(name, self.done[name])

    def _status_rows(
        self, u: Unit, name: str, mode: str, device: str, status: str, why: str
    ) -> list[Row]:
        fw = self.runs.get(name) or FrameworkRun(name)
        mine = [p for p in self.tables[name] if p.kind == u.case.kind]
        rows = []
        for p in mine:
            r = base_row(u, fw, p.op, p.name, mode, device)
            r.status, r.message = status, why
            rows.append(r)
        return rows

    def _status_batch(self, name: str, b: int, status: str, why: str) -> None:
        if name not in self.chosen:
            return
        self.answered.add((name, b))
        batch = self.batches[b]
        c = self.combos.index((batch.mode, batch.device))
        for i in self.members.get(b, []):
            rows = self._status_rows(self.units[i], name, batch.mode, batch.device, status, why)
            self._emit((i, self.fw_index[name], c), rows)

    def _fail_unanswered(self, key: str, reason: str = "") -> None:
        """Error rows for the batches worker ``key`` owes: why it ended, else why its
        framework failed."""
        name = self.workers[key].name
        why = self.fatal_of.get(key) or reason or self.runs[name].fatal
        why = why or "the worker returned no result"
        for b in self.sent.get(key, []):
            if (name, b) not in self.answered:
                self._status_batch(name, b, "error", why)

    def _batch_in(self, name: str, b: int, results: list[PathResult]) -> None:
        """Judge a batch now if its cases' references are all in, else when the last arrives."""
        missing = set()
        for i in self.members.get(b, []):
            key = (self.units[i].case.id, self.units[i].dtype)
            if key not in self.refs:
                missing.add(key)
        if not missing:
            self._judge_batch(name, b, results)
            return
        token = next(self.arrivals)
        self.pending[token] = (name, b, results, missing)
        for key in missing:
            self.waiting.setdefault(key, []).append(token)

    def _judge_batch(self, name: str, b: int, results: list[PathResult]) -> None:
        if name not in self.chosen:
            return
        batch = self.batches[b]
        c = self.combos.index((batch.mode, batch.device))
        checked = [(pr, _result_problem(batch, pr)) for pr in results]
        for i in self.members.get(b, []):
            u = self.units[i]
            _, slot = u.slots[(batch.mode, batch.device)]
            ref = self.refs[(u.case.id, u.dtype)]
            rows = [self._row(u, name, batch, pr, problem, slot, ref) for pr, problem in checked]
            self._emit((i, self.fw_index[name], c), rows)

    def _row(
        self,
        u: Unit,
        name: str,
        batch: Batch,
        pr: PathResult,
        problem: str,
        slot: int,
        ref: Reference | str,
    ) -> Row:
        op = pr.op if pr.op in _OPS[batch.kind] else _OPS[batch.kind][0]
        r = base_row(u, self.runs[name], op, pr.path, batch.mode, batch.device)
        if problem:
            r.status, r.message = "error", problem
            return r
        if pr.skip:  # the path could not run on this batch here (SkipPath)
            r.status, r.message = "skip", pr.skip
            return r
        y, err = pr.outputs[slot], pr.errors[slot]
        r.seconds = float(pr.seconds[slot]) if slot < len(pr.seconds) else 0.0
        if isinstance(ref, str):
            r.status, r.message = "error", ref
        elif err is not None or y is None:
            r.status, r.message = "error", err or "the adapter returned no output"
        else:
            try:
                judge(r, u, ref, y, self.options.accumulation, self.memo)
            except Exception as exc:  # a bug of ours: costs this row, the traceback is kept
                r.status, r.message = "error", f"judging failed: {type(exc).__name__}: {exc}"
                self.problems.append(f"judging {r.case} {r.path}: {traceback.format_exc()}")
        if y is not None and tuple(y.shape) == u.case.output_shape and _real(y):
            self.store.add_output(r, y)
        return r

    # -- the end

    def stop(self) -> None:
        """Interrupted: kill every worker now and stop computing references."""
        self.stopping.set()
        for w in self.workers.values():
            w.kill("the run was interrupted")

    def close(self) -> None:
        """Every exit path: no worker, watchdog or stream outlives the run."""
        if self.watchdog is not None:
            self.watchdog.__exit__(None, None, None)
        self.stopping.set()
        self.ref_jobs.put(None)
        for w in self.workers.values():
            if w.alive:
                w.kill("the run ended before it did")
        deadline = time.monotonic() + REAP_S
        for w in self.workers.values():
            if hasattr(w, "thread"):
                w.thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.stream is not None:
            self.stream.close()
        self.show.close()

    def result(self, interrupted: str = "") -> RunResult:
        if interrupted:
            self._fill_interrupted(interrupted)
        rows: list[Row] = []
        by_unit: dict[int, list[Row]] = {}
        for key in sorted(self.rows):
            rows.extend(self.rows[key])
            by_unit.setdefault(key[0], []).extend(self.rows[key])
        for i, u in enumerate(self.units):
            ref = self.refs.get((u.case.id, u.dtype))
            if isinstance(ref, Reference):
                _keep_reference(self.store, u, ref)
            if self.options.keep_inputs or any(
                r.status in ("fail", "error") and not never_ran(r) for r in by_unit.get(i, [])
            ):
                _keep_inputs(self.store, u)
        return RunResult(
            rows,
            self.errors,
            self.runs,
            self.cases,
            time.perf_counter() - self.t0,
            self.store,
            self.known,
            interrupted,
            self.problems,
            self.limits,
            self.shard_plan,
        )

    def _fill_interrupted(self, signal_name: str) -> None:
        why = f"{INTERRUPTED}: the run was stopped by {signal_name} before this row finished"
        for i, u in enumerate(self.units):
            for name in self.chosen:
                fw = self.runs.get(name) or FrameworkRun(name)
                for c, (mode, device) in self._slots_of(fw):
                    if (i, self.fw_index[name], c) not in self.rows:
                        rows = self._status_rows(u, name, mode, device, "error", why)
                        self.rows[(i, self.fw_index[name], c)] = rows


def _drawn_by(u: Unit, fw: FrameworkRun) -> Unit:
    """``u`` as the adapter of ``fw`` drew it, for its ``op: init`` rows."""
    got = fw.inits.get((u.case.id, u.dtype))
    if fw.skip:
        return replace(u, blocked=None, drawn=None)  # init_rows says why (fw.skip)
    if got is None or got.error or got.skip:
        why = (got.error or got.skip) if got is not None else (fw.fatal or "nothing drawn")
        status = "skip" if got is not None and got.skip else "error"
        return replace(u, blocked=(status, f"init: {u.case.init}: {why}"), drawn=None)
    return replace(u, blocked=None, drawn=got)


def _needs_draw(case: Case) -> bool:
    """Whether the case's parameters are drawn by a framework in the run's first phase."""
    return case.init is not None and case.kind == "dense"


def _given(arrays: Arrays) -> Arrays:
    return arrays


def _real(y: Any) -> bool:
    return bool(y.dtype.kind in "biuf" or y.dtype.name == "bfloat16")


_OPS = {"dense": ("affine", "sigmoid"), "sigmoid": ("sigmoid",)}


def _result_problem(batch: Batch, pr: PathResult) -> str:
    """Why a path's results cannot be judged (the adapter broke the contract), or ""."""
    n = len(batch.items)
    if len(pr.outputs) != n or len(pr.errors) != n:
        return (
            f"the adapter returned {len(pr.outputs)} outputs and {len(pr.errors)} errors "
            f"for {n} items"
        )
    if pr.op not in _OPS[batch.kind]:
        return f"the adapter returned op {pr.op[:40]!r} for a {batch.kind} batch"
    return ""


def _unavailable(cls: type[Any]) -> str:
    """Why the adapter cannot run here ("" when it can); a raising check says so."""
    try:
        return cls().unavailable() or ""
    except Exception as exc:
        return f"unavailable() raised {type(exc).__name__}: {str(exc)[:200]}"


def _keep_reference(store: OutputStore, u: Unit, ref: Reference) -> None:
    """Reference values and the sigmoid's input, for the agreement matrix and the plots."""
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
