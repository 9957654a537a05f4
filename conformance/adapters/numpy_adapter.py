"""NumPy: what users hand-write — ``x @ W.T + b`` and the textbook ``1/(1+np.exp(-z))``.

NumPy has no bfloat16 of its own: with ml_dtypes' bfloat16, ``x @ W.T`` returns float32. The
adapter rounds such results back to the input dtype once (``.astype``), as a user keeping a
bfloat16 pipeline must; float16/32/64 results are returned untouched.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from .base import Adapter, Batch, Item, PathFn, weight_of


class NumpyAdapter(Adapter):
    name = "numpy"
    requires = "numpy"

    def version(self) -> str:
        return np.__version__

    def settings(self) -> dict[str, str]:
        out = {}
        for info in threadpool_info():
            if info.get("user_api") == "blas":
                out["blas"] = f"{info.get('internal_api')} {info.get('version')}"
                out["blas_threads"] = str(info.get("num_threads"))
                break
        return out

    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        def affine(item: Item) -> np.ndarray:
            assert item.x is not None
            y = item.x @ weight_of(item).T
            y = y + item.bias if item.bias is not None else y
            return y.astype(item.x.dtype, copy=False)

        def sigmoid(item: Item) -> np.ndarray:
            z = affine(item)
            with np.errstate(over="ignore"):
                return (1 / (1 + np.exp(-z))).astype(z.dtype, copy=False)

        return {
            "x @ W.T + b": ("affine", affine),
            "1/(1+np.exp(-(x @ W.T + b)))": ("sigmoid", sigmoid),
        }

    def sigmoid_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        def sigmoid(item: Item) -> np.ndarray:
            assert item.z is not None
            with np.errstate(over="ignore"):
                return 1 / (1 + np.exp(-item.z))

        return {"1/(1+np.exp(-z))": ("sigmoid", sigmoid)}
