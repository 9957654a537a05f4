"""``conformance run``: run cases on every framework, print a summary, write reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import escape, gate, report
from .. import known as known_mod
from ..cases import BUNDLED_CASES
from ..dtypes import DTYPE_NAMES
from ..errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError
from ..reference import cache as refcache
from ..report import environment
from ..runner import RunOptions, run
from .diff import add_gate_options, compare, say_verdict
from .report import formats_arg, read_results, written_text


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run cases on the frameworks and write reports")
    p.add_argument("paths", nargs="*", help="case files or directories (default: bundled cases/)")
    p.add_argument(
        "--framework",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this adapter (repeatable), by name: numpy, torch, tensorflow, jax, an "
        "installed plugin, or an --adapter class's name (default: every adapter)",
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
        help="add this adapter class to the adapters of the run (repeatable); it runs with "
        "the built-in ones unless --framework selects",
    )
    p.add_argument(
        "--replace-adapter",
        action="store_true",
        help="let a plugin (--adapter or entry point) replace the adapter of the same name "
        "(e.g. numpy) instead of refusing the run",
    )
    p.add_argument(
        "--report-dir", default="reports", metavar="DIR", help="where reports go (default: reports)"
    )
    p.add_argument(
        "--format",
        type=formats_arg,
        default=list(report.FORMATS),
        help=f"comma-separated: {','.join(report.FORMATS)} or all (default: all)",
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
    p.add_argument(
        "--accumulation",
        choices=("float32", "dtype"),
        default="",
        help="the affine tolerance's accumulation model: float32 (default: products summed in "
        "float32 or wider, as every framework does on CPU) or dtype (hardware that sums "
        "float16/bfloat16 in that type); recorded in each row's tolerance",
    )
    p.add_argument(
        "--baseline",
        metavar="FILE",
        help="gate against this earlier results file or report dir: exit 1 only when the "
        "gate fails (see `conformance diff`); writes gate.md to the report dir",
    )
    p.add_argument(
        "--known",
        metavar="FILE",
        help="known-deviations YAML (failures -> known); default for the bundled suite: "
        "the bundled known-deviations.yaml",
    )
    p.add_argument("--no-known", action="store_true", help="apply no known-deviations file")
    add_gate_options(p)
    refcache.add_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=main)


BUNDLED_KNOWN = BUNDLED_CASES.parent / "known-deviations.yaml"


def known_file_for(args: argparse.Namespace) -> str | None:
    """``--known FILE``; else, for a run of the bundled suite, its known-deviations.yaml."""
    if args.no_known:
        return None
    if args.known is None and not args.paths and BUNDLED_KNOWN.exists():
        return str(BUNDLED_KNOWN)
    return str(args.known) if args.known else None


def main(args: argparse.Namespace) -> int:
    paths = args.paths or [str(BUNDLED_CASES)]
    refcache.configure_from(args)
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"{p}: no such file or directory")
    # read the baseline and known deviations first: a bad file fails before the run
    base_rows = read_results(args.baseline) if args.baseline else None
    report.check_out_dir(Path(args.report_dir))
    known_file = known_file_for(args)
    entries = known_mod.load(Path(known_file)) if known_file else None
    say = (
        (lambda _m: None)
        if args.quiet
        else (
            lambda m: print(
                f"[conformance] {escape.visible(m, escape.LINE_LIMIT)}", file=sys.stderr
            )
        )
    )
    options = RunOptions(
        paths=paths,
        frameworks=args.framework,
        dtypes=args.dtype,
        adapters=args.adapter,
        replace_adapters=args.replace_adapter,
        mode=args.mode,
        device=args.device,
        matmul_precision=args.matmul_precision,
        accumulation=args.accumulation,
    )
    result = run(options, progress=say)
    for e in result.errors:
        print(escape.visible(e, escape.LINE_LIMIT), file=sys.stderr)
    known = None
    if entries is not None:
        known = known_mod.apply(result.rows, entries)
    gate_result = None
    if base_rows is not None:
        gate_result = compare(base_rows, result.rows, args)
        gate_md = gate.markdown(gate_result, args.baseline, f"{args.report_dir} (this run)")
    print(report.console_summary(result.rows))
    if known is not None:
        for line in known.lines():
            print(escape.visible(line, escape.LINE_LIMIT))
    written = report.write(
        result.rows,
        Path(args.report_dir),
        args.format,
        outputs=result.outputs,
        env=environment.collect(),
        known=known,
        gate_md=gate_md if gate_result is not None else None,
        adapters=result.adapters,
    )
    if gate_result is not None:
        print()
        print(escape.terminal(gate_md))
        say_verdict(gate_result)
    print(
        f"{len(result.rows)} rows in {result.seconds:.1f}s; "
        + written_text(Path(args.report_dir), written)
    )
    if result.errors:
        return EXIT_USAGE
    if gate_result is not None:
        return EXIT_FAIL if gate_result.failed else EXIT_OK
    if any(r.status in ("fail", "error") for r in result.rows):
        return EXIT_FAIL
    return EXIT_OK
