"""Workers run with idle OpenMP threads asleep (``OMP_WAIT_POLICY=PASSIVE``): spinning pools
of several workers on shared cores made torch 4x slower. The rows say which policy ran, and a
policy the user set is kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import CASES, load_results

CASE = CASES / "semantics" / "affine-not-sigmoid.yaml"


def _policies(cli: Callable[..., tuple[int, str, str]], out: Path) -> set[str]:
    code, text, _ = cli(
        "run", str(CASE), "--framework", "numpy", "--report-dir", str(out),
        "--format", "json", "--quiet",
    )  # fmt: skip
    assert code == 0, text
    return {r["settings"].get("omp_wait_policy", "") for r in load_results(out)}


def test_workers_sleep_idle_openmp_threads_by_default(
    cli: Callable[..., tuple[int, str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert _policies(cli, tmp_path / "r") == {"PASSIVE"}


def test_a_policy_the_user_set_is_kept(
    cli: Callable[..., tuple[int, str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert _policies(cli, tmp_path / "r") == {"ACTIVE"}
