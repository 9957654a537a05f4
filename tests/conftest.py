"""Shared fixtures: run the CLI in-process, write case files into a temp tree."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _isolated_reference_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never share reference results with the user's cache (nor a stale one)."""
    os.environ["CONFORMANCE_CACHE_DIR"] = str(tmp_path_factory.mktemp("reference-cache"))


CASES = ROOT / "cases"
KNOWN = ROOT / "known-deviations.yaml"


def packaged_adapters() -> dict[str, str]:
    """name -> "module:Class" of every adapter this package declares (its entry points)."""
    dist = distribution("conformance")
    return {ep.name: ep.value for ep in dist.entry_points if ep.group == "conformance.adapters"}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``conformance ARGS`` in this process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def write_case(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / "cases" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


def load_results(report_dir: Path) -> list[dict[str, Any]]:
    return json.loads((report_dir / "results.json").read_text(encoding="utf-8"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many reference values the oracle comparison checked, when it ran."""
    oracle_tests = sys.modules.get("tests.test_oracle")
    if oracle_tests is not None and oracle_tests.CHECKED:
        terminalreporter.write_line(oracle_tests.summary())
