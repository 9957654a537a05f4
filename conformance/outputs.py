"""The outputs side file (``outputs.npz``): each path's output array, the reference, the input.

Result rows hold summary metrics only; the agreement matrix (max ULP between two framework
paths) and the sigmoid error plots need the arrays themselves. ``conformance run`` keeps them
here, next to ``results.json``, keyed like the rows:

- ``output``    one per row that produced an array: key (case, dtype, op, framework, path,
  mode, device);
- ``reference`` the exact reference, correctly rounded to the dtype: key (case, dtype, op);
- ``input``     what the sigmoid was applied to: key (case, dtype, "sigmoid") — ``z`` for
  sigmoid-only cases, the correctly rounded exact affine value for dense cases.

Values are stored in their own dtype (bfloat16 as its 16 bits). An array with more than
:data:`MAX_SAVED` elements is stored with a stride (every k-th element of the flattened
array, the same k for every array of that case), and everything computed from it is marked
as a lower bound.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import dtypes as D
from .results import Row

OUTPUTS_FILE = "outputs.npz"
MAX_SAVED = 1 << 18  # elements kept per array (256 Ki): ~1 MiB for float32


@dataclass(frozen=True)
class Stored:
    values: np.ndarray  # float64, flattened (strided when ``stride > 1``)
    shape: tuple[int, ...]  # the original shape
    stride: int

    @property
    def sampled(self) -> bool:
        return self.stride > 1


def row_key(row: Row) -> tuple[str, ...]:
    return (row.case, row.dtype, row.op, row.framework, row.path, row.mode, row.device)


class OutputStore:
    """Arrays of one or more runs, keyed as described in the module docstring."""

    def __init__(self) -> None:
        self._arrays: dict[tuple[str, ...], Stored] = {}

    def __len__(self) -> int:
        return len(self._arrays)

    # -- adding --------------------------------------------------------------------------------
    def _put(self, key: tuple[str, ...], values: np.ndarray) -> None:
        arr = np.asarray(values, dtype=np.float64)
        flat = arr.reshape(-1)
        stride = max(1, math.ceil(flat.size / MAX_SAVED))
        self._arrays[key] = Stored(flat[::stride].copy(), tuple(arr.shape), stride)

    def add_output(self, row: Row, y: np.ndarray) -> None:
        self._put(("output", *row_key(row)), np.asarray(y).astype(np.float64))

    def add_reference(self, case: str, dtype: str, op: str, values: np.ndarray) -> None:
        self._put(("reference", case, dtype, op), values)

    def add_input(self, case: str, dtype: str, values: np.ndarray) -> None:
        self._put(("input", case, dtype, "sigmoid"), values)

    def update(self, other: OutputStore) -> None:
        self._arrays.update(other._arrays)

    # -- reading -------------------------------------------------------------------------------
    def output(self, row: Row) -> Stored | None:
        return self._arrays.get(("output", *row_key(row)))

    def reference(self, case: str, dtype: str, op: str) -> Stored | None:
        return self._arrays.get(("reference", case, dtype, op))

    def input(self, case: str, dtype: str) -> Stored | None:
        return self._arrays.get(("input", case, dtype, "sigmoid"))

    # -- files ---------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        index: list[dict[str, Any]] = []
        arrays: dict[str, np.ndarray] = {}
        for i, (key, st) in enumerate(self._arrays.items()):
            store_as = key[2] if key[2] in D.DTYPES else "float64"
            dt = D.get(store_as)
            vals = st.values
            if not _representable(vals, dt):
                store_as, dt = "float64", D.FLOAT64
            native = vals.astype(dt.np)
            if store_as == "bfloat16":
                native = native.view(np.uint16)
            arrays[f"a{i}"] = native
            index.append(
                {"key": list(key), "dtype": store_as, "shape": list(st.shape), "stride": st.stride}
            )
        arrays["index"] = np.array(json.dumps(index))
        with path.open("wb") as fh:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> OutputStore:
        store = cls()
        with np.load(path, allow_pickle=False) as data:
            index = json.loads(str(data["index"]))
            for i, meta in enumerate(index):
                dt = D.get(meta["dtype"])
                raw = data[f"a{i}"]
                if dt.name == "bfloat16":
                    raw = raw.view(dt.np)
                store._arrays[tuple(meta["key"])] = Stored(
                    raw.astype(np.float64), tuple(meta["shape"]), int(meta["stride"])
                )
        return store


def _representable(values: np.ndarray, dt: D.DType) -> bool:
    if dt.p == 53:
        return True
    back = values.astype(dt.np).astype(np.float64)
    same = (back == values) | (np.isnan(back) & np.isnan(values))
    return bool(np.all(same))


def load_beside(results: Path) -> OutputStore | None:
    """The ``outputs.npz`` next to a results file (or inside a report directory), if any."""
    folder = results if results.is_dir() else results.parent
    path = folder / OUTPUTS_FILE
    return OutputStore.load(path) if path.exists() else None
