"""Report generator: tables, agreement, formats, JUnit, reproduction snippets (synthetic rows)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance import dtypes as D
from conformance import report
from conformance.outputs import OutputStore
from conformance.registry import available_specs
from conformance.report import repro, tables
from conformance.results import read_rows

from .report_fixtures import synthetic

XSD = Path(__file__).parent / "data" / "junit.xsd"


def test_parity_table_cells_and_tolerance(tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    t = tables.parity_table(rows)
    assert list(t.index.names) == ["case", "dtype", "op"]
    assert "numpy / 1/(1+np.exp(-z))" in t.columns and "tolerance" in t.columns
    sig = t.loc[("synth/sigmoid-small", "float32", "sigmoid")]
    assert sig["numpy / 1/(1+np.exp(-z))"] == "pass 1 ulp (0)"
    dense = t.loc[("synth/dense-2x3", "float32", "affine")]
    assert dense["numpy / x @ W.T + b"].startswith("fail 1500000 ulp")
    assert dense["torch / F.linear"] == "error"
    assert dense["jax / -"] == "skip"


def test_summary_counts_and_worst(tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    s = tables.summary(rows)
    np_sig = s.loc[("numpy", "float32", "sigmoid")]
    assert np_sig["rows"] == 1 and np_sig["pass"] == 1 and np_sig["worst ulp"] == 1
    torch_aff = s.loc[("torch", "float32", "affine")]
    assert torch_aff["error"] == 1 and math.isnan(torch_aff["worst ulp"])


def test_agreement_from_arrays_and_bound_fallback(tmp_path: Path) -> None:
    rows, store = synthetic(tmp_path / "cases")
    agree = tables.agreement(rows, store)
    ((dtype, op, group),) = agree.sections()
    m = agree.matrix(dtype, op, group)
    assert m.loc["numpy / 1/(1+np.exp(-z))", "torch / torch.sigmoid"] == 1
    assert m.loc["torch / nn.Sigmoid", "torch / torch.sigmoid"] == 0
    assert agree.bounds(dtype, op, group) == {"exact"}
    fallback = tables.agreement(rows, None)
    assert fallback.bounds(dtype, op, group) == {"upper"}


def test_outputs_roundtrip_keeps_bfloat16_and_strides(tmp_path: Path) -> None:
    rows, store = synthetic(tmp_path / "cases")
    store.add_reference(
        "big",
        "bfloat16",
        "sigmoid",
        np.linspace(0, 1, 300_000).astype(np.float32).astype(np.float64),
    )
    store.save(tmp_path / "o.npz")
    back = OutputStore.load(tmp_path / "o.npz")
    assert len(back) == len(store)
    a, b = store.output(rows[0]), back.output(rows[0])
    assert a is not None and b is not None and np.array_equal(a.values, b.values)
    big = back.reference("big", "bfloat16", "sigmoid")
    assert big is not None and big.sampled and big.shape == (300_000,)


def test_write_all_formats(tmp_path: Path) -> None:
    rows, store = synthetic(tmp_path / "cases")
    out = tmp_path / "rep"
    env = {"date": "2026-01-01T00:00:00+00:00", "suite_revision": "abc123", "cpu": "Test CPU"}
    written = report.write(rows, out, report.FORMATS, outputs=store, env=env)
    for name in (
        "parity.md",
        "parity.html",
        "results.csv",
        "results.json",
        "junit.xml",
        "outputs.npz",
        "environment.json",
    ):
        assert (out / name).exists(), name
    assert out / "parity.html" in written
    assert (out / "plots" / "sigmoid_ulp_float32.png").read_bytes()[:4] == b"\x89PNG"
    assert any(p.name.startswith("agreement_float32_sigmoid") for p in (out / "plots").iterdir())
    md = (out / "parity.md").read_text(encoding="utf-8")
    for heading in (
        "## Environment",
        "## Summary",
        "## Failures",
        "## Parity",
        "## Agreement",
        "## Tolerances used",
    ):
        assert heading in md
    assert "Test CPU" in md and "abc123" in md and "threads=2" in md
    html = (out / "parity.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html  # self-contained
    assert html.count("data:image/png;base64,") >= 2
    assert 'id="parity"' in html and 'id="agreement"' in html and "st-fail" in html
    assert len(read_rows(out)) == len(rows)
    assert sorted(p.name for p in (out / "repro").iterdir()) == [
        "synth_dense-2x3__float32__affine__numpy__x_W_T_b__eager__cpu.py",
        "synth_dense-2x3__float32__affine__torch__F_linear__eager__cpu.py",
    ]


def test_junit_one_testcase_per_row_and_schema(tmp_path: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    xmlschema = pytest.importorskip("xmlschema")
    rows, store = synthetic(tmp_path / "cases")
    report.write(rows, tmp_path / "rep", ["junit"], outputs=store)
    xml = tmp_path / "rep" / "junit.xml"
    xmlschema.XMLSchema(str(XSD)).validate(str(xml))
    doc = junitparser.JUnitXml.fromfile(str(xml))
    cases = [(suite.name, case) for suite in doc for case in suite]
    assert len(cases) == len(rows)
    kinds: dict[str, int] = {}
    for _, case in cases:
        for res in case.result:
            kinds[type(res).__name__] = kinds.get(type(res).__name__, 0) + 1
    assert kinds == {"Failure": 1, "Error": 1, "Skipped": 1}
    assert {s for s, _ in cases} == {"conformance.numpy", "conformance.torch", "conformance.jax"}
    assert doc.tests == len(rows) and doc.failures == 1 and doc.errors == 1


def test_repro_snippet_runs_and_shows_the_mismatch(tmp_path: Path) -> None:
    rows, store = synthetic(tmp_path / "cases")
    programs = repro.programs(rows, store, available_specs())
    snip = programs.written[id(rows[4])]  # numpy affine vs a wrong expected value
    assert "import torch" not in snip.code and "import numpy as np" in snip.code
    path = tmp_path / snip.name
    path.write_text(snip.code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MISMATCH reproduced" in done.stdout
    assert "got 1.5, want 9.0" in done.stdout


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_outputs_keep_their_own_dtype_and_every_bit(tmp_path: Path, dtype: str) -> None:
    """Arrays are held in their dtype (half the memory for float32) and read back as the same
    float64 bits, -0, inf and nan included; a value outside the dtype keeps float64."""
    dt = D.get(dtype)
    vals = D.round_float64(np.random.default_rng(3).normal(size=500) * 1e3, dt)
    vals[:4] = [-0.0, np.inf, -np.inf, np.nan]
    store = OutputStore()
    store.add_reference("c", dtype, "affine", vals)
    outside = vals.copy()
    outside[5] = 1 + 2.0**-40 if dtype != "float64" else outside[5]
    store.add_reference("c", dtype, "sigmoid", outside)
    st = store.reference("c", dtype, "affine")
    assert st is not None and st.raw.dtype == np.dtype(dt.np)
    store.save(tmp_path / "o.npz")
    back = OutputStore.load(tmp_path / "o.npz")
    for op, want in (("affine", vals), ("sigmoid", outside)):
        for s in (store, back):
            got = s.reference("c", dtype, op)
            assert got is not None
            assert np.array_equal(got.values.view(np.uint64), want.view(np.uint64))


def test_the_frame_holds_what_asdict_gives_and_copies_the_settings() -> None:
    """tables.frame skips asdict's deep copy; the frame must still be asdict's, cell for cell
    (inf, nan and None included), and its settings dicts the frame's own."""
    from dataclasses import asdict

    from conformance.results import Row

    rows = [
        Row("c", "f.yaml", "float32", "affine", "numpy", "2", "x @ W.T", "eager", "cpu", "pass",
            max_abs_err=float("inf"), max_ulp=float("nan"), settings={"a": "1", "b": "2"}),
        Row("d", "g.yaml", "float64", "sigmoid", "torch", "2", "nn.Sigmoid", "eager", "cpu",
            "skip", worst_index="(0, 1)", n=3),
    ]  # fmt: skip
    got = tables.frame(rows)
    want = tables.pd.DataFrame([asdict(r) for r in rows])
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        for a, b in zip(got[col], want[col], strict=True):
            same = a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))
            assert same or (a is None and b is None), (col, a, b)
    got["settings"][0]["a"] = "changed"
    assert rows[0].settings == {"a": "1", "b": "2"}
