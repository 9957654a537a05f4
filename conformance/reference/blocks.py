"""Elementwise stages of the reference in cache-sized blocks, on every core.

The reference's GEMMs already use every core (BLAS threads); its elementwise stages (the
TwoSum accumulation, Ziv's test, the double-double sigmoid) are NumPy passes, one core each
and, over a whole 1024×1024 output, one trip to memory per pass. Run block by block they stay
in the cache (measured: the float64 sigmoid of 1M elements ~0.25 s whole, ~0.13 s in blocks
on one core, ~0.09 s in blocks on two cores). NumPy releases the GIL inside its loops, so
plain threads run them in parallel. Every block computes exactly what the whole array would
(the stages are elementwise, or row by row), so the bits do not depend on the blocking.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

#: elements of one array per block (1 MiB of float64): the fastest of 16K to 1M on the float64
#: sigmoid; smaller blocks pay NumPy's cost per call, larger ones leave the cache
BLOCK = 1 << 17
#: below this many elements, one block in the calling thread (threads cost ~50 µs a call)
PARALLEL_MIN = 1 << 17

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_inside = threading.local()


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(min(cores(), 8), thread_name_prefix="reference-block")
        return _pool


def each_block(count: int, per_unit: int, fn: Callable[[slice], None]) -> None:
    """Calls ``fn(slice)`` over ``range(count)`` in blocks of about :data:`BLOCK` elements,
    where a unit (a row, or one element) holds ``per_unit`` elements. ``fn`` writes its
    results into arrays the caller owns, each block its own part. On every core when the
    work is large enough, each block in a copy of the caller's context (NumPy's ``errstate``
    lives there); serially otherwise, and inside a block (no nested pools). The first
    exception of a block is raised here, after every block has ended; an interruption of the
    wait (Ctrl-C) cancels the blocks not yet started, so that exiting does not wait for them."""
    step = max(1, BLOCK // max(1, per_unit))
    blocks = [slice(i, min(count, i + step)) for i in range(0, count, step)]
    serial = (
        len(blocks) < 2
        or count * per_unit < PARALLEL_MIN
        or cores() < 2
        or getattr(_inside, "active", False)
    )
    if serial:
        for block in blocks:
            fn(block)
        return
    context = contextvars.copy_context()
    futures = [_get_pool().submit(_run, context.copy(), fn, b) for b in blocks]
    try:
        errors = [f.exception() for f in futures]
    except BaseException:  # the caller interrupted (Ctrl-C): drop the blocks not yet started
        for f in futures:
            f.cancel()
        raise
    for error in errors:
        if error is not None:
            raise error


def _run(context: contextvars.Context, fn: Callable[[slice], None], block: slice) -> None:
    _inside.active = True
    try:
        context.run(fn, block)
    finally:
        _inside.active = False
