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
