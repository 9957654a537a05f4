"""Known deviations: listed failures become ``known`` rows that do not fail the gate.

The file is YAML, a list of entries (or ``{deviations: [...]}``)::

    - case: "sigmoid/edge-*"          # glob patterns (fnmatch); omitted = "*"
      framework: tensorflow
      path: "tf.math.sigmoid*"
      mode: "*"
      device: "*"
      dtype: float32
      op: sigmoid
      version: ">=2.16,<2.20"        # PEP 440 range on the framework version; omitted = any
      status: [fail]                 # which statuses it covers; default [fail, error]
      reason: Eigen's logistic kernel is 5 ulp off near z = -13   # required
      expires: 2026-06-30            # optional; after it the entry no longer applies

An entry that matched only passing rows is *stale* (the deviation no longer occurs); one that
matched no row that ran is *unused* (typo, or the framework was not installed); one past its
expiry date is *expired*. All three are reported so the file gets cleaned up.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from . import boundedio, escape
from .errors import CaseError, UsageError
from .results import Row
from .yamlio import line_of
from .yamlio import load as load_yaml

PATTERN_KEYS = ("case", "framework", "path", "mode", "device", "dtype", "op")
KEYS = {*PATTERN_KEYS, "version", "status", "reason", "expires"}


@dataclass
class Deviation:
    reason: str
    patterns: dict[str, str] = field(default_factory=dict)
    version: str = ""
    statuses: tuple[str, ...] = ("fail", "error")
    expires: _dt.date | None = None
    where: str = ""  # FILE:LINE

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.patterns.items() if v != "*"]
        if self.version:
            parts.append(f"version {self.version}")
        return ", ".join(parts) or "every row"

    def in_scope(self, r: Row) -> bool:
        """Matches the row's identity and framework version (whatever its status)."""
        for key in PATTERN_KEYS:
            pat = self.patterns.get(key, "*")
            if not fnmatch.fnmatchcase(str(getattr(r, key)), pat):
                return False
        if self.version:
            v = version_of(r.framework_version)
            if v is None or not SpecifierSet(self.version).contains(v, prereleases=True):
                return False
        return True

    def expired(self, today: _dt.date) -> bool:
        return self.expires is not None and today > self.expires


def version_of(text: str) -> Version | None:
    """``2.19.0 (keras 3.10.0)`` -> Version("2.19.0"); None when unparsable."""
    head = text.split()[0] if text.split() else ""
    try:
        return Version(head)
    except InvalidVersion:
        return None


#: bounds on a known-deviations file, checked on the YAML events before anything is built
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 4  # {deviations: [ {status: [fail]} ]}
MAX_SCALAR = 4096  # characters in one value
MAX_INT_DIGITS = 18
_INTEGER = re.compile(r"[-+]?(?:0x[0-9a-fA-F_]+|0o[0-7_]+|[0-9_]+)")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ].*)?")


