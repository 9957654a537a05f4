"""``conformance combine``: the report dirs of a run's shards joined into the report of one run."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import escape, report
from .. import known as known_mod
from ..combine import join, read_part
from ..errors import EXIT_FAIL, EXIT_OK
from .report import formats_arg, written_text


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "combine",
        help="join the report dirs of `conformance run --shard K/N` into one run's report",
        description="Join the shards of one run (the report dirs of `conformance run --shard "
        "K/N`, K = 1..N) into the report of that run: the rows in the unsharded run's order, "
        "the outputs, plots and reproduction programs, written to --out like `conformance "
        "run` writes its report dir. Every shard of the split must be given once; shards of "
        "another split (other cases, dtypes, frameworks or N) are refused (exit 2). Gate "
        "the result with `conformance diff BASELINE DIR`. (`conformance merge` is something "
        "else: a trend table across runs.)",
    )
    p.add_argument("shards", nargs="+", metavar="SHARD", help="report dir of one shard")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--format",
        type=formats_arg,
        default=list(report.FORMATS),
        help=f"comma-separated: {','.join(report.FORMATS)} or all (default: all)",
    )
    p.add_argument(
        "--known",
        metavar="FILE",
        help="known-deviations YAML to apply again (the shards' rows already carry the "
        "known statuses of their run; this lists stale and unused entries over the whole run)",
    )
    p.add_argument("--title", default="Parity report", help="report title")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    rows, store, env = join([read_part(s) for s in args.shards])
    entries = known_mod.load(Path(args.known)) if args.known else None
    report.check_out_dir(Path(args.out))
    known = known_mod.apply(rows, entries) if entries is not None else None
    written = report.write(
        rows,
        Path(args.out),
        args.format,
        outputs=store if len(store) else None,
        env=env,
        known=known,
        title=args.title,
    )
    print(report.console_summary(rows))
    if known is not None:
        for line in known.lines():
            print(escape.visible(line, escape.LINE_LIMIT))
    print(
        f"{len(rows)} rows from {len(args.shards)} shards; {written_text(Path(args.out), written)}"
    )
    return EXIT_FAIL if any(r.status in ("fail", "error") for r in rows) else EXIT_OK
