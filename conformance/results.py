"""Result rows: the one record every report, gate and export is built from.

A row is one (case, dtype, op, framework, path, mode, device) outcome. Three file formats hold
rows, all read by :func:`read_rows`:

- ``results.json``  a list of row objects (or ``{"rows": [...]}``);
- ``results.jsonl`` one row object per line (JSON Lines), appended by :class:`RowStream` while a
  run goes, so a killed run keeps its finished rows;
- ``results.csv``   the same columns, ``settings`` as a JSON string, string cells that a
  spreadsheet would evaluate as a formula prefixed with ``'`` (:func:`escape.csv_cell`).

Non-finite floats are written as the strings ``"inf"``, ``"-inf"`` and ``"nan"`` so the files
stay strict JSON; :func:`json_value` is the one place that encoding is done.

Result files come from other machines, other versions and pull requests, so reading one
validates it against a schema derived from the :class:`Row` dataclass (:data:`FIELD_KINDS`: a
field's type decides what a file may hold for it) within bounds (:data:`MAX_FILE_BYTES`,
:data:`MAX_TEXT`, :data:`MAX_INT_DIGITS`; nothing nests deeper than a row's ``settings``).
Anything else is a :class:`ResultsError` (exit 2) saying ``FILE: row N: field: reason``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sys
import typing
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from . import boundedio, escape
from .errors import UsageError

STATUSES = ("pass", "fail", "error", "skip", "known")
#: how the message of an ``error`` row that never ran (the run was interrupted) starts
INTERRUPTED = "interrupted"


def never_ran(row: Row) -> bool:
    """An ``error`` row that a run wrote for work it never finished (it was interrupted)."""
    return row.status == "error" and row.message.startswith(INTERRUPTED + ":")


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
        """The row as a JSON object that :func:`row_from_json` reads back (strings cut to the
        bounds a reader enforces, non-finite floats as strings)."""
        out: dict[str, Any] = {}
        for k in _ROW_FIELDS:  # not asdict(): its deep copy was most of this method's time
            v = getattr(self, k)
            if k == "settings":
                v = {
                    _cut(str(sk), MAX_KEY): _cut(str(sv))
                    for sk, sv in list(v.items())[:MAX_SETTINGS]
                }
            elif isinstance(v, str):
                v = _cut(v)
            out[k] = json_value(v)
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Row:
        """A row from a JSON object, checked like a file's (:func:`row_from_json`)."""
        return row_from_json(obj, "row")


# --------------------------------------------------------------------------------------------
# The schema: one kind per Row field, from the dataclass's own type hints

#: bounds on what a results file may hold
MAX_FILE_BYTES = 256 << 20  # ~200,000 rows (1.3 KB each): a 10,000-case run on four
# frameworks writes ~160,000 rows, ~200 MB; reading costs ~4x the size in memory (the density
# check below keeps a hostile file near that). The bundled suite's results.json is ~13 MB.
MAX_TEXT = 32 << 10  # characters in one string (a message included)
MAX_KEY = 256  # characters in a settings key
MAX_SETTINGS = 256  # keys in a row's settings
MAX_INT_DIGITS = 18
MAX_NUMBER_CHARS = 64  # characters of a number written as text (CSV)
#: parsed JSON costs a multiple of its size in memory; a file may hold at most one comma or
#: bracket per this many bytes (real results files: about one per 25)
MIN_BYTES_PER_TOKEN = 8

_KIND_OF_TYPE = {
    str: "text",
    float | None: "float?",
    int: "count",
    float: "float",
    dict[str, str]: "settings",
}
#: field name -> kind ("text", "float?", "count", "float", "settings"), from Row's type hints
FIELD_KINDS: dict[str, str] = {
    name: _KIND_OF_TYPE[hint] for name, hint in typing.get_type_hints(Row).items()
}
#: fields a row must give (those without a default)
REQUIRED = tuple(
    f.name for f in fields(Row) if f.default is MISSING and f.default_factory is MISSING
)
COLUMNS = [f.name for f in fields(Row)]
FLOAT_FIELDS = {k for k, kind in FIELD_KINDS.items() if kind == "float?"}
_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


