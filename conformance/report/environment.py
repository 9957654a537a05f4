"""The environment header: where and with what a run was made.

Framework versions, devices, modes and settings (precision modes, threads, BLAS) come from
the rows themselves. The machine (CPU, OS, Python), the date and the suite's git revision
are recorded by ``conformance run`` in ``environment.json`` next to ``results.json``, so a
report regenerated later still describes the run, not the machine that rendered it.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..host import cpu_info
from ..results import Row

ENV_FILE = "environment.json"
SUITE_ROOT = Path(__file__).resolve().parent.parent.parent


SUITE_PATHS = ("conformance", "cases", "known-deviations.yaml", "pyproject.toml")


def suite_revision(root: Path = SUITE_ROOT) -> str:
    """``git describe``-style revision of the suite (``+dirty`` when its code, cases or known
    deviations have uncommitted changes)."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            # what defines the suite: a regenerated reports/ folder does not make it dirty
            ["git", "-C", str(root), "status", "--porcelain", "--", *SUITE_PATHS],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "") if rev else "unknown"


def collect(argv: list[str] | None = None) -> dict[str, Any]:
    """The machine and suite facts of the current process."""
    from .. import __version__

    host = cpu_info()
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "suite_version": __version__,
        "suite_revision": suite_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": host["cpu"],
        "cpu_count": host["cpu_count"],
        "command": " ".join(argv if argv is not None else ["conformance", *sys.argv[1:]]),
    }


def save(env: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(env, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load_beside(results: Path) -> dict[str, Any] | None:
    folder = results if results.is_dir() else results.parent
    path = folder / ENV_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def frameworks(rows: list[Row]) -> list[dict[str, str]]:
    """One entry per framework: version(s), devices, modes and its settings."""
    out = []
    names = sorted({r.framework for r in rows})
    for name in names:
        rs = [r for r in rows if r.framework == name]
        ran = [r for r in rs if r.status != "skip"]
        versions = sorted({r.framework_version for r in rs if r.framework_version})
        settings: dict[str, set[str]] = {}
        for r in ran:
            for k, v in r.settings.items():
                settings.setdefault(k, set()).add(str(v))
        skipped = sorted({r.message for r in rs if r.status == "skip" and r.message})
        out.append(
            {
                "framework": name,
                "version": ", ".join(versions) or "–",
                "devices": ", ".join(sorted({r.device for r in ran})) or "–",
                "modes": ", ".join(sorted({r.mode for r in ran})) or "–",
                "settings": ", ".join(
                    f"{k}={'|'.join(sorted(v))}" for k, v in sorted(settings.items())
                ),
                "note": ("skipped: " + "; ".join(skipped)[:200]) if skipped and not ran else "",
            }
        )
    return out


def blas(rows: list[Row]) -> str:
    found = sorted(
        {f"{v} ({r.framework})" for r in rows for k, v in r.settings.items() if k == "blas"}
    )
    return ", ".join(found) or "not recorded"


def header(rows: list[Row], env: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(key, value) lines of the machine/suite header."""
    e = env or {}
    missing = "not recorded"
    return [
        ("date", str(e.get("date", missing))),
        (
            "suite",
            f"conformance {e.get('suite_version', '?')} @ {e.get('suite_revision', missing)}",
        ),
        ("command", str(e.get("command", missing))),
        ("cpu", f"{e.get('cpu', missing)} ({e.get('cpu_count', '?')} logical cores)"),
        ("platform", str(e.get("platform", missing))),
        ("python", str(e.get("python", missing))),
        ("BLAS", blas(rows)),
        ("rows", str(len(rows))),
    ]
