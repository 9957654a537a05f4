"""``with deadline(s):`` fails a test that blocks (a FIFO opened for reading waits for a writer
forever) instead of hanging the suite: SIGALRM interrupts the blocking call."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def expired(_sig: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"still blocked after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
