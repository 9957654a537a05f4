"""``conformance import onnx [--out DIR]``: convert a peer suite's tests into case files."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import escape
from ..errors import EXIT_OK, UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="convert ONNX backend node tests (Gemm, MatMul, Sigmoid) into case files",
    )
    p.add_argument("source", choices=("onnx",), help="the suite to import from")
    p.add_argument(
        "--out", default="cases/onnx", metavar="DIR", help="where to write (default: cases/onnx)"
    )
    p.add_argument("--force", action="store_true", help="overwrite files that differ")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        from ..onnx_import import import_onnx

        results = import_onnx(Path(args.out), force=args.force)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "onnx":
            raise UsageError(
                "the onnx package is not installed: pip install 'conformance[onnx]'"
            ) from None
        raise
    written = [r for r in results if r.path is not None]
    for r in results:
        if r.path is not None:
            print(f"wrote {escape.visible(r.path)}")
        else:
            print(f"skipped {escape.visible(r.name, 200)}: {escape.visible(r.reason, 300)}")
    print(f"{len(written)} cases written, {len(results) - len(written)} tests skipped")
    return EXIT_OK
