"""Let OpenBLAS's idle threads sleep as soon as a GEMM ends instead of spinning.

After every call, OpenBLAS (NumPy's BLAS) keeps its worker threads busy-waiting for the next
one, about 2**28 cycles by default (~0.1 s). The exact reference alternates GEMMs with
elementwise stages that it runs on every core (:mod:`conformance.reference.blocks`), so a
spinning worker takes a core from them right after each GEMM: on 1024×4096×1024 float64 the
sigmoid stage took ~0.10 s instead of ~0.065 s, the whole reference ~0.87 s instead of
~0.78 s, and the matmul itself no longer (``benchmarks/reference_speed.py``).
``OPENBLAS_THREAD_TIMEOUT=4`` (its minimum, 2**4 cycles) makes them sleep at once.

OpenBLAS reads the variable once, when it is loaded, so this works only before NumPy is
imported; the command line calls it first thing. Worker processes inherit it (their NumPy
matmuls are small, single-threaded in OpenBLAS). A user's own setting wins, and another BLAS
ignores the variable.
"""

from __future__ import annotations

import os
import sys

VARIABLE = "OPENBLAS_THREAD_TIMEOUT"
QUIET = "4"  # 2**4 cycles: OpenBLAS's smallest timeout


def quiet_idle_threads() -> bool:
    """Set ``OPENBLAS_THREAD_TIMEOUT`` for this process (and its children); True when set,
    False when NumPy is loaded already or the user set it."""
    if "numpy" in sys.modules or VARIABLE in os.environ:
        return False
    os.environ[VARIABLE] = QUIET
    return True
