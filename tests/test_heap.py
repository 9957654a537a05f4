"""conformance.heap: freed large blocks stay mapped for the next allocation (glibc), and a
user's own malloc settings are left alone. Each check runs in a fresh interpreter: the
settings are process-wide, and this process's heap has its own history."""

from __future__ import annotations

import json
import os
import sys

import pytest

from tests.fresh import run_code

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="mallopt is glibc's",
)

# Allocate, touch and free a 64 MiB array (and the temporaries of one NumPy expression on
# 8 MiB arrays) ten times; count the minor page faults of rounds 2-10 (4 KiB pages each).
_PROBE = """
import json, resource, sys
import numpy as np
from conformance import heap
applied = heap.keep_freed_blocks() if sys.argv[1] == "tuned" else None
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.random.default_rng(0).normal(size=1 << 20)
rounds = []
for i in range(10):
    start = faults()
    big = np.ones(8 << 20)
    big += 1.0
    del big
    _ = ((a + 1.0) * 2.0 - a) / 3.0
    rounds.append(faults() - start)
print(json.dumps({"applied": applied, "later": sum(rounds[1:])}))
"""


def _probe(mode: str, **env: str) -> dict[str, object]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    full.pop("GLIBC_TUNABLES", None)
    # 4 KiB pages, so that faults count memory: NumPy asks for huge pages on large arrays
    full.update(env, NUMPY_MADVISE_HUGEPAGE="0")
    out = run_code(_PROBE, mode, env=full)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_freed_blocks_are_reused_instead_of_faulted_in_again() -> None:
    default, tuned = _probe("default"), _probe("tuned")
    assert tuned["applied"] is True
    pages = (64 << 20) // 4096
    # glibc's default maps the 64 MiB block afresh every round: ~16,000 faults each
    assert isinstance(default["later"], int) and default["later"] > 5 * pages
    # kept: the later rounds reuse what the first one faulted in (measured ~4,000 in all)
    assert isinstance(tuned["later"], int) and tuned["later"] < pages // 2


def test_a_users_malloc_settings_win() -> None:
    assert _probe("tuned", MALLOC_MMAP_THRESHOLD_="131072")["applied"] is False
    assert _probe("tuned", GLIBC_TUNABLES="glibc.malloc.trim_threshold=1")["applied"] is False


def test_the_command_line_applies_it() -> None:
    """``conformance`` itself tunes the heap before a command runs (here ``schema``)."""
    spy = (
        "import sys\n"
        "from conformance import cli, heap\n"
        "seen = []\n"
        "real = heap.keep_freed_blocks\n"
        "heap.keep_freed_blocks = lambda: seen.append(real()) or seen[-1]\n"
        "rc = cli.main(['schema'])\n"
        "print('SEEN', rc, seen, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("GLIBC_TUNABLES", None)
    out = run_code(spy, env=env)
    assert "SEEN 0 [True]" in out.stderr
