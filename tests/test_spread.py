"""Several worker processes for one framework (conformance/spread.py): how many, which batches
each runs, the same rows as one process, and a crash in one costing only that one's rows."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from conformance import spread
from conformance.adapters.base import Batch, Item
from conformance.outputs import load_beside

from .conftest import CASES, load_results
from .plugins import SPREAD_LOG_ENV

Cli = Callable[..., tuple[int, str, str]]


def _batch(kind: str, dtype: str, n_in: int, n_out: int, items: int = 1) -> Batch:
    rng = np.random.default_rng(n_in * 100 + n_out)
    its = []
    for i in range(items):
        x = rng.standard_normal((2, n_in)).astype(dtype) if kind == "dense" else None
        z = rng.standard_normal((2, n_out)).astype(dtype) if kind == "sigmoid" else None
        k = rng.standard_normal((n_in, n_out)).astype(dtype) if kind == "dense" else None
        its.append(Item(f"c{i}", x, z, k, "kernel", None))
    return Batch(kind, dtype, n_in, n_out, False, its)


# --------------------------------------------------------------------------------------------
# How many processes


def test_a_framework_holding_most_of_the_work_gets_a_process_per_core_share() -> None:
    # the 1,000 random cases of benchmark (d), estimated: JAX far ahead of the others
    work = {"numpy": 4.0, "torch": 20.0, "tensorflow": 36.0, "jax": 450.0}
    assert spread.processes(work, 2) == {"numpy": 1, "torch": 1, "tensorflow": 1, "jax": 2}
    assert spread.processes(work, 4)["jax"] == 3  # 450 of ~523 s: three cores' share
    assert spread.processes(work, 8)["jax"] == 7
    assert spread.processes(work, 1) == dict.fromkeys(work, 1)
    # an even run: nobody holds more than a core's share
    even = {"numpy": 30.0, "torch": 30.0, "tensorflow": 30.0, "jax": 30.0}
    assert spread.processes(even, 2) == dict.fromkeys(even, 1)
    # too little work to pay for a second start-up (JAX's is 2 s: 10x is 20 s)
    assert spread.processes({"jax": 19.0}, 2) == {"jax": 1}
    assert spread.processes({"jax": 21.0}, 2) == {"jax": 2}
    assert spread.processes({}, 2) == {}
    assert spread.processes({"jax": 0.0}, 2) == {"jax": 1}


def test_a_fixed_count_applies_to_every_framework_within_bounds() -> None:
    work = {"numpy": 0.0, "jax": 450.0}
    assert spread.processes(work, 2, fixed=3) == {"numpy": 3, "jax": 3}
    assert spread.processes(work, 2, fixed=1) == {"numpy": 1, "jax": 1}
    assert spread.processes(work, 2, fixed=10_000)["jax"] == spread.MAX_PROCESSES


# --------------------------------------------------------------------------------------------
# Which batches


def test_batches_sharing_programs_stay_in_one_process_and_keep_their_order() -> None:
    shapes = [(3, 5), (4, 5), (3, 7), (9, 5), (2, 7), (3, 2), (8, 2), (1, 9)]
    batches = [_batch("dense", "float32", i, o) for i, o in shapes]
    batches.append(_batch("sigmoid", "float32", 1, 5))  # another kind: another group
    batches.append(_batch("dense", "float64", 3, 5))  # another dtype: another group
    costed = [(i, b, float(b.in_features)) for i, b in enumerate(batches)]
    loads, placed = [0.0, 0.0], {}
    shares = spread.deal(costed, loads, placed)
    assert sorted(i for s in shares for i in s) == list(range(len(batches)))
    assert all(s == sorted(s) for s in shares)  # each process in the run's order
    where = {i: k for k, s in enumerate(shares) for i in s}
    for i, b in enumerate(batches):
        for j, c in enumerate(batches):
            if spread.group_of(b) == spread.group_of(c):
                assert where[i] == where[j], (b.out_features, c.out_features)
    # heaviest group first to the least loaded: (dense, f32, 5) weighs 16, (dense, f32, 7)
    # 5, (dense, f32, 2) 11, f64's 3, sigmoid 1, (dense, f32, 9) 1
    # (dense, f32, 5) 16 -> 0; (.., 2) 11 -> 1; (.., 7) 5 -> 1; f64 3 -> 0 (a tie: the
    # first); (.., 9) 1 -> 1; sigmoid 1 -> 1
    assert [where[i] for i in range(len(batches))] == [0, 0, 1, 0, 1, 1, 1, 1, 1, 0]
    assert loads == [19.0, 18.0]
    # a later wave: a group already placed stays where it went, new ones go to the lighter
    later = [
        (10, _batch("dense", "float32", 6, 5), 100.0),
        (11, _batch("dense", "bfloat16", 2, 2), 1.0),
    ]
    more = spread.deal(later, loads, placed)
    assert 10 in more[where[0]]
    lighter = 1 - where[0]  # process 0 took 100 more
    assert 11 in more[lighter]


def test_a_batch_is_weighed_by_its_calls_and_its_multiply_adds() -> None:
    small, large = _batch("dense", "float32", 2, 2), _batch("dense", "float32", 64, 32)
    assert spread.batch_cost(large, "jax", 3) > spread.batch_cost(small, "jax", 3) > 0
    assert spread.batch_cost(small, "jax", 6) == pytest.approx(
        2 * spread.batch_cost(small, "jax", 3)
    )
    assert spread.batch_cost(_batch("dense", "float32", 2, 2, items=3), "jax", 3) == pytest.approx(
        3 * spread.batch_cost(small, "jax", 3)
    )
    assert spread.batch_cost(_batch("sigmoid", "float32", 1, 4), "numpy", 1) > 0


# --------------------------------------------------------------------------------------------
# Real runs


KILLER = ("dense", "float32", 5)  # the group KilledInOne dies on
SOME = [str(CASES / d) for d in ("layout", "semantics")]


@pytest.fixture
def cli_logged(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str]]:
    """A run of NumPy and a logging plugin over SOME with N worker processes."""

    def run(out: Path, log: Path, adapter: str, processes: str) -> tuple[int, str]:
        monkeypatch.setenv(SPREAD_LOG_ENV, str(log))
        code, stdout, _ = cli(
            "run", *SOME, "--framework", "numpy", "--framework", "spready",
            "--adapter", f"tests.plugins:{adapter}", "--worker-processes", processes,
            "--report-dir", str(out), "--format", "json", "--quiet",
        )  # fmt: skip
        return code, stdout

    return run


def _log(path: Path) -> list[list[Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_processes_give_the_rows_of_one(cli_logged: Any, tmp_path: Path) -> None:
    one_code, _ = cli_logged(tmp_path / "one", tmp_path / "one.log", "LoggingTiny", "1")
    two_code, _ = cli_logged(tmp_path / "two", tmp_path / "two.log", "LoggingTiny", "2")
    assert one_code == two_code
    one, two = _log(tmp_path / "one.log"), _log(tmp_path / "two.log")
    assert len({pid for pid, *_ in one}) == 1
    assert len({pid for pid, *_ in two}) == 2  # both processes ran batches
    assert sorted(str(b) for _, *b in one) == sorted(str(b) for _, *b in two)  # each once
    owner: dict[tuple[Any, ...], int] = {}
    for pid, kind, dtype, n_out, _cases in two:  # a group of batches in one process only
        assert owner.setdefault((kind, dtype, n_out), pid) == pid

    def rows(d: Path) -> list[tuple[Any, ...]]:
        keep = ("case", "dtype", "framework", "path", "op", "status", "max_abs_err", "max_ulp")
        return [tuple(r.get(k) for k in keep) for r in load_results(d)]

    assert rows(tmp_path / "one") == rows(tmp_path / "two")  # same rows, same order

    one_out, two_out = _outputs(tmp_path / "one"), _outputs(tmp_path / "two")
    assert one_out == two_out and any(v is not None for v in one_out.values())


def _outputs(d: Path) -> dict[tuple[Any, ...], bytes | None]:
    """Every row's output bytes by (case, dtype, framework, op, path)."""
    store = load_beside(d)
    assert store is not None
    got = {}
    for r in load_results(d):
        stored = store.output(SimpleNamespace(**r))  # type: ignore[arg-type]
        key = (r["case"], r["dtype"], r["framework"], r["op"], r["path"])
        got[key] = None if stored is None else stored.values.tobytes()
    return got


