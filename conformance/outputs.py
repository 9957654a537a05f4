"""The outputs side file (``outputs.npz``): each path's output array, the reference, the input.

Result rows hold summary metrics only; the agreement matrix (max ULP between two framework
paths) and the sigmoid error plots need the arrays themselves. ``conformance run`` keeps them
here, next to ``results.json``, keyed like the rows:

- ``output``    one per row that produced an array: key (case, dtype, op, framework, path,
  mode, device);
- ``reference`` the exact reference, correctly rounded to the dtype: key (case, dtype, op);
- ``input``     what the sigmoid was applied to: key (case, dtype, "sigmoid") — ``z`` for
  sigmoid-only cases, the correctly rounded exact affine value for dense cases;
- ``inputs`` and ``expected``, for (case, dtype) units with a failing or erroring row: what
  the reproduction programs need (:class:`Inputs`: the case's arrays as written, or how to
  redraw them; the case's expected values in the dtype), so the report never re-reads a case
  file.

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

import ml_dtypes
import numpy as np

from . import dtypes as D
from .cases import Arrays, Case
from .distributions import Generated
from .results import Row

OUTPUTS_FILE = "outputs.npz"
MAX_SAVED = 1 << 18  # elements kept per array (256 Ki): ~1 MiB for float32


@dataclass(frozen=True)
class Stored:
    raw: np.ndarray  # flattened (strided when ``stride > 1``), in its storage dtype
    shape: tuple[int, ...]  # the original shape
    stride: int

    @property
    def values(self) -> np.ndarray:
        """The values as float64 (kept in their own dtype: a run holds every output until
        the report, and float32 halves that)."""
        return self.raw.astype(np.float64)

    @property
    def sampled(self) -> bool:
        return self.stride > 1


#: a unit with at most this many input values keeps them all (its program writes them out)
INPUTS_ALL = 256
#: larger arrays are kept only when they cannot be redrawn (explicit or drawn by an init)
INPUTS_MAX = 1 << 16
INPUT_NAMES = ("input", "param", "bias")


@dataclass(frozen=True)
class Inputs:
    """What rebuilds one case's arrays in one dtype, for its reproduction programs."""

    kind: str  # "dense" (input is x) or "sigmoid" (input is z)
    layout: str  # of "param": "weight" (out, in) or "kernel" (in, out); "" for sigmoid
    seed: int
    shapes: dict[str, tuple[int, ...]]  # per name in INPUT_NAMES that the unit has
    values: dict[str, np.ndarray]  # exact values kept (float64 holding dtype values)
    #: generated arrays in draw order: (name, distribution, parameters)
    draws: tuple[tuple[str, str, dict[str, float]], ...] = ()

    @classmethod
    def of(cls, case: Case, arrays: Arrays) -> Inputs:
        have = {"input": arrays.x if arrays.x is not None else arrays.z}
        have.update(param=arrays.param, bias=arrays.bias)
        given = {k: np.asarray(v, dtype=np.float64) for k, v in have.items() if v is not None}
        draws = tuple(
            (name, src.distribution, dict(src.params))
            for name, src, _shape in case.sources()
            if isinstance(src, Generated) and name in given
        )
        drawn = {d[0] for d in draws}
        small = sum(a.size for a in given.values()) <= INPUTS_ALL
        values = {
            k: a for k, a in given.items() if small or (k not in drawn and a.size <= INPUTS_MAX)
        }
        shapes = {k: tuple(int(n) for n in a.shape) for k, a in given.items()}
        return cls(case.kind, arrays.layout, case.seed, shapes, values, draws)

    def meta(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "layout": self.layout,
            "seed": self.seed,
            "shapes": {k: list(v) for k, v in self.shapes.items()},
            "draws": [[n, d, p] for n, d, p in self.draws],
        }

    @classmethod
    def from_meta(cls, meta: Any, values: dict[str, np.ndarray]) -> Inputs:
        """Checked: ``outputs.npz`` is read from wherever a report is rendered."""
        if not isinstance(meta, dict):
            raise ValueError("inputs: not a mapping")
        kind, layout, seed = meta.get("kind"), meta.get("layout"), meta.get("seed")
        shapes, draws = meta.get("shapes"), meta.get("draws")
        ok = (
            kind in ("dense", "sigmoid")
            and layout in ("weight", "kernel", "")
            and isinstance(seed, int)
            and isinstance(shapes, dict)
            and all(
                k in INPUT_NAMES and isinstance(v, list) and all(isinstance(n, int) for n in v)
                for k, v in shapes.items()
            )
            and isinstance(draws, list)
            and all(
                isinstance(d, list)
                and len(d) == 3
                and d[0] in INPUT_NAMES
                and isinstance(d[1], str)
                and isinstance(d[2], dict)
                and all(isinstance(v, (int, float)) for v in d[2].values())
                for d in draws
            )
        )
        if not ok:
            raise ValueError("inputs: malformed record")
        assert isinstance(shapes, dict) and isinstance(draws, list) and isinstance(seed, int)
        return cls(
            str(kind),
            str(layout),
            seed,
            {str(k): tuple(v) for k, v in shapes.items()},
            values,
            tuple((n, d, {str(k): float(v) for k, v in p.items()}) for n, d, p in draws),
        )


