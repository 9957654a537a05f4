"""The case model: one dense-layer or sigmoid case, and its exact arrays per dtype.

Loading and validation live in :mod:`conformance.loader`, number parsing in
:mod:`conformance.literals`, seeded draws in :mod:`conformance.distributions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from . import dtypes as D
from .distributions import Generated
from .literals import Literal

BUNDLED_CASES = Path(__file__).resolve().parent.parent / "cases"

# Parameter pins of a framework-native init case (``params: {init: ...}``, docs/native.md); the
# adapters declare which init kinds they draw, and in which layout (``Adapter.init_kinds``).
PARAM_PINS = ("weight", "kernel", "bias")


Source = Literal | Generated
T = TypeVar("T")


def for_dtype(per: Mapping[str, T], dtype: str) -> T | None:
    """The entry for ``dtype`` of a per-dtype mapping (``expected``, ``tolerance``, pins), else
    its ``"*"`` entry (all dtypes), else None. An explicit entry wins even when it is empty."""
    if dtype in per:
        return per[dtype]
    return per.get("*")


@dataclass(frozen=True)
class Arrays:
    """One case in one dtype: float64 arrays whose values are all representable in ``dtype``."""

    dtype: str
    x: np.ndarray | None  # (*batch, in) for dense cases
    z: np.ndarray | None  # sigmoid-only input
    param: np.ndarray | None  # the parameter as the case wrote it (or its init drew it)
    bias: np.ndarray | None
    layout: str  # the layout of ``param``: "weight" (out, in) or "kernel" (in, out); "" sigmoid

    @property
    def weight(self) -> np.ndarray | None:
        """The parameter as an (out, in) weight (a view), for the reference, which takes that."""
        if self.param is None:
            return None
        return self.param if self.layout == "weight" else self.param.T


@dataclass
class Case:
    id: str
    file: str
    description: str
    tags: tuple[str, ...]
    dtypes: tuple[str, ...]
    seed: int
    kind: str  # "dense" or "sigmoid"
    batch: tuple[int, ...]
    in_features: int
    out_features: int
    input: Source
    layout: str  # "weight" | "kernel" | "" (sigmoid-only)
    param: Source | None
    bias: Source | None
    init: str | None
    expected: dict[str, dict[str, Literal]]  # op -> dtype ("*" for all) -> values
    tolerance: dict[str, dict[str, dict[str, Any]]]  # op -> dtype ("*") -> {ulp, rtol, ...}
    lines: dict[str, int] = field(default_factory=dict)
    # params.init only: whether the layer has a bias, and pinned drawn parameters
    # (name "weight"/"kernel"/"bias" -> dtype ("*" for all) -> values, in the pin's own layout)
    init_bias: bool = True
    pins: dict[str, dict[str, Literal]] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.kind == "dense":
            return (*self.batch, self.in_features)
        return self.batch

    @property
    def output_shape(self) -> tuple[int, ...]:
        if self.kind == "dense":
            return (*self.batch, self.out_features)
        return self.batch

    @property
    def ops(self) -> tuple[str, ...]:
        return ("affine", "sigmoid") if self.kind == "dense" else ("sigmoid",)

    def line(self, key: str) -> int | None:
        return self.lines.get(key)

    def sources(self) -> list[tuple[str, Source | None, tuple[int, ...]]]:
        """(name, source, shape as written) of "input", "param" and "bias", in draw order."""
        pshape = (
            (self.out_features, self.in_features)
            if self.layout == "weight"
            else (self.in_features, self.out_features)
        )
        return [
            ("input", self.input, self.input_shape),
            ("param", self.param, pshape),
            ("bias", self.bias, (self.out_features,)),
        ]

    @cached_property
    def _draws(self) -> dict[str, np.ndarray]:
        """Generated arrays, drawn once from ``default_rng(seed)`` in the order of sources()."""
        rng = np.random.default_rng(self.seed)
        return {
            name: np.asarray(src.draw(rng, shape), dtype=np.float64)
            for name, src, shape in self.sources()
            if isinstance(src, Generated)
        }

    @cached_property
    def _rounded(self) -> dict[tuple[str, str], np.ndarray]:
        """Generated arrays rounded to a dtype, by (name, dtype), read-only: the planner and
        the reference both ask for them, and rounding a large case's draws costs more than
        reading its cached reference."""
        return {}

    def _values(self, name: str, src: Source | None, dt: D.DType) -> np.ndarray | None:
        if src is None:
            return None
        if isinstance(src, Literal):
            return src.rounded(dt)
        got = self._rounded.get((name, dt.name))
        if got is None:
            got = D.round_float64(self._draws[name], dt)
            got.setflags(write=False)
            self._rounded[(name, dt.name)] = got
        return got

    def arrays(
        self, dtype: str, drawn: tuple[np.ndarray, str, np.ndarray | None] | None = None
    ) -> Arrays:
        """Exact arrays in ``dtype``; an init case needs ``drawn`` = (param, its layout, bias)
        as its owning framework drew them (values of ``dtype``)."""
        dt = D.get(dtype)
        inp = self._values("input", self.input, dt)
        assert inp is not None
        if self.kind == "sigmoid":
            return Arrays(dtype, None, inp, None, None, "")
        if self.init is not None:
            if drawn is None:
                raise ValueError(f"{self.id}: init {self.init} parameters have not been drawn")
            p, layout, b = drawn
            bias = None if b is None else np.asarray(b).astype(np.float64)
            return Arrays(dtype, inp, None, np.asarray(p).astype(np.float64), bias, layout)
        param = self._values("param", self.param, dt)
        assert param is not None
        return Arrays(dtype, inp, None, param, self._values("bias", self.bias, dt), self.layout)
