"""Reports from result rows: the parity pivot (pandas) and the console summary."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .results import Row, write_csv, write_json

FORMATS = ("md", "csv", "json")


def frame(rows: Iterable[Row]) -> pd.DataFrame:
    return pd.DataFrame([r.to_json() for r in rows])


def _cell(status: str, ulp: object) -> str:
    if status in ("skip", "error"):
        return status
    try:
        u = float(ulp)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return status
    shown = "∞" if math.isinf(u) else ("nan" if math.isnan(u) else f"{u:.0f}")
    return f"{status} {shown}"


def parity_table(rows: list[Row]) -> pd.DataFrame:
    """Rows case × dtype × op, columns framework/path(/mode), cells "status max-ULP"."""
    df = frame(rows)
    if df.empty:
        return df
    df["cell"] = [_cell(s, u) for s, u in zip(df["status"], df["max_ulp"], strict=True)]
    modes = df["mode"].nunique() > 1
    df["column"] = (
        df["framework"] + " / " + df["path"] + ((" [" + df["mode"] + "]") if modes else "")
    )
    table = df.pivot_table(
        index=["case", "dtype", "op"], columns="column", values="cell", aggfunc="first", sort=True
    )
    return table.fillna("")


def status_counts(rows: list[Row]) -> pd.DataFrame:
    df = frame(rows)
    if df.empty:
        return df
    counts = df.pivot_table(
        index="framework", columns="status", values="case", aggfunc="count", fill_value=0
    )
    return counts


def environment_lines(rows: list[Row]) -> list[str]:
    seen: dict[str, Row] = {}
    for r in rows:
        if r.framework_version and r.framework not in seen:
            seen[r.framework] = r
    lines = []
    for name, r in sorted(seen.items()):
        settings = ", ".join(f"{k}={v}" for k, v in sorted(r.settings.items()))
        lines.append(
            f"- **{name}** {r.framework_version} on {r.device}"
            + (f" ({settings})" if settings else "")
        )
    return lines


def markdown(rows: list[Row], title: str = "Parity report") -> str:
    table = parity_table(rows)
    counts = status_counts(rows)
    parts = [f"# {title}", "", "## Environment", "", *environment_lines(rows), ""]
    parts += ["## Summary", "", counts.to_markdown() if not counts.empty else "(no rows)", ""]
    tol = {(r.op, r.dtype, r.tolerance) for r in rows if r.tolerance}
    if tol:
        parts += ["## Tolerances used", "", "| op | dtype | tolerance |", "|---|---|---|"]
        parts += [f"| {op} | {dt} | {t} |" for op, dt, t in sorted(tol)]
        parts.append("")
    failures = [r for r in rows if r.status in ("fail", "error")]
    if failures:
        parts += ["## Failures", ""]
        parts += [
            f"- `{r.case}` {r.dtype} {r.op} — {r.framework} `{r.path}`: {r.message}"
            for r in failures
        ]
        parts.append("")
    parts += ["## Parity (status and max ULP vs target)", ""]
    parts.append(table.to_markdown() if not table.empty else "(no rows)")
    return "\n".join(parts) + "\n"


def write(rows: list[Row], out_dir: Path, formats: Iterable[str]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        if fmt == "json":
            p = out_dir / "results.json"
            write_json(rows, p)
        elif fmt == "csv":
            p = out_dir / "results.csv"
            write_csv(rows, p)
        elif fmt == "md":
            p = out_dir / "parity.md"
            p.write_text(markdown(rows), encoding="utf-8")
        else:
            raise ValueError(f"unknown report format {fmt!r}")
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
    return "\n".join(lines)
