"""Result rows: the one record every report, gate and export is built from.

A row is one (case, dtype, op, framework, path, mode) outcome. ``results.json`` is a list of
row objects; non-finite floats are written as the strings "inf", "-inf" and "nan" so the
file stays strict JSON. ``results.csv`` has the same columns (``settings`` as a JSON string).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

STATUSES = ("pass", "fail", "error", "skip", "known")


@dataclass
class Row:
    case: str
    file: str
    dtype: str
    op: str
    framework: str
    framework_version: str
    path: str
    mode: str
    device: str
    status: str
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    max_ulp: float | None = None
    tolerance: str = ""
    message: str = ""
    against: str = ""  # "expected" or "reference"
    ref_max_abs_err: float | None = None
    ref_max_ulp: float | None = None
    n: int = 0
    worst_index: str = ""
    worst_value: float | None = None
    worst_target: float | None = None
    seconds: float = 0.0
    settings: dict[str, str] = field(default_factory=dict)
    #: largest element error divided by its allowance (1.0 = exactly at the tolerance)
    budget_used: float | None = None
    #: elements that are a zero of the wrong sign (+0 where the reference is -0, or -0 for +0)
    wrong_sign_zeros: int = 0

    def to_json(self) -> dict[str, Any]:
        return {k: _enc(v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Row:
        names = {f.name for f in fields(cls)}
        kwargs = {k: _dec(k, v) for k, v in obj.items() if k in names}
        return cls(**kwargs)


FLOAT_FIELDS = {
    "max_abs_err",
    "max_rel_err",
    "max_ulp",
    "ref_max_abs_err",
    "ref_max_ulp",
    "worst_value",
    "worst_target",
    "budget_used",
}
COLUMNS = [f.name for f in fields(Row)]


def _enc(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _dec(key: str, v: Any) -> Any:
    if key in FLOAT_FIELDS and v is not None and v != "":
        return float(v)
    if key in FLOAT_FIELDS and v == "":
        return None
    if key == "settings" and isinstance(v, str):
        return json.loads(v) if v else {}
    if key in ("n", "wrong_sign_zeros"):
        return int(v or 0)
    if key == "seconds":
        return float(v or 0.0)
    return v


def write_json(rows: list[Row], path: Path) -> None:
    path.write_text(json.dumps([r.to_json() for r in rows], indent=1) + "\n", encoding="utf-8")


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            d = r.to_json()
            d["settings"] = json.dumps(d["settings"], sort_keys=True)
            w.writerow(d)


def read_rows(path: Path) -> list[Row]:
    """Rows from ``results.json``/``results.csv`` or a report directory holding one."""
    if path.is_dir():
        for name in ("results.json", "results.csv"):
            if (path / name).exists():
                return read_rows(path / name)
        raise FileNotFoundError(f"{path}: no results.json or results.csv")
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            return [Row.from_json(dict(d)) for d in csv.DictReader(fh)]
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "rows" in data:
        data = data["rows"]
    return [Row.from_json(d) for d in data]
