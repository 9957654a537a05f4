"""A row's verdict as a pytest outcome, and the report of a failing item.

Without a baseline: ``pass`` passes, ``fail``/``error`` fail, ``skip`` skips with the reason
(a framework not installed, no GPU), ``known`` is xfail with the known-deviations entry's
reason. With a baseline the item follows the gate (``conformance diff``): a row that regressed
fails, naming the change; a row that fails now as it failed in the baseline is xfail.

A failing item's report is the row's error table: its status and message, max abs/rel/ULP
error, the share of its tolerance it used, the tolerance, the worst element with the input it
came from, and the path of its reproduction program when the session writes a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pytest

from .. import escape
from ..outputs import OutputStore
from ..results import Row
from .nodes import RowFailed

if TYPE_CHECKING:  # the gate imports the report tables (pandas): not at collection
    from ..gate import Change

LIMIT = 300  # characters of one untrusted value in the report


@dataclass
class Verdict:
    outcome: str  # "pass" | "fail" | "skip" | "xfail"
    text: str = ""

    def apply(self) -> None:
        if self.outcome == "skip":
            pytest.skip(self.text)
        if self.outcome == "xfail":
            pytest.xfail(self.text)
        if self.outcome == "fail":
            raise RowFailed(self.text)


def _v(value: object, limit: int = LIMIT) -> str:
    return escape.visible(value, limit)


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.6g}"


def of_row(
    row: Row | None,
    *,
    case_errors: list[str],
    change: Change | None,
    gated: bool,
    store: OutputStore | None,
    repro: str,
) -> Verdict:
    """The verdict of one item: ``row`` as judged (known deviations applied), the gate's
    ``change`` for it (``gated``: a baseline was given), the case's load or check errors, and
    what to say about its reproduction program."""
    if row is None:
        lines = ["the run made no row for this item"]
        lines += [f"case error: {e}" for e in case_errors]
        return Verdict("fail", "\n".join(lines))
    if change is not None:
        head = f"regression against the baseline: {_v(change.note)}"
        return Verdict("fail", head + "\n" + table(row, store, repro, change))
    if row.status == "skip":
        return Verdict("skip", _v(row.message) or "skipped")
    if row.status == "known":
        return Verdict("xfail", _v(row.message) or "known deviation")
    if row.status in ("fail", "error"):
        if gated:
            return Verdict(
                "xfail",
                f"{row.status} in the baseline too (not a regression): {_v(row.message)}",
            )
        return Verdict("fail", table(row, store, repro))
    if row.status == "pass":
        return Verdict("pass")
    return Verdict("fail", f"status {_v(row.status, 40)!r} is not one the suite defines")


def table(row: Row, store: OutputStore | None, repro: str, change: Change | None = None) -> str:
    """The error table of a row, one ``name  value`` line each."""
    lines = [
        (
            "row",
            f"{_v(row.case)} [{row.dtype} {row.op}] {_v(row.framework)} {_v(row.path)} "
            f"{row.mode} {row.device} ({_v(row.framework_version, 80)})",
        ),
        ("status", f"{_v(row.status, 20)}: {_v(row.message, 2 * LIMIT)}"),
        (
            "errors",
            f"max abs {_num(row.max_abs_err)}, max rel {_num(row.max_rel_err)}, "
            f"max ULP {_num(row.max_ulp)} against the {_v(row.against or 'reference', 20)}",
        ),
    ]
    if row.budget_used is not None:
        lines.append(("budget", f"{100 * row.budget_used:.3g}% of the tolerance used"))
    if row.tolerance:
        lines.append(("tolerance", _v(row.tolerance)))
    if row.wrong_sign_zeros:
        lines.append(("zeros", f"{row.wrong_sign_zeros} of the wrong sign"))
    if row.worst_index:
        worst = f"at {_v(row.worst_index, 80)}: got {row.worst_value!r}, want {row.worst_target!r}"
        lines.append(("worst", worst))
        got = worst_input(row, store)
        if got:
            lines.append(("input", got))
    if change is not None and change.base is not None:
        b = change.base
        lines.append(
            (
                "baseline",
                f"{_v(b.status, 20)}, max ULP {_num(b.max_ulp)}, "
                f"{b.wrong_sign_zeros} wrong-signed zeros ({_v(b.framework_version, 80)})",
            )
        )
    lines.append(("repro", repro))
    lines.append(("case file", _v(row.file)))
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in lines)


def worst_input(row: Row, store: OutputStore | None) -> str:
    """What the worst element was computed from: for a sigmoid, its input z (or the exact
    affine value of a dense case); for an affine map, the input row x[i] it came from."""
    if store is None or not row.worst_index:
        return ""
    try:
        index = tuple(int(i) for i in row.worst_index.strip("[]").split(",") if i.strip())
    except ValueError:
        return ""
    if row.op == "sigmoid":
        z = store.input(row.case, row.dtype)
        if z is None or z.sampled or len(index) != len(z.shape):
            return ""
        flat = int(np.ravel_multi_index(index, z.shape))
        inputs = store.inputs(row.case, row.dtype)
        what = " (the exact x·Wᵀ + b, rounded)" if inputs and inputs.kind == "dense" else ""
        return f"z{list(index)} = {float(z.values[flat])!r}{what}"
    if row.op == "affine":
        inputs = store.inputs(row.case, row.dtype)
        if inputs is None or "input" not in inputs.values or not index:
            return ""
        x = inputs.values["input"]
        at = index[:-1]
        if len(at) != x.ndim - 1:
            return ""
        vec = x[at] if at else x
        shown = ", ".join(repr(float(v)) for v in vec[:8])
        more = f", … ({vec.size} values)" if vec.size > 8 else ""
        return f"x{list(at)} = [{shown}{more}]"
    return ""
