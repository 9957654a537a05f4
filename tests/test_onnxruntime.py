"""ONNX Runtime: every path in both graph optimisation levels, dtypes without a kernel as
``skip``, exported graphs that take each case's parameters, and the exporter's registry
built once without changing a byte of the graphs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import KNOWN, load_results

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
    reason="onnxruntime is not installed",
)
EXPORTS = importlib.util.find_spec("torch") is not None and (
    importlib.util.find_spec("onnxscript") is not None
)

Cli = Callable[..., tuple[int, str, str]]
WriteCase = Callable[[str, str], Path]

# Two square layers in one batch: the first weight is symmetric, so an exported graph whose
# initializer is the weight cannot be told from one holding its transpose by the values of this
# case; the second is not. 1-D and 3-D inputs take MatMul (Gemm takes 2-D only).
SQUARE = """\
dtypes: [float16, bfloat16, float32, float64]
inputs: {{x: {x}}}
params: {{weight: {w}, bias: [0.5, -0.25, 0.125]}}
"""
SYMMETRIC = "[[1.0, 2.0, -0.5], [2.0, -3.0, 0.25], [-0.5, 0.25, 4.0]]"
ASYMMETRIC = "[[1.0, -2.0, 0.5], [0.75, 3.0, -1.0], [-0.5, 1.25, 2.0]]"
X2 = "[[1.5, -2.0, 0.375], [0.25, 3.0, -1.0]]"
X3 = "[[[1.5, -2.0, 0.375]], [[0.25, 3.0, -1.0]]]"
SIGMOID = "dtypes: [float16, bfloat16, float32, float64]\ninputs: {z: [[-1.5, 0.0], [0.3, 7.25]]}\n"


@pytest.mark.slow
def test_every_path_in_both_modes_and_bfloat16_is_a_skip(
    cli: Cli, write_case: WriteCase, tmp_path: Path
) -> None:
    for name, x, w in (
        ("a-symmetric.yaml", X2, SYMMETRIC),
        ("b-asymmetric.yaml", X2, ASYMMETRIC),
        ("c-vector.yaml", "[1.5, -2.0, 0.375]", ASYMMETRIC),
        ("d-batch3d.yaml", X3, ASYMMETRIC),
    ):
        write_case(name, SQUARE.format(x=x, w=w))
    folder = write_case("z.yaml", SIGMOID).parent
    code, out, err = cli(
        "run", str(folder), "--framework", "onnxruntime", "--mode", "all", "--known", str(KNOWN),
        "--report-dir", str(tmp_path / "r"), "--quiet",
    )  # fmt: skip
    assert code == 0, out + err
    rows = load_results(tmp_path / "r")
    paths = {r["path"] for r in rows}
    assert len(paths) == 7 and {r["mode"] for r in rows} == {"eager", "compiled"}
    if not EXPORTS:
        paths -= {p for p in paths if p.startswith("torch.onnx.export")}
    for r in rows:
        if r["dtype"] == "bfloat16":
            assert r["status"] == "skip", r
            assert "has no bfloat16 kernel" in r["message"], r
            assert "NOT_IMPLEMENTED" in r["message"], r
        elif r["path"] in paths:  # ONNX Runtime's sigmoid below z = -1.96: a listed deviation
            known = r["op"] == "sigmoid" and r["dtype"] in ("float32", "float64")
            assert r["status"] in (("pass", "known") if known else ("pass",)), r
    ran = {r["path"] for r in rows if r["status"] == "pass"}
    assert ran == paths
    settings = rows[0]["settings"]
    assert (
        settings["graph_optimization_level"] == "eager: ORT_DISABLE_ALL; compiled: ORT_ENABLE_ALL"
    )
    assert settings["execution_provider"].startswith("cpu: CPUExecutionProvider")
    if EXPORTS:
        assert "torch.onnx.export(dynamo=True)" in settings["torch_onnx_export"]
        assert ", opset " in settings["torch_onnx_export"]


@pytest.mark.slow
@pytest.mark.skipif(not EXPORTS, reason="torch.onnx.export needs torch and onnxscript")
def test_the_exporters_registry_built_once_gives_the_same_graph_bytes(tmp_path: Path) -> None:
    program = textwrap.dedent(
        """
        import warnings

        import torch

        from conformance.adapters.onnxruntime_adapter import _export_registry_once

        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        models = [
            (torch.nn.Linear(3, 2), torch.zeros(4, 3)),
            (torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Sigmoid()), torch.zeros(2, 7, 5)),
        ]

        def graphs():
            return [
                torch.onnx.export(m.eval(), (x,), dynamo=True, verbose=False)
                .model_proto.SerializeToString()
                for m, x in models
            ]

        before = graphs()
        _export_registry_once()
        after, again = graphs(), graphs()
        assert before == after == again, "the graphs differ"
        print("same", len(before))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert done.returncode == 0 and "same 2" in done.stdout, done.stdout + done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.skipif(not EXPORTS, reason="torch.onnx.export needs torch and onnxscript")
def test_exported_graphs_kept_across_runs_give_the_same_rows_and_damaged_ones_are_redone(
    cli: Cli, write_case: WriteCase, tmp_path: Path
) -> None:
    import onnx
    from onnx import numpy_helper

    folder = write_case("b-asymmetric.yaml", SQUARE.format(x=X2, w=ASYMMETRIC)).parent
    cache = tmp_path / "cache"

    def run(name: str) -> list[dict[str, object]]:
        code, out, err = cli(
            "run", str(folder), "--framework", "onnxruntime", "--dtype", "float32",
            "--cache-dir", str(cache), "--known", str(KNOWN), "--report-dir", str(tmp_path / name),
            "--quiet",
        )  # fmt: skip
        assert code == 0, out + err
        rows = load_results(tmp_path / name)
        exported = [r for r in rows if r["path"].startswith("torch.onnx.export")]
        # the float32 sigmoid: ONNX Runtime's listed deviation
        assert len(exported) == 2 and {r["status"] for r in exported} <= {"pass", "known"}
        return sorted(
            [
                (r["path"], r["op"], r["worst_value"], r["max_abs_err"], r["max_ulp"])
                for r in exported
            ],
            key=repr,
        )  # type: ignore[return-value]

    first = run("r1")
    kept = sorted(cache.glob("compiled/*/onnxruntime-*/torch-onnx-export/*.onnx"))
    assert len(kept) == 2  # nn.Linear and nn.Sequential(nn.Linear, nn.Sigmoid), one shape
    stamps = [f.stat().st_mtime_ns for f in kept]
    assert run("r2") == first
    assert [f.stat().st_mtime_ns for f in kept] == stamps  # read, not exported again

    # Damaged: garbage bytes, and a valid graph whose initializer is not the marker weight.
    kept[0].write_bytes(b"\x08\x07garbage")
    model = onnx.load(str(kept[1]))
    init = model.graph.initializer[0]
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 2, init.name))
    kept[1].write_bytes(model.SerializeToString())
    assert run("r3") == first
    for f in kept:  # both exported afresh and kept again: their initializers are the markers
        fresh = onnx.load(str(f))
        assert all(numpy_helper.to_array(i).min() >= 0.5 for i in fresh.graph.initializer)
        assert max(numpy_helper.to_array(i).max() for i in fresh.graph.initializer) <= 1.75
