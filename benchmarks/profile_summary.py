"""Where a suite run's wall time goes, from a py-spy profile of the whole process tree.

Record with every process, every thread, idle time included (so a thread's samples are its
wall time, waiting included), in py-spy's raw (collapsed-stack) format:

    py-spy record --subprocesses --threads --idle --rate 50 --format raw -o prof.txt -- \\
        python -m conformance run --format json --report-dir /tmp/r
    python benchmarks/profile_summary.py prof.txt --rate 50

For each process (the parent, then each worker named by its adapter) and each thread, it prints
the seconds per phase: the functions called by the suite's own anchor frames (``run`` in the
runner, ``main`` in the worker, ``Adapter.run`` per batch, ``precompute``/``reference`` for the
exact reference), nested, and the top functions by self time (the leaf frame).
``--focus NAME`` prints, for the samples whose stack has a frame containing NAME (e.g.
``load_cases`` or ``_apply_specials``), the leaf functions and the functions NAME calls.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# (function name suffix, file suffix) of frames whose callees are the phases below them
ANCHORS = (
    ("main", "conformance/commands/run.py"),
    ("run", "conformance/runner.py"),
    ("precompute", "conformance/runner.py"),
    ("_reference", "conformance/runner.py"),
    ("reference", "conformance/reference.py"),
    ("reference", "conformance/reference/__init__.py"),
    ("main", "conformance/worker.py"),
    (".run", "conformance/adapters/base.py"),
    (".dense_paths", "_adapter.py"),
    (".sigmoid_paths", "_adapter.py"),
)
FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
ADAPTER = re.compile(r"^(\w+)Adapter\.")


@dataclass
class Thread:
    name: str
    samples: int = 0
    phases: Counter[tuple[str, ...]] = field(default_factory=Counter)
    leaves: Counter[str] = field(default_factory=Counter)


@dataclass
class Process:
    pid: str
    command: str
    label: str = ""
    threads: dict[str, Thread] = field(default_factory=dict)


def _short(frame: str) -> str:
    """``func (file)`` without the line number, the file shortened to its package path."""
    m = FRAME.match(frame)
    if not m:
        return frame
    path = m["file"]
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m['func']} ({path})"


def _is_anchor(frame: str) -> bool:
    m = FRAME.match(frame)
    if not m:
        return False
    return any(
        (m["func"] == f or (f.startswith(".") and m["func"].endswith(f))) and m["file"].endswith(p)
        for f, p in ANCHORS
    )


def phase_path(frames: list[str]) -> tuple[str, ...]:
    """The callee of every anchor frame on the stack, outermost first."""
    out = []
    for i, frame in enumerate(frames):
        if _is_anchor(frame):
            out.append(_short(frames[i + 1]) if i + 1 < len(frames) else "(self)")
    if not out:
        if not frames:
            out.append("(no Python frame: interpreter start-up or exit)")
        elif any("_find_and_load" in f for f in frames):
            out.append("(imports before main)")
        else:
            out.append("(outside the anchors)")
    return tuple(out)


def parse(path: Path) -> dict[str, Process]:
    procs: dict[str, Process] = {}
    names: dict[tuple[str, str], str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        pid, command, thread, rest = "?", "", "?", []
        for f in frames:
            if f.startswith("process "):
                head, _, cmd = f[len("process ") :].partition(":")
                pid, command = head, cmd.strip('"')
            elif f.startswith("thread ("):
                # "thread (TID): Name" or, on some samples, just "thread (TID)": key by TID
                tid, _, tname = f.partition(": ")
                thread = tid
                names.setdefault((pid, tid), tname)
            else:
                rest.append(f)
        p = procs.setdefault(pid, Process(pid, command))
        t = p.threads.setdefault(thread, Thread(thread))
        n = int(count)
        t.samples += n
        t.phases[phase_path(rest)] += n
        if rest:
            t.leaves[_short(rest[-1])] += n
        for f in rest:
            m = ADAPTER.match(f)
            if m and not p.label:
                p.label = m.group(1).lower()
    for p in procs.values():
        for tid, t in p.threads.items():
            t.name = f"{tid[len('thread ') :]} {names.get((p.pid, tid)) or ''}".strip()
    return procs


def _tree_lines(phases: Counter[tuple[str, ...]], total: int, rate: float, depth: int) -> list[str]:
    """Phases as an indented tree, largest first at each level, with seconds and shares."""
    tree: Counter[tuple[str, ...]] = Counter()
    for path, n in phases.items():
        for d in range(1, min(depth, len(path)) + 1):
            tree[path[:d]] += n
    lines: list[str] = []

    def walk(prefix: tuple[str, ...]) -> None:
        kids = [(k, n) for k, n in tree.items() if len(k) == len(prefix) + 1 and k[:-1] == prefix]
        for k, n in sorted(kids, key=lambda kv: -kv[1]):
            if n / rate < 0.1:
                continue
            pct = 100 * n / total
            lines.append(f"     {'  ' * len(prefix)}{n / rate:7.1f} s {pct:5.1f}%  {k[-1]}")
            walk(k)

    walk(())
    return lines


def report(procs: dict[str, Process], rate: float, top: int, depth: int) -> str:
    lines = []
    for p in sorted(procs.values(), key=lambda p: int(p.pid) if p.pid.isdigit() else 0):
        worker = "conformance.worker" in p.command
        role = f"worker: {p.label or '? (no adapter frame sampled)'}" if worker else "parent"
        longest = max((t.samples for t in p.threads.values()), default=0) / rate
        lines.append(f"\n=== process {p.pid} ({role}), longest thread {longest:.1f} s")
        for t in sorted(p.threads.values(), key=lambda t: -t.samples):
            if t.samples / rate < 0.5:
                continue
            lines.append(f"  -- thread {t.name}: {t.samples / rate:.1f} s")
            lines.extend(_tree_lines(t.phases, t.samples, rate, depth))
            lines.append("     top self (leaf frames):")
            for leaf, n in t.leaves.most_common(top):
                lines.append(f"       {n / rate:7.1f} s  {leaf}")
    return "\n".join(lines)


def focus(path: Path, name: str, rate: float, top: int) -> str:
    """Leaf functions and direct callees of the frames containing ``name``."""
    leaves: Counter[str] = Counter()
    callees: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread ("))]
        hits = [i for i, f in enumerate(frames) if name in f]
        if not count.isdigit() or not hits:
            continue
        n = int(count)
        total += n
        leaves[_short(frames[-1])] += n
        i = hits[-1]
        callees[_short(frames[i + 1]) if i + 1 < len(frames) else "(self)"] += n
    out = [f"{total / rate:.1f} s in stacks through {name!r}", "  calls:"]
    out += [f"    {n / rate:7.1f} s  {f}" for f, n in callees.most_common(top)]
    out.append("  leaf functions:")
    out += [f"    {n / rate:7.1f} s  {f}" for f, n in leaves.most_common(top)]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("raw", type=Path, help="py-spy --format raw output")
    ap.add_argument("--rate", type=float, default=100.0, help="the --rate it was recorded at")
    ap.add_argument("--top", type=int, default=12, help="leaf functions per thread")
    ap.add_argument("--depth", type=int, default=3, help="nesting levels of phases")
    ap.add_argument("--focus", action="append", default=[], metavar="NAME", help="see above")
    args = ap.parse_args()
    if args.focus:
        for name in args.focus:
            print(focus(args.raw, name, args.rate, args.top))
        return
    print(report(parse(args.raw), args.rate, args.top, args.depth))


if __name__ == "__main__":
    main()
