"""Stopping a run from outside: Ctrl-C (SIGINT), SIGTERM and SIGHUP.

SIGINT raises ``KeyboardInterrupt`` in the main thread already; :func:`trapped` makes SIGTERM
and SIGHUP do the same (as :class:`Terminated`), so one ``except KeyboardInterrupt`` in the
runner stops every worker and keeps the finished rows, whichever signal came. The runner then
raises :class:`RunInterrupted` carrying the partial result; being a ``KeyboardInterrupt``, it
still stops a caller that does not catch it (a pytest session). The CLI exits with
``128 + the signal's number`` (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

TRAPPED = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread by :func:`trapped`'s handler."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``result`` holds its rows (the unfinished ones are
    ``error`` rows saying ``interrupted``)."""

    def __init__(self, result: Any, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.result = result
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def signum_of(exc: KeyboardInterrupt) -> int:
    """The signal behind an interrupt: SIGINT unless it was a :class:`Terminated`."""
    return getattr(exc, "signum", signal.SIGINT)


@contextlib.contextmanager
def trapped() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` while inside (main thread only;
    elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Terminated(signum)

    old = {s: signal.signal(s, handler) for s in TRAPPED}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
