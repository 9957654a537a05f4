"""Which result rows a run will produce, known before anything runs.

A row is one (case, dtype, op, framework, path, mode, device). The runner makes, per (case,
dtype) unit: the ``op: init`` rows of the framework that draws a ``params.init`` case (one per
pinned parameter, in the case's pin order, when that framework is in the run) and of each other
framework of the run that declares the kind (it draws too, for the pins), then for every
framework of the run, per (mode, device) the framework has, one row per path of its table
(``Adapter.paths``) that runs on the case's kind. This module says the same from class facts
and loaded cases alone, so the pytest plugin can collect one item per row and shards can weigh
units, without starting a framework. ``tests/test_rowplan.py`` holds it to the runner's rows.

:class:`CaseFacts` is the part of a :class:`~conformance.cases.Case` that decides its rows and
its cost; it round-trips through JSON (the plugin caches it per case file).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .cases import Case, for_dtype
from .registry import init_owners, load_class


@dataclass(frozen=True)
class CaseFacts:
    """What decides a case's rows and cost: no arrays, no expected values."""

    id: str
    file: str  # display path, as in rows and case errors
    kind: str  # "dense" | "sigmoid"
    dtypes: tuple[str, ...]
    tags: tuple[str, ...]
    init: str | None
    #: dtype -> names of the parameters pinned for it (``op: init`` rows, in pin order)
    pins: Mapping[str, tuple[str, ...]]
    in_features: int
    out_features: int
    batch: tuple[int, ...]

    @classmethod
    def of(cls, case: Case) -> CaseFacts:
        pins = {
            d: tuple(n for n, per in case.pins.items() if for_dtype(per, d) is not None)
            for d in case.dtypes
        }
        return cls(
            case.id,
            case.file,
            case.kind,
            tuple(case.dtypes),
            tuple(case.tags),
            case.init,
            pins,
            case.in_features,
            case.out_features,
            tuple(case.batch),
        )

    @property
    def outputs(self) -> int:
        """Elements of one output array."""
        shape = self.batch + ((self.out_features,) if self.kind == "dense" else ())
        return math.prod(shape)

    @property
    def macs(self) -> int:
        """Multiply-adds of the affine map (0 for a sigmoid-only case)."""
        return self.outputs * self.in_features if self.kind == "dense" else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.file,
            "kind": self.kind,
            "dtypes": list(self.dtypes),
            "tags": list(self.tags),
            "init": self.init,
            "pins": {d: list(v) for d, v in self.pins.items()},
            "in_features": self.in_features,
            "out_features": self.out_features,
            "batch": list(self.batch),
        }

    @classmethod
    def from_json(cls, d: Any) -> CaseFacts:
        """Facts written by :meth:`to_json` (a cache this package wrote; a malformed entry
        raises ValueError/KeyError/TypeError and is reloaded from the case file)."""
        if not isinstance(d, dict):
            raise TypeError("not a mapping")

        def strs(v: Any) -> tuple[str, ...]:
            if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
                raise TypeError("not a list of strings")
            return tuple(v)

        def count(v: Any) -> int:
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise TypeError("not a count")
            return v

        init = d["init"]
        if init is not None and not isinstance(init, str):
            raise TypeError("init")
        pins = d["pins"]
        if not isinstance(pins, dict):
            raise TypeError("pins")
        batch = d["batch"]
        if not isinstance(batch, list):
            raise TypeError("batch")
        out = cls(
            str(d["id"]),
            str(d["file"]),
            str(d["kind"]),
            strs(d["dtypes"]),
            strs(d["tags"]),
            init,
            {str(k): strs(v) for k, v in pins.items()},
            count(d["in_features"]),
            count(d["out_features"]),
            tuple(count(n) for n in batch),
        )
        if out.kind not in ("dense", "sigmoid"):
            raise ValueError("kind")
        return out


@dataclass(frozen=True)
class PathFacts:
    name: str
    op: str
    kind: str


@dataclass(frozen=True)
class AdapterFacts:
    """An adapter class's facts that decide rows: its name in the run, modes, devices, paths."""

    name: str
    modes: tuple[str, ...]
    devices: tuple[str, ...]
    paths: tuple[PathFacts, ...]
    init_kinds: tuple[str, ...] = ()  # the params.init kinds it declares (and so draws)


@dataclass(frozen=True)
class RunShape:
    """The adapters of a run and what decides its rows besides the cases."""

    adapters: tuple[AdapterFacts, ...]
    #: ``params.init`` kind -> name of the adapter that draws it
    owners: Mapping[str, str]
    combos: tuple[tuple[str, str], ...]  # (mode, device) pairs of the run, in run order

    @classmethod
    def of(
        cls,
        chosen: Mapping[str, str],
        known: Mapping[str, str],
        modes: Sequence[str],
        devices: Sequence[str],
    ) -> RunShape:
        """From the registry's selection (name -> "module:Class", as
        :func:`conformance.registry.select` returns) and the run's modes and devices."""
        adapters = []
        for name, spec in chosen.items():
            c = load_class(spec)
            paths = tuple(PathFacts(p.name, p.op, p.kind) for p in c.paths)
            kinds = tuple(c.init_kinds)
            adapters.append(AdapterFacts(name, tuple(c.modes), tuple(c.devices), paths, kinds))
        owners = {k: o.name for k, o in init_owners(dict(known), dict(chosen)).items()}
        combos = tuple((m, d) for m in modes for d in devices)
        return cls(tuple(adapters), owners, combos)


@dataclass(frozen=True)
class RowSpec:
    """One row a run will produce. ``pin`` names the parameter of an ``op: init`` row (its
    ``path`` is known only once the framework has drawn, e.g. ``nn.Linear.weight``)."""

    case: str
    dtype: str
    op: str
    framework: str
    path: str
    mode: str
    device: str
    pin: str = ""


def unit_rows(case: CaseFacts, dtype: str, shape: RunShape) -> list[RowSpec]:
    """The rows of one (case, dtype) unit, in the runner's order."""
    rows: list[RowSpec] = []
    names = {a.name for a in shape.adapters}
    owner = shape.owners.get(case.init) if case.init is not None else None
    if case.kind == "dense" and owner is not None:
        drawers = [owner] if owner in names else []
        if any(case.pins.values()):  # the others that declare the kind draw for the pins
            drawers += [
                a.name for a in shape.adapters if a.name != owner and case.init in a.init_kinds
            ]
        for name in drawers:
            for pin in case.pins.get(dtype, ()):
                rows.append(RowSpec(case.id, dtype, "init", name, "", "eager", "cpu", pin))
    for a in shape.adapters:
        for mode, device in shape.combos:
            if mode not in a.modes or device not in a.devices:
                continue
            for p in a.paths:
                if p.kind == case.kind:
                    rows.append(RowSpec(case.id, dtype, p.op, a.name, p.name, mode, device))
    return rows


def rows_per_framework(case: CaseFacts, shape: RunShape) -> dict[str, int]:
    """Rows of one unit of ``case`` per framework (the same in every dtype but init rows)."""
    out = {a.name: 0 for a in shape.adapters}
    for r in unit_rows(case, case.dtypes[0], shape) if case.dtypes else ():
        if r.op != "init":
            out[r.framework] += 1
    return out
