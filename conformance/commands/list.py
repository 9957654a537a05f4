"""``conformance list [PATHS] [--tag T]``: cases with their shapes, dtypes and tags."""

from __future__ import annotations

import argparse
import sys

from tabulate import tabulate

from .. import escape
from ..cases import BUNDLED_CASES, Case
from ..errors import EXIT_OK, EXIT_USAGE
from ..loader import load_cases


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list cases with shapes, dtypes and tags")
    p.add_argument("paths", nargs="*", help="case files or directories (default: bundled cases/)")
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="T",
        help="only cases with this tag (repeatable: any of them)",
    )
    p.set_defaults(func=main)


def shape_text(case: Case) -> str:
    batch = "[" + ", ".join(str(b) for b in case.batch) + "]"
    if case.kind == "sigmoid":
        return f"z{batch}"
    return f"{batch} x {case.in_features} -> {case.out_features}"


def row(case: Case) -> list[str]:
    pinned = ",".join(op for op in case.ops if op in case.expected) or "-"
    cells = [
        case.id,
        case.kind,
        shape_text(case),
        case.layout or "-",
        ",".join(case.dtypes),
        pinned,
        ",".join(case.tags),
    ]
    return [escape.visible(c, 120) for c in cells]


def main(args: argparse.Namespace) -> int:
    cases, errors = load_cases(args.paths or [str(BUNDLED_CASES)])
    if args.tag:
        wanted = set(args.tag)
        cases = [c for c in cases if wanted & set(c.tags)]
    for e in errors:
        print(escape.visible(e, escape.LINE_LIMIT), file=sys.stderr)
    headers = ["id", "kind", "shape (batch x in -> out)", "layout", "dtypes", "expected", "tags"]
    print(
        tabulate([row(c) for c in cases], headers=headers, tablefmt="simple", disable_numparse=True)
    )
    print(f"{len(cases)} cases" + (f", {len(errors)} files with errors" if errors else ""))
    return EXIT_USAGE if errors else EXIT_OK
