"""The plugin at work: collecting case files, running their rows, reporting.

Collection reads case facts (:mod:`.facts`), never a framework and never a reference. Items
are grouped: a serial session is one group; under pytest-xdist the session's (framework,
unit) work is split into one group per worker (:func:`conformance.shards.work_groups`: whole
frameworks while there are at least as many frameworks as workers, else each framework's units
split by estimated cost), and this plugin's scheduler sends each group whole to one worker. At
the first item of a group the worker runs the real runner once for the group's frameworks and
units (frameworks in their own processes, batched); every item then reads its row. A unit's
rows do not depend on the other units or frameworks of a run (an init draw is the owner's
whichever frameworks run, see :meth:`Session._frameworks`), so any grouping gives the rows of
a serial session.

With ``--conformance-report-dir`` the session's rows go into the usual report when it ends:
from memory in a serial session; under xdist each worker leaves its groups' rows and outputs
in a folder of the controller's, which orders them as a serial session would and writes the
report.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .. import escape, shards
from .. import known as known_mod
from ..errors import CaseError
from ..loader import discover, display_path
from ..outputs import OutputStore, row_key
from ..results import Row, read_rows, write_json
from ..rowplan import CaseFacts, RowSpec, unit_rows
from . import settings as settings_mod
from .facts import FactsCache
from .nodes import SESSION, CaseFile, RowItem, marker_ok
from .verdict import Verdict, of_row

Unit = tuple[str, str]  # (case id, dtype)
PARTS_KEY = "conformance_parts"  # workerinput: the folder workers leave their rows in


def item_key(spec: RowSpec) -> tuple[str, ...]:
    """An item's row key; an init row is named by its pin (its path is known only later)."""
    path = f"init:{spec.pin}" if spec.op == "init" else spec.path
    return (spec.case, spec.dtype, spec.op, spec.framework, path, spec.mode, spec.device)


@dataclass
class GroupRun:
    """The rows of one group, judged, and what each item needs to say."""

    group: int
    raw: list[Row] = field(default_factory=list)  # the selected items' rows, as run
    judged: dict[tuple[str, ...], Row] = field(default_factory=dict)  # item key -> row
    case_errors: dict[str, list[str]] = field(default_factory=dict)  # display file -> lines
    changes: dict[tuple[str, ...], Any] = field(default_factory=dict)  # item key -> Change
    repro: dict[tuple[str, ...], str] = field(default_factory=dict)
    outputs: OutputStore | None = None
    adapters: dict[str, str] = field(default_factory=dict)
    failed: str = ""  # the runner itself failed: every item of the group says why
    seconds: float = 0.0


