"""NumPy: what users hand-write — ``x @ W.T + b`` and the textbook ``1/(1+np.exp(-z))``.

Quirk: NumPy has no bfloat16 of its own; with ml_dtypes' bfloat16, ``x @ W.T`` returns float32.
The dense paths round such results back to the input dtype once (``.astype``), as a user
keeping a bfloat16 pipeline must; float16/32/64 results are returned untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Adapter, ApiPath, Batch, Item, PathFn, weight_of


def _affine(item: Item) -> np.ndarray:
    assert item.x is not None
    y = item.x @ weight_of(item).T
    if item.bias is not None:
        y = y + item.bias
    return y.astype(item.x.dtype, copy=False)  # bfloat16: see the module docstring


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-z) = inf for very negative z: 1/inf = 0, as intended
        return 1 / (1 + np.exp(-z))


class NumpyAdapter(Adapter):
    name = "numpy"
    requires = "numpy"

    repro_prelude = """
        if DTYPE == "bfloat16":
            import ml_dtypes  # NumPy's bfloat16

            dt = np.dtype(ml_dtypes.bfloat16)
        else:
            dt = np.dtype(DTYPE)

        def T(a):  # exact: a holds values of DTYPE
            return np.asarray(a).astype(dt)

        def to_numpy(y):
            return np.asarray(y).astype(np.float64)
    """

    def version(self) -> str:
        return np.__version__

    # -- paths ----------------------------------------------------------------------------------
    def matmul_add(self, batch: Batch, dev: Any) -> PathFn:
        return _affine

    def matmul_add_sigmoid(self, batch: Batch, dev: Any) -> PathFn:
        def fn(item: Item) -> np.ndarray:
            z = _affine(item)
            return _sigmoid(z).astype(z.dtype, copy=False)

        return fn

    def sigmoid(self, batch: Batch, dev: Any) -> PathFn:
        def fn(item: Item) -> np.ndarray:
            assert item.z is not None
            return _sigmoid(item.z)

        return fn

    paths = (
        ApiPath(
            "x @ W.T + b",
            "affine",
            "dense",
            matmul_add,
            """
            y = T(x) @ T($weight).T
            if b is not None:
                y = y + T(b)
            y = y.astype(dt, copy=False)
            """,
        ),
        ApiPath(
            "1/(1+np.exp(-(x @ W.T + b)))",
            "sigmoid",
            "dense",
            matmul_add_sigmoid,
            """
            y = T(x) @ T($weight).T
            if b is not None:
                y = y + T(b)
            y = y.astype(dt, copy=False)
            with np.errstate(over="ignore"):
                y = (1 / (1 + np.exp(-y))).astype(dt, copy=False)
            """,
        ),
        ApiPath(
            "1/(1+np.exp(-z))",
            "sigmoid",
            "sigmoid",
            sigmoid,
            """
            with np.errstate(over="ignore"):
                y = 1 / (1 + np.exp(-T(z)))
            """,
        ),
    )
