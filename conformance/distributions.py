"""Seeded random arrays of generated case inputs and parameters.

Every framework gets the same arrays: they are drawn once per case from
``numpy.random.default_rng(seed)`` in the order x/z, parameter, bias, then rounded to each dtype.

Each distribution is declared once, in :data:`DISTRIBUTIONS`: the ``numpy.random.Generator``
method, its arguments with their defaults, and an optional scale factor. :meth:`Generated.draw`
calls it and :meth:`Generated.source` writes the same call as Python text (for reproduction
programs), so a standalone program draws bitwise the same values as the suite.

:func:`generated` checks a distribution before anything is drawn: only its own parameters,
finite values, ``low <= high`` (equal bounds draw a constant array), ``df >= 1``, and a range
every dtype of the case can hold (the uniform bounds, or ``|mean| + 10·std`` for a normal), so
no draw can fail, overflow or fill an array with inf.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .dtypes import DType


@dataclass(frozen=True)
class Distribution:
    method: str  # numpy.random.Generator method
    args: tuple[tuple[str, float], ...]  # (case-file key, default), passed positionally
    scale: tuple[str, float] | None = None  # (case-file key, default) multiplying the draw

    @property
    def parameters(self) -> dict[str, float]:
        """Every case-file key with its default."""
        return dict(self.args + ((self.scale,) if self.scale else ()))


DISTRIBUTIONS: dict[str, Distribution] = {
    "uniform": Distribution("uniform", (("low", -1.0), ("high", 1.0))),
    "normal": Distribution("normal", (("mean", 0.0), ("std", 1.0))),
    "student_t": Distribution("standard_t", (("df", 3.0),), scale=("scale", 1.0)),
}
# A normal's range is taken as mean ± NORMAL_SPAN·std (a 10-sigma draw has probability 2e-23).
NORMAL_SPAN = 10.0
# Below one degree of freedom Student's t has no mean and its draws overflow every narrow dtype.
MIN_DF = 1.0


@dataclass(frozen=True)
class Generated:
    distribution: str  # a key of DISTRIBUTIONS
    params: dict[str, float]

    def _spec(self) -> tuple[Distribution, list[float], float | None]:
        d = DISTRIBUTIONS[self.distribution]
        args = [float(self.params.get(k, default)) for k, default in d.args]
        scale = None if d.scale is None else float(self.params.get(*d.scale))
        return d, args, scale

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """The next ``shape`` values from ``rng``."""
        d, args, scale = self._spec()
        out = np.asarray(getattr(rng, d.method)(*args, size=shape), dtype=np.float64)
        return out if scale is None else out * scale

    def source(self, shape: tuple[int, ...], rng: str = "rng") -> str:
        """Python text of :meth:`draw` on a ``numpy.random.Generator`` named ``rng``: evaluated
        with the same generator state, it gives bitwise the same array."""
        d, args, scale = self._spec()
        call = f"{rng}.{d.method}({', '.join(_py(a) for a in args)}, size={tuple(shape)!r})"
        return call if scale is None else f"{call} * {_py(scale)}"


def _py(v: float) -> str:
    """A Python expression for ``v`` (``repr`` of inf and nan is not one)."""
    return repr(v) if math.isfinite(v) else f"float('{v!r}')"


class ParameterError(ValueError):
    """A bad distribution parameter; ``key`` names it ("distribution" for the whole)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def generated(spec: Mapping[Any, Any], dtypes: Sequence[DType]) -> Generated:
    """A checked :class:`Generated` from a case file's ``{distribution: ..., ...}`` mapping,
    for a case run in ``dtypes``; raises :class:`ParameterError`."""
    name = spec.get("distribution")
    if name not in DISTRIBUTIONS:
        known = ", ".join(DISTRIBUTIONS)
        raise ParameterError("distribution", f"unknown distribution {name!r} (one of {known})")
    allowed = DISTRIBUTIONS[name].parameters
    params: dict[str, float] = {}
    for key, value in spec.items():
        if key == "distribution":
            continue
        if key not in allowed:
            raise ParameterError(
                str(key),
                f"{key!r} is not a parameter of {name} (its parameters: {', '.join(allowed)})",
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(key, f"{key} must be a number")
        number = float(value)
        if not math.isfinite(number):
            raise ParameterError(key, f"{key} must be finite, not {number}")
        # a spread of -0.0 is 0 (NumPy refuses a scale whose sign bit is set)
        params[key] = number + 0.0 if key in ("std", "scale") else number
    p = {**allowed, **params}
    limit = min((dt.max for dt in dtypes), default=math.inf)
    where = min(dtypes, key=lambda dt: dt.max).name if dtypes else ""
    if name == "uniform":
        if not p["low"] <= p["high"]:
            raise ParameterError(
                "high", f"low ({p['low']:g}) must not be above high ({p['high']:g})"
            )
        if not math.isfinite(p["high"] - p["low"]):
            raise ParameterError("high", "high - low overflows float64")
        reach, what = max(abs(p["low"]), abs(p["high"])), "the bounds"
        widest = "low" if abs(p["low"]) >= abs(p["high"]) else "high"
    elif name == "normal":
        if p["std"] < 0:
            raise ParameterError("std", "std must be at least 0")
        reach, what = abs(p["mean"]) + NORMAL_SPAN * p["std"], f"|mean| + {NORMAL_SPAN:g}·std"
        widest = "std" if "std" in params else "mean"
    else:
        if p["df"] < MIN_DF:
            raise ParameterError("df", f"df must be at least {MIN_DF:g}")
        if p["scale"] < 0:
            raise ParameterError("scale", "scale must be at least 0")
        reach, what, widest = p["scale"], "scale", "scale"
    if reach > limit:
        key = widest if widest in params else "distribution"
        raise ParameterError(
            key, f"{what} reach {reach:g}, beyond {where}'s largest finite value {limit:g}"
        )
    return Generated(name, params)
