"""What a benchmark figure depends on: the machine, package versions and the suite revision.

Versions come from installed package metadata, so nothing here imports a framework (an import
would cost seconds and skew the figures measured after it).
"""

from __future__ import annotations

import datetime
import os
import platform
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from procs import cpu_busy_seconds

# distribution names per package; the first one installed wins
PACKAGES = {
    "numpy": ("numpy",),
    "torch": ("torch",),
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos"),
    "keras": ("keras",),
    "jax": ("jax",),
    "jaxlib": ("jaxlib",),
    "ml_dtypes": ("ml_dtypes", "ml-dtypes"),
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def load() -> list[float]:
    """1, 5 and 15 minute load averages: how busy the (shared) machine was."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name, dists in PACKAGES.items():
        out[name] = "not installed"
        for dist in dists:
            try:
                out[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return out


def git(root: Path) -> dict[str, Any]:
    def call(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    status = call("status", "--porcelain", "--untracked-files=no")
    return {
        "revision": call("rev-parse", "HEAD") or "unknown",
        "branch": call("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status),
    }


def describe(root: Path) -> dict[str, Any]:
    """Everything above, plus the date and the host name."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count() or 0
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "machine": {
            "cpu_model": cpu_model(),
            "cores": os.cpu_count() or 0,
            "cores_available": available,
            "ram_bytes": ram_bytes(),
            "platform": platform.platform(),
            "python_executable": sys.executable,
            "load_at_start": load(),
        },
        "versions": versions(),
        "git": git(root),
    }


def busy_share(window: float = 2.0) -> float | None:
    """Share of the machine's CPU capacity in use over the next ``window`` seconds."""
    a = cpu_busy_seconds()
    time.sleep(window)
    b = cpu_busy_seconds()
    if a is None or b is None or b[1] <= a[1]:
        return None
    return (b[0] - a[0]) / (b[1] - a[1])


def settle(max_wait: float, below: float = 0.25, window: float = 2.0) -> dict[str, Any]:
    """Wait (at most ``max_wait`` s) until other processes use less than ``below`` of the CPU,
    so a measurement starts on a quiet machine; says how long it waited and how busy it was."""
    start = time.perf_counter()
    busy = None
    while max_wait > 0:
        busy = busy_share(window)
        if busy is None or busy < below or time.perf_counter() - start >= max_wait:
            break
    return {
        "waited_s": round(time.perf_counter() - start, 1),
        "busy_before": None if busy is None else round(busy, 3),
    }
