"""Modes (eager/compiled), devices (cpu/cuda) and recorded precision settings; the tests pass\nwith and without a GPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.judge import device_tolerance
from conformance.loader import load_cases
from conformance.planning import expand, plan
from conformance.results import Row
from conformance.runner import RunOptions, run
from conformance.tolerances import resolve

ROOT = Path(__file__).resolve().parent.parent
SEED_INIT = ROOT / "cases" / "init" / "torch-linear-2x1-seed0.yaml"
SIGMOID = ROOT / "cases" / "sigmoid" / "core-edges.yaml"


def test_plan_makes_one_batch_per_mode_and_device() -> None:
    cases, errors = load_cases([ROOT / "cases" / "layout"])
    assert not errors and cases
    units, batches = plan(cases, [], ["eager", "compiled"], ["cpu", "cuda"])
    assert {(b.mode, b.device) for b in batches} == {
        ("eager", "cpu"),
        ("eager", "cuda"),
        ("compiled", "cpu"),
        ("compiled", "cuda"),
    }
    for u in units:
        assert set(u.slots) == {(m, d) for m in ("eager", "compiled") for d in ("cpu", "cuda")}
        for (mode, device), (b, slot) in u.slots.items():
            assert (batches[b].mode, batches[b].device) == (mode, device)
            assert batches[b].items[slot].case == u.case.id
    assert expand("all", ("eager", "compiled")) == ["eager", "compiled"]
    assert expand("cpu", ("cpu", "cuda")) == ["cpu"]


def _row(device: str, settings: dict[str, str]) -> Row:
    return Row(
        "c", "f", "float32", "affine", "jax", "v", "p", "eager", device, "pass", settings=settings
    )


def test_cuda_tf32_default_widens_the_float32_affine_tolerance() -> None:
    tol = resolve("affine", "float32", {})
    abs_sum, products = np.array([1.0]), np.array([1.0])
    base = tol.allowance(np.array([1.0]), n=4, abs_sum=abs_sum, products=products)
    assert device_tolerance(tol, _row("cpu", {"cuda_float32_matmul": "tf32"})) is tol
    assert device_tolerance(tol, _row("cuda", {"cuda_float32_matmul": "ieee"})) is tol
    wide = device_tolerance(tol, _row("cuda", {"cuda_float32_matmul": "tf32"}))
    allow = wide.allowance(np.array([1.0]), n=4, abs_sum=abs_sum, products=products)
    assert allow.abs_allow is not None and base.abs_allow is not None
    assert allow.abs_allow[0] > base.abs_allow[0] + 2 * 2.0**-11 * 0.99
    assert "tf32" in allow.text
    # A case's own tolerance is never widened.
    own = resolve("affine", "float32", {"affine": {"*": {"ulp": 0}}})
    assert device_tolerance(own, _row("cuda", {"cuda_float32_matmul": "tf32"})) is own


def _jax_sees_a_gpu() -> bool:
    """Asked of JAX itself, in a fresh process as a worker would ask it."""
    probe = (
        "import jax\n"
        "try:\n    print('gpu' if jax.devices('gpu') else 'none')\n"
        "except RuntimeError:\n    print('none')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout.split()[-1] == "gpu"


@pytest.mark.slow
def test_jax_eager_and_compiled_numpy_eager_only_cuda_runs_or_skips() -> None:
    """Runs with and without a GPU: cuda rows run where JAX sees one, else skip saying so."""
    gpu = _jax_sees_a_gpu()
    result = run(
        RunOptions(
            paths=[str(SIGMOID)],
            frameworks=["numpy", "jax"],
            mode="all",
            device="all",
            matmul_precision="highest",
        )
    )
    combos = {(r.framework, r.mode, r.device, r.status) for r in result.rows}
    assert ("numpy", "eager", "cpu", "pass") in combos
    assert not any(f == "numpy" and (m, d) != ("eager", "cpu") for f, m, d, _s in combos)
    assert ("jax", "eager", "cpu", "pass") in combos
    assert ("jax", "compiled", "cpu", "pass") in combos
    cuda = [r for r in result.rows if r.device == "cuda"]
    assert cuda and all(r.framework == "jax" for r in cuda)  # NumPy declares no cuda device
    if gpu:
        assert {(r.mode, r.status) for r in cuda} == {("eager", "pass"), ("compiled", "pass")}, {
            (r.mode, r.status, r.message) for r in cuda
        }
    else:
        assert all(r.status == "skip" and "no GPU" in r.message for r in cuda), {
            (r.status, r.message) for r in cuda
        }
    jax = next(r for r in result.rows if r.framework == "jax" and r.status == "pass")
    for key in ("jax_default_matmul_precision", "jax_enable_x64", "denormals", "cpu"):
        assert key in jax.settings, jax.settings
    assert jax.settings["jax_default_matmul_precision"] == "highest"
    assert "denormals_compiled" in jax.settings
    numpy = next(r for r in result.rows if r.framework == "numpy")
    assert "denormals" in numpy.settings and "cpu_flags" in numpy.settings


@pytest.mark.slow
def test_torch_compiled_runs_the_seed_init_case() -> None:
    """The one torch.compile test (inductor builds C++: tens of seconds)."""
    result = run(RunOptions(paths=[str(SEED_INIT)], frameworks=["torch"], mode="compiled"))
    compiled = [r for r in result.rows if r.mode == "compiled"]
    assert {r.path for r in compiled} == {
        "nn.Linear",
        "F.linear",
        "nn.Sequential(nn.Linear, nn.Sigmoid)",
        "torch.sigmoid(F.linear)",
    }
    assert all(r.status == "pass" for r in result.rows), [r.message for r in result.rows]
    assert [r.op for r in result.rows if r.mode == "eager"] == ["init", "init"]
    assert "denormals_compiled" in compiled[0].settings
