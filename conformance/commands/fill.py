"""``conformance fill PATHS... [--check] [--force]``: write missing expected values.

Values come from the exact reference and are written into the file with ruamel.yaml's
round-trip mode (comments, key order and formatting kept), as the shortest decimal that reads
back as exactly the dtype value (``conformance.authoring``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import escape
from ..authoring import MAX_FILL_VALUES, fill_file
from ..errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CaseError, UsageError
from ..loader import discover, display_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fill",
        help="compute missing expected values with the exact reference and write them in",
        description="Add missing expected values (exact reference, shortest exact decimals). "
        f"Outputs of more than {MAX_FILL_VALUES} values per op and dtype are not inlined. "
        "Exit 0 ok, 1 (--check) values missing or an existing value that does not admit the "
        "exact reference, 2 case-file errors.",
    )
    p.add_argument("paths", nargs="+", help="case files or directories")
    p.add_argument(
        "--check", action="store_true", help="write nothing; report what fill would change"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite existing expected values that disagree with the exact reference",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    for p in args.paths:
        if not Path(p).exists():
            raise UsageError(f"{p}: no such file or directory")
    if args.check and args.force:
        raise UsageError("--check writes nothing; drop --force")
    broken = missing = off = 0
    for file, root in discover(args.paths):
        disp = escape.visible(display_path(file), 300)
        try:
            r = fill_file(file, root, force=args.force, write=not args.check)
        except CaseError as exc:
            print(escape.visible(exc, escape.LINE_LIMIT), file=sys.stderr)
            broken += 1
            continue
        for note in r.skipped:
            print(f"{disp}: not filled: {escape.visible(note, escape.LINE_LIMIT)}")
        if r.added:
            verb = "missing" if args.check else "filled"
            print(f"{disp}: {verb} {escape.visible(', '.join(r.added), escape.LINE_LIMIT)}")
            missing += bool(args.check)
        for d in r.disagree:
            key = d.split("[", 1)[0].split(":", 1)[0]
            action = "replaced" if key in r.replaced else "kept (--force overwrites it)"
            print(f"{disp}: {escape.visible(d, escape.LINE_LIMIT)}; {action}")
        if r.off and not args.force:
            off += 1
            for e in r.off:
                print(escape.visible(e, escape.LINE_LIMIT), file=sys.stderr)
    if broken:
        return EXIT_USAGE
    return EXIT_FAIL if (missing or off) else EXIT_OK
