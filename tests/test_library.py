"""The bundled case library: size, validity, descriptions, the generator that wrote it, and the
ONNX import."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance import dtypes as D
from conformance import library
from conformance.cases import BUNDLED_CASES
from conformance.compare import measure
from conformance.literals import Literal
from conformance.loader import discover, load_cases
from conformance.reference import reference
from conformance.schema import SCHEMA_FILE
from conformance.tolerances import case_allowance, resolve

from .conftest import KNOWN, packaged_adapters

Cli = Callable[..., tuple[int, str, str]]


def test_library_validates_and_has_150_files(cli: Cli) -> None:
    files = discover([BUNDLED_CASES])
    assert len(files) >= 150
    code, _, err = cli("validate", str(BUNDLED_CASES))
    assert code == 0, err[-3000:]


def _says_why(description: str) -> bool:
    """A reason of some words, not a placeholder left to fill in."""
    text = " ".join(description.split())
    return len(text) >= 20 and "TODO" not in text


def test_every_case_says_why_it_exists(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("new", "scaffold")[0] == 0
    (scaffold,), _ = load_cases([tmp_path / "cases" / "scaffold.yaml"])
    assert not _says_why(scaffold.description)  # what `new` writes is not a reason
    cases, errors = load_cases([BUNDLED_CASES])
    assert not errors
    missing = [c.id for c in cases if not _says_why(c.description)]
    assert not missing


def test_library_folders_cover_the_issue() -> None:
    folders = {p.parent.name for p, _ in discover([BUNDLED_CASES])}
    assert {"semantics", "layout", "shapes", "conditioning", "sigmoid", "dtypes", "generated"} <= (
        folders
    )
    cases, _ = load_cases([BUNDLED_CASES / "sigmoid"])
    by_tag = {t for c in cases for t in c.tags}
    assert {"saturation", "subnormal", "overflow", "special", "zero", "large"} <= by_tag
    dtypes = {d for c in cases for d in c.dtypes}
    assert dtypes == {"float16", "bfloat16", "float32", "float64"}


def _suite_root(tmp_path: Path) -> Path:
    """A suite root like the repository's: ``cases/`` beside ``schema/case.schema.json``."""
    (tmp_path / "schema").mkdir()
    shutil.copy(SCHEMA_FILE, tmp_path / "schema")
    return tmp_path


def _generated_files(cases: Path) -> dict[str, bytes]:
    return {
        p.relative_to(cases).as_posix(): p.read_bytes()
        for p in sorted(cases.rglob("*.yaml"))
        if p.read_text(encoding="utf-8").split("\n")[1] == f"# {library.HEADER}"
    }


def test_the_generator_writes_exactly_the_committed_library(tmp_path: Path) -> None:
    cases = _suite_root(tmp_path) / "cases"
    lib = library.generate(cases)
    _filled, errors = library.fill(lib, say=lambda _line: None)
    assert errors == 0
    made, committed = _generated_files(cases), _generated_files(BUNDLED_CASES)
    assert len(made) == len(lib.written) >= 150
    assert sorted(made) == sorted(committed)
    differ = [rel for rel in made if made[rel] != committed[rel]]
    assert not differ, f"regenerate with tools/gen_library.py: {differ[:10]}"


def _onnx_node_tests() -> list[tuple[str, str, dict[str, Any], list[Any], list[Any]]]:
    """(name, op, attributes, inputs, outputs) of ONNX's own Gemm, MatMul and Sigmoid node
    tests, read straight from onnx.backend.test."""
    pytest.importorskip("onnx")
    from onnx import helper
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        testcases = collect_testcases(None)
    out = []
    for tc in testcases:
        nodes = tc.model.graph.node if tc.model is not None else []
        if len(nodes) == 1 and nodes[0].op_type in ("Gemm", "MatMul", "Sigmoid"):
            attrs = {a.name: helper.get_attribute_value(a) for a in nodes[0].attribute}
            for k, (inputs, outputs) in enumerate(tc.data_sets):
                name = tc.name.removeprefix("test_") + (f"_{k}" if len(tc.data_sets) > 1 else "")
                out.append((name, nodes[0].op_type, attrs, list(inputs), list(outputs)))
    return out


