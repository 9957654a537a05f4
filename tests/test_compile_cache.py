"""JAX's persistent compilation cache, as the JAX and Keras-on-JAX workers use it: every
program kept (eager primitives too), our own bound instead of JAX's (which rescans the folder
on every write), and a second run served from it with the same rows."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import CASES, KNOWN, load_results

Cli = Callable[..., tuple[int, str, str]]

CASE = CASES / "semantics" / "core-no-bias.yaml"


def _frameworks() -> list[str]:
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    keras = importlib.util.find_spec("keras") is not None
    return ["jax", "keras-jax"] if keras else ["jax"]


@pytest.mark.slow
def test_jax_workers_keep_every_program_and_bound_the_folder_themselves(
    cli: Cli, tmp_path: Path
) -> None:
    frameworks = _frameworks()
    cache = tmp_path / "cache"

    def run(name: str) -> list[tuple[object, ...]]:
        code, out, err = cli(
            "run", str(CASE), "--dtype", "float32", "--cache-dir", str(cache),
            "--known", str(KNOWN), "--report-dir", str(tmp_path / name), "--quiet",
            *(arg for fw in frameworks for arg in ("--framework", fw)),
        )  # fmt: skip
        assert code == 0, out + err
        rows = load_results(tmp_path / name)
        assert {r["framework"] for r in rows} == set(frameworks)
        return sorted((r["framework"], r["path"], r["status"], r["max_ulp"]) for r in rows)

    first = run("r1")
    folders = {fw: list(cache.glob(f"compiled/*/{fw}-*")) for fw in frameworks}
    assert all(len(f) == 1 for f in folders.values()), folders
    kept: dict[str, set[str]] = {}
    for fw, (folder,) in folders.items():
        kept[fw] = {p.name for p in folder.glob("*-cache")}
        # eager primitives (a transpose-free matmul, an add, a logistic, ...) at this shape
        assert len(kept[fw]) >= 3, (fw, sorted(kept[fw]))
        # JAX's own bound keeps an access-time file per entry and a lock: off
        assert not list(folder.glob("*-atime")) and not (folder / ".lockfile").exists()
        (folder / "stale-atime").write_bytes(b"\0" * 8)  # as JAX's bound left them

    assert run("r2") == first
    for fw, (folder,) in folders.items():
        assert {p.name for p in folder.glob("*-cache")} == kept[fw], fw  # all served, none new
        assert not list(folder.glob("*-atime"))  # the old bound's files are cleared
