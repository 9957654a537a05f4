"""Reports from result rows.

``write(rows, out_dir, formats)`` writes, by format keyword:

- ``md``    → ``parity.md``     (Markdown; plots linked from ``plots/`` when they exist)
- ``html``  → ``parity.html``   (self-contained: Styler tables, embedded plots) and ``plots/*.png``
- ``csv``   → ``results.csv``
- ``json``  → ``results.json``
- ``junit`` → ``junit.xml``     (one testcase per row)

plus ``repro/*.py`` (one reproduction program per failing row) whenever ``md`` or ``html`` is
written, ``outputs.npz`` when the arrays are given, and ``environment.json`` when the
environment is given. ``all`` (for the CLI) means every format.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import escape
from ..known import KnownReport
from ..outputs import OUTPUTS_FILE, OutputStore
from ..results import Row, write_csv, write_json
from . import environment, html, junit, plots
from . import markdown as _markdown
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
    "console_summary",
    "environment_lines",
    "frame",
    "markdown",
    "parity_table",
    "status_counts",
    "write",
]


def environment_lines(rows: list[Row]) -> list[str]:
    """Markdown list items: each framework with its version, devices and settings."""
    return [
        f"- **{escape.markdown(f['framework'])}** {escape.markdown(f['version'])} on "
        f"{escape.markdown(f['devices'])}"
        + (f" ({escape.markdown(f['settings'])})" if f["settings"] else "")
        for f in environment.frameworks(rows)
    ]


def markdown(rows: list[Row], title: str = "Parity report") -> str:
    return _markdown.render(Bundle(rows, title=title))


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
) -> list[Path]:
    """Write the reports named by ``formats`` into ``out_dir``; returns the paths written."""
    formats = list(dict.fromkeys(formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(
            f"unknown report format(s) {', '.join(bad)}; choose from {', '.join(FORMATS)}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = {k: v for k, v in (("gate", gate_md), ("gate_html", gate_html)) if v}
    b = Bundle(rows, outputs, env, known, title, extra)
    written: list[Path] = []
    if outputs is not None and len(outputs):
        outputs.save(out_dir / OUTPUTS_FILE)
        written.append(out_dir / OUTPUTS_FILE)
    if env is not None:
        environment.save(env, out_dir / environment.ENV_FILE)
        written.append(out_dir / environment.ENV_FILE)
    images: dict[str, bytes] = {}
    if "html" in formats or "md" in formats:
        images = {**plots.sigmoid_figures(rows, outputs), **plots.agreement_figures(b.agreement)}
        if images:
            (out_dir / "plots").mkdir(exist_ok=True)
            for name, png in images.items():
                (out_dir / "plots" / name).write_bytes(png)
                written.append(out_dir / "plots" / name)
        if b.snippets:
            (out_dir / "repro").mkdir(exist_ok=True)
            for s in b.snippets.values():
                # a lone surrogate from a results file cannot be encoded: written escaped
                (out_dir / "repro" / s.name).write_text(
                    s.code, encoding="utf-8", errors="backslashreplace"
                )
            written.append(out_dir / "repro")
    for fmt in formats:
        p = out_dir / FILES[fmt]
        if fmt == "json":
            write_json(rows, p)
        elif fmt == "csv":
            write_csv(rows, p)
        elif fmt == "md":
            links = {n: f"plots/{n}" for n in images}
            p.write_text(
                _markdown.render(b, links, "repro" if b.snippets else None), encoding="utf-8"
            )
        elif fmt == "html":
            p.write_text(html.render(b, images), encoding="utf-8")
        elif fmt == "junit":
            junit.write(rows, p, {k: s.code for k, s in b.snippets.items()}, env)
        written.append(p)
    return written


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