def test_jax_in_two_processes_computes_the_same_bits(cli: Cli, tmp_path: Path) -> None:
    """The framework the split is for: its programs per shape are the same in either process
    (and shared through the persistent cache)."""
    pytest.importorskip("jax")
    for n in ("1", "2"):
        code, out, err = cli(
            "run", *SOME, "--framework", "jax", "--worker-processes", n,
            "--report-dir", str(tmp_path / n), "--format", "json", "--quiet",
        )  # fmt: skip
        assert code in (0, 1), out + err
    one, two = _outputs(tmp_path / "1"), _outputs(tmp_path / "2")
    assert one == two and sum(v is not None for v in one.values()) > 20


def test_a_killed_process_costs_only_its_own_batches(cli_logged: Any, tmp_path: Path) -> None:
    code, out = cli_logged(tmp_path / "r", tmp_path / "r.log", "KilledInOne", "2")
    assert code == 1, out
    log = _log(tmp_path / "r.log")
    killed = {pid for pid, kind, dtype, n_out, _ in log if (kind, dtype, n_out) == KILLER}
    assert len(killed) == 1
    survived = {(c, dtype) for pid, _, dtype, _, cases in log if pid not in killed for c in cases}
    assert survived  # the other process ran its batches to the end
    results = load_results(tmp_path / "r")
    assert "error" not in {r["status"] for r in results if r["framework"] == "numpy"}
    mine = [r for r in results if r["framework"] == "spready"]
    assert len({(r["case"], r["dtype"], r["path"]) for r in mine}) == len(mine)  # each once
    for r in mine:
        if (r["case"], r["dtype"]) in survived:
            assert r["status"] != "error", r
    errors = [r for r in mine if r["status"] == "error"]
    assert errors and len(errors) < len(mine)
    assert all("SIGKILL" in r["message"] for r in errors), {r["message"] for r in errors}


