"""The optional frameworks (extras ``onnxruntime``, ``flax``, ``keras-jax``, ``keras-torch``):
without their packages every row they own is ``skip`` with what to install, and the run passes.

The packages are made unimportable for real: ``sys.modules[name] = None`` is Python's own
"cannot be imported" marker (``import`` raises, ``importlib.util.find_spec`` returns None), set
in this process (where the runner asks ``Adapter.unavailable``) and, through a
``sitecustomize`` module on ``PYTHONPATH``, in every worker process.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import CASES, load_results

Cli = Callable[..., tuple[int, str, str]]
WriteCase = Callable[[str, str], Path]

DENSE = """\
dtypes: [float32, bfloat16]
inputs: {x: [[1.5, -2.0, 0.375], [0.25, 3.0, -1.0]]}
params: {weight: [[0.5, -1.25, 2.0], [1.0, 0.125, -0.75]], bias: [0.5, -3.0]}
"""
SIGMOID = "inputs: {z: [-1.5, 0.0, 0.3, 7.25]}\n"
FLAX_INIT = CASES / "init" / "flax-nnx-linear-4x3-seed42.yaml"


def unimportable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *names: str) -> None:
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)
    site = tmp_path / "unimportable"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        f"import sys\n\nfor name in {list(names)!r}:\n    sys.modules[name] = None\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PYTHONPATH", str(site) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _installed(*modules: str) -> None:
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")


@pytest.mark.slow
def test_missing_extras_give_skip_rows_that_say_what_to_install(
    cli: Cli, write_case: WriteCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _installed("jax")
    dense, sigmoid = write_case("dense.yaml", DENSE), write_case("z.yaml", SIGMOID)
    unimportable(monkeypatch, tmp_path, "onnxruntime", "flax", "keras")
    frameworks = ["numpy", "jax", "onnxruntime", "keras-jax", "keras-torch"]
    code, out, err = cli(
        "run", str(dense), str(sigmoid), str(FLAX_INIT),
        *(arg for fw in frameworks for arg in ("--framework", fw)),
        "--report-dir", str(tmp_path / "r"), "--quiet",
    )  # fmt: skip
    assert code == 0, out + err
    rows = load_results(tmp_path / "r")
    by = {fw: [r for r in rows if r["framework"] == fw] for fw in frameworks}
    assert all(by.values())
    for fw, extra, module in (
        ("onnxruntime", "onnxruntime", "onnxruntime"),
        ("keras-jax", "keras-jax", "keras"),
        ("keras-torch", "keras-torch", "keras"),
    ):
        messages = {(r["status"], r["message"]) for r in by[fw]}
        assert messages == {
            ("skip", f"{module} is not installed (pip install 'conformance[{extra}]')")
        }, (fw, messages)
    flax_init = [r for r in rows if r["case"] == "init/flax-nnx-linear-4x3-seed42"]
    assert flax_init and {r["status"] for r in flax_init} == {"skip"}
    installed = [r for r in flax_init if r["framework"] in ("numpy", "jax")]
    assert {r["framework"] for r in installed} == {"numpy", "jax"}
    assert {r["message"] for r in installed} == {
        "init: flax: flax is not installed (pip install 'conformance[flax]')"
    }
    jax = [r for r in by["jax"] if r["case"] != "init/flax-nnx-linear-4x3-seed42"]
    flax = [r for r in jax if r["path"].startswith("flax.")]
    assert {r["path"] for r in flax} == {
        "flax.nnx.Linear",
        "flax.nnx.Sequential(nnx.Linear, nnx.sigmoid)",
        "flax.linen.Dense",
        "flax.linen.sigmoid(linen.Dense)",
    }
    assert {(r["status"], r["message"]) for r in flax} == {
        ("skip", "flax is not installed (pip install 'conformance[flax]')")
    }
    assert {r["status"] for r in jax if r not in flax} == {"pass"}  # JAX's own paths run


@pytest.mark.slow
def test_torch_onnx_export_paths_skip_without_torch(
    cli: Cli, write_case: WriteCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _installed("onnxruntime", "onnx")
    dense = write_case("dense.yaml", DENSE)
    unimportable(monkeypatch, tmp_path, "torch")
    code, out, err = cli(
        "run", str(dense), "--framework", "onnxruntime", "--dtype", "float32",
        "--report-dir", str(tmp_path / "r"), "--quiet",
    )  # fmt: skip
    assert code == 0, out + err
    rows = load_results(tmp_path / "r")
    exported = [r for r in rows if r["path"].startswith("torch.onnx.export")]
    assert len(exported) == 2
    assert {(r["status"], r["message"]) for r in exported} == {
        ("skip", "torch.onnx.export: torch is not installed (pip install 'conformance[torch]')")
    }
    helper = [r for r in rows if r not in exported]
    assert len(helper) == 4 and {r["status"] for r in helper} == {"pass"}
    assert rows[0]["settings"]["torch_onnx_export"].startswith("not available: torch")