class Session:
    """Registered as a pytest plugin when ``--conformance`` is given."""

    NAME = "conformance-session"

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.settings = settings_mod.read(config)
        config.stash[SESSION] = self
        self.workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        cache = getattr(config, "cache", None)
        self.facts = FactsCache(cache, self.settings.init_layouts)
        self.roots: dict[Path, tuple[Path, Path, int]] | None = None
        self.by_id: dict[str, CaseFacts] = {}
        self.seen_ids: dict[str, str] = {}
        # marker names other plugins (and pytest) registered: a case tag never takes one
        self.reserved = {
            line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")
        }
        self.marked: set[str] = set()
        self.group_of: dict[tuple[str, Unit], int] = {}  # (framework, unit) -> group
        self.runs: dict[int, GroupRun] = {}
        self.unit_order: dict[Unit, int] = {}
        self.parts_dir: Path | None = None
        if self.workerinput is not None and self.workerinput.get(PARTS_KEY):
            self.parts_dir = Path(self.workerinput[PARTS_KEY])
        self.scheduler_groups: dict[str, str] | None = None
        self.written: str = ""
        self.collected: str = ""
        self.known_lines: list[str] = []

    # -- collection ----------------------------------------------------------------------

    def _roots(self) -> dict[Path, tuple[Path, Path, int]]:
        """Resolved case file -> (file as discovered, its id root, index of its case path):
        the loader's own discovery, so ids are those ``conformance run PATHS`` gives."""
        if self.roots is None:
            self.roots = {}
            for i, p in enumerate(self.settings.case_paths):
                for f, root in discover([p]):
                    self.roots.setdefault(_resolved(f), (f, root, i))
        return self.roots

    @pytest.hookimpl
    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> Any:
        if file_path.suffix not in (".yaml", ".yml"):
            return None
        if _resolved(file_path) not in self._roots():
            return None  # a YAML file outside the case paths given (e.g. CI configuration)
        return CaseFile.from_parent(parent, path=file_path)

    def facts_of(self, path: Path) -> CaseFacts | str:
        """The case's facts, or its one-line case error (also for an id taken by another
        file, as ``conformance run`` refuses it)."""
        file, root, _ = self._roots()[_resolved(path)]
        got = self.facts.get(file, root)
        if isinstance(got, str):
            return got
        other = self.seen_ids.get(got.id)
        if other is not None and other != got.file:
            return str(
                CaseError(got.file, None, "id", f"duplicate id {got.id!r} (also in {other})")
            )
        self.seen_ids[got.id] = got.file
        self.by_id[got.id] = got
        return got

    def rows_of(self, facts: CaseFacts, dtype: str) -> list[RowSpec]:
        if self.settings.dtypes and dtype not in self.settings.dtypes:
            return []
        return unit_rows(facts, dtype, self.settings.shape)

    def mark(self, node: pytest.Item | pytest.Collector, name: str, kind: str) -> None:
        """Mark ``node`` with ``name`` when it can be a marker (valid in ``-m``, not a marker
        with a meaning elsewhere, e.g. ``skip``); the name stays a ``-k`` keyword anyway."""
        if name in self.marked:
            node.add_marker(name)
            return
        if not marker_ok(name) or name in self.reserved:
            node.extra_keyword_matches.add(name)
            return
        self.config.addinivalue_line("markers", f"{name}: conformance {kind} {name}")
        self.marked.add(name)
        node.add_marker(name)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Keep part K of N of the units (``--conformance-shard``); under xdist, deal the
        units into one group per worker."""
        ours = [it for it in items if isinstance(it, RowItem)]
        units: dict[Unit, CaseFacts] = {}
        for it in ours:
            units.setdefault((it.spec.case, it.spec.dtype), self.by_id[it.spec.case])
        shape = self.settings.shape
        shard = self.settings.shard
        if shard is not None:
            cases = list(dict.fromkeys(f.id for f in units.values()))
            p = shards.plan(
                [self.by_id[c] for c in cases], self.settings.dtypes, shard.count, shape
            )
            part = p.part_of()
            keep = {u for u in units if part.get(u) == shard.index}
            dropped = [it for it in ours if (it.spec.case, it.spec.dtype) not in keep]
            if dropped:
                gone = set(map(id, dropped))
                items[:] = [it for it in items if id(it) not in gone]
                config.hook.pytest_deselected(items=dropped)
            units = {u: f for u, f in units.items() if u in keep}
        self.unit_order = {u: i for i, u in enumerate(units)}
        count = int(self.workerinput.get("workercount", 1)) if self.workerinput else 1
        if count > 1:
            groups = shards.work_groups(list(units.items()), shape, count)
            for g, wg in enumerate(groups, 1):
                for fw in wg.frameworks:
                    for u in wg.units:
                        self.group_of[(fw, u)] = g

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.facts.save()
        files, read = len(self.facts.fresh), self.facts.loaded
        self.collected = (
            f"{files} case files collected ({read} read, {files - read} from the cache)"
        )
        if self.parts_dir is not None and self.workerinput is not None:
            # for this plugin's xdist scheduler: which group each item is in
            groups = {
                it.nodeid: f"conformance-group-{self._group(it)}"
                for it in session.items
                if isinstance(it, RowItem)
            }
            _write_atomic(self.parts_dir / f"groups-{self.workerinput['workerid']}.json", groups)

    # -- running -------------------------------------------------------------------------

    def _group(self, item: RowItem) -> int:
        return self.group_of.get((item.spec.framework, _unit(item)), 1)

    def verdict(self, item: RowItem) -> Verdict:
        g = self._group(item)
        run = self.runs.get(g)
        if run is None:
            run = self.runs[g] = self._run_group(g, item.session)
        if run.failed:
            return Verdict("fail", f"the conformance run failed: {run.failed}")
        key = item_key(item.spec)
        return of_row(
            run.judged.get(key),
            case_errors=run.case_errors.get(item.facts.file, []),
            change=run.changes.get(key),
            gated=self.settings.baseline is not None,
            store=run.outputs,
            repro=run.repro.get(key, ""),
        )

    def _run_group(self, g: int, session: pytest.Session) -> GroupRun:
        from ..runner import run

        items = [it for it in session.items if isinstance(it, RowItem) and self._group(it) == g]
        s = self.settings
        units = frozenset(_unit(it) for it in items)
        frameworks = self._frameworks({it.spec.framework for it in items}, units)
        roots = self._roots()
        files = {self.by_id[c].file for c, _ in units}
        indices = sorted({i for f, _, i in roots.values() if display_path(f) in files})
        paths = [s.case_paths[i] for i in indices]
        modes = {it.spec.mode for it in items}
        devices = {it.spec.device for it in items}
        options = s.run_options(
            paths,
            frameworks,
            units,
            modes.pop() if len(modes) == 1 else "all",
            devices.pop() if len(devices) == 1 else "all",
        )
        out = GroupRun(g)
        start = time.perf_counter()
        self._say(
            f"running {len(items)} rows of {len(units)} case/dtype units ({', '.join(frameworks)})"
        )
        try:
            result = run(options, progress=self._say)
        except Exception as exc:  # the runner's own failure: every item of the group says it
            out.failed = escape.visible(f"{type(exc).__name__}: {exc}", 500)
            return out
        out.seconds = time.perf_counter() - start
        for e in result.errors:
            out.case_errors.setdefault(e.file, []).append(str(e))
        keys = {item_key(it.spec) for it in items}
        pins_seen: dict[tuple[str, str, str], int] = {}
        for r in result.rows:
            path = r.path
            if r.op == "init":  # each drawing framework's rows name the pins in order
                n = pins_seen.get((r.case, r.dtype, r.framework), 0)
                pins_seen[(r.case, r.dtype, r.framework)] = n + 1
                pins = self.by_id[r.case].pins.get(r.dtype, ()) if r.case in self.by_id else ()
                path = f"init:{pins[n]}" if n < len(pins) else f"init:#{n}"
            key = (r.case, r.dtype, r.op, r.framework, path, r.mode, r.device)
            if key in keys:
                out.raw.append(dataclasses.replace(r))
                out.judged[key] = r
        out.outputs = result.outputs
        out.adapters = result.adapters
        judged = list(out.judged.values())
        if s.known is not None:
            known_mod.apply(judged, s.known)
        if s.baseline is not None:
            self._gate(out)
        self._repro(out)
        self._leave_part(out)
        return out

    def _gate(self, out: GroupRun) -> None:
        from ..gate import compare

        s = self.settings
        assert s.baseline is not None
        by_row = {row_key(r): k for k, r in out.judged.items()}
        base = [b for b in s.baseline if row_key(b) in by_row]
        res = compare(
            base,
            list(out.judged.values()),
            s.ulp_threshold,
            allow_skipped=s.allow_skipped,
            allow_missing=True,
        )
        for c in res.regressions:
            k = by_row.get(row_key(c.row))
            if k is not None:
                out.changes[k] = c

    def _repro(self, out: GroupRun) -> None:
        """What each failing item says about its reproduction program: the file the session's
        report will hold (named as the report names it), or why there is none."""
        d = self.settings.report_dir
        if d is None:
            hint = "pass --conformance-report-dir DIR to write reproduction programs"
            for k, r in out.judged.items():
                if r.status in ("fail", "error") or k in out.changes:
                    out.repro[k] = hint
            return
        from ..report import repro

        keyed = [(k, r) for k, r in out.judged.items() if repro.needs_snippet(r)]
        progs = repro.programs([r for _, r in keyed], out.outputs, out.adapters)
        for k, r in keyed:
            snippet = progs.written.get(id(r))
            if snippet is not None:
                where = escape.visible(d / "repro" / snippet.name)
                out.repro[k] = f"{where} (written when the session ends)"
            else:
                out.repro[k] = f"none: {escape.visible(progs.missing.get(id(r), '?'))}"
        for k in out.changes:
            out.repro.setdefault(k, "none (the row passes; see the baseline change)")

    def _frameworks(self, wanted: set[str], units: frozenset[Unit]) -> list[str]:
        """The frameworks a group's run starts: those of its items, in run order, plus the
        session's owner of an init kind its units draw when another framework of the group
        declares that kind too (it would draw instead, and other parameters would follow)."""
        from ..registry import init_owners

        s = self.settings
        names = [n for n in s.chosen if n in wanted]
        kinds = {self.by_id[c].init for c, _ in units if self.by_id[c].init is not None}
        if kinds:
            mine = init_owners(s.adapter_specs, {n: s.chosen[n] for n in names})
            for kind in kinds:
                owner = s.shape.owners.get(str(kind))
                got = mine.get(str(kind))
                if owner and got and got.name != owner and owner not in names:
                    names.append(owner)
            names = [n for n in s.chosen if n in names]
        return names

    def _leave_part(self, out: GroupRun) -> None:
        """Under xdist: the group's rows (and outputs, for a report) for the controller."""
        if self.parts_dir is None or self.workerinput is None or not self.group_of:
            return
        part = self.parts_dir / f"part-{self.workerinput['workerid']}-{out.group}"
        part.mkdir(parents=True, exist_ok=True)
        write_json(out.raw, part / "results.json")
        if self.settings.report_dir is not None and out.outputs is not None:
            out.outputs.save(part / "outputs.npz")
        order = [list(u) for u in self.unit_order]
        _write_atomic(part / "part.json", {"group": out.group, "order": order})

    def _say(self, message: str) -> None:
        if self.workerinput is not None or self.config.get_verbosity() < 1:
            return
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line(f"[conformance] {escape.visible(message, escape.LINE_LIMIT)}")

    # -- the end -------------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.workerinput is not None:
            return  # a worker: its parts are the controller's
        rows, outputs, adapters = self._session_rows()
        if self.parts_dir is not None:
            shutil.rmtree(self.parts_dir, ignore_errors=True)
        if rows is None:
            return
        known = known_mod.apply(rows, self.settings.known) if self.settings.known else None
        if known is not None:
            self.known_lines = known.lines()
        if self.settings.report_dir is not None:
            self._write_report(rows, outputs, adapters, known)

    def _session_rows(self) -> tuple[list[Row] | None, OutputStore, dict[str, str]]:
        """Every row of the session, in the order of a serial run (None when nothing ran)."""
        runs: list[tuple[list[Row], OutputStore | None]]
        order = self.unit_order
        if self.parts_dir is not None:
            runs, order = self._parts()
            adapters: dict[str, str] = {}
        else:
            runs = [(self.runs[g].raw, self.runs[g].outputs) for g in sorted(self.runs)]
            adapters = {k: v for g in self.runs for k, v in self.runs[g].adapters.items()}
        if not runs:
            return None, OutputStore(), adapters
        fw = {n: i for i, n in enumerate(self.settings.chosen)}
        keyed: list[tuple[int, int, int, int, Row]] = []
        outputs = OutputStore()
        for rows, store in runs:
            for r in rows:
                at = order.get((r.case, r.dtype), len(order))
                keyed.append((at, r.op != "init", fw.get(r.framework, len(fw)), len(keyed), r))
            if store is not None:
                outputs.update(store)
        keyed.sort(key=lambda t: t[:4])
        return [t[-1] for t in keyed], outputs, adapters

    def _parts(self) -> tuple[list[tuple[list[Row], OutputStore | None]], dict[Unit, int]]:
        """The rows the xdist workers left, each group once (under another ``--dist`` a
        group may have run on two workers), and the session's unit order."""
        assert self.parts_dir is not None
        runs: list[tuple[list[Row], OutputStore | None]] = []
        seen: set[int] = set()
        order: dict[Unit, int] = {}
        for part in sorted(self.parts_dir.glob("part-*")):
            try:
                meta = json.loads((part / "part.json").read_text(encoding="utf-8"))
                group = int(meta["group"])
                order = order or {(str(c), str(d)): i for i, (c, d) in enumerate(meta["order"])}
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a worker that died mid-write: its items already failed
            if group in seen:
                continue
            seen.add(group)
            rows = read_rows(part / "results.json")
            store = (
                OutputStore.load(part / "outputs.npz") if (part / "outputs.npz").exists() else None
            )
            runs.append((rows, store))
        return runs, order

    def _write_report(
        self,
        rows: list[Row],
        outputs: OutputStore,
        adapters: dict[str, str],
        known: known_mod.KnownReport | None,
    ) -> None:
        from .. import gate, report
        from ..report import environment

        s = self.settings
        assert s.report_dir is not None
        gate_md = None
        if s.baseline is not None:
            units = {(r.case, r.dtype, r.framework) for r in rows}
            base = [b for b in s.baseline if (b.case, b.dtype, b.framework) in units]
            res = gate.compare(
                base, rows, s.ulp_threshold, allow_skipped=s.allow_skipped, allow_missing=True
            )
            gate_md = gate.markdown(res, s.baseline_file or "baseline", "this pytest session")
        argv = ["pytest", *map(str, self.config.invocation_params.args)]
        written = report.write(
            rows,
            s.report_dir,
            list(report.FORMATS),
            outputs=outputs if len(outputs) else None,
            env=environment.collect(argv),
            known=known,
            gate_md=gate_md,
            adapters=adapters or None,
        )
        from ..commands.report import written_text

        self.written = f"{len(rows)} rows; " + written_text(s.report_dir, written)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.workerinput is not None:
            return
        verbose = self.config.get_verbosity() > 0
        if self.known_lines or self.written or verbose:
            terminalreporter.section("conformance")
            if verbose:
                terminalreporter.write_line(self.collected)
            for line in self.known_lines:
                terminalreporter.write_line(escape.visible(line, escape.LINE_LIMIT))
            if self.written:
                terminalreporter.write_line(self.written)

    @pytest.hookimpl
    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        s = self.settings
        paths = ", ".join(escape.visible(p, 120) for p in s.case_paths)
        known = escape.visible(s.known_file, 120) if s.known_file else "none"
        return [
            f"conformance: cases {paths}; frameworks {', '.join(s.frameworks)}; known deviations {known}"
        ]

    # -- pytest-xdist --------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Controller: one folder for the workers' group files and rows."""
        if self.parts_dir is None:
            self.parts_dir = Path(tempfile.mkdtemp(prefix="conformance-xdist-"))
        node.workerinput[PARTS_KEY] = str(self.parts_dir)

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """Under ``--dist load`` (what ``-n`` means by default): each group to one worker,
        whole, so each worker runs the runner once; other tests are scheduled one by one."""
        if config.getvalue("dist") != "load":
            return None
        from .scheduling import GroupScheduling

        return GroupScheduling(config, log, self._scheduler_groups)

    def _scheduler_groups(self) -> dict[str, str]:
        if self.scheduler_groups is None:
            self.scheduler_groups = {}
            for f in sorted(self.parts_dir.glob("groups-*.json")) if self.parts_dir else ():
                try:
                    got = json.loads(f.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if isinstance(got, dict):
                    self.scheduler_groups = {str(k): str(v) for k, v in got.items()}
                    break
        return self.scheduler_groups


def _unit(item: RowItem) -> Unit:
    return (item.spec.case, item.spec.dtype)


def _resolved(p: Path) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return p.absolute()


def _write_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)
