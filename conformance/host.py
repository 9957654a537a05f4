"""Facts about the machine, read in one place (no framework imports here).

Every framework's rows record ``host_settings``, called in each worker *after* the framework is
imported, so ``threadpoolctl`` sees the BLAS / OpenMP libraries that framework actually loaded.
The report's environment header reads the CPU model from :func:`cpu_info` too.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info

# CPU flags that decide which kernels (and so which roundings) a framework picks.
_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512_bf16",
    "avx512_fp16",
    "avx512_vnni",
    "amx_bf16",
    "amx_tile",
    "amx_fp16",
    "asimd",
    "sve",
    "bf16",
)


def cpu_info() -> dict[str, str]:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Hardware") and model in ("", platform.machine()):
                    model = value.strip()
                elif key in ("flags", "Features"):
                    flags = set(value.split())
                    break
    except OSError:
        pass
    out = {"cpu": model or "unknown", "machine": platform.machine()}
    if flags:
        out["cpu_flags"] = " ".join(f for f in _FLAGS if f in flags) or "(none of interest)"
    out["cpu_count"] = str(os.cpu_count())
    return out


def machine_key() -> str:
    """A short digest of what compiled machine code depends on: the CPU model, every CPU flag,
    the architecture and the Python version. Compiled-program caches are kept per key, so a
    cache directory shared between machines (a network home) never hands one CPU's code to
    another."""
    h = hashlib.sha256(f"{platform.machine()} {sys.version}".encode())
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key = line.partition(":")[0].strip()
                if key in ("model name", "Hardware", "flags", "Features", "CPU part"):
                    h.update(line.encode())
                elif not line.strip():
                    break  # the first processor's entry is enough
    except OSError:
        h.update(platform.processor().encode())
    return h.hexdigest()[:16]


def thread_pools() -> dict[str, str]:
    """BLAS / OpenMP libraries loaded in this process and their thread counts."""
    pools = threadpool_info()
    blas = [
        f"{p.get('internal_api')} {p.get('version') or ''}".strip() + f" ({p.get('num_threads')}t)"
        for p in pools
        if p.get("user_api") == "blas"
    ]
    omp = [
        f"{p.get('internal_api')} ({p.get('num_threads')}t)"
        for p in pools
        if p.get("user_api") == "openmp"
    ]
    out = {}
    if blas:
        out["blas"] = "; ".join(sorted(set(blas)))
    if omp:
        out["openmp"] = "; ".join(sorted(set(omp)))
    return out


def host_settings() -> dict[str, str]:
    return {**cpu_info(), **thread_pools()}


# Smallest float32 normal; tiny * 0.5 is a subnormal unless the arithmetic flushes it to zero,
# and a subnormal input times 1 comes back as 0 if inputs are treated as zero (DAZ).
TINY32 = float(np.finfo(np.float32).tiny)


def denormal_text(halved: Any, kept: Any) -> str:
    """Describe ``tiny*0.5`` (flush-to-zero test) and ``(tiny/2)*1`` (denormals-are-zero)."""
    h = float(np.asarray(halved, dtype=np.float64).reshape(-1)[0])
    k = float(np.asarray(kept, dtype=np.float64).reshape(-1)[0])
    ftz = "flushes" if h == 0.0 else "keeps"
    daz = "zero" if k == 0.0 else "kept"
    return f"{ftz} (tiny*0.5={h:.3g}; subnormal*1 {daz})"


def measure_denormals(mul: Callable[[np.ndarray, float], Any]) -> str:
    """``mul(float32 array, scalar)`` runs one multiply in the framework under test."""
    try:
        a = np.array([TINY32], dtype=np.float32)
        sub = np.array([TINY32 / 2], dtype=np.float32)
        return denormal_text(mul(a, 0.5), mul(sub, 1.0))
    except Exception as exc:  # information only
        return f"not measured ({type(exc).__name__})"
