"""``conformance run``: run cases on every framework, print a summary, write reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import report
from ..cases import BUNDLED_CASES
from ..dtypes import DTYPE_NAMES
from ..errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError
from ..runner import RunOptions, run


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
    p = sub.add_parser("run", help="run cases on the frameworks and write reports")
    p.add_argument("paths", nargs="*", help="case files or directories (default: bundled cases/)")
    p.add_argument(
        "--framework",
        action="append",
        default=[],
        metavar="NAME",
        help="only this framework (repeatable): numpy, torch, tensorflow, jax, or a plugin",
    )
    p.add_argument(
        "--dtype",
        action="append",
        default=[],
        choices=DTYPE_NAMES,
        metavar="NAME",
        help="only this dtype (repeatable)",
    )
    p.add_argument(
        "--adapter",
        action="append",
        default=[],
        metavar="MOD:CLS",
        help="also run this adapter class (repeatable)",
    )
    p.add_argument(
        "--report-dir", default="reports", metavar="DIR", help="where reports go (default: reports)"
    )
    p.add_argument(
        "--format",
        type=formats_arg,
        default=["md", "csv", "json"],
        help="comma-separated: md,csv,json or all (default: md,csv,json)",
    )
    p.add_argument(
        "--mode",
        choices=("eager", "compiled", "all"),
        default="eager",
        help="eager (default), compiled (torch.compile / tf.function(jit_compile=True) / "
        "jax.jit; slow to compile), or all; the mode is a column of every row",
    )
    p.add_argument(
        "--device",
        choices=("cpu", "cuda", "all"),
        default="cpu",
        help="cpu (default), cuda or all; CUDA paths skip with a reason where there is no GPU",
    )
    p.add_argument(
        "--matmul-precision",
        choices=("highest", "high", "medium"),
        default="",
        help="pin float32 matmul precision in every framework (torch.set_float32_matmul_"
        "precision, TF32 on/off in TF, jax_default_matmul_precision); default: leave each as is",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    paths = args.paths or [str(BUNDLED_CASES)]
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"{p}: no such file or directory")
    say = (
        (lambda _m: None)
        if args.quiet
        else (lambda m: print(f"[conformance] {m}", file=sys.stderr))
    )
    options = RunOptions(
        paths=paths,
        frameworks=args.framework,
        dtypes=args.dtype,
        adapters=args.adapter,
        mode=args.mode,
        device=args.device,
        matmul_precision=args.matmul_precision,
    )
    result = run(options, progress=say)
    for e in result.errors:
        print(e, file=sys.stderr)
    print(report.console_summary(result.rows))
    written = report.write(result.rows, Path(args.report_dir), args.format)
    print(
        f"{len(result.rows)} rows in {result.seconds:.1f}s; wrote {', '.join(str(w) for w in written)}"
    )
    if result.errors:
        return EXIT_USAGE
    if any(r.status in ("fail", "error") for r in result.rows):
        return EXIT_FAIL
    return EXIT_OK
