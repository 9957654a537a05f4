"""``conformance merge``: several runs' results in one table with a version column (trend)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from .. import escape
from ..errors import EXIT_OK, UsageError
from ..report import trend
from ..results import Row
from .report import read_results

MERGE_FORMATS = ("md", "csv", "json")


def _formats(text: str) -> list[str]:
    fs = [f.strip() for f in text.split(",") if f.strip()]
    if "all" in fs:
        return list(MERGE_FORMATS)
    bad = [f for f in fs if f not in MERGE_FORMATS]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown format(s) {', '.join(bad)}; choose from md,csv,json,all"
        )
    return fs


def _csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """String cells no spreadsheet evaluates (see :func:`conformance.escape.csv_cell`)."""
    safe = df.copy()
    for col in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[col]):
            safe[col] = safe[col].map(lambda v: escape.csv_cell(v) if isinstance(v, str) else v)
    return safe


def default_label(path: str) -> str:
    p = Path(path)
    if p.is_dir():
        return p.resolve().name
    return p.parent.resolve().name if p.stem in ("results",) else p.stem


def _records(df: pd.DataFrame, runs: list[tuple[str, list[Row]]]) -> list[dict[str, Any]]:
    """merged.json: the merged table's lines with each value taken from its Row (the table's
    index is the position in the runs' rows), so ``None`` stays null and non-finite numbers
    are written like every results file (:func:`results.json_value`)."""
    flat = [(label, r) for label, rows in runs for r in rows]
    out = []
    for i, cell in zip(df.index, df["cell"], strict=True):
        label, r = flat[int(i)]
        d = r.to_json()
        d.pop("settings")
        out.append({c: label if c == "run" else cell if c == "cell" else d[c] for c in df.columns})
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "merge",
        help="combine result files of several runs into one trend table",
        description="Combine result files (different framework versions, machines or shards) "
        "into merged.csv/merged.json (one line per run and row, with 'run' and "
        "'framework_version' columns) and trend.md (per framework, one column per version). "
        "To join the shards of one run into its report and gate, use `conformance combine`.",
    )
    p.add_argument("results", nargs="+", metavar="RESULTS", help="results files or report dirs")
    p.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="NAME",
        help="run label per input, in order (default: the report directory's or file's name); "
        "inputs with the same label are shards of one run",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--format", type=_formats, default=list(MERGE_FORMATS), help="md,csv,json or all"
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.label and len(args.label) != len(args.results):
        raise UsageError(f"--label given {len(args.label)} times for {len(args.results)} inputs")
    labels = args.label or [default_label(p) for p in args.results]
    runs: list[tuple[str, list[Row]]] = [
        (label, read_results(path)) for label, path in zip(labels, args.results, strict=True)
    ]
    df = trend.merged(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "csv" in args.format:
        _csv_safe(df).to_csv(out / "merged.csv", index=False, errors="backslashreplace")
        written.append(out / "merged.csv")
    if "json" in args.format:
        (out / "merged.json").write_text(
            json.dumps(_records(df, runs), indent=1) + "\n", encoding="utf-8"
        )
        written.append(out / "merged.json")
    if "md" in args.format:
        (out / "trend.md").write_text(
            trend.markdown(df, list(dict.fromkeys(labels))), encoding="utf-8"
        )
        written.append(out / "trend.md")
    print(
        f"{len(df)} rows from {len(set(labels))} runs; wrote "
        + escape.visible(", ".join(str(w) for w in written))
    )
    return EXIT_OK
