"""Seeded random arrays of generated case inputs and parameters.

Every framework gets the same arrays: they are drawn once per case from
``numpy.random.default_rng(seed)`` in the order x/z, parameter, bias, then rounded to each dtype.

Each distribution is declared once, in :data:`DISTRIBUTIONS`: the ``numpy.random.Generator``
method, its arguments with their defaults, and an optional scale factor. :meth:`Generated.draw`
calls it and :meth:`Generated.source` writes the same call as Python text (for reproduction
programs), so a standalone program draws bitwise the same values as the suite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Distribution:
    method: str  # numpy.random.Generator method
    args: tuple[tuple[str, float], ...]  # (case-file key, default), passed positionally
    scale: tuple[str, float] | None = None  # (case-file key, default) multiplying the draw


DISTRIBUTIONS: dict[str, Distribution] = {
    "uniform": Distribution("uniform", (("low", -1.0), ("high", 1.0))),
    "normal": Distribution("normal", (("mean", 0.0), ("std", 1.0))),
    "student_t": Distribution("standard_t", (("df", 3.0),), scale=("scale", 1.0)),
}


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
