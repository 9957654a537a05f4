"""``conformance diff BASELINE CANDIDATE``: the upgrade gate (exit 1 on regression)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import escape, gate
from .. import known as known_mod
from ..errors import EXIT_FAIL, EXIT_OK
from .report import read_results


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


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff",
        help="compare a candidate run with a baseline (exit 1 on regression)",
        description="Rows that went pass→fail, newly erroring rows and rows whose max ULP grew "
        "beyond the threshold are regressions (exit 1); version and settings changes, "
        "improvements, known deviations and missing rows are reported. Prints Markdown "
        "suitable for a PR comment.",
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
    res = gate.compare(base, cand, args.ulp_threshold)
    text = gate.markdown(res, args.baseline, args.candidate)
    if known is not None:
        lines = known.lines()
        if lines:
            text += "\n### Known-deviations file\n\n" + "\n".join(f"- {x}" for x in lines) + "\n"
    sys.stdout.write(escape.terminal(text))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(res.to_json(), indent=1) + "\n", encoding="utf-8")
    return EXIT_FAIL if res.failed else EXIT_OK