def _check_events(text: str, disp: str) -> None:
    """Reject what the YAML constructor would choke on or blow up with, located ``FILE:LINE:
    field: reason``: nesting deeper than the format has, aliases, huge values, integers with
    more than :data:`MAX_INT_DIGITS` digits and impossible dates (``2026-02-30``). Events come
    from ruamel's iterative parser, so a 3000-deep document stops here at depth 5."""
    # per open collection: [is_mapping, next scalar is a key, current key]
    stack: list[list[Any]] = []

    def where(ev: Any) -> str:
        """FILE:LINE: field, the field being the entry's key the event is under."""
        keys = [f[2] for f in stack if f[0] and f[2] is not None]
        if stack and stack[0][0] and keys[:1] == ["deviations"]:
            keys = keys[1:]
        key = str(keys[0]) if keys else "yaml"
        return f"{disp}:{ev.start_mark.line + 1}: {escape.visible(key, 60)}"

    try:
        for ev in YAML(typ="rt").parse(text):
            name = type(ev).__name__
            parent = stack[-1] if stack else None
            if name == "AliasEvent":
                raise UsageError(f"{where(ev)}: aliases (*name) are not allowed here")
            if name in ("MappingStartEvent", "SequenceStartEvent"):
                if parent is not None and parent[0]:
                    parent[1] = not parent[1]
                if len(stack) >= MAX_DEPTH:
                    raise UsageError(
                        f"{where(ev)}: nested deeper than the {MAX_DEPTH} levels a "
                        "known-deviations file has"
                    )
                stack.append([name == "MappingStartEvent", True, None])
            elif name in ("MappingEndEvent", "SequenceEndEvent"):
                stack.pop()
            elif name == "ScalarEvent":
                value = ev.value
                if len(value) > MAX_SCALAR:
                    raise UsageError(f"{where(ev)}: longer than {MAX_SCALAR} characters")
                if parent is not None and parent[0] and parent[1]:
                    parent[1], parent[2] = False, value
                    continue
                if parent is not None and parent[0]:
                    parent[1] = True
                if ev.style is None:  # plain: resolved to int, float, date, ...
                    _check_plain(value, where(ev))
    except YAMLError:
        return  # a syntax error: yamlio.load reports it with its line


def _check_plain(value: str, where: str) -> None:
    if _INTEGER.fullmatch(value) and sum(c.isalnum() for c in value) > MAX_INT_DIGITS + 2:
        raise UsageError(f"{where}: an integer with more than {MAX_INT_DIGITS} digits")
    m = _DATE.fullmatch(value)
    if m:
        try:
            _dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise UsageError(
                f"{where}: {escape.visible(value, 40)} is not a date (YYYY-MM-DD)"
            ) from None


def load(path: Path) -> list[Deviation]:
    """Parse a known-deviations file; problems raise UsageError as ``FILE:LINE: field: reason``."""
    disp = escape.visible(path)
    data = boundedio.read_bytes(path, MAX_FILE_BYTES, "known-deviations file")
    try:
        _check_events(data.decode("utf-8"), disp)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{disp}: not UTF-8 text (byte {exc.start})") from None
    try:
        doc = load_yaml(path, disp)
    except CaseError as exc:
        raise UsageError(str(exc)) from None
    except (ValueError, OverflowError, RecursionError, TypeError) as exc:
        # what the checks above did not foresee; still one line, never a traceback
        raise UsageError(f"{disp}: yaml: {escape.visible(exc, 200)}") from None
    if doc is None:
        return []
    entries = doc.get("deviations") if isinstance(doc, dict) else doc
    root_path: tuple[Any, ...] = ("deviations",) if isinstance(doc, dict) else ()
    if not isinstance(entries, list):
        raise UsageError(f"{disp}: expected a list of entries (or a 'deviations:' list)")
    return [_entry(doc, (*root_path, i), e, disp) for i, e in enumerate(entries)]


