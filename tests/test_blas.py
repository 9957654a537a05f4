"""conformance.blas: OpenBLAS's worker threads sleep right after a GEMM instead of spinning,
when the command line starts before NumPy is loaded; a user's own setting wins. Each check
runs in a fresh interpreter: OpenBLAS reads its settings once, when it is loaded."""

from __future__ import annotations

import json
import os

from tests.fresh import run_code

# CPU time this process burns during a 0.3 s sleep right after a GEMM (best of three): a
# spinning OpenBLAS worker burns ~0.1 s of it, a sleeping one nothing.
_PROBE = """
import json, os, sys, time
from conformance import blas
applied = blas.quiet_idle_threads() if sys.argv[1] == "tuned" else None
import numpy as np
from threadpoolctl import threadpool_info
threads = max(
    [p["num_threads"] for p in threadpool_info() if p["internal_api"] == "openblas"], default=0
)
a = np.random.default_rng(0).normal(size=(1500, 1500))
spins = []
for _ in range(3):
    a @ a
    start = time.process_time()
    time.sleep(0.3)
    spins.append(time.process_time() - start)
print(json.dumps({"applied": applied, "threads": threads, "spin": min(spins),
                  "env": os.environ.get("OPENBLAS_THREAD_TIMEOUT")}))
"""


def _probe(mode: str, **env: str) -> dict:
    full = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    out = run_code(_PROBE, mode, env={**full, **env})
    result: dict = json.loads(out.stdout)
    return result


def test_idle_threads_sleep_instead_of_spinning() -> None:
    default, tuned = _probe("default"), _probe("tuned")
    assert tuned["applied"] is True and tuned["env"] == "4"
    if tuned["threads"] < 2:
        return  # one BLAS thread: nothing spins either way
    assert tuned["spin"] < 0.02, tuned
    assert default["spin"] > tuned["spin"] + 0.02, (default, tuned)  # measured ~0.1 s vs 0


def test_a_users_setting_wins() -> None:
    got = _probe("tuned", OPENBLAS_THREAD_TIMEOUT="20")
    assert got["applied"] is False and got["env"] == "20"


def test_too_late_once_numpy_is_loaded() -> None:
    import numpy  # noqa: F401  (this process has it: the call must not claim an effect)

    from conformance import blas

    before = os.environ.get(blas.VARIABLE)
    assert blas.quiet_idle_threads() is False
    assert os.environ.get(blas.VARIABLE) == before


def test_the_command_line_applies_it() -> None:
    """``conformance`` sets it before a command imports NumPy (here ``schema``)."""
    spy = (
        "import os, sys\n"
        "from conformance import cli\n"
        "rc = cli.main(['schema'])\n"
        "print('SEEN', rc, os.environ.get('OPENBLAS_THREAD_TIMEOUT'), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    out = run_code(spy, env=env)
    assert "SEEN 0 4" in out.stderr
