"""The upgrade gate: compare a candidate run with a baseline run, row by row.

Rows are matched on (case, dtype, op, framework, path, mode, device). A *regression* fails the
gate:

- ``pass → fail`` (or a row new in the candidate that fails);
- newly erroring: ``pass/fail/known/skip → error``, or a new row that errors;
- ULP growth: the row's max ULP (against its target) grew by more than ``ulp_threshold``
  (finite → non-finite counts as infinite growth), whatever the status;
- signed zeros: the row's count of wrong-signed zeros grew;
- a row that ran in the baseline and is ``skip`` in the candidate (unless ``allow_skipped``);
- a baseline row missing from the candidate (unless ``allow_missing``);
- a row whose status is not one the suite defines, or a row key that appears twice.

``known`` rows in the candidate (covered by a known-deviations entry) never regress. The gate
also fails, whatever the rows say, on a candidate that has no rows or ran nothing (every row
``skip``, even with ``allow_skipped``): such a run checked nothing; and on a *partial*
candidate — an interrupted run (rows whose message starts ``interrupted:``, see
``results.never_ran``), or one its caller knows is partial (``partial``: the row stream of a
run that never finished, a report marked partial) — whatever the flags: it did not check
everything it was asked to. Reported without failing:
improvements, version and settings changes per framework, and the skipped and missing rows
the flags accept.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import escape
from .outputs import row_key
from .report.tables import fmt_ulp
from .results import STATUSES, Row, json_value, never_ran

DEFAULT_ULP_THRESHOLD = 2.0

#: kind -> what a regression of that kind is, for the one-line reasons
REGRESSION_KINDS = {
    "fail": "pass → fail",
    "error": "newly erroring",
    "new-fail": "new failing row",
    "new-error": "new erroring row",
    "ulp": "max ULP grew",
    "signed-zero": "more wrong-signed zeros",
    "skipped": "ran in the baseline, skipped now",
    "missing": "missing from the candidate",
    "undefined-status": "status the suite does not define",
    "duplicate": "row appears more than once",
}


@dataclass
class Change:
    kind: str  # a REGRESSION_KINDS key for regressions; known, now-run, better, skip, missing
    base: Row | None
    cand: Row | None
    note: str = ""

    @property
    def row(self) -> Row:
        r = self.cand or self.base
        assert r is not None
        return r


@dataclass
class GateResult:
    threshold: float
    base_rows: int
    cand_rows: int
    allow_skipped: bool = False
    allow_missing: bool = False
    problems: list[str] = field(default_factory=list)  # whole-run reasons that fail the gate
    regressions: list[Change] = field(default_factory=list)
    known: list[Change] = field(default_factory=list)
    improvements: list[Change] = field(default_factory=list)
    skipped: list[Change] = field(default_factory=list)
    missing: list[Change] = field(default_factory=list)
    versions: list[tuple[str, str, str]] = field(default_factory=list)  # framework, base, cand
    settings: list[tuple[str, str, str, str]] = field(default_factory=list)  # fw, key, base, cand
    unchanged: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.regressions or self.problems)

    def reasons(self) -> list[str]:
        """Why the gate failed, one plain line each (empty when it passed)."""
        out = list(self.problems)
        kinds = Counter(c.kind for c in self.regressions)
        if kinds:
            n = len(self.regressions)
            parts = ", ".join(f"{REGRESSION_KINDS.get(k, k)} {v}" for k, v in kinds.items())
            out.append(f"{n} regression{'s' if n != 1 else ''} ({parts})")
        return out

    def to_json(self) -> dict[str, Any]:
        def ch(c: Change) -> dict[str, Any]:
            r = c.row
            return {
                "kind": c.kind,
                "key": list(row_key(r)),
                "base": None if c.base is None else _side(c.base),
                "cand": None if c.cand is None else _side(c.cand),
                "note": c.note,
            }

        return {
            "failed": self.failed,
            "reasons": self.reasons(),
            "problems": list(self.problems),
            "ulp_threshold": self.threshold,
            "allow_skipped": self.allow_skipped,
            "allow_missing": self.allow_missing,
            "regressions": [ch(c) for c in self.regressions],
            "known": [ch(c) for c in self.known],
            "improvements": [ch(c) for c in self.improvements],
            "skipped": [ch(c) for c in self.skipped],
            "missing": [ch(c) for c in self.missing],
            "versions": [list(v) for v in self.versions],
            "settings": [list(s) for s in self.settings],
        }


def _side(r: Row) -> dict[str, Any]:
    return {
        "status": r.status,
        "max_ulp": json_value(r.max_ulp),
        "wrong_sign_zeros": r.wrong_sign_zeros,
    }


def _ulp(r: Row) -> float | None:
    if r.status in ("skip", "error") or r.max_ulp is None or math.isnan(r.max_ulp):
        return None
    return r.max_ulp


def _growth(base: Row, cand: Row) -> float | None:
    b, c = _ulp(base), _ulp(cand)
    if b is None or c is None:
        return None
    if math.isinf(c):
        return 0.0 if math.isinf(b) else math.inf
    return c - b


def _ran(r: Row) -> bool:
    return r.status in STATUSES and r.status != "skip"


def _index(rows: list[Row], side: str, res: GateResult) -> dict[tuple[str, ...], Row]:
    """Rows by key; a key seen twice is a regression (which row would the gate judge?)."""
    out: dict[tuple[str, ...], Row] = {}
    for r in rows:
        key = row_key(r)
        if key in out:
            res.regressions.append(
                Change("duplicate", None, r, f"this row appears more than once in the {side}")
            )
            continue
        out[key] = r
    return out


def compare(
    base: list[Row],
    cand: list[Row],
    ulp_threshold: float = DEFAULT_ULP_THRESHOLD,
    *,
    allow_skipped: bool = False,
    allow_missing: bool = False,
    partial: str = "",
) -> GateResult:
    res = GateResult(ulp_threshold, len(base), len(cand), allow_skipped, allow_missing)
    if partial:
        res.problems.append(f"the candidate is partial: {partial}")
    never = sum(never_ran(r) for r in cand)
    if never:
        res.problems.append(
            f"the candidate is partial: {never} of its rows never ran (the run was interrupted)"
        )
    if not cand:
        res.problems.append("the candidate has no rows: it checked nothing")
    elif not any(_ran(r) for r in cand):
        res.problems.append(
            f"the candidate ran nothing: all {len(cand)} rows are skip or have an undefined status"
        )
    b_by = _index(base, "baseline", res)
    c_by = _index(cand, "candidate", res)
    for key, c in c_by.items():
        b = b_by.get(key)
        undefined = [
            f"{side} status {escape.visible(r.status, 40)!r}"
            for side, r in (("baseline", b), ("candidate", c))
            if r is not None and r.status not in STATUSES
        ]
        if undefined:
            res.regressions.append(
                Change(
                    "undefined-status",
                    b,
                    c,
                    f"{' and '.join(undefined)} is not one of {', '.join(STATUSES)}",
                )
            )
            continue
        if b is None or b.status == "skip":
            new = b is None
            if c.status == "known":
                res.known.append(Change("known", b, c, "new row" if new else "was skipped"))
            elif c.status in ("fail", "error"):
                kind = "new-" + c.status
                why = "not in the baseline" if new else "skipped in the baseline"
                res.regressions.append(Change(kind, b, c, f"{c.status}s; {why}"))
            elif b is not None and c.status == "pass":
                res.improvements.append(
                    Change("now-run", b, c, "skipped in the baseline, passes now")
                )
            else:
                res.unchanged += 1
            continue
        growth = _growth(b, c)
        zeros = c.wrong_sign_zeros - b.wrong_sign_zeros if c.status not in ("skip", "error") else 0
        if c.status == "known":
            res.known.append(Change("known", b, c, f"{b.status} → known"))
        elif c.status == "error" and b.status != "error":
            res.regressions.append(Change("error", b, c, "newly erroring"))
        elif c.status == "fail" and b.status == "pass":
            res.regressions.append(Change("fail", b, c, "pass → fail"))
        elif growth is not None and growth > ulp_threshold:
            res.regressions.append(
                Change(
                    "ulp", b, c, f"max ULP grew by {fmt_ulp(growth)} (threshold {ulp_threshold:g})"
                )
            )
        elif zeros > 0:
            res.regressions.append(
                Change(
                    "signed-zero",
                    b,
                    c,
                    f"wrong-signed zeros {b.wrong_sign_zeros} → {c.wrong_sign_zeros}",
                )
            )
        elif c.status == "skip":
            change = Change("skip", b, c, f"{b.status} → skip: {c.message[:120]}")
            if allow_skipped:
                res.skipped.append(change)
            else:
                change.kind = "skipped"
                change.note += " (--allow-skipped accepts this)"
                res.regressions.append(change)
        elif (b.status in ("fail", "error", "known") and c.status == "pass") or (
            growth is not None and growth < -ulp_threshold
        ):
            note = f"{b.status} → {c.status}"
            if growth is not None and growth < 0:
                note += f", max ULP {fmt_ulp(_ulp(b))} → {fmt_ulp(_ulp(c))}"
            res.improvements.append(Change("better", b, c, note))
        else:
            res.unchanged += 1
    for key, b in b_by.items():
        if key in c_by or b.status == "skip":
            continue
        if b.status not in STATUSES:
            res.regressions.append(
                Change(
                    "undefined-status",
                    b,
                    None,
                    f"baseline status {escape.visible(b.status, 40)!r} is not one of "
                    f"{', '.join(STATUSES)}",
                )
            )
        elif allow_missing:
            res.missing.append(Change("missing", b, None, "in the baseline, not in the candidate"))
        else:
            res.regressions.append(
                Change(
                    "missing",
                    b,
                    None,
                    "in the baseline, not in the candidate (--allow-missing accepts this)",
                )
            )
    res.versions = _versions(base, cand)
    res.settings = _settings(base, cand)
    return res


def _by_framework(rows: list[Row], attr: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in rows:
        v = getattr(r, attr)
        if v and r.status != "skip":
            out.setdefault(r.framework, set()).add(v)
    return out


def _versions(base: list[Row], cand: list[Row]) -> list[tuple[str, str, str]]:
    b, c = _by_framework(base, "framework_version"), _by_framework(cand, "framework_version")
    out = []
    for fw in sorted(set(b) | set(c)):
        bv, cv = (
            ", ".join(sorted(b.get(fw, set()))) or "–",
            ", ".join(sorted(c.get(fw, set()))) or "–",
        )
        if bv != cv:
            out.append((fw, bv, cv))
    return out


def _settings(base: list[Row], cand: list[Row]) -> list[tuple[str, str, str, str]]:
    def collect(rows: list[Row]) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = {}
        for r in rows:
            if r.status == "skip":
                continue
            for k, v in r.settings.items():
                out.setdefault((r.framework, k), set()).add(str(v))
        return out

    b, c = collect(base), collect(cand)
    res = []
    for fw, k in sorted(set(b) | set(c)):
        if fw not in {f for f, _ in b} or fw not in {f for f, _ in c}:
            continue  # a framework that ran only on one side shows in the versions table
        bv, cv = (
            "|".join(sorted(b.get((fw, k), set()))) or "–",
            "|".join(sorted(c.get((fw, k), set()))) or "–",
        )
        if bv != cv:
            res.append((fw, k, bv, cv))
    return res


# --------------------------------------------------------------------------------------------
# Markdown (a PR comment)


def _cell(r: Row | None) -> str:
    if r is None:
        return "–"
    u = _ulp(r)
    text = r.status + (f" {fmt_ulp(u)} ulp" if u is not None else "")
    if r.wrong_sign_zeros:
        text += f", {r.wrong_sign_zeros} ±0"
    return escape.markdown(text)


def _table(changes: list[Change], limit: int) -> list[str]:
    md, code = escape.markdown, escape.markdown_code
    lines = [
        "| case | dtype | op | framework | path | mode | baseline | candidate | change |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in changes[:limit]:
        r = c.row
        mode = r.mode if r.device == "cpu" else f"{r.mode} @{r.device}"
        lines.append(
            f"| {code(r.case)} | {md(r.dtype)} | {md(r.op)} | {md(r.framework)} | {code(r.path)} | "
            f"{md(mode)} | {_cell(c.base)} | {_cell(c.cand)} | {md(c.note)} |"
        )
    if len(changes) > limit:
        lines.append(f"\n… and {len(changes) - limit} more.")
    return lines


def markdown(res: GateResult, base_name: str, cand_name: str, limit: int = 50) -> str:
    """The gate as Markdown for a PR comment; every string from the rows or the command line
    is escaped (``escape.markdown``/``markdown_code``)."""
    md = escape.markdown
    n = len(res.regressions)
    if res.failed:
        head = "; ".join(
            [*res.problems, *([f"{n} regression{'s' if n != 1 else ''}"] if n else [])]
        )
        out = [f"## ❌ Conformance gate: {md(head)}", ""]
    else:
        out = ["## ✅ Conformance gate: no regressions", ""]
    out += [
        f"Baseline {escape.markdown_code(base_name)} ({res.base_rows} rows) → candidate "
        f"{escape.markdown_code(cand_name)} ({res.cand_rows} rows); ULP threshold "
        f"{res.threshold:g}. {res.unchanged} rows unchanged, {len(res.improvements)} improved, "
        f"{len(res.known)} known deviations.",
        "",
    ]
    if res.failed:
        out += ["### Why the gate failed", "", *(f"- {md(x)}" for x in res.reasons()), ""]
    if res.versions:
        out += ["### Version changes", "", "| framework | baseline | candidate |", "|---|---|---|"]
        out += [f"| {md(fw)} | {md(b)} | {md(c)} |" for fw, b, c in res.versions]
        out.append("")
    if res.settings:
        out += [
            "### Settings changes",
            "",
            "| framework | setting | baseline | candidate |",
            "|---|---|---|---|",
        ]
        out += [f"| {md(fw)} | {md(k)} | {md(b)} | {md(c)} |" for fw, k, b, c in res.settings]
        out.append("")
    if res.regressions:
        out += [f"### Regressions ({n})", "", *_table(res.regressions, limit), ""]
        by_fw = Counter(c.row.framework for c in res.regressions)
        out += ["By framework: " + ", ".join(f"{md(k)} {v}" for k, v in sorted(by_fw.items())), ""]
    for title, changes in (
        ("Known deviations (not failing)", res.known),
        ("Improvements", res.improvements),
        ("Now skipped (accepted by --allow-skipped)", res.skipped),
        ("Missing from the candidate (accepted by --allow-missing)", res.missing),
    ):
        if changes:
            out += [
                f"<details><summary>{title}: {len(changes)}</summary>",
                "",
                *_table(changes, limit),
                "",
                "</details>",
                "",
            ]
    return "\n".join(out).rstrip() + "\n"