def _entry(doc: Any, at: tuple[Any, ...], e: Any, disp: str) -> Deviation:
    line = line_of(doc, at)
    where = f"{disp}:{line}" if line else disp

    def bad(msg: str, key: str | None = None) -> UsageError:
        ln = line_of(doc, (*at, key)) if key else None
        loc = f"{disp}:{ln}" if ln else where
        return UsageError(f"{loc}: {key or f'entry {at[-1] + 1}'}: {msg}")

    if not isinstance(e, dict):
        raise bad("expected a mapping with at least 'reason'")
    unknown = sorted(str(k) for k in set(e) - KEYS)
    if unknown:
        raise bad(
            f"unknown key(s) {escape.visible(', '.join(unknown), 200)}; "
            f"allowed: {', '.join(sorted(KEYS))}",
            unknown[0] if unknown[0] in e else None,
        )
    reason = e.get("reason")
    if "reason" not in e:
        raise bad("'reason' is required (why is this deviation accepted?)")
    if not isinstance(reason, str) or not reason.strip():
        raise bad("must be a non-empty string (why is this deviation accepted?)", "reason")
    patterns = {}
    for key in PATTERN_KEYS:
        if key in e:
            if isinstance(e[key], bool) or not isinstance(e[key], str | int | float):
                raise bad("must be a glob pattern string", key)
            patterns[key] = str(e[key])
    version = e.get("version") or ""
    if not isinstance(version, str):
        raise bad("must be a version range string like '>=2.1,<2.3'", "version")
    if version:
        try:
            SpecifierSet(version)
        except InvalidSpecifier:
            raise bad(
                f"{escape.visible(version, 60)!r} is not a version range like '>=2.1,<2.3'",
                "version",
            ) from None
    statuses: tuple[str, ...] = ("fail", "error")
    if "status" in e:
        raw = e["status"]
        items = raw if isinstance(raw, list) else [raw]
        if not items or not all(isinstance(s, str) and s in ("fail", "error") for s in items):
            raise bad("must be fail, error or a list of them", "status")
        statuses = tuple(items)
    expires = e.get("expires")
    if expires is not None and not isinstance(expires, _dt.date):
        if not isinstance(expires, str):
            raise bad("must be a date (YYYY-MM-DD)", "expires")
        try:
            expires = _dt.date.fromisoformat(expires)
        except ValueError:
            raise bad(
                f"{escape.visible(expires, 40)!r} is not a date (YYYY-MM-DD)", "expires"
            ) from None
    if isinstance(expires, _dt.datetime):
        expires = expires.date()
    return Deviation(reason.strip(), patterns, version, statuses, expires, where)


@dataclass
class KnownReport:
    """What applying a known-deviations file did."""

    entries: list[Deviation]
    applied: dict[int, int] = field(default_factory=dict)  # entry index -> rows made known
    stale: list[Deviation] = field(default_factory=list)  # matched rows all pass now
    unused: list[Deviation] = field(default_factory=list)  # matched no row that ran
    expired: list[Deviation] = field(default_factory=list)

    @property
    def known_rows(self) -> int:
        return sum(self.applied.values())

    def lines(self) -> list[str]:
        """One line per applied, stale, expired or unused entry; control characters from the
        file are shown escaped (``escape.visible``), so the lines are safe on a terminal."""
        return [escape.visible(x) for x in self._lines()]

    def _lines(self) -> list[str]:
        out = []
        for i, d in enumerate(self.entries):
            if self.applied.get(i):
                out.append(
                    f"applied ({self.applied[i]} rows): {d.describe()} — {d.reason} [{d.where}]"
                )
        for d in self.stale:
            out.append(
                f"STALE (its rows pass now; remove it): {d.describe()} — {d.reason} [{d.where}]"
            )
        for d in self.expired:
            out.append(f"EXPIRED on {d.expires}: {d.describe()} — {d.reason} [{d.where}]")
        for d in self.unused:
            out.append(f"unused (matched no row that ran): {d.describe()} — {d.reason} [{d.where}]")
        return out


def apply(rows: list[Row], entries: list[Deviation], today: _dt.date | None = None) -> KnownReport:
    """Turn failing rows covered by an entry into ``known`` rows (in place)."""
    today = today or _dt.date.today()
    report = KnownReport(entries)
    in_scope: dict[int, list[Row]] = {i: [] for i in range(len(entries))}
    for r in rows:
        for i, d in enumerate(entries):
            if r.status != "skip" and d.in_scope(r):
                in_scope[i].append(r)
    for i, d in enumerate(entries):
        if d.expired(today):
            report.expired.append(d)
            continue
        n = 0
        for r in in_scope[i]:
            if r.status in d.statuses:
                r.message = f"known deviation ({r.status}): {d.reason} — {r.message}".rstrip(" —")
                r.status = "known"
                n += 1
        if n:
            report.applied[i] = n
    for i, d in enumerate(entries):
        if d.expired(today) or report.applied.get(i):
            continue
        rs = in_scope[i]
        if not rs:
            report.unused.append(d)
        elif not any(r.status == "known" for r in rs):
            report.stale.append(d)
    return report
