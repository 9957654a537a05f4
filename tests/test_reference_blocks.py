"""The reference's elementwise stages run in blocks on every core
(``conformance.reference.blocks``); the blocking must change no bit.

Real inputs are large enough for blocks only at sizes the unit tests avoid, so these tests
shrink the blocks (a few rows or elements, ragged at the end, on the thread pool whatever the
size) and check the reference two ways: bit for bit against the same computation in one
block, on inputs that reach every stage (both GEMM schemes, rows whose slices stop early, the
exact path, special values), and against the independent oracle (tests/oracle.py)."""

from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pytest

from conformance import dtypes as D
from conformance.reference import affine, blocks, compute
from tests import oracle as O
from tests.oracle_strategies import Dense
from tests.test_affine_enclosure import KINDS, _inputs
from tests.test_oracle import DTYPES, check_dense, random_dense


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 41 elements (a few rows; the last block ragged), always on the pool."""
    monkeypatch.setattr(blocks, "BLOCK", 41)
    monkeypatch.setattr(blocks, "PARALLEL_MIN", 0)


def _bits(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else np.ascontiguousarray(a, np.float64).view(np.uint64)


def _everything(dtype: str, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> dict:
    ref = compute(dtype, x, w, b)
    with np.errstate(all="ignore"):
        enc = affine.affine_map(x, w, b, D.get(dtype)).enclosure
    arrays = {**vars(ref), "hi": enc.hi, "lo": enc.lo, "err": enc.err}
    return {k: _bits(v) for k, v in arrays.items()}


def _same_in_blocks(
    monkeypatch: pytest.MonkeyPatch, dtype: str, x: np.ndarray, w: np.ndarray, b: np.ndarray | None
) -> None:
    with monkeypatch.context() as mp:
        mp.setattr(blocks, "BLOCK", 1 << 40)  # one block, in the calling thread
        whole = _everything(dtype, x, w, b)
    with monkeypatch.context() as mp:
        mp.setattr(blocks, "BLOCK", 41)
        mp.setattr(blocks, "PARALLEL_MIN", 0)
        parts = _everything(dtype, x, w, b)
    for key, want in whole.items():
        got = parts[key]
        assert (got is None) == (want is None), key
        if want is not None:
            assert np.array_equal(got, want), (dtype, key, int((got != want).sum()))


def _mixed_rows(dt: D.DType, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """Rows whose slices run out early (small integers: nothing left after the first slice)
    beside rows that need every slice, a zero row, a tiny row, a row with inf and one with
    nan, and a bias that cancels some sums exactly (the exact path)."""
    rows, m = 23, 6
    x = rng.normal(size=(rows, n)) * 2.0 ** rng.integers(-12, 12, size=(rows, n))
    x[::3] = rng.integers(-4, 5, size=x[::3].shape)
    x[4] = 0.0
    x[11] *= 2.0**-80  # magnitudes below float32's safe range for the |x|·|w| GEMM
    w = rng.normal(size=(m, n))
    w[1] = rng.integers(-3, 4, size=n)
    x, w = (D.round_pair(a, np.zeros_like(a), dt) for a in (x, w))
    b = D.round_pair(rng.normal(size=m), np.zeros(m), dt)
    b[1] = -float(x[0] @ w[1])  # integers: the sum is exactly 0
    x[7, 0], x[10, 1] = np.inf, np.nan
    return x, w, b


@pytest.mark.parametrize("dtype", D.DTYPE_NAMES)
def test_blocks_change_no_bit(dtype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    dt = D.get(dtype)
    rng = np.random.default_rng(D.DTYPE_NAMES.index(dtype))
    for n in (9, 300):
        _same_in_blocks(monkeypatch, dtype, *_mixed_rows(dt, rng, n))
        for kind in KINDS:
            x, w, b = _inputs(kind, dt, n, rng)
            _same_in_blocks(monkeypatch, dtype, np.tile(x, (7, 1)), w, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["unit", "wide", "tiny", "cancel"])
def test_oracle_batches_in_blocks(dtype: str, kind: str, tiny: None) -> None:
    seed = 5000 + 1000 * DTYPES.index(dtype) + ["unit", "wide", "tiny", "cancel"].index(kind)
    check_dense(dtype, random_dense(kind, O.FORMATS[dtype], seed))


def test_mixed_rows_against_the_oracle_in_blocks(tiny: None) -> None:
    for dtype in DTYPES:
        x, w, b = _mixed_rows(D.get(dtype), np.random.default_rng(3), 9)
        fine = np.isfinite(x).all(axis=1)
        check_dense(dtype, Dense(x[fine], w, b))


# --------------------------------------------------------------------------------------------
# each_block itself


def test_every_index_once_on_several_threads(tiny: None) -> None:
    seen = np.zeros(1000, dtype=np.int64)
    names: set[str] = set()
    lock = threading.Lock()

    def fn(r: slice) -> None:
        time.sleep(0.001)  # long enough that more than one thread takes blocks
        with lock:
            seen[r] += 1
            names.add(threading.current_thread().name)

    blocks.each_block(1000, 3, fn)
    assert (seen == 1).all()
    if blocks.cores() > 1:
        assert len(names) > 1


def test_small_work_stays_in_the_calling_thread() -> None:
    names: set[str] = set()
    blocks.each_block(100, 1, lambda r: names.add(threading.current_thread().name))
    assert names == {threading.current_thread().name}


def test_a_failing_block_raises_after_every_block_ran(tiny: None) -> None:
    seen = np.zeros(200, dtype=np.int64)

    def fn(r: slice) -> None:
        seen[r] += 1
        if r.start <= 100 < r.stop:
            raise ValueError("block 100")

    with pytest.raises(ValueError, match="block 100"):
        blocks.each_block(200, 1, fn)
    assert (seen == 1).all()


def test_blocks_run_in_the_callers_errstate(tiny: None) -> None:
    """NumPy's error state lives in the caller's context; a block in a pool thread that did
    not copy it would warn instead of raising."""
    big = np.full(1000, 1e308)

    def fn(r: slice) -> None:
        big[r] * 10.0

    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        blocks.each_block(1000, 1, fn)


def test_nested_blocks_run_serially_in_their_block(tiny: None) -> None:
    inner: list[set[str]] = []

    def outer(r: slice) -> None:
        names: set[str] = set()
        blocks.each_block(100, 1, lambda q: names.add(threading.current_thread().name))
        inner.append(names)

    blocks.each_block(100, 1, outer)
    assert inner and all(len(names) == 1 for names in inner)


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="POSIX signals")
def test_an_interrupted_wait_cancels_the_blocks_not_started(tiny: None) -> None:
    """Ctrl-C while the caller waits: the blocks not yet started are dropped, so the process
    does not go on working (and exiting does not wait) for them."""
    ran: list[int] = []

    def fn(r: slice) -> None:
        time.sleep(0.02)
        ran.append(r.start)

    count = 40 * min(blocks.cores(), 8)  # 0.8 s of blocks on the pool's threads
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    timer = threading.Timer(0.1, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        blocks.each_block(count, 41, fn)  # one unit of 41 elements a block, 20 ms each
    time.sleep(1.5)  # longer than all of them would take, had they gone on
    assert len(ran) < count // 2
