"""Python code in a fresh interpreter, for settings a process reads once (glibc's malloc
thresholds, OpenBLAS's thread timeout): their tests need a process of their own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_code(code: str, *args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -c code args`` with exactly ``env`` (and this checkout on ``PYTHONPATH``);
    raises if it fails or takes over two minutes."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=120,
    )
