"""Trend: result files from several runs (framework versions, machines, shards) in one table.

``merged(runs)`` is the long table: one line per (run, row) with the run's label and the
framework version. ``trend(merged)`` pivots it per framework: rows case × dtype × op × path,
one column per framework version (oldest first; ``VERSION (LABEL)`` when two runs share a
version), cells "status max-ULP". Shards of one run (same label) simply add rows.
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
from packaging.version import InvalidVersion, Version

from .. import escape
from ..results import Row
from .markdown import table as md_table
from .tables import cell


def merged(runs: list[tuple[str, list[Row]]]) -> pd.DataFrame:
    """Long table with a ``run`` column; later duplicates of a (run, row key) are dropped."""
    records = []
    for label, rows in runs:
        for r in rows:
            d = asdict(r)
            d.pop("settings")
            d["run"] = label
            d["cell"] = cell(r)
            records.append(d)
    if not records:
        return pd.DataFrame()
    df = pd.DataFrame(records)
    key = ["run", "case", "dtype", "op", "framework", "path", "mode", "device"]
    df = df.drop_duplicates(subset=key, keep="first")
    front = [
        "run",
        "framework",
        "framework_version",
        *key[1:4],
        "path",
        "mode",
        "device",
        "status",
        "max_ulp",
    ]
    return df[front + [c for c in df.columns if c not in front]]


def _vkey(text: str) -> tuple[int, Version | str]:
    head = text.split()[0] if text.split() else ""
    try:
        return (0, Version(head))
    except InvalidVersion:
        return (1, text)


def trend(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """framework -> pivot (case, dtype, op, path[, mode, device]) × version column."""
    out: dict[str, pd.DataFrame] = {}
    if df.empty:
        return out
    for fw, part in df.groupby("framework", sort=True):
        part = part[part["status"] != "skip"].copy()
        if part.empty:
            continue
        pairs = part[["framework_version", "run"]].drop_duplicates()
        per_version = pairs.groupby("framework_version")["run"].nunique()
        part["column"] = [
            v if per_version.get(v, 1) <= 1 else f"{v} ({r})"
            for v, r in zip(part["framework_version"], part["run"], strict=True)
        ]
        order = sorted(part["column"].unique(), key=lambda c: (_vkey(str(c)), str(c)))
        index = ["case", "dtype", "op", "path"]
        if part["mode"].nunique() > 1:
            index.append("mode")
        if part["device"].nunique() > 1:
            index.append("device")
        table = part.pivot_table(index=index, columns="column", values="cell", aggfunc="first")
        table = table.reindex(columns=order).fillna("")
        table.columns.name = f"{fw} version"
        out[str(fw)] = table
    return out


def markdown(df: pd.DataFrame, labels: list[str]) -> str:
    """``trend.md``: versions per run, status counts per version, and one table per framework;
    every label and cell from the result files is escaped."""
    runs = ", ".join(escape.markdown_code(x, table=False) for x in labels)
    parts = ["# Parity trend", "", f"Runs: {runs}", ""]
    if df.empty:
        return "\n".join([*parts, "(no rows)"]) + "\n"
    versions = (
        df[df["status"] != "skip"]
        .groupby(["run", "framework"])["framework_version"]
        .agg(lambda s: ", ".join(sorted(set(s))))
        .unstack(fill_value="–")
    )
    versions.columns.name = None
    parts += ["## Versions per run", "", md_table(versions), ""]
    counts = df.pivot_table(
        index=["framework", "framework_version"],
        columns="status",
        values="case",
        aggfunc="count",
        fill_value=0,
    )
    counts.columns.name = None
    parts += ["## Status counts per framework version", "", md_table(counts), ""]
    for fw, table in trend(df).items():
        parts += [
            f"## {escape.markdown(fw)}",
            "",
            "Cells: status, max ULP (abs error), share of the tolerance used, by version.",
            "",
            md_table(table),
            "",
        ]
    return "\n".join(parts).rstrip() + "\n"
