"""The reference cache: a hit returns exactly what was computed; a changed input or algorithm
misses; a damaged entry is recomputed; nothing in an entry can execute."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from conformance.reference import Reference, cache, compute, reference


def _case(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 512)).astype(np.float32).astype(np.float64)
    w = rng.standard_normal((256, 512)).astype(np.float32).astype(np.float64)
    b = np.array([-0.0] * 256)
    x[0, :] = -0.0  # signed zeros and a nan survive the round trip
    x[1, 0] = np.nan
    return {"x": x, "weight": w, "bias": b}


def _same(a: Reference, b: Reference) -> None:
    for field in ("affine", "sigmoid", "abs_sum", "products"):
        u, v = getattr(a, field), getattr(b, field)
        assert u.shape == v.shape
        assert np.array_equal(u.view(np.uint64), v.view(np.uint64)), field  # bit for bit


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> cache.ReferenceCache:
    monkeypatch.setattr(cache, "WORTH_SECONDS", 0.0)  # store every result
    cache.configure(tmp_path)
    yield cache.current()
    cache.configure(cache.default_dir())


def test_a_hit_is_the_computed_result_bit_for_bit(store: cache.ReferenceCache) -> None:
    arrays = _case()
    first = reference("float32", **arrays)
    assert list(store.dir.glob("*/*.npz"))  # stored
    again = reference("float32", **arrays)
    _same(first, again)
    _same(first, compute("float32", **arrays))


def test_changed_inputs_dtype_or_algorithm_miss(
    store: cache.ReferenceCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = _case()
    key = store.key("float32", arrays)
    other = dict(arrays, bias=np.zeros(256))  # +0 instead of -0: a different case
    assert store.key("float32", other) != key
    assert store.key("float64", arrays) != key
    monkeypatch.setattr(cache, "code_version", lambda: "another algorithm")
    assert store.key("float32", arrays) != key


def test_a_damaged_entry_is_recomputed(store: cache.ReferenceCache) -> None:
    arrays = _case(1)
    first = reference("float32", **arrays)
    (entry,) = store.dir.glob("*/*.npz")
    entry.write_bytes(b"not a zip file")
    _same(first, reference("float32", **arrays))


def test_entries_never_unpickle(store: cache.ReferenceCache) -> None:
    arrays = _case(2)
    reference("float32", **arrays)
    (entry,) = store.dir.glob("*/*.npz")
    objects = np.array([object()], dtype=object)
    with entry.open("wb") as fh:
        np.savez(fh, sigmoid=objects, affine=objects)  # what an attacker could plant
    # loading refuses pickled arrays: recomputed instead
    assert store.load(store.key("float32", arrays)) is None


def test_off_computes_and_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV, "off")
    cache.configure(cache.default_dir())
    try:
        assert cache.current() is None
        reference("float32", **_case(3))
        assert not any(tmp_path.iterdir())
    finally:
        monkeypatch.undo()
        cache.configure(cache.default_dir())


def test_prune_keeps_the_newest_within_the_limit(tmp_path: Path) -> None:
    store = cache.ReferenceCache(tmp_path, size_limit=0)
    for i in range(3):
        store.store(f"{i:02d}" + "0" * 62, {"sigmoid": np.zeros(1000)})
        time.sleep(0.01)
    store.size_limit = 9000  # room for one entry
    store.prune()
    left = sorted(p.name for p in store.dir.glob("*/*.npz"))
    assert left == ["02" + "0" * 62 + ".npz"]
