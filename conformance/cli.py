"""Command line: ``conformance run|validate|...`` (also ``python -m conformance``).

Exit codes: 0 everything passed; 1 a conformance failure or error row; 2 usage or case-file
errors (bad files are reported as ``FILE:LINE: field: message`` and the valid cases still run);
128 + the signal's number when interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).

Each subcommand lives in ``conformance/commands/<name>.py`` with ``add_parser(subparsers)``
and ``main(args) -> int``; add new ones to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import blas, escape, heap
from .errors import EXIT_USAGE, UsageError
from .interrupts import signum_of

COMMANDS = (
    "run",
    "validate",
    "new",
    "fill",
    "list",
    "import_",
    "schema",
    "report",
    "diff",
    "merge",
    "combine",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="Cross-framework conformance suite for the dense layer and sigmoid.",
        epilog="Exit codes: 0 pass, 1 conformance failures, 2 usage or case-file errors, "
        "130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP (run: the report written is partial).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"conformance.commands.{name}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    blas.quiet_idle_threads()  # before the commands import NumPy (see blas)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    heap.keep_freed_blocks()  # the reference and judging reuse freed arrays (see heap)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"conformance: error: {escape.visible(exc, escape.LINE_LIMIT)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (interrupts.trapped)
        return 128 + signum_of(exc)


if __name__ == "__main__":
    sys.exit(main())
