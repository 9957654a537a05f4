"""Flax layers in the JAX adapter: nnx.Linear and linen.Dense (and their sigmoid compositions)
pass eager and under jit, and ``params: {init: flax}`` reproduces its pins."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import CASES, load_results

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("flax") is None or importlib.util.find_spec("jax") is None,
    reason="flax is not installed",
)

Cli = Callable[..., tuple[int, str, str]]
WriteCase = Callable[[str, str], Path]

FLAX_INIT = CASES / "init" / "flax-nnx-linear-4x3-seed42.yaml"
FLAX_PATHS = {
    "flax.nnx.Linear",
    "flax.nnx.Sequential(nnx.Linear, nnx.sigmoid)",
    "flax.linen.Dense",
    "flax.linen.sigmoid(linen.Dense)",
}
KERNEL = """\
dtypes: [float16, bfloat16, float32, float64]
inputs: {x: [[[1.5, -2.0, 0.375]], [[0.25, 3.0, -1.0]]]}
params: {kernel: [[0.5, -1.25], [2.0, 1.0], [0.125, -0.75]]}
"""


@pytest.mark.slow
def test_flax_paths_pass_eager_and_compiled_and_the_flax_init_pins_reproduce(
    cli: Cli, write_case: WriteCase, tmp_path: Path
) -> None:
    case = write_case("kernel-3d.yaml", KERNEL)
    code, out, err = cli(
        "run", str(case), str(FLAX_INIT), "--framework", "jax", "--mode", "all",
        "--report-dir", str(tmp_path / "r"), "--quiet",
    )  # fmt: skip
    assert code == 0, out + err
    rows = load_results(tmp_path / "r")
    flax = [r for r in rows if r["path"] in FLAX_PATHS]
    assert {(r["path"], r["mode"]) for r in flax} == {
        (p, m) for p in FLAX_PATHS for m in ("eager", "compiled")
    }
    assert {r["status"] for r in flax} == {"pass"}
    init = [r for r in rows if r["op"] == "init"]
    assert {(r["dtype"], r["path"]) for r in init} == {
        (d, p)
        for d in ("float32", "float64", "float16", "bfloat16")
        for p in ("flax.nnx.Linear.kernel (lecun_normal)", "flax.nnx.Linear.bias (zeros)")
    }
    assert {r["status"] for r in init} == {"pass"}


def _nnx_outputs(adapter: object, batches: list[object]) -> list[dict[str, list[object]]]:
    out = []
    for b in batches:
        results = adapter.run(b)  # type: ignore[attr-defined]
        out.append({r.path: r.outputs for r in results if r.path.startswith("flax.nnx")})
    return out


def test_nnx_paths_share_one_layer_per_batch_and_thread_with_the_same_outputs() -> None:
    """``nnx.Linear`` and ``nnx.Sequential`` of a batch use one layer (built once per thread
    and signature); batches that differ only in dtype or bias get their own, and every
    output is what a layer built for that path alone gives."""
    import threading

    import numpy as np

    from conformance.adapters.base import Batch, Item
    from conformance.adapters.jax_adapter import JaxAdapter

    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3)).round(3)
    k = rng.normal(size=(3, 2)).round(3)
    b = np.array([0.5, -0.25])

    def batch(dtype: str, bias: bool) -> Batch:
        cast = {"float32": np.float32, "float64": np.float64}[dtype]
        item = Item(
            "c", x.astype(cast), None, k.astype(cast), "kernel", b.astype(cast) if bias else None
        )
        return Batch("dense", dtype, 3, 2, bias, [item])

    # same shape, another dtype, then no bias, then the first again
    batches = [
        batch("float32", True),
        batch("float64", True),
        batch("float32", False),
        batch("float32", True),
    ]
    shared = JaxAdapter()
    shared.setup()
    shared.configure({})

    class Fresh(JaxAdapter):
        def _nnx_layer(self, batch: Batch, dev: object) -> object:
            self._nnx_layers.last = None
            return super()._nnx_layer(batch, dev)

    fresh = Fresh()
    fresh.setup()
    fresh.configure({})
    got, want = _nnx_outputs(shared, batches), _nnx_outputs(fresh, batches)
    for bt, g, w in zip(batches, got, want, strict=True):
        assert set(g) == {"flax.nnx.Linear", "flax.nnx.Sequential(nnx.Linear, nnx.sigmoid)"}
        for path in g:
            (yg,), (yw,) = g[path], w[path]
            assert yg.dtype == np.dtype(bt.dtype) and yg.tobytes() == yw.tobytes(), (bt, path)
    # the bias shows: the no-bias batch differs from the first
    assert got[2]["flax.nnx.Linear"][0].tobytes() != got[0]["flax.nnx.Linear"][0].tobytes()

    dev = shared.device(batches[0])
    mine = shared._nnx_layer(batches[0], dev)
    assert shared._nnx_layer(batches[0], dev) is mine
    assert shared._nnx_layer(batches[1], dev) is not mine
    again = shared._nnx_layer(batches[0], dev)  # the last signature this thread built
    other: list[object] = []
    t = threading.Thread(target=lambda: other.append(shared._nnx_layer(batches[0], dev)))
    t.start()
    t.join()
    assert other[0] is not again  # the warm-ahead thread's batches never assign to it
    assert shared._nnx_layer(batches[0], dev) is again
