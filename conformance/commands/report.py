"""``conformance report``: render reports from saved result files (and their side files)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import escape, report
from .. import known as known_mod
from ..errors import EXIT_OK, UsageError
from ..outputs import OUTPUTS_FILE, OutputStore, load_beside
from ..report import environment
from ..results import Row, read_rows


def read_results(path: str) -> list[Row]:
    """Rows of a results .json/.csv/.jsonl file or a report directory; a missing or invalid
    file is a UsageError (exit 2) naming the file, row and field."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{escape.visible(path)}: no such file or directory")
    return read_rows(p)


#: the row stream ``conformance run`` writes beside its report directory while it runs
PARTIAL_SUFFIX = ".partial.jsonl"


def partial_of(path: str) -> str:
    """Why the results at ``path`` are known to be partial, or "": a run's row stream (it is
    removed once the run's report is written, so one that is left is a run that did not
    finish), or a report whose environment.json says ``partial`` (an interrupted run)."""
    p = Path(path)
    if p.name.endswith(PARTIAL_SUFFIX):
        return f"{escape.visible(p.name, 80)} is the row stream of a run that did not finish"
    env = environment.load_beside(p)
    why = env.get("partial") if env else None
    return escape.visible(why, 200) if isinstance(why, str) and why else ""


def read_side_files(path: str) -> tuple[OutputStore | None, dict[str, Any] | None]:
    """The ``outputs.npz`` and ``environment.json`` beside a results file, if any; a damaged
    side file is a UsageError naming it, never a traceback."""
    p = Path(path)
    try:
        store = load_beside(p)
    except Exception as exc:  # numpy, zipfile and json raise many types for a bad file
        folder = p if p.is_dir() else p.parent
        raise UsageError(
            f"{escape.visible(folder / OUTPUTS_FILE)}: not an outputs file: "
            f"{escape.visible(exc, 200)}"
        ) from None
    try:
        env = environment.load_beside(p)
    except RecursionError:
        env = None  # nests too deeply to be an environment.json; the report goes without it
    return store, env


def written_text(out_dir: Path, written: list[Path]) -> str:
    """``wrote DIR: parity.md, results.json, plots/ (3 files)`` for the terminal."""
    names: list[str] = []
    folders: dict[str, int] = {}
    for w in written:
        try:
            rel = w.relative_to(out_dir)
        except ValueError:
            names.append(str(w))
            continue
        if len(rel.parts) > 1:
            folders[rel.parts[0]] = folders.get(rel.parts[0], 0) + 1
        elif w.is_dir():
            folders.setdefault(rel.name, 0)
        else:
            names.append(rel.name)
    names += [f"{d}/ ({n} files)" if n else f"{d}/" for d, n in folders.items()]
    return escape.visible(f"wrote {out_dir}: {', '.join(names)}", escape.LINE_LIMIT)


def formats_arg(text: str) -> list[str]:
    formats = [f.strip() for f in text.split(",") if f.strip()]
    if "all" in formats:
        return list(report.FORMATS)
    bad = [f for f in formats if f not in report.FORMATS]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown format(s) {', '.join(bad)}; choose from {', '.join(report.FORMATS)}, all"
        )
    return formats


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="render parity reports from result files",
        description="Render parity reports (md, html, csv, json, junit) from results.json/"
        "results.csv/results.jsonl files or report directories. Several inputs (shards) are "
        "combined; the outputs.npz and environment.json beside each input are used when "
        "present. The output directory is replaced as a whole (files that are not report "
        "files are kept).",
    )
    p.add_argument("results", nargs="+", metavar="RESULTS", help="results file or report dir")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--format",
        type=formats_arg,
        default=list(report.FORMATS),
        help=f"comma-separated: {','.join(report.FORMATS)} or all (default: all)",
    )
    p.add_argument("--known", metavar="FILE", help="known-deviations YAML to apply")
    p.add_argument("--title", default="Parity report", help="report title")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    rows: list[Row] = []
    store = OutputStore()
    env = None
    partial = []
    for path in args.results:
        rows += read_results(path)
        side, side_env = read_side_files(path)
        if side is not None:
            store.update(side)
        env = env or side_env
        if partial_of(path):
            partial.append(partial_of(path))
    title = args.title
    if partial:
        env = dict(env or {})
        env["partial"] = "; ".join(partial)
        title = f"{title} (partial: {env['partial']})"
    known = None
    if args.known:
        known = known_mod.apply(rows, known_mod.load(Path(args.known)))
    out = Path(args.out)
    written = report.write(
        rows,
        out,
        args.format,
        outputs=store if len(store) else None,
        env=env,
        known=known,
        title=title,
    )
    print(report.console_summary(rows))
    if known is not None:
        for line in known.lines():
            print(escape.visible(line, escape.LINE_LIMIT))
    print(f"{len(rows)} rows; {written_text(out, written)}")
    return EXIT_OK
