"""The upgrade gate: compare a candidate run with a baseline run, row by row.

Rows are matched on (case, dtype, op, framework, path, mode, device). A *regression* is:

- ``pass → fail`` (or a row new in the candidate that fails);
- newly erroring: ``pass/fail/known/skip → error``, or a new row that errors;
- ULP growth: the row's max ULP (against its target) grew by more than ``ulp_threshold``
  (finite → non-finite counts as infinite growth), whatever the status;

``known`` rows in the candidate (covered by a known-deviations entry) never regress. Reported
without failing: improvements, rows now skipped, rows missing from the candidate, and version
and settings changes per framework.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .outputs import row_key
from .report.tables import fmt_ulp
from .results import Row

DEFAULT_ULP_THRESHOLD = 2.0


@dataclass
class Change:
    kind: str  # regression kinds: fail, error, ulp, new-fail, new-error; others are info
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
        return bool(self.regressions)

    def to_json(self) -> dict[str, Any]:
        def ch(c: Change) -> dict[str, Any]:
            r = c.row
            return {
                "kind": c.kind,
                "key": list(row_key(r)),
                "base": None
                if c.base is None
                else {"status": c.base.status, "max_ulp": _j(c.base.max_ulp)},
                "cand": None
                if c.cand is None
                else {"status": c.cand.status, "max_ulp": _j(c.cand.max_ulp)},
                "note": c.note,
            }

        return {
            "failed": self.failed,
            "ulp_threshold": self.threshold,
            "regressions": [ch(c) for c in self.regressions],
            "known": [ch(c) for c in self.known],
            "improvements": [ch(c) for c in self.improvements],
            "skipped": [ch(c) for c in self.skipped],
            "missing": [ch(c) for c in self.missing],
            "versions": [list(v) for v in self.versions],
            "settings": [list(s) for s in self.settings],
        }


def _j(v: float | None) -> Any:
    if v is None or math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


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


def compare(
    base: list[Row], cand: list[Row], ulp_threshold: float = DEFAULT_ULP_THRESHOLD
) -> GateResult:
    res = GateResult(ulp_threshold, len(base), len(cand))
    b_by = {row_key(r): r for r in base}
    c_by = {row_key(r): r for r in cand}
    for key, c in c_by.items():
        b = b_by.get(key)
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
        elif c.status == "skip":
            res.skipped.append(Change("skip", b, c, f"{b.status} → skip: {c.message[:120]}"))
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
        if key not in c_by and b.status != "skip":
            res.missing.append(Change("missing", b, None, "in the baseline, not in the candidate"))
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
    return r.status + (f" {fmt_ulp(u)} ulp" if u is not None else "")


def _esc(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _table(changes: list[Change], limit: int) -> list[str]:
    lines = [
        "| case | dtype | op | framework | path | mode | baseline | candidate | change |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in changes[:limit]:
        r = c.row
        lines.append(
            f"| `{_esc(r.case)}` | {r.dtype} | {r.op} | {r.framework} | `{_esc(r.path)}` | "
            f"{r.mode}{'' if r.device == 'cpu' else ' @' + r.device} | {_cell(c.base)} | "
            f"{_cell(c.cand)} | {_esc(c.note)} |"
        )
    if len(changes) > limit:
        lines.append(f"\n… and {len(changes) - limit} more.")
    return lines


def markdown(res: GateResult, base_name: str, cand_name: str, limit: int = 50) -> str:
    icon = "❌" if res.failed else "✅"
    head = (
        f"{len(res.regressions)} regression{'s' if len(res.regressions) != 1 else ''}"
        if res.failed
        else "no regressions"
    )
    out = [
        f"## {icon} Conformance gate: {head}",
        "",
        f"Baseline `{base_name}` ({res.base_rows} rows) → candidate `{cand_name}` "
        f"({res.cand_rows} rows); ULP threshold {res.threshold:g}. "
        f"{res.unchanged} rows unchanged, {len(res.improvements)} improved, "
        f"{len(res.known)} known deviations.",
        "",
    ]
    if res.versions:
        out += ["### Version changes", "", "| framework | baseline | candidate |", "|---|---|---|"]
        out += [f"| {fw} | {b} | {c} |" for fw, b, c in res.versions]
        out.append("")
    if res.settings:
        out += [
            "### Settings changes",
            "",
            "| framework | setting | baseline | candidate |",
            "|---|---|---|---|",
        ]
        out += [f"| {fw} | {k} | {_esc(b)} | {_esc(c)} |" for fw, k, b, c in res.settings]
        out.append("")
    if res.regressions:
        out += [
            f"### Regressions ({len(res.regressions)})",
            "",
            *_table(res.regressions, limit),
            "",
        ]
        by_fw: dict[str, int] = {}
        for c in res.regressions:
            by_fw[c.row.framework] = by_fw.get(c.row.framework, 0) + 1
        out += ["By framework: " + ", ".join(f"{k} {v}" for k, v in sorted(by_fw.items())), ""]
    for title, changes in (
        ("Known deviations (not failing)", res.known),
        ("Improvements", res.improvements),
        ("Now skipped (not failing)", res.skipped),
        ("Missing from the candidate (not failing)", res.missing),
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
