"""The warm-ahead thread (JAX's eager mode compiles every primitive per new shape): it runs
the batches ahead on zeros from the last one back, never a batch whose run has begun, and the
rows it leaves are the rows a run without it gives, bit for bit; so are the rows of a JAX
worker that drops its compiled programs after every batch (the memory bound)."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from conformance.adapters.base import Batch, Item
from conformance.adapters.jax_adapter import resident_bytes
from conformance.outputs import load_beside
from conformance.worker import _WarmAhead

from .conftest import CASES, KNOWN, load_results

Cli = Callable[..., tuple[int, str, str]]


class Recorder:
    """Records what is warmed and, for each, which batch the main loop was on."""

    def __init__(self) -> None:
        self.current = -1
        self.warmed: list[tuple[int, int]] = []  # (batch, main loop's batch at the start)
        self.lock = threading.Lock()

    def warm(self, batch: Batch) -> None:
        with self.lock:
            self.warmed.append((batch.in_features, self.current))
        time.sleep(0.004)


def _batch(i: int) -> Batch:
    return Batch("dense", "float32", i, 1, False, [])


def test_warm_ahead_goes_from_the_back_and_never_behind_the_main_loop() -> None:
    rec = Recorder()
    ahead = _WarmAhead(rec)
    for chunk in (range(0, 30), range(30, 60)):  # the runner sends batches in messages
        batches = [(i, _batch(i)) for i in chunk]
        ahead.add(batches)
        for index, _ in batches:
            ahead.take(index)
            with rec.lock:
                rec.current = index
            time.sleep(0.01)
    time.sleep(0.05)
    warmed = [b for b, _ in rec.warmed]
    assert warmed, "nothing was warmed"
    assert len(warmed) == len(set(warmed))  # at most once each
    assert all(b > current for b, current in rec.warmed)  # always ahead of the main loop
    assert warmed[:3] == [29, 28, 27]  # from the back of what it was given
    assert 59 in warmed


def test_warm_runs_each_path_on_zeros_of_each_distinct_shape() -> None:
    """Adapter.warm: one call per path and distinct item shapes, with zeros."""
    from conformance.adapters.numpy_adapter import NumpyAdapter

    calls: list[tuple[str, tuple[int, ...], float]] = []

    class Counting(NumpyAdapter):
        pass

    adapter = Counting()
    paths = []
    for p in NumpyAdapter.paths:

        def build(self: Any, batch: Batch, dev: Any, p: Any = p) -> Any:
            def fn(item: Item) -> np.ndarray:
                assert item.x is not None
                calls.append((p.name, item.x.shape, float(np.abs(item.x).max())))
                return item.x

            return fn

        paths.append(SimpleNamespace(name=p.name, kind=p.kind, build=build))
    adapter.paths = tuple(paths)  # type: ignore[misc,assignment]
    rng = np.random.default_rng(0)
    items = [
        Item("a", x=rng.standard_normal((3, 4)), param=rng.standard_normal((2, 4))),
        Item("b", x=rng.standard_normal((3, 4)), param=rng.standard_normal((2, 4))),
        Item("c", x=rng.standard_normal(4), param=rng.standard_normal((2, 4))),
    ]
    adapter.warm(Batch("dense", "float64", 4, 2, False, items))
    dense = [p.name for p in NumpyAdapter.paths if p.kind == "dense"]
    assert sorted(calls) == sorted((n, s, 0.0) for n in dense for s in ((3, 4), (4,)))


needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs jax")


@needs_jax
@pytest.mark.slow
def test_warmed_jax_rows_are_the_unwarmed_rows_bit_for_bit(cli: Cli, tmp_path: Path) -> None:
    """The same cases through JAX with the warm-ahead thread (the ``jax`` adapter), without
    it, and with a warm-up that leaks a global change: the first two agree on every output
    bit; the leaky one turns float64 rows red, so the comparison can fail."""
    folders = [CASES / "semantics", CASES / "dtypes", CASES / "sigmoid"]
    code, out, err = cli(
        "run", *map(str, folders), "--no-cache",
        "--framework", "jax", "--framework", "jax-unwarmed", "--framework", "jax-leakywarm",
        "--framework", "jax-clearsoften", "--adapter", "tests.warm_adapters:JaxClearsOften",
        "--adapter", "tests.warm_adapters:JaxUnwarmed",
        "--adapter", "tests.warm_adapters:JaxLeakyWarm",
        "--known", str(KNOWN), "--report-dir", str(tmp_path / "r"), "--quiet",
    )  # fmt: skip
    assert code in (0, 1), out + err
    rows = load_results(tmp_path / "r")
    store = load_beside(tmp_path / "r")
    assert store is not None

    def outputs(fw: str) -> dict[tuple[Any, ...], Any]:
        got = {}
        for r in rows:
            if r["framework"] == fw and r["op"] != "init":
                key = (r["case"], r["dtype"], r["op"], r["path"])
                stored = store.output(SimpleNamespace(**r))  # type: ignore[arg-type]
                got[key] = None if stored is None else stored.values.view(np.uint64)
        return got

    warmed, unwarmed, leaky = outputs("jax"), outputs("jax-unwarmed"), outputs("jax-leakywarm")
    assert len(warmed) > 300 and warmed.keys() == unwarmed.keys()
    differ = [k for k in warmed if not np.array_equal(warmed[k], unwarmed[k])]
    assert not differ, differ[:5]
    if sys.platform.startswith("linux"):  # where the bound can see the resident size
        assert resident_bytes() > 0
    cleared = outputs("jax-clearsoften")  # every program dropped after each batch
    assert cleared.keys() == warmed.keys()
    assert not [k for k in warmed if not np.array_equal(warmed[k], cleared[k])]
    assert any(not np.array_equal(warmed[k], leaky[k]) for k in warmed)
    bad = {
        r["status"] for r in rows if r["framework"] == "jax-leakywarm" and r["dtype"] == "float64"
    }
    assert "fail" in bad or "error" in bad, bad


def test_warming_pauses_while_the_persistent_cache_serves_every_program() -> None:
    """WarmWhileCompiling, driven by JAX's cache events: warms while programs compile,
    then only every SAMPLE-th batch once IDLE warmed batches in a row compiled nothing, and
    fully again as soon as one does; with no cache events at all (no cache) it always warms."""
    from conformance.adapters.jax_adapter import CACHE_HIT, CACHE_REQUEST, WarmWhileCompiling

    class Base:
        interleave = False

        def warm(self, batch: Batch) -> None:
            self.warmed.append(batch.in_features)  # type: ignore[attr-defined]
            if self.interleave:  # the main loop asks for a program in its own thread
                other = threading.Thread(target=self.listener, args=(CACHE_REQUEST,))  # type: ignore[attr-defined]
                other.start()
                other.join()
            for _ in range(3):
                self.listener(CACHE_REQUEST)  # type: ignore[attr-defined]
                if batch.in_features not in self.compiles:  # type: ignore[attr-defined]
                    self.listener(CACHE_HIT)  # type: ignore[attr-defined]

    class Fake(WarmWhileCompiling, Base):
        def __init__(self, compiles: set[int], events: bool = True) -> None:
            self.warmed: list[int] = []
            self.compiles = compiles
            self.listener: Callable[..., None] = lambda event: None
            monitoring = SimpleNamespace(register_event_listener=self._listen if events else id)
            self.jax = SimpleNamespace(monitoring=monitoring)

        def _listen(self, fn: Callable[..., None]) -> None:
            self.listener = fn

    assert (WarmWhileCompiling.IDLE, WarmWhileCompiling.SAMPLE) == (6, 16)  # as below
    fake = Fake(set(range(10)) | {31})  # programs compile at these batches only
    for i in range(120):
        fake.warm(_batch(i))
    # 0-9 compile; 10-15 are six all-hit batches; then every 16th: 31 compiles, so 32-37
    # are warmed again, then every 16th from there: 53, 69, 85, 101, 117
    assert fake.warmed == [*range(16), 31, *range(32, 38), 53, 69, 85, 101, 117]

    # The main loop compiles in its own thread beside the warm: its events must not count.
    # Here each warm sees a request of the main thread's that has not had its hit yet.
    busy = Fake(set(range(10)))
    busy.interleave = True
    for i in range(60):
        busy.warm(_batch(i))
    assert busy.warmed == [*range(16), 31, 47]

    nocache = Fake(set(), events=False)  # no cache: no events, every batch warmed
    for i in range(50):
        nocache.warm(_batch(i))
    assert nocache.warmed == list(range(50))
