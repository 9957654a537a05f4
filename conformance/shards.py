"""Shards: a deterministic, balanced split of one run's (case, dtype) units into N parts.

``conformance run --shard K/N`` and ``pytest --conformance-shard K/N`` run part K; the N
parts' result files join into the report and gate of one run (``conformance combine``), and
pytest-xdist workers split a session the same way.

A unit (one case in one dtype, every framework, mode and device) is the smallest piece: its
exact reference is computed once, in the shard that runs it. Units are weighed by an
*estimated* cost in seconds (:func:`unit_cost`, constants fit on a run of the bundled suite,
see ``COST_*``) and dealt out greedily, heaviest first, each to the part with the least cost
so far (ties: the lower part), so the parts' estimated costs differ by at most the heaviest
unit. The split depends only on the cases, the dtypes and the adapters' path tables (class
facts, the same on every machine), never on timing, installed frameworks or file order
beyond the case ids.

Every part also pays each framework's fixed start-up (``COST_START_S``: its worker's imports
and set-up): that cost is the same in every part, so it does not change the split, but it
bounds what N parts can gain. :func:`work_groups` splits one machine's work (pytest-xdist
workers) by framework first, where that start-up is paid once per framework.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .cases import Case
from .rowplan import CaseFacts, RunShape, rows_per_framework

# -- the cost estimate ------------------------------------------------------------------------
#
# Seconds per row, fit by least squares on the rows' ``seconds`` of an eager run of the
# bundled suite (4,390 rows): a fixed cost per call that dominates small cases (JAX's eager
# dispatch compiles each new shape), plus a cost per multiply-add and per output element.
# Unknown (plugin) frameworks take the median of the four.
COST_CALL_S: dict[str, float] = {
    "numpy": 0.002,
    "torch": 0.005,
    "tensorflow": 0.009,
    "jax": 0.075,
}
COST_CALL_OTHER_S = 0.007
# A framework worker's start-up (imports and set-up), measured on the project's machines.
COST_START_S: dict[str, float] = {"numpy": 0.5, "torch": 3.0, "tensorflow": 7.0, "jax": 2.0}
COST_START_OTHER_S = 3.0
COST_MAC_S = 1.3e-9  # per multiply-add, per affine row (the sigmoid row repeats the affine map)
COST_OUT_S = 1.0e-6  # per output element, per row
# The exact reference, once per unit in the parent process (measured the same way).
COST_REF_UNIT_S = 0.004
COST_REF_MAC_S = 7.4e-9
COST_REF_OUT_S = 2.4e-6

_SHARD = re.compile(r"([0-9]{1,6})/([0-9]{1,6})")
MAX_SHARDS = 10_000


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse(text: str) -> Shard:
    """``K/N`` with 1 <= K <= N <= 10,000; ValueError with one line otherwise."""
    m = _SHARD.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{text[:40]!r} is not K/N (part K of N, e.g. 2/4)")
    k, n = int(m.group(1)), int(m.group(2))
    if not 1 <= n <= MAX_SHARDS:
        raise ValueError(f"{text!r}: N must be between 1 and {MAX_SHARDS}")
    if not 1 <= k <= n:
        raise ValueError(f"{text!r}: K must be between 1 and N ({n})")
    return Shard(k, n)


def unit_cost(case: CaseFacts, shape: RunShape) -> float:
    """Estimated seconds of one unit of ``case`` in a run of ``shape`` (any dtype: the
    estimate does not tell them apart)."""
    cost = reference_cost(case)
    for fw, rows in rows_per_framework(case, shape).items():
        cost += framework_cost(case, fw, rows)
    return cost


def reference_cost(case: CaseFacts) -> float:
    """Estimated seconds of one unit's exact reference (in the runner's own process)."""
    return COST_REF_UNIT_S + COST_REF_MAC_S * case.macs + COST_REF_OUT_S * case.outputs


def framework_cost(case: CaseFacts, framework: str, rows: int) -> float:
    """Estimated seconds of ``rows`` rows of one unit of ``case`` in ``framework``."""
    return rows * row_cost(framework, case.macs, case.outputs)


def row_cost(framework: str, macs: int, outputs: int) -> float:
    """Estimated seconds of one row in ``framework``: a call of ``macs`` multiply-adds
    giving ``outputs`` elements."""
    per_row = COST_MAC_S * macs + COST_OUT_S * outputs  # first: the same sums, the same splits
    return COST_CALL_S.get(framework, COST_CALL_OTHER_S) + per_row


def start_cost(framework: str) -> float:
    """Estimated seconds of a framework worker's start-up (imports and set-up)."""
    return COST_START_S.get(framework, COST_START_OTHER_S)


