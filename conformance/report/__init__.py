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

from ..known import KnownReport
from ..outputs import OUTPUTS_FILE, OutputStore
from ..results import Row, write_csv, write_json
from . import environment, html, junit, markdown, plots
from .bundle import Bundle
from .tables import frame, parity_table, status_counts

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
    "frame",
    "parity_table",
    "status_counts",
    "write",
]


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
                (out_dir / "repro" / s.name).write_text(s.code, encoding="utf-8")
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
                markdown.render(b, links, "repro" if b.snippets else None), encoding="utf-8"
            )
        elif fmt == "html":
            p.write_text(html.render(b, images), encoding="utf-8")
        elif fmt == "junit":
            junit.write(rows, p, {k: s.code for k, s in b.snippets.items()}, env)
        written.append(p)
    return written


def console_summary(rows: list[Row], limit: int = 25) -> str:
    counts = status_counts(rows)
    lines = [counts.to_string() if not counts.empty else "(no rows)"]
    bad = [r for r in rows if r.status in ("fail", "error")]
    if bad:
        lines.append("")
        lines.append(f"{len(bad)} failing/erroring rows:")
        for r in bad[:limit]:
            lines.append(
                f"  {r.status.upper()} {r.case} [{r.dtype} {r.op}] {r.framework} {r.path}: {r.message}"
            )
        if len(bad) > limit:
            lines.append(f"  ... and {len(bad) - limit} more (see the report)")
    known = sum(r.status == "known" for r in rows)
    if known:
        lines.append(f"{known} known deviation rows (not failing; see the report)")
    return "\n".join(lines)
