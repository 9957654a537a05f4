"""Synthetic result rows (and their arrays) for the report and gate tests: fast, no frameworks."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from conformance import dtypes as D
from conformance.loader import load_cases
from conformance.outputs import Inputs, OutputStore
from conformance.results import Row

SIGMOID_CASE = """\
id: synth/sigmoid-small
description: small sigmoid-only case for report tests
dtypes: [float32]
inputs:
  z: [-20.0, -3.5, -1.0, 0.0, 0.25, 1.0, 4.0, 30.0]
"""

DENSE_CASE = """\
id: synth/dense-2x3
description: small dense case for report tests; the expected affine value is deliberately wrong
dtypes: [float32]
inputs:
  x: [[1.0, 2.0, -0.5]]
params:
  weight: [[0.5, 0.25, 1.0], [-1.0, 0.125, 2.0]]
  bias: [1.0, -0.5]
expected:
  affine: [[9.0, -2.0]]
"""

Z = np.array([-20.0, -3.5, -1.0, 0.0, 0.25, 1.0, 4.0, 30.0])


def write_cases(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    s, d = folder / "sigmoid-small.yaml", folder / "dense-2x3.yaml"
    s.write_text(SIGMOID_CASE, encoding="utf-8")
    d.write_text(DENSE_CASE, encoding="utf-8")
    return s, d


def _row(case: str, file: str, op: str, fw: str, version: str, path: str, **kw: object) -> Row:
    r = Row(
        case=case,
        file=file,
        dtype="float32",
        op=op,
        framework=fw,
        framework_version=version,
        path=path,
        mode="eager",
        device="cpu",
        status="pass",
        max_abs_err=0.0,
        max_rel_err=0.0,
        max_ulp=0.0,
        ref_max_abs_err=0.0,
        ref_max_ulp=0.0,
        tolerance="4 ulp",
        against="reference",
        n=8,
        settings={"threads": "2"} if fw == "torch" else {"blas": "openblas 0.3 (2t)"},
    )
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def synthetic(folder: Path) -> tuple[list[Row], OutputStore]:
    """Rows of numpy/torch/jax on a sigmoid case (with arrays) and a dense case, every status."""
    sfile, dfile = (str(p) for p in write_cases(folder))
    f32 = D.FLOAT32
    exact = 1.0 / (1.0 + np.exp(-Z))
    ref = exact.astype(np.float32).astype(np.float64)
    rows: list[Row] = []
    store = OutputStore()
    store.add_input("synth/sigmoid-small", "float32", Z)
    store.add_reference("synth/sigmoid-small", "float32", "sigmoid", ref)
    bumped = ref.copy()
    bumped[2] = np.nextafter(np.float32(ref[2]), np.float32(1), dtype=np.float32)
    for fw, version, path, out in (
        ("numpy", "2.4.6", "1/(1+np.exp(-z))", bumped),
        ("torch", "2.13.0", "torch.sigmoid", ref),
        ("torch", "2.13.0", "nn.Sigmoid", ref),
        ("jax", "0.7.0 (jaxlib 0.7.0)", "jax.nn.sigmoid", ref),
    ):
        u = float(np.max(D.ulp_distance(out, ref, f32)))
        r = _row(
            "synth/sigmoid-small", sfile, "sigmoid", fw, version, path, max_ulp=u, ref_max_ulp=u
        )
        rows.append(r)
        store.add_output(r, out)
    # dense case: numpy fails against the (wrong) expected value, torch errors, jax skipped;
    # the store keeps its inputs and expected values as a run does for a failing unit
    (dense,), _ = load_cases([dfile], check=False)  # its wrong pin is the point
    store.add_inputs(dense.id, "float32", Inputs.of(dense, dense.arrays("float32")))
    store.add_expected(dense.id, "float32", "affine", dense.expected["affine"]["*"].rounded(f32))
    rows.append(
        _row(
            "synth/dense-2x3",
            dfile,
            "affine",
            "numpy",
            "2.4.6",
            "x @ W.T + b",
            status="fail",
            max_ulp=1.5e6,
            max_abs_err=4.5,
            against="expected",
            message="2 of 2 elements outside tolerance vs expected",
            worst_index="[0, 0]",
            worst_value=4.5,
            worst_target=9.0,
        )
    )
    rows.append(
        _row(
            "synth/dense-2x3",
            dfile,
            "affine",
            "torch",
            "2.13.0",
            "F.linear",
            status="error",
            max_ulp=None,
            max_abs_err=None,
            message="RuntimeError: boom",
        )
    )
    rows.append(
        _row(
            "synth/dense-2x3",
            dfile,
            "affine",
            "jax",
            "",
            "-",
            status="skip",
            max_ulp=None,
            max_abs_err=None,
            message="jax is not installed",
        )
    )
    return rows, store


def clone(rows: list[Row]) -> list[Row]:
    return [copy.deepcopy(r) for r in rows]
