"""Deliberately wrong dense layers, plugged in through ``--adapter``, to show that the verdicts
catch them (tests/test_wrong_implementations.py).

:class:`ModelAdapter` computes the way every real framework does on a CPU (the tolerance
model): products summed in float32 or wider (float64 here), rounded to the dtype, the bias
added and rounded again; the sigmoid of that rounded affine value, rounded once. Each subclass
changes one thing, the way real bugs do.
"""

from __future__ import annotations

from typing import Any, ClassVar

import ml_dtypes
import numpy as np

from conformance.adapters.base import Adapter, ApiPath, Batch, Item, PathFn, weight_of

BF16 = np.dtype(ml_dtypes.bfloat16)


def _wide(a: np.ndarray) -> np.ndarray:
    return np.asarray(a).astype(np.float64)


class ModelAdapter(Adapter):
    """Correct: what the tolerance model says every framework does."""

    name = "model"
    init_kinds: ClassVar[dict[str, str]] = {}

    def version(self) -> str:
        return "1.0"

    # the pieces a wrong implementation replaces -------------------------------------------
    def products(self, item: Item) -> np.ndarray:
        """x @ W.T, accumulated wide and rounded once to the dtype. (Not with ``@``: a BLAS
        dot, like a reduction from the identity +0, turns a sum of -0 terms into +0; -0 is
        the identity of IEEE addition.)"""
        assert item.x is not None
        terms = _wide(item.x)[..., None, :] * _wide(weight_of(item))
        return np.add.reduce(terms, axis=-1, initial=-0.0).astype(item.x.dtype)

    def affine(self, item: Item) -> np.ndarray:
        p = self.products(item)
        if item.bias is None:
            return p
        return (_wide(p) + _wide(item.bias)).astype(p.dtype)

    def sigmoid(self, z: np.ndarray) -> np.ndarray:
        return (1.0 / (1.0 + np.exp(-_wide(z)))).astype(z.dtype)

    def finish(self, y: np.ndarray) -> np.ndarray:
        """A last step applied to every output (identity here)."""
        return y

    # paths ---------------------------------------------------------------------------------
    def dense_affine(self, batch: Batch, dev: Any) -> PathFn:
        return lambda item: self.finish(self.affine(item))

    def dense_sigmoid(self, batch: Batch, dev: Any) -> PathFn:
        return lambda item: self.finish(self.sigmoid(self.affine(item)))

    def plain_sigmoid(self, batch: Batch, dev: Any) -> PathFn:
        def fn(item: Item) -> np.ndarray:
            assert item.z is not None
            return self.finish(self.sigmoid(item.z))

        return fn

    paths = (
        ApiPath("affine", "affine", "dense", dense_affine),
        ApiPath("sigmoid(affine)", "sigmoid", "dense", dense_sigmoid),
        ApiPath("sigmoid", "sigmoid", "sigmoid", plain_sigmoid),
    )


class ZeroAdapter(ModelAdapter):
    """Returns zeros of the right shape and dtype."""

    name = "zero"

    def finish(self, y: np.ndarray) -> np.ndarray:
        return np.zeros_like(y)


class NegatedAdapter(ModelAdapter):
    """Returns the negated output: -(x @ W.T + b), -sigmoid."""

    name = "negated"

    def finish(self, y: np.ndarray) -> np.ndarray:
        return -y


class OneMinusSigmoidAdapter(ModelAdapter):
    """sigmoid(-z) = 1 - sigmoid(z): the sign of the logit lost."""

    name = "oneminus"

    def sigmoid(self, z: np.ndarray) -> np.ndarray:
        return (1.0 - 1.0 / (1.0 + np.exp(-_wide(z)))).astype(z.dtype)


class Bfloat16RoundedAdapter(ModelAdapter):
    """Every output passes through bfloat16 on its way out (a lower-precision buffer)."""

    name = "viabf16"

    def finish(self, y: np.ndarray) -> np.ndarray:
        return y.astype(BF16).astype(y.dtype)


class DtypeAccumulationAdapter(ModelAdapter):
    """Sums the products one by one in the dtype itself (float16 accumulating in float16):
    what the default float32-accumulation model must catch."""

    name = "dtypeacc"

    def products(self, item: Item) -> np.ndarray:
        assert item.x is not None
        w = weight_of(item)
        dt = item.x.dtype
        x = item.x.reshape(-1, item.x.shape[-1])
        acc = np.zeros((x.shape[0], w.shape[0]), dtype=dt)
        for k in range(x.shape[1]):
            term = (_wide(x[:, k])[:, None] * _wide(w[:, k])[None, :]).astype(dt)
            acc = (_wide(acc) + _wide(term)).astype(dt)
        return acc.reshape((*item.x.shape[:-1], w.shape[0]))


class LostNegativeZeroAdapter(ModelAdapter):
    """Correct values, but every -0 comes out +0 (``y + 0.0``)."""

    name = "lostzero"

    def finish(self, y: np.ndarray) -> np.ndarray:
        return (y + np.zeros((), y.dtype)).astype(y.dtype)


class DroppedBiasAdapter(ModelAdapter):
    """Forgets the bias."""

    name = "nobias"

    def affine(self, item: Item) -> np.ndarray:
        return self.products(item)


class TransposedWeightAdapter(ModelAdapter):
    """Uses the (out, in) weight as an (in, out) kernel: only a square layer runs at all."""

    name = "transposed"

    def products(self, item: Item) -> np.ndarray:
        assert item.x is not None
        terms = _wide(item.x)[..., None, :] * _wide(weight_of(item)).T
        return np.add.reduce(terms, axis=-1, initial=-0.0).astype(item.x.dtype)


class BiasAlongBatchAdapter(ModelAdapter):
    """Adds the bias along the batch axis (``b[:, None]``): runs only where batch equals
    out_features, and is wrong there."""

    name = "biasbatch"

    def affine(self, item: Item) -> np.ndarray:
        p = self.products(item)
        if item.bias is None:
            return p
        return (_wide(p) + _wide(item.bias)[:, None]).astype(p.dtype)


WRONG: tuple[type[ModelAdapter], ...] = (
    ZeroAdapter,
    NegatedAdapter,
    OneMinusSigmoidAdapter,
    Bfloat16RoundedAdapter,
    DtypeAccumulationAdapter,
    LostNegativeZeroAdapter,
    DroppedBiasAdapter,
    TransposedWeightAdapter,
    BiasAlongBatchAdapter,
)
