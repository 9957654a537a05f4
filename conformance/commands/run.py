"""``conformance run``: run cases on every framework, print a summary, write reports."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .. import escape, gate, interrupts, progress, report, shards, spread
from .. import known as known_mod
from ..cases import BUNDLED_CASES
from ..dtypes import DTYPE_NAMES
from ..errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError
from ..reference import cache as refcache
from ..report import environment
from ..results import Row, never_ran
from ..runner import RunOptions, RunResult, run
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
    p.add_argument(
        "--shard",
        type=shard_arg,
        metavar="K/N",
        help="run part K of N: a deterministic split of the (case, dtype) units balanced by "
        "estimated cost; `conformance combine` joins the N report dirs into one run",
    )
    refcache.add_options(p)
    p.add_argument(
        "--timeout",
        type=seconds_arg,
        metavar="S",
        help="seconds each framework's worker may run before it is killed and its unfinished "
        "rows become errors (default: derived from its work, at least 300; see README, "
        "'Faults, time limits and interrupts')",
    )
    p.add_argument(
        "--stall-timeout",
        type=seconds_arg,
        metavar="S",
        help="kill a worker that gives no answer for S seconds while it owes one (default: "
        "derived from the largest batch, at least 60)",
    )
    p.add_argument(
        "--worker-processes",
        type=processes_arg,
        default=None,
        metavar="auto|N",
        help="worker processes per framework (default auto: a framework holding most of the "
        "run's estimated work gets up to one per core, its batches dealt among them; see "
        "README, 'Running'); N: every framework gets N",
    )
    p.add_argument("--quiet", action="store_true", help="no progress display or progress lines")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="print the details behind error rows (tracebacks, worker stderr) to stderr; "
        "they are always in the report's environment.json",
    )
    p.set_defaults(func=main)


def processes_arg(text: str) -> int | None:
    if text == "auto":
        return None
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= spread.MAX_PROCESSES:
        raise argparse.ArgumentTypeError(
            f"not auto or a whole number 1-{spread.MAX_PROCESSES}: {escape.visible(text[:40])}"
        )
    return int(text)


def shard_arg(text: str) -> shards.Shard:
    try:
        return shards.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seconds_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < v < 1e9:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return v


def stream_path(report_dir: Path) -> Path:
    """Where a run streams its rows: beside the report directory (which is replaced as a whole
    at the end), e.g. ``reports.partial.jsonl``; removed once the report is written."""
    return report_dir.parent / f"{report_dir.name}.partial.jsonl"


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
    if args.shard is not None and args.baseline:
        raise UsageError(
            "--shard with --baseline: gate the whole run instead (conformance combine the "
            "shards' report dirs, then conformance diff BASELINE COMBINED)"
        )
    refcache.configure_from(args)
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"{p}: no such file or directory")
    # read the baseline and known deviations first: a bad file fails before the run
    base_rows = read_results(args.baseline) if args.baseline else None
    out_dir = Path(args.report_dir)
    report.check_out_dir(out_dir)
    known_file = known_file_for(args)
    entries = known_mod.load(Path(known_file)) if known_file else None
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
        timeout=args.timeout,
        stall_timeout=args.stall_timeout,
        stream=stream_path(out_dir),
        shard=args.shard,
        worker_processes=args.worker_processes,
    )
    show = progress.for_stream(sys.stderr, quiet=args.quiet)
    with interrupts.trapped():
        try:
            result = run(options, progress=show)
        except interrupts.RunInterrupted as exc:
            return _finish(args, exc.result, entries, base_rows, exc)
        return _finish(args, result, entries, base_rows, None)


def _finish(
    args: argparse.Namespace,
    result: RunResult,
    entries: list[known_mod.Deviation] | None,
    base_rows: list[Row] | None,
    stopped: interrupts.RunInterrupted | None,
) -> int:
    """Print the summary, write the report (marked partial when the run was stopped) and
    remove the row stream; the exit code."""
    out_dir = Path(args.report_dir)
    for e in result.errors:
        print(escape.visible(e, escape.LINE_LIMIT), file=sys.stderr)
    if args.verbose:
        for text in result.problems:
            print(escape.terminal(text.rstrip(), escape.LINE_LIMIT), file=sys.stderr)
    elif result.problems:
        print(
            f"conformance: {len(result.problems)} error details (tracebacks, worker stderr) "
            f"in {escape.visible(out_dir / environment.ENV_FILE)} (or run with --verbose)",
            file=sys.stderr,
        )
    if stopped is not None and not result.rows:
        print(
            f"conformance: {stopped.signal_name}: stopped before any row finished; no report "
            "written",
            file=sys.stderr,
        )
        stream_path(out_dir).unlink(missing_ok=True)  # it holds no row
        return stopped.exit_code
    known = known_mod.apply(result.rows, entries) if entries is not None else None
    gate_result = None
    gate_md = ""
    if base_rows is not None:
        gate_result = compare(base_rows, result.rows, args)
        gate_md = gate.markdown(gate_result, args.baseline, f"{args.report_dir} (this run)")
    print(report.console_summary(result.rows))
    if known is not None:
        for line in known.lines():
            print(escape.visible(line, escape.LINE_LIMIT))
    env = environment.collect()
    if result.plan is not None and args.shard is not None:
        print(result.plan.summary(args.shard.index))
        env["shard"] = shards.record(result.plan, args.shard.index)
    env["problems"] = result.problems
    env["time_limits"] = {
        name: {"timeout_s": lim.total, "stall_timeout_s": lim.stall}
        for name, lim in result.limits.items()
    }
    title = "Parity report"
    if stopped is not None:
        never = sum(never_ran(r) for r in result.rows)
        env["partial"] = (
            f"interrupted by {stopped.signal_name}: {never} of {len(result.rows)} rows never ran"
        )
        title = f"Parity report (partial: {env['partial']})"
    written = report.write(
        result.rows,
        out_dir,
        args.format,
        outputs=result.outputs,
        env=env,
        known=known,
        title=title,
        gate_md=gate_md if gate_result is not None else None,
        adapters=result.adapters,
    )
    stream = stream_path(out_dir)
    if stream.exists():
        stream.unlink()
    if gate_result is not None:
        print()
        print(escape.terminal(gate_md))
        say_verdict(gate_result)
    print(f"{len(result.rows)} rows in {result.seconds:.1f}s; " + written_text(out_dir, written))
    if stopped is not None:
        print(
            f"conformance: {stopped.signal_name}: the run was stopped; the report is partial "
            f"({env['partial']})",
            file=sys.stderr,
        )
        return stopped.exit_code
    if result.errors:
        return EXIT_USAGE
    if gate_result is not None:
        return EXIT_FAIL if gate_result.failed else EXIT_OK
    if any(r.status in ("fail", "error") for r in result.rows):
        return EXIT_FAIL
    return EXIT_OK
