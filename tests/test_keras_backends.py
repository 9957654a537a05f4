"""Keras 3 on every backend: one worker per backend whatever KERAS_BACKEND says outside, the
same Keras paths side by side, and ``params: {init: keras}`` pins checked on each backend."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import CASES, KNOWN, load_results

Cli = Callable[..., tuple[int, str, str]]

BACKENDS = {"tensorflow": "tensorflow", "keras-jax": "jax", "keras-torch": "torch"}
KERAS_INIT = CASES / "init" / "keras-dense-4x3-seed42.yaml"
SEED = CASES / "semantics" / "torch-linear-2x1-seed0.yaml"


def _installed() -> list[str]:
    needs = {"tensorflow": ["tensorflow"], "keras-jax": ["keras", "jax"]}
    needs["keras-torch"] = ["keras", "torch"]
    return [
        fw
        for fw, modules in needs.items()
        if all(importlib.util.find_spec(m) is not None for m in modules)
    ]


@pytest.mark.slow
def test_each_backend_runs_in_its_own_worker_and_init_pins_are_checked_on_each(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frameworks = _installed()
    if "tensorflow" not in frameworks or len(frameworks) < 2:
        pytest.skip("needs TensorFlow and Keras on another backend")
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # a user's setting must not pick the backend
    code, out, err = cli(
        "run", str(KERAS_INIT), str(SEED), "--known", str(KNOWN),
        *(arg for fw in frameworks for arg in ("--framework", fw)),
        "--report-dir", str(tmp_path / "r"), "--quiet",
    )  # fmt: skip
    assert code == 0, out + err
    rows = load_results(tmp_path / "r")
    for fw in frameworks:
        mine = [r for r in rows if r["framework"] == fw]
        assert {r["settings"]["keras_backend"] for r in mine} == {BACKENDS[fw]}, fw
        dense = {r["path"] for r in mine if r["op"] != "init"}
        assert {
            "keras.layers.Dense(activation=None)",
            "keras.layers.Dense(activation='sigmoid')",
        } <= dense
        # The owner's draw (TensorFlow's, first in the run) feeds every backend: they agree,
        # but for Keras' float64 matmul on torch (in float32: a listed deviation).
        for r in mine:
            if r["op"] != "init":
                listed = fw == "keras-torch" and r["dtype"] == "float64"
                assert r["status"] in (("pass", "known") if listed else ("pass",)), r
    init = {(r["framework"], r["dtype"], r["path"]): r for r in rows if r["op"] == "init"}
    kernel = "keras.layers.Dense.kernel (glorot_uniform)"
    for fw in frameworks:  # every backend drew and compared the pins
        for dtype in ("float32", "float64", "float16", "bfloat16"):
            assert init[(fw, dtype, "keras.layers.Dense.bias (zeros)")]["status"] == "pass"
            row = init[(fw, dtype, kernel)]
            if fw == "tensorflow":
                assert row["status"] == "pass", row
            else:  # Keras' seeded draw is backend-specific: a listed finding
                assert row["status"] == "known", row
                assert "differs from the pin" in row["message"], row


OURS = """
import sys
from conformance.adapters.base import InitRequest
from conformance.adapters.keras_adapter import {cls}

adapter = {cls}()
adapter.setup()
adapter.configure({{}})
request = InitRequest(("c", "float32"), "keras", 42, 5, 3, True, "float32")
kernel = adapter.init_params(request).param
print("tensorflow" in sys.modules, kernel.tobytes().hex())
"""

KERAS = """
import os
import sys

os.environ["KERAS_BACKEND"] = "{backend}"
import numpy as np
import keras

keras.utils.set_random_seed(42)  # Keras' own: imports TensorFlow where installed
with keras.device("cpu:0"):
    layer = keras.layers.Dense(3, dtype="float32")
    layer.build((None, 5))
print("tensorflow" in sys.modules, keras.ops.convert_to_numpy(layer.kernel.value).tobytes().hex())
"""


@pytest.mark.parametrize("framework", ["keras-jax", "keras-torch"])
def test_keras_draws_without_importing_tensorflow_draw_the_same(framework: str) -> None:
    """keras.utils.set_random_seed imports TensorFlow, when installed, only to seed it: the
    adapter keeps it out of the worker, and draws what Keras' own call draws."""
    if framework not in _installed():
        pytest.skip(f"{framework} is not installed")
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("without TensorFlow there is nothing to keep out")
    cls = {"keras-jax": "KerasJaxAdapter", "keras-torch": "KerasTorchAdapter"}[framework]
    outs = []
    for code in (OURS.format(cls=cls), KERAS.format(backend=BACKENDS[framework])):
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs.append(proc.stdout.split())
    (ours_tf, ours), (keras_tf, theirs) = outs
    assert (ours_tf, keras_tf) == ("False", "True")
    assert ours == theirs  # bit for bit
