"""``conformance validate [PATHS...]``: schema, shapes, layouts and expected values: exactly
what ``run`` refuses to run (both load through :func:`conformance.loader.load_cases`)."""

from __future__ import annotations

import argparse
import sys

from .. import escape
from ..cases import BUNDLED_CASES
from ..errors import EXIT_OK, EXIT_USAGE
from ..loader import load_cases
from ..reference import cache as refcache


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check case files (exit 0 valid, 2 problems)")
    p.add_argument("paths", nargs="*", help="case files or directories (default: bundled cases/)")
    refcache.add_options(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    paths = args.paths or [str(BUNDLED_CASES)]
    refcache.configure_from(args)
    cases, errors = load_cases(paths)  # with checks.case_problems, as run does
    for e in errors:
        print(escape.visible(e, escape.LINE_LIMIT), file=sys.stderr)
    print(f"{len(cases)} case files loaded, {len(errors)} problems")
    return EXIT_USAGE if errors else EXIT_OK
