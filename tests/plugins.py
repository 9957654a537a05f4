"""Adapters used by the tests through ``--adapter tests.plugins:Class``."""

from __future__ import annotations

import os

import numpy as np

from conformance.adapters.base import Adapter, Batch, Item, PathFn, kernel_of


class TinyAdapter(Adapter):
    """A correct pure-NumPy plugin that takes the Keras layout, to exercise translation."""

    name = "tiny"

    def version(self) -> str:
        return "1.0"

    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        def affine(item: Item) -> np.ndarray:
            assert item.x is not None
            y = item.x @ kernel_of(item)
            return y + item.bias if item.bias is not None else y

        return {"x @ K + b": ("affine", affine)}

    def sigmoid_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        return {"expit": ("sigmoid", lambda i: (1 / (1 + np.exp(-i.z))).astype(i.z.dtype))}


class WrongLayoutAdapter(TinyAdapter):
    """Forgets to transpose: uses the (out, in) weight as if it were a kernel."""

    name = "wronglayout"

    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        def affine(item: Item) -> np.ndarray:
            assert item.x is not None and item.param is not None
            w = item.param  # bug under test: layout ignored
            return item.x @ (w if w.shape[0] == item.x.shape[-1] else w.T.T)

        return {"x @ W": ("affine", affine)}


class CrashingAdapter(TinyAdapter):
    """Dies hard (like a segfaulting framework) on its first batch."""

    name = "crashy"

    def run(self, batch: Batch):  # type: ignore[no-untyped-def]
        os.abort()


class MissingAdapter(TinyAdapter):
    name = "missing"
    requires = "no_such_framework_xyz"


class OffByHalfAdapter(TinyAdapter):
    """A wrong affine: the right value plus 0.5."""

    name = "offbyhalf"

    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        right = super().dense_paths(batch)["x @ K + b"][1]
        return {"x @ K + b": ("affine", lambda item: right(item) + 0.5)}
