"""The report's tables, built with pandas from result rows (and the outputs side file).

- parity table: rows case × dtype × op, columns framework/path[/mode][@device], cells
  "status max-ULP (abs error) · budget used · wrong-sign zeros", plus the tolerance used;
- summary: per framework × dtype × op, row counts by status, the largest budget used, worst
  ULP and the case that came closest to its tolerance;
- agreement: for each dtype and op, the max ULP distance between the outputs of every two
  framework paths on the same case (max over cases).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from itertools import combinations

import numpy as np
import pandas as pd

from .. import dtypes as D
from .. import escape
from ..outputs import OutputStore
from ..results import STATUSES, Row

INDEX = ["case", "dtype", "op"]
RAN = ("pass", "fail", "known")  # rows whose output exists and was judged


_FIELDS = tuple(f.name for f in fields(Row))


def frame(rows: Iterable[Row]) -> pd.DataFrame:
    """One DataFrame row per result row; floats stay floats (inf/nan included). What
    ``asdict`` gives, without its deep copy (~0.9 s of the ~1.1 s console summary of 16,000
    rows): the only container field, ``settings``, holds strings, so a shallow copy is a full
    one."""
    return pd.DataFrame(
        [{k: dict(r.settings) if k == "settings" else getattr(r, k) for k in _FIELDS} for r in rows]
    )


def _varies(rows: list[Row], attr: str) -> bool:
    return len({getattr(r, attr) for r in rows if r.status != "skip"}) > 1


class Labeller:
    """Column names ``framework / path``, with ``[mode]`` and ``@device`` when those vary."""

    def __init__(self, rows: list[Row]) -> None:
        self.mode = _varies(rows, "mode")
        self.device = _varies(rows, "device")

    def __call__(self, r: Row) -> str:
        label = f"{r.framework} / {r.path}"
        if self.mode:
            label += f" [{r.mode}]"
        if self.device:
            label += f" @{r.device}"
        return label


def fmt_ulp(u: float | None) -> str:
    if u is None or (isinstance(u, float) and math.isnan(u)):
        return "–"
    if math.isinf(u):
        return "∞"
    return f"{u:.0f}"


def fmt_err(e: float | None) -> str:
    if e is None or math.isnan(e):
        return ""
    if math.isinf(e):
        return "∞"
    return "0" if e == 0 else f"{e:.2g}"


def fmt_budget(b: float | None) -> str:
    """Budget used (largest error / its allowance) as a share of the tolerance: ``25%``,
    ``>100%`` just above it, ``12×`` from ten times the tolerance up."""
    if b is None or math.isnan(b):
        return "–"
    if math.isinf(b):
        return "∞"
    if b == 0:
        return "0%"
    if b < 0.01:
        return "<1%"
    if b < 10:
        text = f"{b * 100:.0f}%"
        return ">100%" if b > 1 and text == "100%" else text
    return f"{b:.3g}×"


#: Colour levels of the budget used, from the upper end of each level: well within the
#: tolerance, close to it, above it, far above it.
BUDGET_LEVELS = (("low", 0.5), ("near", 1.0), ("over", 10.0), ("far", math.inf))


def budget_level(b: float | None) -> str | None:
    """The colour level of a budget used (None: not recorded, e.g. an older result file)."""
    if b is None or math.isnan(b):
        return None
    for name, top in BUDGET_LEVELS:
        if b <= top:
            return name
    return BUDGET_LEVELS[-1][0]


def _zeros(n: int) -> str:
    return f"{n} wrong-sign zero{'s' if n != 1 else ''}"


def cell(r: Row) -> str:
    """Parity cell text: ``pass 1 ulp (3e-08) · 25% of tol``, ``error``, ``skip``; budget and
    wrong-signed zeros only where the row records them."""
    if r.status in ("skip", "error"):
        return r.status
    parts = [r.status]
    if r.max_ulp is not None:
        parts[0] += f" {fmt_ulp(r.max_ulp)} ulp ({fmt_err(r.max_abs_err)})"
    if r.budget_used is not None:
        parts.append(f"{fmt_budget(r.budget_used)} of tol")
    if r.wrong_sign_zeros:
        parts.append(_zeros(r.wrong_sign_zeros))
    return " · ".join(parts)


def ulp_cell(r: Row) -> str:
    """Max-ULP table cell: ``1 · 25%`` (max ULP, budget used, wrong-signed zeros)."""
    if r.status in ("skip", "error") or (r.max_ulp is None and r.budget_used is None):
        return "–"
    parts = [fmt_ulp(r.max_ulp)]
    if r.budget_used is not None:
        parts.append(fmt_budget(r.budget_used))
    if r.wrong_sign_zeros:
        parts.append(_zeros(r.wrong_sign_zeros))
    return " · ".join(parts)


def _ulp_value(r: Row) -> float:
    return np.nan if r.max_ulp is None or r.status in ("skip", "error") else r.max_ulp


def _budget_value(r: Row) -> float:
    bad = r.budget_used is None or r.status in ("skip", "error")
    return np.nan if bad else float(r.budget_used)  # type: ignore[arg-type]


def pivot(rows: list[Row], value: Callable[[Row], object]) -> pd.DataFrame:
    """Rows case × dtype × op, one column per framework path, cells ``value(row)``."""
    if not rows:
        return pd.DataFrame()
    label = Labeller(rows)
    records = [
        {"case": r.case, "dtype": r.dtype, "op": r.op, "column": label(r), "v": value(r)}
        for r in rows
    ]
    df = pd.DataFrame(records)
    table = df.pivot_table(index=INDEX, columns="column", values="v", aggfunc="first", sort=True)
    table.columns.name = None
    return table


def parity_table(rows: list[Row], tolerance: bool = True) -> pd.DataFrame:
    """Rows case × dtype × op, columns framework/path, cells "status ULP (abs err)"."""
    table = pivot(rows, cell)
    if table.empty:
        return table
    table = table.fillna("")
    if tolerance:
        tols: dict[tuple[str, str, str], list[str]] = {}
        for r in rows:
            if r.tolerance:
                seen = tols.setdefault((r.case, r.dtype, r.op), [])
                if r.tolerance not in seen:
                    seen.append(r.tolerance)
        table["tolerance"] = ["; ".join(tols.get(k, [])) for k in table.index]
    return table


def status_table(rows: list[Row]) -> pd.DataFrame:
    table = pivot(rows, lambda r: r.status)
    return table.fillna("") if not table.empty else table


def ulp_table(rows: list[Row]) -> pd.DataFrame:
    """Same shape as the parity table: numeric max ULP (NaN for error/skip/missing)."""
    table = pivot(rows, _ulp_value)
    return table.astype(float) if not table.empty else table


def budget_table(rows: list[Row]) -> pd.DataFrame:
    """Same shape as the parity table: budget used (NaN where not recorded, error, skip)."""
    table = pivot(rows, _budget_value)
    return table.astype(float) if not table.empty else table


def ulp_text_table(rows: list[Row]) -> pd.DataFrame:
    """Same shape as the parity table: :func:`ulp_cell` texts ("" where the path did not run)."""
    table = pivot(rows, ulp_cell)
    return table.fillna("") if not table.empty else table


def status_counts(rows: list[Row]) -> pd.DataFrame:
    df = frame(rows)
    if df.empty:
        return df
    counts = df.pivot_table(
        index="framework", columns="status", values="case", aggfunc="count", fill_value=0
    )
    counts.columns.name = None
    return counts[[s for s in STATUSES if s in counts.columns]]


def summary(rows: list[Row]) -> pd.DataFrame:
    """Per framework × dtype × op: rows, counts by status, the largest budget used, worst ULP,
    the case that came closest to (or went furthest past) its tolerance, max abs error, and
    wrong-signed zeros where any row has them. Without budgets (older result files) the worst
    case is the one with the largest ULP error."""
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.framework, r.dtype, r.op), []).append(r)
    zeros = any(r.wrong_sign_zeros for r in rows)
    records = []
    for (fw, dtype, op), rs in sorted(groups.items()):
        judged = [r for r in rs if r.status in RAN]
        measured = [r for r in judged if r.max_ulp is not None]
        budgets = [r for r in judged if r.budget_used is not None and not math.isnan(r.budget_used)]
        worst: Row | None
        if budgets:
            worst = max(budgets, key=lambda r: (r.budget_used, r.max_ulp or 0.0))
        else:
            worst = max(measured, key=lambda r: (r.max_ulp, r.max_abs_err or 0.0), default=None)
        rec: dict[str, object] = {"framework": fw, "dtype": dtype, "op": op, "rows": len(rs)}
        for s in STATUSES:
            rec[s] = sum(r.status == s for r in rs)
        rec["budget used"] = max(r.budget_used for r in budgets) if budgets else np.nan  # type: ignore[type-var]
        rec["worst ulp"] = max((r.max_ulp for r in measured), default=np.nan)  # type: ignore[type-var]
        rec["worst case"] = f"{worst.case} ({worst.path})" if worst else ""
        errs = [r.max_abs_err for r in measured if r.max_abs_err is not None]
        rec["max abs err"] = max(errs) if errs else np.nan
        if zeros:
            rec["wrong-sign zeros"] = sum(r.wrong_sign_zeros for r in rs)
        records.append(rec)
    if not records:
        return pd.DataFrame()
    return pd.DataFrame(records).set_index(["framework", "dtype", "op"])


# --------------------------------------------------------------------------------------------
# Agreement


@dataclass
class Agreement:
    """Pairwise max ULP distances between framework paths, per dtype and op.

    ``pairs`` columns: dtype, op, a, b, max_ulp, worst_case, cases, bound. ``bound`` is
    ``exact`` (computed from the stored arrays), ``lower`` (from strided samples of large
    arrays: the true max is at least this) or ``upper`` (no arrays stored: triangle
    inequality ``d(a, b) <= ulp(a, ref) + ulp(b, ref)`` from the rows' ``ref_max_ulp``).
    """

    pairs: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.pairs.empty

    def sections(self) -> list[tuple[str, str, str]]:
        """(dtype, op, group): a group is a set of paths that ran on common cases (dense and
        sigmoid-only cases have different paths, so they form separate matrices)."""
        if self.pairs.empty:
            return []
        cols = zip(self.pairs["dtype"], self.pairs["op"], self.pairs["group"], strict=True)
        return sorted(set(cols))

    def _sel(self, dtype: str, op: str, group: str) -> pd.DataFrame:
        p = self.pairs
        return p[(p["dtype"] == dtype) & (p["op"] == op) & (p["group"] == group)]

    def matrix(self, dtype: str, op: str, group: str) -> pd.DataFrame:
        """Square, symmetric table of max ULP distances (diagonal 0)."""
        p = self._sel(dtype, op, group)
        names = sorted(set(p["a"]) | set(p["b"]))
        m = pd.DataFrame(np.nan, index=names, columns=names, dtype=float)
        for a, b, u in zip(p["a"], p["b"], p["max_ulp"], strict=True):
            m.loc[a, b] = m.loc[b, a] = u
        for n in names:
            m.loc[n, n] = 0.0
        return m

    def bounds(self, dtype: str, op: str, group: str) -> set[str]:
        return set(self._sel(dtype, op, group)["bound"])

    def title(self, dtype: str, op: str, group: str) -> str:
        many = len({g for d, o, g in self.sections() if (d, o) == (dtype, op)}) > 1
        return f"{op} {dtype}" + (f" — {group}" if many else "")

    def file_name(self, dtype: str, op: str, group: str) -> str:
        groups = sorted({g for d, o, g in self.sections() if (d, o) == (dtype, op)})
        suffix = f"_{groups.index(group) + 1}" if len(groups) > 1 else ""
        return f"agreement_{escape.slug(dtype)}_{escape.slug(op)}{suffix}.png"


def agreement(rows: list[Row], store: OutputStore | None) -> Agreement:
    label = Labeller(rows)
    by_case: dict[tuple[str, str, str], list[Row]] = {}
    for r in rows:
        if r.status in RAN:
            by_case.setdefault((r.dtype, r.op, r.case), []).append(r)
    best: dict[tuple[str, str, str, str], dict[str, object]] = {}
    for (dtype, op, case), rs in sorted(by_case.items()):
        dt = D.DTYPES.get(dtype)
        if dt is None:
            continue
        rs = sorted(rs, key=label)
        for ra, rb in combinations(rs, 2):
            a, b = label(ra), label(rb)
            if a == b:
                continue
            d, bound = _distance(ra, rb, dt, store)
            if d is None:
                continue
            key = (dtype, op, a, b)
            cur = best.get(key)
            if cur is None:
                best[key] = {"max_ulp": d, "worst_case": case, "cases": 1, "bound": bound}
                continue
            cur["cases"] = int(cur["cases"]) + 1  # type: ignore[call-overload]
            if d > float(cur["max_ulp"]):  # type: ignore[arg-type]
                cur["max_ulp"], cur["worst_case"] = d, case
            if bound != "exact" and cur["bound"] == "exact":
                cur["bound"] = bound
    groups = _groups(by_case, label)
    records = [
        {"dtype": k[0], "op": k[1], "group": groups[(k[0], k[1], k[2])], "a": k[2], "b": k[3], **v}
        for k, v in sorted(best.items())
    ]
    cols = ["dtype", "op", "group", "a", "b", "max_ulp", "worst_case", "cases", "bound"]
    return Agreement(pd.DataFrame(records, columns=cols))


def _groups(
    by_case: dict[tuple[str, str, str], list[Row]], label: Labeller
) -> dict[tuple[str, str, str], str]:
    """(dtype, op, path label) -> name of its group of paths sharing cases (union-find)."""
    parent: dict[tuple[str, str, str], tuple[str, str, str]] = {}

    def find(k: tuple[str, str, str]) -> tuple[str, str, str]:
        while parent.setdefault(k, k) != k:
            k = parent[k]
        return k

    for (dtype, op, _case), rs in by_case.items():
        keys = [(dtype, op, label(r)) for r in rs]
        for k in keys:
            parent[find(k)] = find(keys[0])
    members: dict[tuple[str, str, str], set[str]] = {}
    for (dtype, op, case), rs in by_case.items():
        for r in rs:
            members.setdefault(find((dtype, op, label(r))), set()).add(case)
    names = {}
    for root, cs in members.items():
        first = sorted(cs)
        more = f" +{len(first) - 2} more" if len(first) > 2 else ""
        names[root] = f"cases {', '.join(first[:2])}{more}"
    return {k: names[find(k)] for k in list(parent)}


def _distance(ra: Row, rb: Row, dt: D.DType, store: OutputStore | None) -> tuple[float | None, str]:
    sa = store.output(ra) if store is not None else None
    sb = store.output(rb) if store is not None else None
    if sa is not None and sb is not None and sa.raw.shape == sb.raw.shape:
        if sa.raw.size == 0:
            return 0.0, "exact"
        d = float(np.max(D.ulp_distance(sa.values, sb.values, dt)))
        return d, ("lower" if sa.sampled or sb.sampled else "exact")
    if ra.ref_max_ulp is not None and rb.ref_max_ulp is not None:
        return ra.ref_max_ulp + rb.ref_max_ulp, "upper"
    return None, ""


def tolerances(rows: list[Row]) -> pd.DataFrame:
    """Distinct tolerance texts per op and dtype."""
    seen = sorted({(r.op, r.dtype, r.tolerance) for r in rows if r.tolerance})
    return pd.DataFrame(seen, columns=["op", "dtype", "tolerance"])
