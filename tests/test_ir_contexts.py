"""JAX workers share an MLIR context per thread across lowerings (JAX makes one per
lowering, and making it was most of a warm run). Sharing must not change a single program:
the lowered modules are the same text, the outputs the same bits, and a run that shares
finds in the persistent cache every program a run without sharing wrote, and writes none."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conformance.adapters.jax_adapter import FRESH_IR_CONTEXTS_ENV
from conformance.outputs import load_beside

from .conftest import CASES, KNOWN, load_results

Cli = Callable[..., tuple[int, str, str]]

if importlib.util.find_spec("jax") is None:
    pytest.skip("jax is not installed", allow_module_level=True)

LOWER_BOTH_WAYS = textwrap.dedent(
    """
    import threading
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    from jax._src.interpreters import mlir
    from conformance.adapters.jax_adapter import share_ir_contexts

    def programs():
        out = []
        rng = np.random.default_rng(0)
        for dt in ("float16", "bfloat16", "float32", "float64"):
            for m, n, k in ((1, 1, 1), (3, 5, 2), (7, 4, 9)):
                x = jnp.asarray(rng.normal(size=(m, n)), dtype=dt)
                w = jnp.asarray(rng.normal(size=(k, n)), dtype=dt)
                b = jnp.asarray(rng.normal(size=(k,)), dtype=dt)
                f = lambda x, w, b: jax.nn.sigmoid(jnp.matmul(x, w.T) + b)
                text = jax.jit(f).lower(x, w, b).as_text()
                y = np.asarray(jax.jit(f)(x, w, b)).astype(np.float64).view(np.uint64)
                out.append((text, y.tobytes()))
        return out

    fresh = programs()
    assert share_ir_contexts(uses=5)
    jax.clear_caches()
    shared = programs()
    assert shared == fresh, "a shared context changed a program"
    # one context per thread, and a fresh one after `uses` lowerings
    a = [mlir.make_ir_context() for _ in range(16)]
    runs = [1]
    for prev, cur in zip(a, a[1:]):
        if cur is prev:
            runs[-1] += 1
        else:
            runs.append(1)
    assert len(runs) >= 3 and runs[1:-1] == [5] * (len(runs) - 2), runs
    other = []
    t = threading.Thread(target=lambda: other.append(mlir.make_ir_context()))
    t.start(); t.join()
    assert all(other[0] is not c for c in a)
    print("ok", len(fresh))
    """
)


def test_shared_contexts_lower_the_same_text_and_compute_the_same_bits() -> None:
    res = subprocess.run(
        [sys.executable, "-c", LOWER_BOTH_WAYS], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.split() == ["ok", "12"]


@pytest.mark.slow
def test_sharing_finds_every_program_fresh_contexts_kept(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fresh contexts (JAX's way) fill the cache; the run that shares serves every program
    from it, writes none, and gives the same outputs bit for bit."""
    cache = tmp_path / "cache"

    def run(name: str) -> dict[tuple[str, ...], bytes]:
        code, out, err = cli(
            "run", str(CASES / "semantics"), str(CASES / "dtypes"), "--framework", "jax",
            "--cache-dir", str(cache), "--known", str(KNOWN),
            "--report-dir", str(tmp_path / name), "--quiet",
        )  # fmt: skip
        assert code in (0, 1), out + err
        store = load_beside(tmp_path / name)
        assert store is not None
        got = {}
        for r in load_results(tmp_path / name):
            st = store.output(SimpleNamespace(**r))  # type: ignore[arg-type]
            if st is not None:
                got[(r["case"], r["dtype"], r["op"], r["path"])] = st.values.tobytes()
        return got

    monkeypatch.setenv(FRESH_IR_CONTEXTS_ENV, "1")
    fresh = run("fresh")
    kept = {p.name for p in cache.glob("compiled/*/jax-*/*-cache")}
    assert len(kept) > 50
    monkeypatch.delenv(FRESH_IR_CONTEXTS_ENV)
    shared = run("shared")
    assert {p.name for p in cache.glob("compiled/*/jax-*/*-cache")} == kept  # none new
    assert len(fresh) > 200 and shared.keys() == fresh.keys()
    assert not [k for k in fresh if not np.array_equal(fresh[k], shared[k])]
