"""What a run shows while it goes: rows done of the total per framework, rate and ETA.

The runner reports to a :class:`Progress` (all calls from one thread): ``message`` for
one-off lines, ``planned``/``advanced``/``finished`` per task (a framework, or the exact
reference). Three displays:

- :class:`Live` on a terminal: one line per task, redrawn in place (at most 10 times a second);
  messages scroll above them;
- :class:`Lines` when stderr is not a terminal (CI logs): plain lines, a status line at most
  every :data:`Lines.EVERY_S` and one when a task finishes;
- :class:`Progress` itself shows nothing (``--quiet``).

Task names come from adapters (plugins included) and are escaped like every untrusted string.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from . import escape

NAME_CHARS = 24


class Progress:
    """Shows nothing; the interface the runner reports to."""

    def message(self, text: str) -> None:
        """A one-off line (what was planned, how long a phase took)."""

    def planned(self, task: str, total: int, unit: str = "rows") -> None:
        """``task`` will produce ``total`` rows (or other ``unit``s)."""

    def advanced(self, task: str, done: int) -> None:
        """``task`` has ``done`` rows (or row equivalents in flight) so far."""

    def finished(self, task: str, note: str = "") -> None:
        """``task`` is over; ``note`` says how (``12.3 s``, or why it failed)."""

    def close(self) -> None:
        """The run is over (or interrupted): leave the display in its final state."""


class Messages(Progress):
    """Messages to a callable, nothing else (the runner's plain ``progress=print`` form)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say

    def message(self, text: str) -> None:
        self.say(text)


def as_progress(progress: Progress | Callable[[str], None] | None) -> Progress:
    if progress is None:
        return Progress()
    if isinstance(progress, Progress):
        return progress
    return Messages(progress)


@dataclass
class Task:
    name: str
    total: int = 0
    done: int = 0
    started: float = 0.0
    ended: float | None = None
    note: str = ""
    unit: str = "rows"

    def rate(self, now: float) -> float:
        span = (self.ended or now) - self.started
        return self.done / span if span > 0 else 0.0

    def eta(self, now: float) -> float | None:
        rate = self.rate(now)
        if self.ended is not None or rate <= 0 or self.done >= self.total:
            return None
        return (self.total - self.done) / rate

    def text(self, now: float, bar: int = 0) -> str:
        name = escape.visible(self.name, NAME_CHARS)
        pct = 100.0 * self.done / self.total if self.total else 100.0
        head = f"{name:<{min(NAME_CHARS, 14)}} "
        if bar:
            filled = round(bar * min(1.0, pct / 100))
            head += "[" + "#" * filled + "." * (bar - filled) + "] "
        head += f"{self.done}/{self.total} {self.unit} ({pct:.0f}%)"
        if self.ended is not None:
            took = self.ended - self.started
            return head + (
                f", {escape.visible(self.note, 300)}" if self.note else f" in {took:.1f} s"
            )
        eta = self.eta(now)
        rate = self.rate(now)
        head += f", {rate:.1f}/s" if rate else ""
        return head + (f", ETA {_duration(eta)}" if eta is not None else "")


def _duration(s: float) -> str:
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s // 60:.0f} min {s % 60:02.0f} s"
    return f"{s // 3600:.0f} h {s % 3600 // 60:02.0f} min"


class _Tracker(Progress):
    """Task bookkeeping shared by the displays."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.tasks: dict[str, Task] = {}

    def planned(self, task: str, total: int, unit: str = "rows") -> None:
        t = self.tasks.setdefault(task, Task(task, started=self.clock()))
        t.total, t.unit = total, unit
        self._changed(t)

    def advanced(self, task: str, done: int) -> None:
        t = self.tasks.setdefault(task, Task(task, started=self.clock()))
        t.done = done
        self._changed(t)

    def finished(self, task: str, note: str = "") -> None:
        t = self.tasks.setdefault(task, Task(task, started=self.clock()))
        if t.ended is None:
            t.ended, t.note = self.clock(), note
            self._changed(t, final=True)

    def _changed(self, task: Task, final: bool = False) -> None:
        raise NotImplementedError


class Lines(_Tracker):
    """Plain lines for logs: ``[conformance] ...``."""

    EVERY_S = 10.0

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(stream, clock)
        self._last = clock()

    def _print(self, text: str) -> None:
        print(f"[conformance] {escape.visible(text, escape.LINE_LIMIT)}", file=self.stream)
        self.stream.flush()

    def message(self, text: str) -> None:
        self._print(text)

    def _changed(self, task: Task, final: bool = False) -> None:
        now = self.clock()
        if final:
            self._print(task.text(now))
        elif now - self._last >= self.EVERY_S:
            self._last = now
            running = [t for t in self.tasks.values() if t.ended is None and t.total]
            if running:
                self._print("; ".join(t.text(now) for t in running))


class Live(_Tracker):
    """A block of lines redrawn in place on a terminal."""

    REDRAW_S = 0.1
    BAR = 20

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(stream, clock)
        self._drawn = 0
        self._last = 0.0

    def _width(self) -> int:
        return max(20, shutil.get_terminal_size((100, 24)).columns - 1)

    def _clear(self) -> str:
        return f"\x1b[{self._drawn}F\x1b[J" if self._drawn else ""

    def _block(self) -> list[str]:
        now, width = self.clock(), self._width()
        return [t.text(now, self.BAR)[:width] for t in self.tasks.values() if t.total]

    def _draw(self, before: str = "") -> None:
        lines = self._block()
        out = self._clear() + before + "".join(f"{line}\n" for line in lines)
        self._drawn = len(lines)
        self._last = self.clock()
        self.stream.write(out)
        self.stream.flush()

    def message(self, text: str) -> None:
        self._draw(escape.visible(text, self._width()) + "\n")

    def _changed(self, task: Task, final: bool = False) -> None:
        if final or self.clock() - self._last >= self.REDRAW_S:
            self._draw()

    def close(self) -> None:
        if self.tasks:
            self._draw()


def for_stream(stream: TextIO, quiet: bool = False) -> Progress:
    """The display for ``stream``: nothing when quiet, :class:`Live` on a terminal, else
    :class:`Lines`."""
    if quiet:
        return Progress()
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return Live(stream) if tty else Lines(stream)
