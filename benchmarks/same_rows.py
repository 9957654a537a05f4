"""Did a change alter any number? Two report directories compared row by row and array by array.

    python benchmarks/same_rows.py BEFORE_DIR AFTER_DIR [--ignore seconds,...]

Rows (``results.json``) are matched by (case, dtype, op, framework, path, mode, device) and
compared field by field, except the timing field ``seconds`` (and any field named with
``--ignore``); non-finite numbers are compared as the strings the file holds, so ``nan`` equals
``nan``. ``outputs.npz`` (every path's output, the references, the sigmoid inputs) is compared
bit for bit where both directories have it. Exit 0: the same; 1: differences (listed); 2: a
file could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROW_KEY = ("case", "dtype", "op", "framework", "path", "mode", "device")
TIMING = ("seconds",)


def _rows(folder: Path) -> dict[tuple[Any, ...], dict[str, Any]]:
    rows = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        out[tuple(r.get(k) for k in ROW_KEY)] = r
    return out


def compare_rows(
    before: dict[tuple[Any, ...], dict[str, Any]],
    after: dict[tuple[Any, ...], dict[str, Any]],
    ignore: tuple[str, ...] = TIMING,
) -> list[str]:
    """One line per difference: a row only on one side, or a field that differs."""
    out = [f"only before: {k}" for k in before if k not in after]
    out += [f"only after: {k}" for k in after if k not in before]
    for k, a in before.items():
        b = after.get(k)
        if b is None:
            continue
        for field in sorted(set(a) | set(b)):
            if field in ignore:
                continue
            if a.get(field) != b.get(field):
                out.append(f"{k}: {field}: {a.get(field)!r} -> {b.get(field)!r}")
    return out


def _arrays(folder: Path) -> dict[tuple[str, ...], np.ndarray] | None:
    path = folder / "outputs.npz"
    if not path.exists():
        return None
    out: dict[tuple[str, ...], np.ndarray] = {}
    with np.load(path, allow_pickle=False) as data:
        index = json.loads(str(data["index"]))
        for i, meta in enumerate(index):
            out[tuple(meta["key"])] = np.asarray(data[f"a{i}"])
    return out


def compare_arrays(
    before: dict[tuple[str, ...], np.ndarray], after: dict[tuple[str, ...], np.ndarray]
) -> list[str]:
    """One line per array present on one side only or not identical bit for bit."""
    out = [f"array only before: {k}" for k in before if k not in after]
    out += [f"array only after: {k}" for k in after if k not in before]
    for k, a in before.items():
        b = after.get(k)
        if b is None:
            continue
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            out.append(f"array differs: {k}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--ignore", default=",".join(TIMING), help="row fields not compared")
    a = ap.parse_args(argv)
    ignore = tuple(f for f in a.ignore.split(",") if f)
    try:
        rows_a, rows_b = _rows(a.before), _rows(a.after)
        arr_a, arr_b = _arrays(a.before), _arrays(a.after)
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    diffs = compare_rows(rows_a, rows_b, ignore)
    arrays = "no outputs.npz on both sides"
    if arr_a is not None and arr_b is not None:
        diffs += compare_arrays(arr_a, arr_b)
        arrays = f"{len(arr_a)} arrays bit for bit"
    for line in diffs[:200]:
        print(line)
    if len(diffs) > 200:
        print(f"... and {len(diffs) - 200} more")
    verdict = "the same" if not diffs else f"{len(diffs)} differences"
    print(f"{len(rows_a)} rows (fields but {', '.join(ignore) or 'none'}), {arrays}: {verdict}")
    return 0 if not diffs else 1


if __name__ == "__main__":
    sys.exit(main())
