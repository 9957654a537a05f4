"""Seeded random arrays of generated case inputs and parameters.

Every framework gets the same arrays: they are drawn once per case from
``numpy.random.default_rng(seed)`` in the order x/z, parameter, bias, then rounded to each dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Generated:
    distribution: str
    params: dict[str, float]

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        p = self.params
        if self.distribution == "uniform":
            return rng.uniform(p.get("low", -1.0), p.get("high", 1.0), size=shape)
        if self.distribution == "normal":
            return rng.normal(p.get("mean", 0.0), p.get("std", 1.0), size=shape)
        if self.distribution == "student_t":
            return rng.standard_t(p.get("df", 3.0), size=shape) * p.get("scale", 1.0)
        raise AssertionError(self.distribution)
