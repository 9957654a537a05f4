"""Reports from result rows.

``write(rows, out_dir, formats)`` writes, by format keyword:

- ``md``    → ``parity.md``     (Markdown; plots linked from ``plots/`` when they exist)
- ``html``  → ``parity.html``   (self-contained: Styler tables, embedded plots) and ``plots/*.png``
- ``csv``   → ``results.csv``
- ``json``  → ``results.json``
- ``junit`` → ``junit.xml``     (one testcase per row)

plus ``repro/*.py`` (one reproduction program per failing row) whenever ``md`` or ``html`` is
written, ``outputs.npz`` when the arrays are given, ``environment.json`` when the environment
is given and ``gate.md`` when the gate's Markdown is. ``all`` (for the CLI) means every format.
The directory is replaced as a whole (see :func:`write`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import atomicdir, escape
from ..known import KnownReport
from ..outputs import OUTPUTS_FILE, OutputStore
from ..results import Row, write_csv, write_json
from . import environment, html, junit, markdown, plots
from .bundle import Bundle
from .tables import fmt_budget, frame, parity_table, status_counts

FORMATS = ("md", "html", "csv", "json", "junit")
FILES = {
    "md": "parity.md",
    "html": "parity.html",
    "csv": "results.csv",
    "json": "results.json",
    "junit": "junit.xml",
}

__all__ = [
    "FILES",
    "FORMATS",
    "Bundle",
    "check_out_dir",
    "console_summary",
    "frame",
    "parity_table",
    "status_counts",
    "write",
]


#: every name a report directory's own files and folders can have; anything else in the
#: directory is someone else's and is kept (see :func:`write`)
OWNED = frozenset(
    {
        *FILES.values(),
        "results.jsonl",
        "gate.md",
        OUTPUTS_FILE,
        environment.ENV_FILE,
        "plots",
        "repro",
    }
)
#: a non-empty directory holding none of these is not a report directory and is never replaced
MARKERS = frozenset({*FILES.values(), "results.jsonl", environment.ENV_FILE})
#: test hook: seconds to sleep in the middle of writing (to kill a writer there)
PAUSE_ENV = "_CONFORMANCE_PAUSE_IN_REPORT_WRITE"


def write(
    rows: list[Row],
    out_dir: Path,
    formats: Iterable[str],
    *,
    outputs: OutputStore | None = None,
    env: dict[str, Any] | None = None,
    known: KnownReport | None = None,
    title: str = "Parity report",
    gate_md: str | None = None,
    gate_html: str | None = None,
    lock_timeout: float = atomicdir.DEFAULT_TIMEOUT,
    adapters: dict[str, str] | None = None,
) -> list[Path]:
    """Write the reports named by ``formats`` as the new contents of ``out_dir``; returns the
    paths written (``gate.md`` too when ``gate_md`` is given).

    The directory is always one whole report: everything is written into a staging directory
    beside it, which then replaces it in one step (:mod:`conformance.atomicdir`), so a killed
    write leaves the previous report whole, two concurrent writers take turns (the second
    waits up to ``lock_timeout`` seconds), and no ``repro/`` program, plot or format of an
    earlier run survives. Entries that are not report files (:data:`OWNED`), such as a
    user's notes, are kept. A non-empty directory with no report file in it is refused.
    """
    formats = list(dict.fromkeys(formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(
            f"unknown report format(s) {', '.join(bad)}; choose from {', '.join(FORMATS)}"
        )
    with atomicdir.replacing(out_dir, OWNED, MARKERS, timeout=lock_timeout) as stage:
        names = _write_into(
            stage, rows, formats, outputs, env, known, title, gate_md, gate_html, adapters
        )
    return [out_dir / n for n in names]


def check_out_dir(out_dir: Path) -> None:
    """Raise the UsageError :func:`write` would raise for ``out_dir`` (not a report directory,
    the current directory, a file), before a run spends minutes producing rows for it."""
    atomicdir.check(out_dir, MARKERS)


def _write_into(
    out_dir: Path,
    rows: list[Row],
    formats: list[str],
    outputs: OutputStore | None,
    env: dict[str, Any] | None,
    known: KnownReport | None,
    title: str,
    gate_md: str | None,
    gate_html: str | None,
    adapters: dict[str, str] | None,
) -> list[str]:
    extra = {k: v for k, v in (("gate", gate_md), ("gate_html", gate_html)) if v}
    b = Bundle(rows, outputs, env, known, title, extra, adapters)
    written: list[str] = []
    if outputs is not None and len(outputs):
        outputs.save(out_dir / OUTPUTS_FILE)
        written.append(OUTPUTS_FILE)
    if env is not None:
        environment.save(env, out_dir / environment.ENV_FILE)
        written.append(environment.ENV_FILE)
    images: dict[str, bytes] = {}
    if "html" in formats or "md" in formats:
        images = {**plots.sigmoid_figures(rows, outputs), **plots.agreement_figures(b.agreement)}
        if images:
            (out_dir / "plots").mkdir(exist_ok=True)
            for name, png in images.items():
                (out_dir / "plots" / name).write_bytes(png)
                written.append(f"plots/{name}")
        if b.snippets:
            (out_dir / "repro").mkdir(exist_ok=True)
            for s in b.snippets.values():
                # a lone surrogate from a results file cannot be encoded: written escaped
                (out_dir / "repro" / s.name).write_text(
                    s.code, encoding="utf-8", errors="backslashreplace"
                )
            written.append("repro")
    _pause_for_tests()
    if gate_md is not None:
        (out_dir / "gate.md").write_text(gate_md, encoding="utf-8")
        written.append("gate.md")
    for fmt in formats:
        p = out_dir / FILES[fmt]
        if fmt == "json":
            write_json(rows, p)
        elif fmt == "csv":
            write_csv(rows, p)
        elif fmt == "md":
            links = {n: f"plots/{n}" for n in images}
            p.write_text(
                markdown.render(b, links, "repro" if b.snippets else None), encoding="utf-8"
            )
        elif fmt == "html":
            p.write_text(html.render(b, images), encoding="utf-8")
        elif fmt == "junit":
            junit.write(rows, p, {k: s.code for k, s in b.snippets.items()}, env)
        written.append(FILES[fmt])
    return written


def _pause_for_tests() -> None:
    """Sleep mid-write when :data:`PAUSE_ENV` says so, after telling stderr (a test kills the
    writer there to show that the previous report survives)."""
    seconds = os.environ.get(PAUSE_ENV)
    if seconds:
        print("conformance: paused in report.write", file=sys.stderr, flush=True)
        time.sleep(float(seconds))


#: Longest field (case id, path, message...) and line the console summary prints.
FIELD_LIMIT = 120
LINE_LIMIT = 400


def console_summary(rows: list[Row], limit: int = 25) -> str:
    """Status counts per framework and the first ``limit`` failing rows, for a terminal:
    every string from the rows is shown with its control characters escaped and cut short."""
    counts = status_counts(rows)
    if counts.empty:
        lines = ["(no rows)"]
    else:
        counts.index = [escape.visible(fw, 40) for fw in counts.index]
        lines = counts.to_string().split("\n")
    bad = [r for r in rows if r.status in ("fail", "error")]
    if bad:
        lines.append("")
        lines.append(f"{len(bad)} failing/erroring rows:")
        for r in bad[:limit]:
            f = {
                k: escape.visible(getattr(r, k), FIELD_LIMIT)
                for k in ("case", "dtype", "op", "framework", "path", "message")
            }
            budget = f", {fmt_budget(r.budget_used)} of tol" if r.budget_used is not None else ""
            line = (
                f"  {r.status.upper()} {f['case']} [{f['dtype']} {f['op']}] {f['framework']} "
                f"{f['path']}{budget}: {f['message']}"
            )
            lines.append(escape.visible(line, LINE_LIMIT))
        if len(bad) > limit:
            lines.append(f"  ... and {len(bad) - limit} more (see the report)")
    known = sum(r.status == "known" for r in rows)
    if known:
        lines.append(f"{known} known deviation rows (not failing; see the report)")
    return "\n".join(lines)
