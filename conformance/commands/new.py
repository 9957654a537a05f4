"""``conformance new NAME``: write a commented case-file scaffold under ``cases/``."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np

from .. import escape
from ..casefile import CaseText, schema_ref
from ..dtypes import DTYPE_NAMES
from ..errors import EXIT_OK, UsageError

# Up to this many values per array the scaffold writes explicit numbers (easy to edit);
# beyond it, seeded distributions.
MAX_EXPLICIT = 64


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="write a commented case-file scaffold under cases/")
    p.add_argument("name", help="case name, e.g. demo or layout/my-case (-> cases/NAME.yaml)")
    p.add_argument("--in", dest="n_in", type=int, default=3, metavar="N", help="in_features")
    p.add_argument("--out", dest="n_out", type=int, default=2, metavar="M", help="out_features")
    p.add_argument(
        "--batch",
        type=int,
        nargs="*",
        default=None,
        metavar="B",
        help="batch dims (default: 2; give none for a single vector)",
    )
    p.add_argument(
        "--dtype",
        action="append",
        default=[],
        choices=DTYPE_NAMES,
        metavar="NAME",
        help="dtype (repeatable; default float32 and float64)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the drawn values (default 0)")
    p.add_argument(
        "--layout",
        choices=("weight", "kernel"),
        default="weight",
        help="weight (out, in) as in PyTorch, or kernel (in, out) as in Keras/Flax",
    )
    p.add_argument("--no-bias", action="store_true", help="a layer without bias")
    p.add_argument("--sigmoid", action="store_true", help="a sigmoid-only case (inputs.z)")
    p.add_argument("--dir", default="cases", help="cases directory (default: cases)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=main)


# The scaffold's description: a placeholder that says what to write, never a reason itself
# (the library test rejects it).
TODO_DESCRIPTION = (
    "TODO: say why this case exists: the behaviour it pins, the bug or report it comes from."
)


def _explicit(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> Any:
    """Small editable values (4 decimals); None above :data:`MAX_EXPLICIT` values, or for an
    empty array (a flow ``[]`` has no shape: a distribution of the declared shape does)."""
    if not 0 < math.prod(shape) <= MAX_EXPLICIT:
        return None
    values = np.round(rng.uniform(-scale, scale, size=shape), 4)
    return np.vectorize(lambda v: f"{v:.4g}", otypes=[object])(values).tolist()


def scaffold(args: argparse.Namespace, target: Path) -> str:
    batch = [2] if args.batch is None else list(args.batch)
    dtypes = args.dtype or ["float32", "float64"]
    n_in, n_out = args.n_in, args.n_out
    rng = np.random.default_rng(args.seed)
    case_id = target.with_suffix("").name
    doc = CaseText(schema_ref(target.parent))
    doc.comment(
        'A conformance case. Reference: README.md "Case files"; the schema above gives your\n'
        "editor completion and inline errors. Once the inputs are what you want, run\n"
        f"  conformance fill {target.as_posix()}\n"
        "to add the expected values (exact reference, written with the digits each dtype\n"
        f"needs), then `conformance run {target.as_posix()}`.\n"
        f"id: defaults to the path under cases/ without .yaml ({case_id})."
    )
    doc.folded("description", TODO_DESCRIPTION)
    doc.field("tags", ["sigmoid" if args.sigmoid else "dense"])
    doc.field("dtypes", dtypes, note=f"any of {', '.join(DTYPE_NAMES)}")
    doc.field("seed", 0, note="seeds every {distribution: ...} array (numpy default_rng)")
    if args.sigmoid:
        z = _explicit(rng, (*batch,), 8.0)
        doc.field("shapes", {"batch": batch}, note="z may have any shape")
        doc.field("inputs")
        doc.comment(
            "sigmoid-only: z goes straight into sigmoid. Values are rounded once, from the\n"
            "decimal, to each dtype; .nan, .inf, -.inf, -0.0 and hex floats are allowed.",
            indent=2,
        )
        doc.field("z", {"distribution": "normal", "std": 4} if z is None else z, indent=2)
        return doc.text()
    x = _explicit(rng, (*batch, n_in), 1.0)
    pshape = (n_out, n_in) if args.layout == "weight" else (n_in, n_out)
    p = _explicit(rng, pshape, 1.0)
    b = _explicit(rng, (n_out,), 0.5)
    layout_note = (
        "(out_features, in_features): the PyTorch nn.Linear layout"
        if args.layout == "weight"
        else "(in_features, out_features): the Keras/Flax kernel layout"
    )
    doc.field("shapes", {"batch": batch, "in_features": n_in, "out_features": n_out})
    doc.field("inputs")
    doc.comment(
        "x: (*batch, in_features). Explicit values are rounded once, from the decimal, to\n"
        "each dtype; or draw them: {distribution: uniform|normal|student_t, ...}.",
        indent=2,
    )
    doc.field("x", {"distribution": "uniform", "low": -1, "high": 1} if x is None else x, indent=2)
    doc.field("params")
    doc.comment(f"{args.layout}: {layout_note}.", indent=2)
    doc.field(args.layout, {"distribution": "normal", "std": 0.1} if p is None else p, indent=2)
    if args.no_bias:
        doc.comment("no bias: the layer computes x @ W.T only", indent=2)
    else:
        doc.comment(
            "bias: (out_features,); omit it or write null for a layer without bias", indent=2
        )
        doc.field(
            "bias",
            {"distribution": "uniform", "low": -0.5, "high": 0.5} if b is None else b,
            indent=2,
        )
    doc.comment(
        "tolerance: overrides per op and dtype, e.g. {sigmoid: {float32: {ulp: 2}}}; the\n"
        "defaults (docs/numerics.md) already scale with in_features and cancellation."
    )
    return doc.text()


def main(args: argparse.Namespace) -> int:
    if args.n_in < 1 or args.n_out < 1:
        raise UsageError("--in and --out must be at least 1")
    if args.batch and any(b < 0 for b in args.batch):
        raise UsageError("--batch sizes must be >= 0")
    name = args.name[:-5] if args.name.endswith(".yaml") else args.name
    target = Path(args.dir) / f"{name}.yaml"
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists; pick another name or pass --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(scaffold(args, target), encoding="utf-8")
    shown = escape.visible(target)
    print(f"wrote {shown}; next: conformance fill {shown}")
    return EXIT_OK
