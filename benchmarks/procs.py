"""Run one command and measure it: wall time, exit code and peak memory of its process tree.

The suite runs a parent and one worker process per framework, so the memory that matters is
the whole tree's: the peak over time of the summed resident set sizes (sampled from /proc every
``interval`` seconds; resident pages shared between processes count once per process, as
``ps`` would show them). ``sum_hwm_bytes`` adds every process's own high-water mark
(``VmHWM``): an upper bound that sampling cannot miss; ``per_process`` gives each process's
high-water mark with a label (the framework whose library it has mapped, else its command).
A tree whose summed RSS passes ``max_rss`` is killed (the machine is shared), and says so.
Without /proc (not Linux) the memory figures are 0.

CPU time (user + sys of the tree, from ``getrusage(RUSAGE_CHILDREN)``: every process the
command waited for) is far less disturbed by other load than wall time; ``others_busy`` is
the share of the machine's CPU capacity that *other* processes used during the run, from
/proc/stat (0 = the machine was ours, 0.5 = half of it was taken): a measure of the noise.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
PROC = Path("/proc")


@dataclass
class Measured:
    """One command's figures; ``stdout``/``stderr`` are its text (capped to ``keep`` chars)."""

    argv: list[str]
    seconds: float
    returncode: int
    timed_out: bool
    peak_rss_bytes: int
    sum_hwm_bytes: int
    processes: int  # distinct processes seen in the tree
    stdout: str
    stderr: str
    per_process: list[dict[str, object]] = field(default_factory=list)
    killed_for_memory: bool = False
    cpu_seconds: float = 0.0
    others_busy: float | None = None


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids of every process visible in /proc."""
    kids: dict[int, list[int]] = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(")") + 2 :].split()
        kids.setdefault(int(fields[1]), []).append(int(entry.name))
    return kids


def tree(root: int) -> list[int]:
    """``root`` and all its descendants alive now."""
    kids = _children()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _rss_and_hwm(pid: int) -> tuple[int, int]:
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return 0, 0
    rss = hwm = 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
    return rss, hwm


# a library path fragment -> the framework a process has loaded (checked in this order)
LIBRARIES = (
    ("libtorch", "torch"),
    ("libtensorflow", "tensorflow"),
    ("_pywrap_tensorflow", "tensorflow"),
    ("jaxlib", "jax"),
)


def label(pid: int) -> str | None:
    """The framework whose shared library ``pid`` has mapped, if any."""
    try:
        maps = (PROC / str(pid) / "maps").read_text()
    except OSError:
        return None
    for fragment, name in LIBRARIES:
        if fragment in maps:
            return name
    return None


def command(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(a.decode("utf-8", "replace") for a in raw.split(b"\0") if a)[:200]


class TreeSampler:
    """Samples a process tree's summed RSS in a thread until :meth:`stop`; past ``limit``
    bytes it calls ``on_limit`` once."""

    def __init__(
        self,
        root: int,
        interval: float = 0.1,
        limit: int = 0,
        on_limit: Callable[[], None] | None = None,
    ) -> None:
        self.root = root
        self.interval = interval
        self.limit = limit
        self.on_limit = on_limit
        self.over_limit = False
        self.peak = 0
        self.hwm: dict[int, int] = {}
        self.labels: dict[int, str] = {}
        self.commands: dict[int, str] = {}
        self._samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        if PROC.is_dir():
            self._thread.start()

    def sample(self) -> None:
        total = 0
        self._samples += 1
        for pid in tree(self.root):
            rss, hwm = _rss_and_hwm(pid)
            total += rss
            if hwm:
                self.hwm[pid] = max(self.hwm.get(pid, 0), hwm)
            if pid not in self.commands:
                self.commands[pid] = command(pid)
            # libraries load late (Keras maps jaxlib before TensorFlow is in): look again
            # every 10 samples until a label of higher priority than "jax" is found
            if self.labels.get(pid) in (None, "jax") and self._samples % 10 == 1:
                found = label(pid)
                if found:
                    self.labels[pid] = found
        self.peak = max(self.peak, total)
        if self.limit and total > self.limit and not self.over_limit:
            self.over_limit = True
            if self.on_limit:
                self.on_limit()

    def per_process(self) -> list[dict[str, object]]:
        return [
            {
                "pid": pid,
                "framework": self.labels.get(pid, ""),
                "command": self.commands.get(pid, "?"),
                "hwm_bytes": hwm,
            }
            for pid, hwm in sorted(self.hwm.items())
        ]

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def cpu_busy_seconds() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    try:
        first = (PROC / "stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in first[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    # guest time is already counted in user/nice
    total = sum(ticks[:8])
    return (total - idle) / hz, total / hz


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def measure(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    keep: int = 20_000,
    max_rss: int = 0,
) -> Measured:
    """Run ``argv`` in its own session (so a timeout or ``max_rss`` kills its workers too)
    and measure it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        cpu0, busy0 = _children_cpu(), cpu_busy_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        sampler = TreeSampler(proc.pid, limit=max_rss, on_limit=lambda: _kill_group(proc))
        sampler.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): leave nothing running
            _kill_group(proc)
            raise
        finally:
            sampler.stop()
        seconds = time.perf_counter() - start
        _kill_group(proc)  # a worker left behind by a crashed parent
        cpu, busy1 = _children_cpu() - cpu0, cpu_busy_seconds()
        others = None
        if busy0 and busy1 and busy1[1] > busy0[1]:
            others = max(0.0, (busy1[0] - busy0[0] - cpu) / (busy1[1] - busy0[1]))
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    return Measured(
        list(argv),
        seconds,
        proc.returncode,
        timed_out,
        sampler.peak,
        sum(sampler.hwm.values()),
        len(sampler.hwm),
        stdout[-keep:],
        stderr[-keep:],
        sampler.per_process(),
        sampler.over_limit,
        cpu,
        others,
    )


def best_of(argv: Sequence[str], repeat: int, **kwargs: object) -> float:
    """The shortest wall time of ``repeat`` runs (the least disturbed by other load)."""
    return min(measure(argv, **kwargs).seconds for _ in range(max(1, repeat)))  # type: ignore[arg-type]
