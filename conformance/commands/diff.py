"""``conformance diff BASELINE CANDIDATE``: the upgrade gate (exit 1 on regression)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import escape, gate
from .. import known as known_mod
from ..errors import EXIT_FAIL, EXIT_OK
from ..results import Row
from .report import partial_of, read_results


def ulp_threshold_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v >= 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return v


def add_gate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ulp-threshold",
        type=ulp_threshold_arg,
        default=gate.DEFAULT_ULP_THRESHOLD,
        metavar="N",
        help="a row regresses when its max ULP grows by more than N "
        f"(default: {gate.DEFAULT_ULP_THRESHOLD:g})",
    )
    p.add_argument(
        "--allow-skipped",
        action="store_true",
        help="accept rows that ran in the baseline and are skipped in the candidate (a "
        "framework not installed, no GPU); a candidate that ran nothing still fails",
    )
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="accept baseline rows that are missing from the candidate (a smaller run)",
    )


def compare(
    base: list[Row], cand: list[Row], args: argparse.Namespace, partial: str = ""
) -> gate.GateResult:
    """The gate with the options of :func:`add_gate_options`; ``partial``: why the candidate
    is known to be partial ("" if it is not)."""
    return gate.compare(
        base,
        cand,
        args.ulp_threshold,
        allow_skipped=args.allow_skipped,
        allow_missing=args.allow_missing,
        partial=partial,
    )


def say_verdict(res: gate.GateResult) -> None:
    """Why the gate failed, on stderr (the Markdown on stdout says it too)."""
    for reason in res.reasons():
        print(f"conformance: gate failed: {escape.visible(reason, 300)}", file=sys.stderr)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff",
        help="compare a candidate run with a baseline (exit 1 on regression)",
        description="Rows that went pass→fail, newly erroring rows, rows whose max ULP grew "
        "beyond the threshold or whose count of wrong-signed zeros grew, rows now skipped, "
        "baseline rows missing from the candidate, duplicate rows and statuses the suite "
        "does not define are regressions (exit 1), and so is a candidate with no rows or "
        "only skipped rows, or a partial one (an interrupted run, a report marked partial, "
        "the .partial.jsonl row stream of a run that did not finish). Version and settings changes, improvements and known deviations "
        "are reported. Prints Markdown suitable for a PR comment; the reasons for a failure "
        "also go to stderr. A results file that is not valid exits 2.",
    )
    p.add_argument("baseline", metavar="BASELINE", help="results file or report dir")
    p.add_argument("candidate", metavar="CANDIDATE", help="results file or report dir")
    add_gate_options(p)
    p.add_argument("--known", metavar="FILE", help="known-deviations YAML applied to the candidate")
    p.add_argument("--output", metavar="FILE", help="also write the Markdown here")
    p.add_argument("--json", metavar="FILE", help="also write the diff as JSON here")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    base = read_results(args.baseline)
    cand = read_results(args.candidate)
    known = None
    if args.known:
        known = known_mod.apply(cand, known_mod.load(Path(args.known)))
    res = compare(base, cand, args, partial_of(args.candidate))
    text = gate.markdown(res, args.baseline, args.candidate)
    if known is not None:
        lines = known.lines()
        if lines:
            text += (
                "\n### Known-deviations file\n\n"
                + "\n".join(f"- {escape.markdown(x)}" for x in lines)
                + "\n"
            )
    sys.stdout.write(escape.terminal(text))
    say_verdict(res)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(res.to_json(), indent=1) + "\n", encoding="utf-8")
    return EXIT_FAIL if res.failed else EXIT_OK