_ROW_FIELDS = tuple(f.name for f in fields(Row))


def json_value(v: Any) -> Any:
    """``v`` for a JSON file: a non-finite float becomes ``"inf"``, ``"-inf"`` or ``"nan"``.
    The one encoding of non-finite numbers that every writer uses (results, gate, merge)."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ResultsError(UsageError):
    """A results file that is not what the suite writes (exit 2), as one located line."""


class _Bad(Exception):
    """A field's value is wrong; the caller adds the file and row."""


def _text(v: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(v, str):
        raise _Bad(f"must be a string, not {_json_type(v)}")
    if len(v) > limit:
        raise _Bad(f"longer than {limit} characters")
    return v


def _float_opt(v: Any, from_csv: bool) -> float | None:
    if v is None or v == "":
        return None
    if isinstance(v, str):
        if v in _NONFINITE:
            return _NONFINITE[v]
        if from_csv and len(v) <= MAX_NUMBER_CHARS and _NUMBER_TEXT.fullmatch(v):
            return float(v)
        raise _Bad(f"must be a number, null, 'inf', '-inf' or 'nan', not {escape.visible(v, 40)!r}")
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _Bad(f"must be a number or null, not {_json_type(v)}")
    return float(v)


def _count(v: Any, from_csv: bool) -> int:
    if from_csv and isinstance(v, str):
        if v == "":
            return 0
        if re.fullmatch(rf"\d{{1,{MAX_INT_DIGITS}}}", v):
            return int(v)
        raise _Bad(f"must be a whole number >= 0, not {escape.visible(v, 40)!r}")
    if isinstance(v, bool) or not isinstance(v, int):
        raise _Bad(f"must be a whole number, not {_json_type(v)}")
    if not 0 <= v < 10**MAX_INT_DIGITS:
        raise _Bad(f"must be between 0 and 10^{MAX_INT_DIGITS}")
    return v


def _float(v: Any, from_csv: bool) -> float:
    x = _float_opt(v, from_csv)
    return 0.0 if x is None else x


def _settings(v: Any, from_csv: bool) -> dict[str, str]:
    if from_csv and isinstance(v, str):
        if v == "":
            return {}
        v = _loads(v, "settings")
    if not isinstance(v, dict):
        raise _Bad(f"must be an object of strings, not {_json_type(v)}")
    if len(v) > MAX_SETTINGS:
        raise _Bad(f"more than {MAX_SETTINGS} keys")
    out = {}
    for k, val in v.items():
        key = _text(k, MAX_KEY)
        if not isinstance(val, str):
            raise _Bad(
                f"value of {escape.visible(key, 60)!r} must be a string, not {_json_type(val)}"
            )
        out[key] = _text(val)
    return out


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _value(kind: str, v: Any, from_csv: bool) -> Any:
    if kind == "text":
        return escape.uncsv_cell(_text(v)) if from_csv else _text(v)
    if kind == "float?":
        return _float_opt(v, from_csv)
    if kind == "count":
        return _count(v, from_csv)
    if kind == "float":
        return _float(v, from_csv)
    return _settings(v, from_csv)


def row_from_json(obj: Any, where: str, *, from_csv: bool = False) -> Row:
    """A :class:`Row` from an untrusted JSON object (or CSV record) checked against
    :data:`FIELD_KINDS`; unknown keys are ignored (files from newer versions). Problems raise
    :class:`ResultsError` as ``WHERE: field: reason``."""
    if not isinstance(obj, dict):
        raise ResultsError(
            f"{where}: must be an object with the row's fields, not {_json_type(obj)}"
        )
    missing = [k for k in REQUIRED if obj.get(k) is None]
    for k in missing:
        if k in obj:  # present but null
            raise ResultsError(f"{where}: {k}: must be a string, not null")
    if missing:
        raise ResultsError(f"{where}: {missing[0]}: missing (required: {', '.join(REQUIRED)})")
    kwargs = {}
    for name, kind in FIELD_KINDS.items():
        if name in obj:
            try:
                kwargs[name] = _value(kind, obj[name], from_csv)
            except _Bad as exc:
                raise ResultsError(f"{where}: {name}: {exc}") from None
    return Row(**kwargs)


# --------------------------------------------------------------------------------------------
# Bounded parsing


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Bad(f"an integer with more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_constant(text: str) -> Any:
    raise _Bad(f'{text} is not JSON (write non-finite numbers as "inf", "-inf", "nan")')


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_constant=_parse_constant)


def _loads(text: str, what: str) -> Any:
    """JSON with bounded integers and nesting (a RecursionError is the parser's depth limit)."""
    try:
        return _DECODER.decode(text)
    except _Bad:
        raise
    except RecursionError:
        raise _Bad(f"{what} nests too deeply") from None
    except ValueError as exc:
        raise _Bad(f"not valid JSON: {exc}") from None


def _read_text(path: Path, display: str) -> str:
    """The file's text, read only when it is a regular file within :data:`MAX_FILE_BYTES` and
    not denser in values than a results file can be (parsed JSON costs a multiple of its size)."""
    try:
        data = boundedio.read_bytes(path, MAX_FILE_BYTES, "results file")
    except UsageError as exc:
        raise ResultsError(str(exc)) from None
    tokens = data.count(b",") + data.count(b"[") + data.count(b"{")
    if tokens > len(data) // MIN_BYTES_PER_TOKEN + 1024:
        raise ResultsError(f"{display}: not a results file (too many values for its size)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{display}: not UTF-8 text (byte {exc.start})") from None


def _json_rows(text: str, display: str) -> list[Row]:
    try:
        data = _loads(text, "the file")
    except _Bad as exc:
        raise ResultsError(f"{display}: {exc}") from None
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"rows"})
        if unknown:
            raise ResultsError(
                f"{display}: not a results file: unexpected key {escape.visible(unknown[0], 60)!r} "
                '(expected a list of rows or {"rows": [...]})'
            )
        data = data.get("rows", [])
    if not isinstance(data, list):
        raise ResultsError(
            f"{display}: not a results file: expected a list of rows, not {_json_type(data)}"
        )
    return [row_from_json(obj, f"{display}: row {i + 1}") for i, obj in enumerate(data)]


