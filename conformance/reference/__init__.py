"""The exact reference: correctly rounded ``x @ W.T + b`` and ``sigmoid`` of that exact value.

``affine`` encloses the exact sums with error-free matrix products at BLAS speed and rounds
them once to the dtype; ``sigmoid`` evaluates σ of the *exact* sum (never of a rounded one) in
double-double arithmetic, falling back to exact rationals and high-precision ``decimal`` where
an element is too close to a rounding boundary to decide; ``rounding`` holds Ziv's test and
``eft`` the error-free transformations. docs/numerics.md states the method and its bounds.

IEEE special values follow IEEE semantics: nan propagates, ``inf·0`` and ``+inf + -inf`` are
nan, an exact zero sum is -0 only when every term is -0, a nonzero sum that rounds to zero
keeps its sign, and an empty sum (in_features = 0) is the bias itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .. import dtypes as D
from . import cache
from .affine import affine_map
from .sigmoid import sigmoid_of

__all__ = ["Reference", "compute", "reference"]


@dataclass
class Reference:
    """Reference outputs of one case in one dtype (float64 arrays of dtype values), and the
    magnitudes the tolerances are built from (dense cases only)."""

    affine: np.ndarray | None
    sigmoid: np.ndarray
    abs_sum: np.ndarray | None  # sum |x_i w_i| + |b| per output (rounded up)
    products: np.ndarray | None  # sum x_i w_i per output, without the bias (approximate)

    def of(self, op: str) -> np.ndarray:
        """The reference output of ``op`` ("affine" or "sigmoid")."""
        values = self.affine if op == "affine" else self.sigmoid
        if values is None:
            raise ValueError(f"no {op} reference for a sigmoid-only case")
        return values


def reference(
    dtype: str,
    x: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    z: np.ndarray | None = None,
) -> Reference:
    """Reference outputs for one case in one dtype: sigmoid-only when ``z`` is given, else the
    dense layer of ``x`` (..., n), ``weight`` (m, n) and ``bias`` (m,) or None. Inputs are
    float64 arrays whose values are exactly representable in ``dtype``. Results come from the
    on-disk cache (:mod:`.cache`) when it holds them."""
    store = cache.current()
    if store is None:
        return compute(dtype, x, weight, bias, z)
    key = store.key(dtype, {"x": x, "weight": weight, "bias": bias, "z": z})
    hit = store.load(key)
    if hit is not None:
        sig = hit["sigmoid"]
        assert sig is not None
        return Reference(hit["affine"], sig, hit["abs_sum"], hit["products"])
    start = time.perf_counter()
    ref = compute(dtype, x, weight, bias, z)
    if time.perf_counter() - start >= cache.WORTH_SECONDS:
        store.store(key, vars(ref))
    return ref


def compute(
    dtype: str,
    x: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    z: np.ndarray | None = None,
) -> Reference:
    """:func:`reference` without the cache."""
    dt = D.get(dtype)
    if z is not None:
        zz = np.asarray(z, dtype=np.float64)
        zeros = np.zeros(zz.shape)
        sig = sigmoid_of(zz, zeros, zeros, lambda i: Fraction(float(zz[i])), dt)
        return Reference(None, sig, None, None)
    if x is None or weight is None:
        raise ValueError("a dense reference needs x and weight (or z for sigmoid only)")
    aff = affine_map(x, weight, bias, dt)
    enc = aff.enclosure
    sig = sigmoid_of(enc.hi, enc.lo, enc.err, aff.exact, dt, aff.refine)
    return Reference(aff.values, sig, aff.abs_sum, aff.products)