def _is_dense_layer(op: str, attrs: dict[str, Any], inputs: list[Any]) -> bool:
    """ONNX's definitions: Gemm is Y = alpha * A' @ B' + beta * C; MatMul is numpy.matmul."""
    if op == "Sigmoid":
        return True
    if op == "MatMul":
        return inputs[0].ndim == 2 and inputs[1].ndim == 2
    unit = attrs.get("alpha", 1.0) == 1.0 and (len(inputs) < 3 or attrs.get("beta", 1.0) == 1.0)
    c = inputs[2] if len(inputs) > 2 else np.zeros(1)
    return unit and not attrs.get("transA", 0) and (c.ndim < 2 or c.shape[0] == 1)


def _exact(lit: Literal, dt: D.DType, want: np.ndarray) -> bool:
    """The literal reads back as exactly ``want`` (same shape and values) and admits it."""
    got = lit.rounded(dt)
    if got.shape != want.shape or not np.array_equal(got, want):
        return False
    return bool(lit.contains(want, dt).all())


def test_onnx_import_carries_onnx_values_exactly(cli: Cli, tmp_path: Path) -> None:
    tests = _onnx_node_tests()
    out_dir = _suite_root(tmp_path) / "cases" / "onnx"
    code, out, _ = cli("import", "onnx", "--out", str(out_dir))
    assert code == 0, out
    cases, errors = load_cases([out_dir])
    assert not errors
    by_name = {Path(c.file).stem: c for c in cases}
    dense = [t for t in tests if _is_dense_layer(t[1], t[2], t[3])]
    assert sorted(by_name) == sorted(t[0] for t in dense)  # every dense-layer test, no other
    assert len(dense) >= 9 and len(tests) - len(dense) >= 10
    for name, op, attrs, inputs, outputs in dense:
        case = by_name[name]
        y = np.asarray(outputs[0], dtype=np.float64)
        dtype = str(outputs[0].dtype)
        dt = D.get(dtype)
        assert case.dtypes == (dtype,), name
        onnx_in = [np.asarray(a, dtype=np.float64) for a in inputs]
        assert isinstance(case.input, Literal) and _exact(case.input, dt, onnx_in[0]), name
        op_key = "sigmoid" if op == "Sigmoid" else "affine"
        assert set(case.expected) == {op_key}, name
        # the pins are the exact reference, which ONNX's own output (NumPy float32) meets
        # within the default tolerance: an independent check of both
        pinned = case.expected[op_key][dtype]
        arr = case.arrays(dtype)
        ref = reference(dtype, x=arr.x, weight=arr.weight, bias=arr.bias, z=arr.z)
        assert _exact(pinned, dt, ref.of(op_key)), name
        n_in = case.in_features if case.kind == "dense" else None
        allow = case_allowance(resolve(op_key, dtype, {}), op_key, ref, n_in)
        assert measure(y, ref.of(op_key), dt, allow).passed, name
        if op == "Sigmoid":
            assert case.kind == "sigmoid" and case.param is None, name
            continue
        # ONNX's B as written: (N, K) with transB = 1 is the nn.Linear weight, else a kernel.
        assert case.layout == ("weight" if attrs.get("transB", 0) else "kernel"), name
        assert isinstance(case.param, Literal) and _exact(case.param, dt, onnx_in[1]), name
        if len(inputs) > 2:
            bias = np.broadcast_to(onnx_in[2].reshape(-1), (y.shape[-1],))
            assert isinstance(case.bias, Literal) and _exact(case.bias, dt, bias), name
        else:
            assert case.bias is None, name


def test_committed_onnx_cases_are_a_current_import(cli: Cli, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    out_dir = _suite_root(tmp_path) / "cases" / "onnx"
    assert cli("import", "onnx", "--out", str(out_dir))[0] == 0
    made = {p.name: p.read_bytes() for p in out_dir.glob("*.yaml")}
    committed = {p.name: p.read_bytes() for p in (BUNDLED_CASES / "onnx").glob("*.yaml")}
    assert made == committed, "regenerate with: conformance import onnx --out cases/onnx --force"


@pytest.mark.slow
def test_onnx_cases_pass_on_every_framework(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli(
        "run", str(BUNDLED_CASES / "onnx"), "--known", str(KNOWN), "--report-dir", str(tmp_path),
        "--quiet",
    )  # fmt: skip
    rows = json.loads((tmp_path / "results.json").read_text())
    assert {r["framework"] for r in rows} == set(packaged_adapters())
    assert code == 0, out + err