def row_key(row: Row) -> tuple[str, ...]:
    return (row.case, row.dtype, row.op, row.framework, row.path, row.mode, row.device)


class OutputStore:
    """Arrays of one or more runs, keyed as described in the module docstring."""

    def __init__(self) -> None:
        self._arrays: dict[tuple[str, ...], Stored] = {}
        self._inputs: dict[tuple[str, str], dict[str, Any]] = {}  # (case, dtype) -> meta

    def __len__(self) -> int:
        return len(self._arrays)

    # -- adding --------------------------------------------------------------------------------
    def _put(self, key: tuple[str, ...], values: np.ndarray) -> None:
        arr = np.asarray(values, dtype=np.float64)
        flat = arr.reshape(-1)
        stride = max(1, math.ceil(flat.size / MAX_SAVED))
        kept = flat[::stride]
        dt = D.DTYPES.get(key[2], D.FLOAT64)  # a value outside the dtype keeps float64
        raw = kept.astype(dt.np) if dt.p < 53 and _representable(kept, dt) else kept.copy()
        self._arrays[key] = Stored(raw, tuple(arr.shape), stride)

    def add_output(self, row: Row, y: np.ndarray) -> None:
        self._put(("output", *row_key(row)), np.asarray(y).astype(np.float64))

    def add_reference(self, case: str, dtype: str, op: str, values: np.ndarray) -> None:
        self._put(("reference", case, dtype, op), values)

    def add_input(self, case: str, dtype: str, values: np.ndarray) -> None:
        self._put(("input", case, dtype, "sigmoid"), values)

    def add_inputs(self, case: str, dtype: str, inputs: Inputs) -> None:
        self._inputs[(case, dtype)] = inputs.meta()
        for name, values in inputs.values.items():
            self._put(("inputs", case, dtype, name), values)

    def add_expected(self, case: str, dtype: str, op: str, values: np.ndarray) -> None:
        """The case's expected values of ``op`` in ``dtype`` (what its rows are judged by)."""
        self._put(("expected", case, dtype, op), values)

    def update(self, other: OutputStore) -> None:
        self._arrays.update(other._arrays)
        self._inputs.update(other._inputs)

    # -- reading -------------------------------------------------------------------------------
    def output(self, row: Row) -> Stored | None:
        return self._arrays.get(("output", *row_key(row)))

    def reference(self, case: str, dtype: str, op: str) -> Stored | None:
        return self._arrays.get(("reference", case, dtype, op))

    def input(self, case: str, dtype: str) -> Stored | None:
        return self._arrays.get(("input", case, dtype, "sigmoid"))

    def inputs(self, case: str, dtype: str) -> Inputs | None:
        meta = self._inputs.get((case, dtype))
        if meta is None:
            return None
        values = {}
        for name in INPUT_NAMES:
            st = self._arrays.get(("inputs", case, dtype, name))
            if st is not None:
                values[name] = st.values.reshape(st.shape)
        return Inputs.from_meta(meta, values)

    def expected(self, case: str, dtype: str, op: str) -> Stored | None:
        return self._arrays.get(("expected", case, dtype, op))

    # -- files ---------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        index: list[dict[str, Any]] = []
        arrays: dict[str, np.ndarray] = {}
        for i, (key, st) in enumerate(self._arrays.items()):
            native = st.raw
            store_as = "bfloat16" if native.dtype == ml_dtypes.bfloat16 else native.dtype.name
            if store_as == "bfloat16":
                native = native.view(np.uint16)
            arrays[f"a{i}"] = native
            index.append(
                {"key": list(key), "dtype": store_as, "shape": list(st.shape), "stride": st.stride}
            )
        arrays["index"] = np.array(json.dumps(index))
        inputs = [{"key": list(k), "inputs": m} for k, m in self._inputs.items()]
        arrays["inputs"] = np.array(json.dumps(inputs))
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
                if raw.dtype not in _KEPT_DTYPES:  # a file's own choice: read as float64
                    raw = raw.astype(np.float64)
                store._arrays[tuple(meta["key"])] = Stored(
                    raw, tuple(meta["shape"]), int(meta["stride"])
                )
            if "inputs" in data:
                for entry in json.loads(str(data["inputs"])):
                    case, dtype = (str(k) for k in entry["key"])
                    store._inputs[(case, dtype)] = entry["inputs"]
        return store


_KEPT_DTYPES = tuple(np.dtype(d.np) for d in D.DTYPES.values())


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