def test_the_option_takes_auto_or_a_count(cli: Cli, tmp_path: Path) -> None:
    for bad in ("0", "-1", "two", "65", "1.5"):
        code, _out, err = cli(
            "run", SOME[0], "--framework", "numpy", "--worker-processes", bad,
            "--report-dir", str(tmp_path / "r"), "--quiet",
        )  # fmt: skip
        assert code == 2 and "--worker-processes" in err, (bad, err)


# --------------------------------------------------------------------------------------------
# JAX's persistent cache, shared by the processes


def test_jax_cache_entries_are_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("jax")
    from jax._src import lru_cache

    from conformance.adapters import jax_adapter

    assert jax_adapter.atomic_cache_writes()
    replaced: list[tuple[Path, Path]] = []
    real = os.replace

    def spy(src: Any, dst: Any) -> None:
        replaced.append((Path(src), Path(dst)))
        real(src, dst)

    monkeypatch.setattr(jax_adapter.os, "replace", spy)
    cache = lru_cache.LRUCache(str(tmp_path), max_size=-1)
    cache.put("k1", b"whole entry")
    assert len(replaced) == 1
    src, dst = replaced[0]
    assert dst == tmp_path / "k1-cache" and src.parent == tmp_path and src != dst
    assert cache.get("k1") == b"whole entry"
    cache.put("k1", b"another")  # an existing key is kept, as JAX keeps it
    assert cache.get("k1") == b"whole entry" and len(replaced) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k1-cache"]  # no temporary left

    old, new = tmp_path / ".k2-cache.1.2.tmp", tmp_path / ".k3-cache.1.2.tmp"
    old.write_bytes(b"half")
    new.write_bytes(b"half")
    os.utime(old, (1.0, 1.0))
    jax_adapter.remove_stale_temps(tmp_path)
    assert not old.exists() and new.exists()  # a live writer's temporary stays
