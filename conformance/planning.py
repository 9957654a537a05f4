"""Planning a run: which (case, dtype) units exist and how they group into batches.

Cases of one (kind, dtype, in, out, bias, mode, device) form one batch, so each framework builds
its layers once per batch and only copies each case's parameters in. A ``params.init`` case
takes the parameters its owning framework drew in the first phase of the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import dtypes as D
from .adapters.base import Batch, InitResult, Item
from .cases import Arrays, Case

MODES = ("eager", "compiled")
DEVICES = ("cpu", "cuda")


def expand(value: str, choices: tuple[str, ...]) -> list[str]:
    """``all`` -> every choice; a single choice -> itself (``--mode``/``--device``)."""
    return list(choices) if value == "all" else [value]


@dataclass
class Unit:
    """One case in one dtype, and where it sits in a batch per (mode, device)."""

    case: Case
    dtype: str
    arrays: Arrays | None  # exact values of the dtype; None when an init draw is missing
    slots: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    blocked: tuple[str, str] | None = None  # (status, why) when an init draw is missing
    drawn: InitResult | None = None


def drawn_arrays(drawn: InitResult) -> tuple[np.ndarray, str, np.ndarray | None]:
    """(param, layout, bias) of a draw, as :meth:`Case.arrays` takes them."""
    assert drawn.param is not None
    return drawn.param, drawn.layout, drawn.bias


def wanted(cases: list[Case], dtypes: list[str]) -> list[tuple[Case, str]]:
    return [(c, d) for c in cases for d in c.dtypes if not dtypes or d in dtypes]


def plan(
    cases: list[Case],
    dtypes: list[str],
    modes: list[str] | str = "eager",
    devices: list[str] | str = "cpu",
    draws: dict[tuple[str, str], InitResult] | None = None,
    init_blocked: dict[str, tuple[str, str]] | None = None,
) -> tuple[list[Unit], list[Batch]]:
    """Units and batches; an init case takes its parameters from ``draws`` (or is blocked
    with the reason in ``init_blocked[init]``/the draw's error)."""
    modes = [modes] if isinstance(modes, str) else modes
    devices = [devices] if isinstance(devices, str) else devices
    units: list[Unit] = []
    batches: list[Batch] = []
    index: dict[tuple[Any, ...], int] = {}
    for case, dtype in wanted(cases, dtypes):
        drawn = None
        if case.init is not None and case.kind == "dense":
            drawn = (draws or {}).get((case.id, dtype))
            blocked = (init_blocked or {}).get(case.init)
            if drawn is not None and drawn.skip and blocked is None:
                blocked = ("skip", f"init: {case.init}: {drawn.skip}")
            if drawn is None or drawn.error or drawn.skip or drawn.param is None:
                why = f"init: {case.init} draw failed: {drawn.error}" if drawn else ""
                status, why = blocked or ("error", why or f"init: {case.init}: nothing drawn")
                units.append(Unit(case, dtype, None, blocked=(status, why)))
                continue
        pair = None if drawn is None or drawn.param is None else drawn_arrays(drawn)
        arr = case.arrays(dtype, pair)
        dt = D.get(dtype)
        if case.kind == "dense":
            assert arr.x is not None and arr.param is not None
            item = Item(
                case.id,
                x=D.to_dtype(arr.x, dt),
                param=np.ascontiguousarray(D.to_dtype(arr.param, dt)),  # as written
                layout=arr.layout,
                bias=None if arr.bias is None else D.to_dtype(arr.bias, dt),
            )
        else:
            assert arr.z is not None
            item = Item(case.id, z=D.to_dtype(arr.z, dt))
        unit = Unit(case, dtype, arr, drawn=drawn)
        for mode in modes:
            for device in devices:
                key = (case.kind, dtype, case.in_features, case.out_features, arr.bias is not None)
                full = (*key, mode, device)
                if full not in index:
                    index[full] = len(batches)
                    batches.append(Batch(*key, [], mode, device))  # type: ignore[arg-type]
                b = index[full]
                unit.slots[(mode, device)] = (b, len(batches[b].items))
                batches[b].items.append(item)
        units.append(unit)
    return units, batches
