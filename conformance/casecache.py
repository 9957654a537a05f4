"""A cache of loaded case files, so a run, ``validate`` or a pytest session reads a case file
it has seen before in a fraction of a millisecond instead of parsing it again (~20 ms).

An entry is keyed by the SHA-256 of everything the outcome depends on: the file's bytes, the
name it is shown under and the id its path gives, the init kinds the adapters accept, the
source of the package's loading and checking code (``conformance/*.py`` and the reference), and
the versions of Python and of the YAML and schema libraries, so an edited file, loader or
reference is loaded afresh. It holds the loaded case or the error
line that refused the file, and, once a checking load (``validate``, ``run``) has computed
them, the case's :func:`~conformance.checks.case_problems` (pins against the exact reference,
tolerance ceiling) — the expensive part of loading a case with pins.

Entries are JSON (:mod:`conformance.casejson`, nothing in them can execute), written to a
temporary name and renamed into place, under ``<cache dir>/cases`` (``--cache-dir``, the same
directory and switch as the reference cache, :mod:`conformance.reference.cache`). An entry
file starts with the SHA-256 of its key and its JSON: a truncated, edited or misplaced entry
is a miss, and so is one whose JSON is not exactly what :mod:`~conformance.casejson` writes or
whose case breaks the loader's invariants (ids, shapes, size limits). The cache directory is
trusted no more than that: an entry is data, checked before use, never code. The oldest go once
the entries pass :data:`SIZE_LIMIT`.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from . import casejson
from .cases import Case
from .errors import CaseError
from .reference import cache as refcache

SIZE_LIMIT = 512 << 20  # bytes of case entries kept; the oldest go first
FORMAT = 1
#: an entry larger than this is neither written nor read (the largest bundled case's is ~0.5 MB;
#: a case file is at most 256 KiB of YAML, but exact values of short literals such as 1e-1100
#: can take thousands of digits each)
MAX_ENTRY_BYTES = 16 << 20
_DIGEST = 64  # hex characters of the SHA-256 that starts an entry file


@cache
def code_version() -> str:
    """SHA-256 of the code that turns a file into a case or an error, and of its checks, with
    the versions of what that code runs on (Python's float and Fraction parsing, the YAML
    parser, the schema validator)."""
    h = hashlib.sha256(f"casecache {FORMAT}".encode())
    for dist in ("ruamel.yaml", "jsonschema", "numpy"):
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{dist} {version}\0".encode())
    h.update(f"{platform.python_implementation()} {platform.python_version()}\0".encode())
    h.update(source_digest(Path(__file__).resolve().parent).encode())
    return h.hexdigest()


def source_digest(package: Path) -> str:
    """SHA-256 of the modules of ``package`` and of its ``reference`` subpackage."""
    h = hashlib.sha256()
    for path in [*sorted(package.glob("*.py")), *sorted((package / "reference").glob("*.py"))]:
        rel = path.relative_to(package).as_posix().encode()
        h.update(len(rel).to_bytes(8, "little") + rel)
        body = path.read_bytes()
        h.update(len(body).to_bytes(8, "little") + body)
    return h.hexdigest()


@dataclass
class Entry:
    """One file's outcome: a case or the error that refused it; ``problems``: the case's
    checks, or None when no checking load has computed them yet."""

    case: Case | None
    error: CaseError | None
    problems: list[CaseError] | None


class CaseCache:
    """Loaded case files on disk under ``root/cases``."""

    def __init__(self, root: Path, size_limit: int = SIZE_LIMIT) -> None:
        self.dir = Path(root) / "cases"
        self.size_limit = size_limit
        self._lock = threading.Lock()
        self._written = 0

    def key(self, data: bytes, display: str, path_id: str, init_layouts: Mapping[str, str]) -> str:
        """The entry name of a file's outcome: SHA-256 of all it depends on (the module's)."""
        h = hashlib.sha256(code_version().encode())
        for part in (display, path_id, json.dumps(sorted(init_layouts.items()))):
            h.update(len(part.encode()).to_bytes(8, "little") + part.encode())
        h.update(data)
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def load(self, key: str) -> Entry | None:
        """The entry stored under ``key``, or None: missing, damaged or not what this code
        writes (the caller loads the file afresh and overwrites it)."""
        try:
            with open(self._path(key), "rb") as fh:
                raw = fh.read(_DIGEST + 1 + MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        return parse_entry(key, raw)

    def store(self, key: str, entry: Entry) -> None:
        """Keep ``entry`` under ``key`` (best effort: a full or read-only disk, or an entry
        over :data:`MAX_ENTRY_BYTES`, just goes uncached)."""
        path = self._path(key)
        try:
            data = entry_bytes(key, entry)
            if len(data) > _DIGEST + 1 + MAX_ENTRY_BYTES:
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except (OSError, ValueError):
            return  # a read-only or full disk costs the cache, never the load
        with self._lock:
            self._written += 1
            if self._written % 256 == 1:
                self.prune()

    def prune(self) -> None:
        """Remove the least recently written entries until the cache fits its size limit."""
        refcache.prune(self.dir, "*/*.json", self.size_limit)


def _digest(key: str, body: bytes) -> bytes:
    return hashlib.sha256(key.encode() + b"\0" + body).hexdigest().encode()


def entry_bytes(key: str, entry: Entry) -> bytes:
    """An entry file's bytes: the digest of ``key`` and the JSON, a newline, the JSON."""
    doc: dict[str, Any] = {"format": FORMAT}
    if entry.case is not None:
        doc["case"] = casejson.case_to_json(entry.case)
    if entry.error is not None:
        doc["error"] = casejson.error_to_json(entry.error)
    if entry.problems is not None:
        doc["problems"] = [casejson.error_to_json(e) for e in entry.problems]
    body = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
    return _digest(key, body) + b"\n" + body


def parse_entry(key: str, raw: bytes) -> Entry | None:
    """The entry in an entry file's bytes, when they are intact and were written for ``key``
    by this code; else None."""
    if len(raw) > _DIGEST + 1 + MAX_ENTRY_BYTES or raw[_DIGEST : _DIGEST + 1] != b"\n":
        return None
    body = raw[_DIGEST + 1 :]
    if raw[:_DIGEST] != _digest(key, body):
        return None  # truncated, edited, or another key's entry
    try:
        return _entry(json.loads(body, parse_constant=_no_constant, parse_float=_finite))
    except (ValueError, TypeError, KeyError, RecursionError, ZeroDivisionError, OverflowError):
        return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} in a case cache entry")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("a non-finite number in a case cache entry")
    return value


def _entry(doc: Any) -> Entry:
    """The :class:`Entry` in a parsed entry document; ``ValueError`` for anything else."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError("not a case cache entry")
    if not set(doc) <= {"format", "case", "error", "problems"}:
        raise ValueError("unknown keys in a case cache entry")
    case = casejson.case_from_json(doc["case"]) if "case" in doc else None
    error = casejson.error_from_json(doc["error"]) if "error" in doc else None
    if (case is None) == (error is None):
        raise ValueError("a case cache entry holds a case or an error")
    problems = None
    if "problems" in doc:
        if not isinstance(doc["problems"], list):
            raise ValueError("problems")
        problems = [casejson.error_from_json(e) for e in doc["problems"]]
        if case is None:
            raise ValueError("problems of no case")
    return Entry(case, error, problems)


def current() -> CaseCache | None:
    """The case cache beside the reference cache this process uses (None: ``--no-cache``)."""
    store = refcache.current()
    return None if store is None else CaseCache(store.root)
