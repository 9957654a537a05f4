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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

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


def load(path: Path) -> list[Deviation]:
    """Parse a known-deviations file; problems raise UsageError naming FILE:LINE."""
    disp = str(path)
    if not path.exists():
        raise UsageError(f"{disp}: no such known-deviations file")
    try:
        doc = load_yaml(path, disp)
    except CaseError as exc:
        raise UsageError(str(exc)) from None
    if doc is None:
        return []
    entries = doc.get("deviations") if isinstance(doc, dict) else doc
    root_path: tuple[Any, ...] = ("deviations",) if isinstance(doc, dict) else ()
    if not isinstance(entries, list):
        raise UsageError(f"{disp}: expected a list of entries (or a 'deviations:' list)")
    out = []
    for i, e in enumerate(entries):
        line = line_of(doc, (*root_path, i))
        where = f"{disp}:{line}" if line else disp

        def bad(msg: str, key: str | None = None, _i: int = i, _where: str = where) -> UsageError:
            ln = line_of(doc, (*root_path, _i, key)) if key else None
            loc = f"{disp}:{ln}" if ln else _where
            return UsageError(f"{loc}: entry {_i + 1}: {msg}")

        if not isinstance(e, dict):
            raise bad("expected a mapping with at least 'reason'")
        unknown = sorted(set(e) - KEYS)
        if unknown:
            raise bad(
                f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(KEYS))}",
                unknown[0],
            )
        reason = e.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise bad("'reason' is required (why is this deviation accepted?)")
        patterns = {}
        for key in PATTERN_KEYS:
            if key in e:
                if not isinstance(e[key], str | int | float):
                    raise bad(f"'{key}' must be a glob pattern string", key)
                patterns[key] = str(e[key])
        version = str(e.get("version") or "")
        if version:
            try:
                SpecifierSet(version)
            except InvalidSpecifier:
                raise bad(
                    f"'version' {version!r} is not a version range like '>=2.1,<2.3'", "version"
                ) from None
        statuses: tuple[str, ...] = ("fail", "error")
        if "status" in e:
            raw = e["status"]
            statuses = tuple(str(s) for s in (raw if isinstance(raw, list) else [raw]))
            if not statuses or set(statuses) - {"fail", "error"}:
                raise bad("'status' must be fail, error or a list of them", "status")
        expires = e.get("expires")
        if expires is not None and not isinstance(expires, _dt.date):
            try:
                expires = _dt.date.fromisoformat(str(expires))
            except ValueError:
                raise bad(f"'expires' {expires!r} is not a date (YYYY-MM-DD)", "expires") from None
        if isinstance(expires, _dt.datetime):
            expires = expires.date()
        out.append(Deviation(reason.strip(), patterns, version, statuses, expires, where))
    return out


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
