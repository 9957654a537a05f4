"""``conformance schema``: write the JSON Schema of case files (generated from ``CASE_SCHEMA``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import escape
from ..errors import EXIT_FAIL, EXIT_OK
from ..schema import CASE_SCHEMA


def schema_text() -> str:
    return json.dumps(CASE_SCHEMA, indent=2, ensure_ascii=False) + "\n"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print or write the JSON Schema of case files")
    p.add_argument("-o", "--output", metavar="PATH", help="write it here instead of stdout")
    p.add_argument(
        "--check",
        metavar="PATH",
        help="exit 1 if PATH differs from the generated schema (CI: is the committed copy current?)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.check:
        path = Path(args.check)
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(
                f"{escape.visible(path)}: out of date; regenerate with `conformance schema -o {escape.visible(path)}`",
                file=sys.stderr,
            )
            return EXIT_FAIL
        print(f"{escape.visible(path)}: up to date")
        return EXIT_OK
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {escape.visible(out)}")
        return EXIT_OK
    sys.stdout.write(text)
    return EXIT_OK
