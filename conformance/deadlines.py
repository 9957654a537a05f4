"""How long a framework's worker may take: the defaults of ``run --timeout`` and
``--stall-timeout``, derived from the work it is given.

The watchdog (:class:`conformance.worker.Watchdog`) kills a worker that gives no answer for
the *stall* time while it owes one — an answer is any message: the hello after the
framework's import, each init draw, a progress tick when a path starts and at most every
half second while items finish, each batch's results — or that is still running after the
*total* time. Both defaults are generous, so that a slow or busy machine never trips them, and
grow with the work:

- cost of a batch, per path of its kind: multiply-adds / :data:`MACS_PER_S` + items x
  :data:`ITEM_S`, plus :data:`COMPILE_S` in compiled mode;
- stall = max(:data:`STALL_MIN_S`, :data:`STALL_BASE_S` + the cost of the largest batch, plus
  :data:`FIRST_COMPILE_S` in compiled mode) — an adapter that overrides ``run`` without
  ticking answers only once per batch;
- total = :data:`TOTAL_BASE_S` + 2 x the cost of all its batches, in every (mode, device).

For the bundled suite (eager, CPU) that is a stall of 60 s (NumPy) to 96 s (JAX with its Flax
paths) and a total of about 12 to 26 minutes per framework;
``--stall-timeout``/``--timeout`` set them for every framework of the run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .adapters.base import ApiPath
from .cases import Case
from .worker import Limits

#: a pessimistic speed of one path (a pure-Python adapter, a busy machine)
MACS_PER_S = 2.5e7
#: per item and path: the framework's call on a busy machine, a first call at a new shape
#: included (eager JAX compiles every primitive for it: 1,000 random-shape cases took its
#: worker 0.12 s a row cold, beside three other workers on 2 cores)
ITEM_S = 0.25
#: per path of a compiled batch: its compile
COMPILE_S = 10.0
#: the longest single compile (the first ``torch.compile`` with inductor: tens of seconds)
FIRST_COMPILE_S = 120.0
#: the shortest default stall: importing TensorFlow on a busy 2-core machine takes ~20 s
STALL_MIN_S = 60.0
STALL_BASE_S = 30.0
TOTAL_BASE_S = 300.0


def _work(case: Case) -> int:
    """Multiply-adds (dense) or elements (sigmoid-only) of one case."""
    n = math.prod(case.output_shape)
    return n * case.in_features if case.kind == "dense" else n


def default_limits(
    units: Iterable[tuple[Case, str]],
    paths: tuple[ApiPath, ...],
    slots: int,
    compiled: bool,
) -> Limits:
    """The limits of one framework's worker for ``units`` (case, dtype), run in ``slots``
    (mode, device) combinations with its table ``paths``."""
    batches: dict[tuple[object, ...], list[int]] = {}
    for case, dtype in units:
        key = (case.kind, dtype, case.in_features, case.out_features, case.bias is not None)
        batches.setdefault(key, []).append(_work(case))
    costs = []
    for (kind, *_), works in batches.items():
        n_paths = sum(p.kind == kind for p in paths)
        per_path = sum(works) / MACS_PER_S + len(works) * ITEM_S
        costs.append(n_paths * (per_path + (COMPILE_S if compiled else 0.0)))
    largest = max(costs, default=0.0)
    stall = max(STALL_MIN_S, STALL_BASE_S + largest + (FIRST_COMPILE_S if compiled else 0.0))
    total = TOTAL_BASE_S + 2 * slots * sum(costs)
    return Limits(total=round(total), stall=round(stall))