# -- the split ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Every unit of a run, in run order, with the part it belongs to and its estimated cost."""

    count: int
    units: tuple[tuple[str, str], ...]  # (case id, dtype), in run order
    parts: tuple[int, ...]  # 1-based part of each unit
    costs: tuple[float, ...]

    def part_of(self) -> dict[tuple[str, str], int]:
        return dict(zip(self.units, self.parts, strict=True))

    def cost(self, index: int) -> float:
        return sum(c for c, p in zip(self.costs, self.parts, strict=True) if p == index)

    def digest(self) -> str:
        """The same for every part of one split (and only for that split)."""
        body = json.dumps([self.count, list(self.units), list(self.parts)], separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()

    def summary(self, index: int) -> str:
        total = sum(self.costs) or 1.0
        n = sum(1 for p in self.parts if p == index)
        return (
            f"shard {index}/{self.count}: {n} of {len(self.units)} case/dtype units, "
            f"{100 * self.cost(index) / total:.0f}% of the estimated cost"
        )


def split(units: Sequence[tuple[tuple[str, str], float]], count: int) -> Plan:
    """Deal ``(unit, cost)`` pairs (in run order) into ``count`` parts: heaviest first, each
    to the part with the least cost so far, ties to the lower part; equal costs by (case id,
    dtype), so the split does not depend on the order the cases were found in."""
    order = sorted(range(len(units)), key=lambda i: (-units[i][1], units[i][0]))
    load = [0.0] * count
    parts = [0] * len(units)
    for i in order:
        p = min(range(count), key=lambda j: (load[j], j))
        load[p] += units[i][1]
        parts[i] = p + 1
    return Plan(
        count, tuple(u for u, _ in units), tuple(parts), tuple(round(c, 9) for _, c in units)
    )


def plan(cases: Iterable[CaseFacts], dtypes: Sequence[str], count: int, shape: RunShape) -> Plan:
    """The split of a run's units (``cases`` in load order, ``dtypes`` the run's filter)."""
    units: list[tuple[tuple[str, str], float]] = []
    for c in cases:
        cost = unit_cost(c, shape)
        units.extend(((c.id, d), cost) for d in c.dtypes if not dtypes or d in dtypes)
    return split(units, count)


def narrow(
    cases: Iterable[Case], keep: Mapping[str, set[str]] | set[tuple[str, str]]
) -> list[Case]:
    """The cases with only the dtypes of the units in ``keep`` (case id -> dtypes, or a set of
    (case id, dtype)); cases left with no dtype are dropped. The run then plans, draws,
    references and judges exactly those units, each as the whole run would."""
    if isinstance(keep, set):
        by: dict[str, set[str]] = {}
        for case_id, dtype in keep:
            by.setdefault(case_id, set()).add(dtype)
        keep = by
    out = []
    for c in cases:
        ds = tuple(d for d in c.dtypes if d in keep.get(c.id, ()))
        if ds == tuple(c.dtypes):
            out.append(c)
        elif ds:
            out.append(replace(c, dtypes=ds))
    return out


# -- the record a shard's run keeps (environment.json "shard") ---------------------------------

#: bounds on a shard record read back from a results folder (untrusted input)
MAX_PLAN_UNITS = 1 << 20
MAX_TEXT = 256


class PlanError(ValueError):
    """A shard record that is not one this package writes (one line, without the file)."""


def record(p: Plan, index: int) -> dict[str, Any]:
    """What a shard's ``environment.json`` says about it: which part, and the whole split
    (so ``combine`` can check that the parts belong together and restore the run order)."""
    return {
        "index": index,
        "count": p.count,
        "digest": p.digest(),
        "units": [[c, d, part] for (c, d), part in zip(p.units, p.parts, strict=True)],
    }


def from_record(obj: Any) -> tuple[Plan, int]:
    """(the split, this part's index) from :func:`record`'s output, checked."""
    if not isinstance(obj, dict):
        raise PlanError("not a mapping")
    index, count, units = obj.get("index"), obj.get("count"), obj.get("units")
    if not (isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= MAX_SHARDS):
        raise PlanError(f"count: not a number of shards (1 to {MAX_SHARDS})")
    if not (isinstance(index, int) and not isinstance(index, bool) and 1 <= index <= count):
        raise PlanError(f"index: not a shard of {count}")
    if not isinstance(units, list) or len(units) > MAX_PLAN_UNITS:
        raise PlanError(f"units: not a list of at most {MAX_PLAN_UNITS} units")
    keys: list[tuple[str, str]] = []
    parts: list[int] = []
    for i, u in enumerate(units):
        ok = (
            isinstance(u, list)
            and len(u) == 3
            and all(isinstance(s, str) and len(s) <= MAX_TEXT for s in u[:2])
            and isinstance(u[2], int)
            and not isinstance(u[2], bool)
            and 1 <= u[2] <= count
        )
        if not ok:
            raise PlanError(f"units[{i}]: not [case, dtype, part]")
        keys.append((u[0], u[1]))
        parts.append(u[2])
    if len(set(keys)) != len(keys):
        raise PlanError("units: a (case, dtype) unit appears twice")
    p = Plan(count, tuple(keys), tuple(parts), tuple(0.0 for _ in keys))
    if obj.get("digest") != p.digest():
        raise PlanError("digest: does not match the units (an edited or truncated record)")
    return p, index


def select(
    cases: list[Case],
    dtypes: Sequence[str],
    shard: Shard | None,
    units: Iterable[tuple[str, str]] | None,
    shape: RunShape,
) -> tuple[list[Case], Plan | None]:
    """The loaded cases of a run narrowed to part ``shard`` of the split (and the split), and
    to ``units`` ((case id, dtype) pairs) when given; unchanged when neither is given."""
    p = None
    if shard is not None:
        p = plan((CaseFacts.of(c) for c in cases), dtypes, shard.count, shape)
        cases = narrow(cases, {u for u, k in p.part_of().items() if k == shard.index})
    if units is not None:
        cases = narrow(cases, set(units))
    return cases, p


# -- one machine's work: groups of whole frameworks ---------------------------------------------


@dataclass(frozen=True)
class WorkGroup:
    """Frameworks x units: one runner call, whose rows are exactly what the group owns."""

    frameworks: tuple[str, ...]
    units: frozenset[tuple[str, str]]

    def owns(self, framework: str, unit: tuple[str, str]) -> bool:
        return framework in self.frameworks and unit in self.units


def work_groups(
    units: Sequence[tuple[tuple[str, str], CaseFacts]], shape: RunShape, count: int
) -> list[WorkGroup]:
    """Split one session's work into at most ``count`` groups, each run by one process.

    Up to one group per framework, whole frameworks are dealt (heaviest first, with their
    start-up) so each framework starts once and its batches stay whole. With more groups than
    frameworks, each framework gets groups in proportion to its cost (the largest remainder
    next, ties to the framework first in the run) and its units are split among them by
    :func:`split`; each group then starts one framework and computes the references of its
    own units."""
    everything = frozenset(u for u, _ in units)
    rows = {u: rows_per_framework(f, shape) for u, f in units}
    names = [a.name for a in shape.adapters if any(r.get(a.name) for r in rows.values())]
    if not names or count <= 1:
        return [WorkGroup(tuple(a.name for a in shape.adapters), everything)]
    cost = {
        n: start_cost(n) + sum(framework_cost(f, n, rows[u][n]) for u, f in units) for n in names
    }
    if count <= len(names):
        p = split([((n, ""), cost[n]) for n in names], count)
        return [
            WorkGroup(
                tuple(n for (n, _), k in zip(p.units, p.parts, strict=True) if k == g), everything
            )
            for g in range(1, count + 1)
            if g in p.parts
        ]
    share = {n: 1 for n in names}
    for _ in range(count - len(names)):
        n = max(names, key=lambda m: (cost[m] / share[m], -names.index(m)))
        share[n] += 1
    groups = []
    for n in names:
        p = split(
            [(u, framework_cost(f, n, rows[u][n]) + reference_cost(f)) for u, f in units],
            share[n],
        )
        for g in range(1, share[n] + 1):
            mine = frozenset(u for u, k in zip(p.units, p.parts, strict=True) if k == g)
            if mine:
                groups.append(WorkGroup((n,), mine))
    return groups
