"""Case facts for collection: the loader's verdict on each case file, cached by content.

Collecting needs each case's id, dtypes, kind, tags, init kind and pins (:class:`CaseFacts`),
and a broken file must become a collection error with the loader's ``FILE:LINE`` line. The
strict loader takes about 20 ms a file (pure-Python YAML and the JSON Schema), so its verdict
is kept in pytest's cache (``.pytest_cache``), keyed by the file's SHA-256, its root and the
working directory, under a fingerprint of the package's own modules and the adapters' init
kinds: an edited case file, loader or adapter set is loaded again, anything else is not. The
cache decides only which items exist; the runner loads and checks every file itself.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import conformance

from ..boundedio import Refused, read_regular
from ..errors import CaseError
from ..limits import MAX_FILE_BYTES
from ..loader import display_path, load_case
from ..rowplan import CaseFacts

KEY = "conformance/case-facts"
VERSION = 1


def fingerprint(init_layouts: Mapping[str, str]) -> str:
    """Changes when the code that reads case files, or the init kinds it accepts, changes."""
    h = hashlib.sha256(f"{VERSION} {conformance.__version__} {os.getcwd()}".encode())
    package = Path(conformance.__file__).parent
    for p in sorted(package.glob("*.py")):
        st = p.stat()
        h.update(f"{p.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    h.update(repr(sorted(init_layouts.items())).encode())
    return h.hexdigest()


class FactsCache:
    """Facts or the error line of case files, from pytest's cache when the file is unchanged."""

    def __init__(self, cache: Any, init_layouts: Mapping[str, str]) -> None:
        self.cache = cache  # pytest's config.cache, or None (-p no:cacheprovider)
        self.layouts = dict(init_layouts)
        self.print = fingerprint(init_layouts)
        stored = cache.get(KEY, None) if cache is not None else None
        ok = isinstance(stored, dict) and stored.get("fingerprint") == self.print
        entries = stored.get("entries") if ok and isinstance(stored, dict) else None
        self.entries: dict[str, Any] = entries if isinstance(entries, dict) else {}
        self.fresh: dict[str, Any] = {}
        self.loaded = 0  # files the loader read (cache misses)

    def get(self, file: Path, root: Path) -> CaseFacts | str:
        """The file's facts, or its case error as one line."""
        key = f"{file}\0{root}"
        try:
            digest = hashlib.sha256(read_regular(file, MAX_FILE_BYTES)).hexdigest()
        except Refused:
            digest = ""  # the loader says why, with the file's name
        hit = self.entries.get(key)
        if digest and isinstance(hit, dict) and hit.get("sha") == digest:
            got = _from_entry(hit)
            if got is not None:
                self.fresh[key] = hit
                return got
        self.loaded += 1
        try:
            facts: CaseFacts | str = CaseFacts.of(
                load_case(file, root, display_path(file), self.layouts)
            )
        except CaseError as exc:
            facts = str(exc)
        if digest:
            entry: dict[str, Any] = {"sha": digest}
            if isinstance(facts, str):
                entry["error"] = facts
            else:
                entry["facts"] = facts.to_json()
            self.fresh[key] = entry
        return facts

    def save(self) -> None:
        """Keep the entries of this collection (files no longer collected drop out)."""
        if self.cache is not None and (self.loaded or self.fresh.keys() != self.entries.keys()):
            self.cache.set(KEY, {"fingerprint": self.print, "entries": self.fresh})


def _from_entry(entry: dict[str, Any]) -> CaseFacts | str | None:
    if isinstance(entry.get("error"), str):
        return str(entry["error"])
    try:
        return CaseFacts.from_json(entry.get("facts"))
    except (KeyError, TypeError, ValueError):
        return None