def _jsonl_rows(text: str, display: str, warn: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    lines = text.split("\n")
    torn = lines.pop()  # "" when the file ends with a newline, as every complete stream does
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    for lineno, line in numbered:
        try:
            obj = _loads(line, "the line")
        except _Bad as exc:
            raise ResultsError(f"{display}:{lineno}: {exc}") from None
        rows.append(row_from_json(obj, f"{display}:{lineno}: row {len(rows) + 1}"))
    if torn.strip():
        lineno = len(lines) + 1
        try:
            obj = _loads(torn, "the line")
        except _Bad:
            warn(
                f"{display}:{lineno}: ignored an incomplete last line (the run writing it "
                f"stopped mid-row); {len(rows)} complete rows read"
            )
        else:
            rows.append(row_from_json(obj, f"{display}:{lineno}: row {len(rows) + 1}"))
    return rows


def _csv_rows(text: str, display: str) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\0extra", restval=None)
    rows: list[Row] = []
    try:
        header = reader.fieldnames
        if header is None:
            raise ResultsError(f"{display}: empty CSV file (no header line)")
        absent = [c for c in REQUIRED if c not in header]
        if absent:
            raise ResultsError(f"{display}:1: header: missing column(s) {', '.join(absent)}")
        for rec in reader:
            where = f"{display}:{reader.line_num}: row {len(rows) + 1}"
            if "\0extra" in rec:
                raise ResultsError(f"{where}: more cells than the header has columns")
            if any(v is None for v in rec.values()):
                raise ResultsError(f"{where}: fewer cells than the header has columns")
            rows.append(row_from_json(rec, where, from_csv=True))
    except csv.Error as exc:
        raise ResultsError(f"{display}:{reader.line_num}: not valid CSV: {exc}") from None
    return rows


# --------------------------------------------------------------------------------------------
# Writing


def write_json(rows: Iterable[Row], path: Path) -> None:
    """The rows as one JSON array, byte for byte what ``json.dumps(rows, indent=1)`` gives,
    written a row at a time (the whole text of a 10,000-case run is hundreds of MB)."""
    with path.open("w", encoding="utf-8") as fh:
        sep = "[\n "
        for r in rows:
            fh.write(sep)
            fh.write(json.dumps(r.to_json(), indent=1).replace("\n", "\n "))
            sep = ",\n "
        fh.write("[]\n" if sep == "[\n " else "\n]\n")


def write_csv(rows: Iterable[Row], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            d = r.to_json()
            d["settings"] = json.dumps(d["settings"], sort_keys=True)
            for name, kind in FIELD_KINDS.items():
                if kind == "text":
                    d[name] = escape.csv_cell(d[name])
            w.writerow(d)


def jsonl_line(row: Row) -> str:
    """One JSON Lines record (with its newline) for ``row``."""
    return json.dumps(row.to_json(), ensure_ascii=True, separators=(",", ":")) + "\n"


class RowStream:
    """Rows appended to a JSON Lines file as they finish, so a run that is killed keeps them.

    Usage (the runner, one stream per run)::

        with RowStream(path) as stream:
            for row in rows_as_they_finish():
                stream.write(row)

    - Opening truncates the file and takes an exclusive ``flock`` on it: a second stream into
      the same file (a concurrent run) fails at once with a :class:`UsageError` instead of
      interleaving lines.
    - Each :meth:`write` is one ``write(2)`` of one complete line, unbuffered, so after any
      kill (SIGKILL, OOM) the file holds every row written before it, plus at most one torn
      last line, which :func:`read_rows` skips with a warning. It survives the process, not a
      power cut (no fsync).
    - ``conformance report|diff|merge`` read the file (or a directory holding
      ``results.jsonl`` without ``results.json``) like any results file.
    """

    def __init__(self, path: Path) -> None:
        import fcntl

        self.path = path
        self.count = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UsageError(
                f"{escape.visible(path)}: another run is streaming rows into this file"
            ) from None
        os.ftruncate(fd, 0)
        self._fd: int | None = fd

    def write(self, row: Row) -> None:
        if self._fd is None:
            raise ValueError("RowStream is closed")
        data = jsonl_line(row).encode("ascii")
        while data:
            n = os.write(self._fd, data)
            data = data[n:]
        self.count += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None

    def __enter__(self) -> RowStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Reading

RESULT_FILES = ("results.json", "results.csv", "results.jsonl")


def _stderr_warning(text: str) -> None:
    print(f"conformance: warning: {escape.visible(text)}", file=sys.stderr)


def read_rows(path: Path, warn: Callable[[str], None] = _stderr_warning) -> list[Row]:
    """Rows from a ``.json``, ``.csv`` or ``.jsonl`` results file, or a report directory holding
    one (``results.json`` first). A file that is not a valid results file raises
    :class:`ResultsError`; a torn last line of a ``.jsonl`` stream is skipped via ``warn``."""
    display = escape.visible(path)
    if path.is_dir():
        for name in RESULT_FILES:
            if (path / name).exists():
                return read_rows(path / name, warn)
        raise ResultsError(f"{display}: no {', '.join(RESULT_FILES)} in this directory")
    text = _read_text(path, display)
    if path.suffix == ".csv":
        return _csv_rows(text, display)
    if path.suffix == ".jsonl":
        return _jsonl_rows(text, display, warn)
    return _json_rows(text, display)
