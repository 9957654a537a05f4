"""Joining the result folders of a run's shards into the rows of one run.

Each shard's ``environment.json`` holds its record (:func:`conformance.shards.record`): its
part and the whole split. Joining checks that the parts belong to one split (the same digest),
that each part is there exactly once, and that every row is a unit of its own part; then it
orders the rows as the unsharded run orders them (by unit, in the split's run order; a unit's
rows keep their order) and joins the outputs. Anything else is a UsageError naming the folder,
so a stale or foreign shard never slips into a gate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import boundedio, escape, shards
from .errors import UsageError
from .outputs import OutputStore, load_beside
from .report.environment import ENV_FILE
from .results import Row, read_rows

#: an environment.json holding a shard record (about 40 bytes per unit)
MAX_ENV_BYTES = 32 << 20


@dataclass
class Part:
    """One shard's results folder (or results file, with its side files beside it)."""

    source: str
    rows: list[Row]
    outputs: OutputStore | None
    env: dict[str, Any]
    plan: shards.Plan
    index: int


def read_part(path: str) -> Part:
    """A shard's results, outputs and record; a missing or damaged record is a UsageError."""
    p = Path(path)
    shown = escape.visible(path)
    if not p.exists():
        raise UsageError(f"{shown}: no such file or directory")
    rows = read_rows(p)
    folder = p if p.is_dir() else p.parent
    env_path = folder / ENV_FILE
    if not env_path.exists():
        raise UsageError(
            f"{escape.visible(env_path)}: missing; not the report dir of a "
            "`conformance run --shard K/N`"
        )
    try:
        env = json.loads(boundedio.read_bytes(env_path, MAX_ENV_BYTES, "environment file"))
    except (ValueError, RecursionError) as exc:
        raise UsageError(
            f"{escape.visible(env_path)}: not JSON: {escape.visible(exc, 200)}"
        ) from None
    if not isinstance(env, dict) or "shard" not in env:
        raise UsageError(
            f"{escape.visible(env_path)}: no shard record; not from `conformance run --shard K/N`"
        )
    try:
        plan, index = shards.from_record(env["shard"])
    except shards.PlanError as exc:
        raise UsageError(f"{escape.visible(env_path)}: shard: {exc}") from None
    try:
        outputs = load_beside(p)
    except Exception as exc:  # numpy, zipfile and json raise many types for a bad file
        raise UsageError(f"{shown}: outputs.npz: {escape.visible(exc, 200)}") from None
    return Part(path, rows, outputs, env, plan, index)


def join(parts: list[Part], complete: bool = True) -> tuple[list[Row], OutputStore, dict[str, Any]]:
    """(rows in run order, the joined outputs, the environment of the joined run).
    ``complete``: every part of the split must be given (else only no part twice)."""
    if not parts:
        raise UsageError("no shards given")
    first = parts[0]
    for part in parts[1:]:
        if part.plan.digest() != first.plan.digest():
            raise UsageError(
                f"{escape.visible(part.source)}: shard {part.index}/{part.plan.count} is from "
                f"another split than {escape.visible(first.source)} (other cases, dtypes, "
                "frameworks or number of shards)"
            )
    seen: dict[int, str] = {}
    for part in parts:
        if part.index in seen:
            raise UsageError(
                f"{escape.visible(part.source)}: shard {part.index}/{first.plan.count} is "
                f"given twice (also {escape.visible(seen[part.index])})"
            )
        seen[part.index] = part.source
    missing = [k for k in range(1, first.plan.count + 1) if k not in seen]
    if complete and missing:
        shown = ", ".join(f"{k}/{first.plan.count}" for k in missing[:10])
        raise UsageError(f"shard {shown} missing: give every shard of the run")
    position = {u: i for i, u in enumerate(first.plan.units)}
    part_of = first.plan.part_of()
    keyed: list[tuple[int, int, Row]] = []
    store = OutputStore()
    for part in parts:
        for n, r in enumerate(part.rows, 1):
            unit = (r.case, r.dtype)
            if part_of.get(unit) != part.index:
                where = part_of.get(unit)
                owner = f"shard {where}/{first.plan.count}" if where else "no shard of the split"
                raise UsageError(
                    f"{escape.visible(part.source)}: row {n}: {escape.visible(r.case, 80)} "
                    f"{escape.visible(r.dtype, 20)} belongs to {owner}, not to this shard "
                    f"({part.index}/{first.plan.count})"
                )
            keyed.append((position[unit], len(keyed), r))
        if part.outputs is not None:
            store.update(part.outputs)
    keyed.sort(key=lambda t: (t[0], t[1]))
    env = {k: v for k, v in first.env.items() if k != "shard"}
    env["shards"] = first.plan.count
    env["command"] = f"{env.get('command', '')} (joined with the other shards)".lstrip()
    return [r for _, _, r in keyed], store, env
