"""The bundled case library: size, validity, descriptions, the generator that wrote it, and the
ONNX import."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance import library
from conformance.cases import BUNDLED_CASES
from conformance.loader import discover, load_cases
from conformance.schema import SCHEMA_FILE

Cli = Callable[..., tuple[int, str, str]]


def test_library_validates_and_has_150_files(cli: Cli) -> None:
    files = discover([BUNDLED_CASES])
    assert len(files) >= 150
    code, _, err = cli("validate", str(BUNDLED_CASES))
    assert code == 0, err[-3000:]


def test_every_case_says_why_it_exists() -> None:
    cases, _ = load_cases([BUNDLED_CASES])
    missing = [c.id for c in cases if len(c.description.strip()) < 20]
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


def test_import_onnx_reproduces_committed_cases(cli: Cli, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    out_dir = _suite_root(tmp_path) / "cases" / "onnx"
    code, out, _ = cli("import", "onnx", "--out", str(out_dir))
    assert code == 0, out
    assert "skipped gemm_alpha" in out and "skipped gemm_default_matrix_bias" in out
    made = sorted(p.name for p in out_dir.glob("*.yaml"))
    assert {"gemm_default_no_bias.yaml", "gemm_transposeB.yaml", "matmul_2d.yaml"} <= set(made)
    assert {"sigmoid.yaml", "sigmoid_example.yaml", "gemm_default_vector_bias.yaml"} <= set(made)
    committed = BUNDLED_CASES / "onnx"
    for name in made:
        assert (out_dir / name).read_text() == (committed / name).read_text(), name
    assert cli("validate", str(out_dir))[0] == 0


@pytest.mark.slow
def test_onnx_cases_pass_on_every_framework(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli(
        "run", str(BUNDLED_CASES / "onnx"), "--report-dir", str(tmp_path), "--quiet"
    )
    rows = json.loads((tmp_path / "results.json").read_text())
    assert {r["framework"] for r in rows} == {"numpy", "torch", "tensorflow", "jax"}
    assert code == 0, out + err
