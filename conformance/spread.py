"""How many worker processes each framework gets, and which of its batches each one runs.

One process per framework leaves a core idle when one framework holds most of a run's work:
JAX's eager mode runs one XLA program per primitive and shape, and its dispatch is Python
under the GIL, so one process keeps one core busy: 1,000 random-shape cases, JAX alone, warm,
42–44 s in one process, 31 s in two (README, "Running"). Where the other frameworks keep the
other cores busy anyway, a split gains nothing and costs a second start-up (README,
"Benchmarks": the four frameworks on two cores).

- :func:`processes`: a framework whose estimated work is more than about one and a half
  cores' share of the run (its start-up included in the whole) gets a process per core's
  share, up to one per core; never one whose work would not pay for a second start-up
  (:data:`MIN_SPLIT`). ``--worker-processes N`` gives every framework N instead.
- :func:`deal`: a framework's batches go to its processes in groups of one (kind, dtype,
  out features): every program JAX compiles for a batch is keyed by shapes that include the
  output width, so a group's programs are compiled (or read back from the persistent cache)
  by one process only, not once per process. Groups are dealt heaviest first to the least
  loaded process, and each process runs its batches in the run's order, so rows arrive in
  about the order of a single process.

What a batch computes does not depend on the process that runs it (each process is a fresh
worker with the same options; the tests compare the outputs of one and two processes bit for
bit). Only the owner's first process draws ``params.init`` parameters.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence

from .adapters.base import Batch
from .shards import row_cost, start_cost

#: a framework is split only when its estimated work is this many times its start-up
MIN_SPLIT = 10.0
#: the most processes ``--worker-processes`` may give a framework
MAX_PROCESSES = 64


def cores() -> int:
    """The cores this process may run on (its affinity where the platform tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def processes(work: Mapping[str, float], cores: int, fixed: int | None = None) -> dict[str, int]:
    """Processes per framework, from each one's estimated seconds of rows (start-up not
    included). ``fixed``: that many for every framework (``--worker-processes N``)."""
    if fixed is not None:
        return {name: max(1, min(fixed, MAX_PROCESSES)) for name in work}
    total = sum(w + start_cost(name) for name, w in work.items())
    out = {}
    for name, w in work.items():
        share = round(w * cores / total) if total > 0 else 1
        if w < MIN_SPLIT * start_cost(name):
            share = 1
        out[name] = max(1, min(cores, share))
    return out


def batch_cost(batch: Batch, framework: str, paths: int) -> float:
    """Estimated seconds of one batch in ``framework`` with ``paths`` paths of its kind."""
    cost = 0.0
    for item in batch.items:
        if item.x is not None:  # dense: rows of x times the output width, in_features deep
            rows = item.x.size // max(1, item.x.shape[-1]) if item.x.ndim else 1
            outs, depth = rows * max(1, batch.out_features), max(1, batch.in_features)
        else:  # sigmoid: elementwise on z
            outs, depth = (item.z.size if item.z is not None else 1), 0
        cost += paths * row_cost(framework, outs * depth, outs)
    return cost


def group_of(batch: Batch) -> Hashable:
    """The batches that share programs: one kind, dtype and output width."""
    return (batch.kind, batch.dtype, batch.out_features)


def deal(
    batches: Sequence[tuple[int, Batch, float]],
    loads: list[float],
    placed: dict[Hashable, int],
) -> list[list[int]]:
    """The batch indices each process runs, in the given order. ``batches``: (index, batch,
    estimated cost). ``loads`` (estimated seconds each process has) and ``placed`` (group ->
    process, from earlier waves) are updated, so a later wave keeps a group where it went."""
    cost: dict[Hashable, float] = {}
    for _, b, c in batches:
        g = group_of(b)
        cost[g] = cost.get(g, 0.0) + c
    # heaviest first; ties in order of first appearance (dicts keep it), least loaded wins
    for g in sorted(cost, key=lambda k: -cost[k]):
        if g not in placed:
            placed[g] = min(range(len(loads)), key=lambda i: (loads[i], i))
        loads[placed[g]] += cost[g]
    out: list[list[int]] = [[] for _ in loads]
    for i, b, _ in batches:
        out[placed[group_of(b)]].append(i)
    return out
