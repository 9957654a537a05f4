"""Import ONNX's own backend node tests for Gemm, MatMul and Sigmoid as case files.

``onnx.backend.test.case.node.collect_testcases`` builds each test in memory (model plus
input/output arrays). A test becomes a case when it is a dense layer: Gemm with alpha = beta = 1,
transA = 0, either transB, and a bias that is absent or broadcast along the batch (a scalar,
(1,), (N,) or (1, N)); MatMul of two 2-D arrays; Sigmoid of any shape. Inputs are written
with the digits each needs to read back as exactly ONNX's values in their dtype. The expected
outputs pinned are the exact reference's (a pin checks the case file, and ONNX's outputs are
NumPy's float32 arithmetic, not exact); how far ONNX's own expected output is from the exact
reference is stated in the case's comment. ``onnx`` is imported here only, lazily (optional
extra ``onnx``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import dtypes as D
from .casefile import CaseText, schema_ref, texts
from .reference import reference

_DTYPES = {"float16": "float16", "float32": "float32", "float64": "float64", "bfloat16": "bfloat16"}


@dataclass
class Imported:
    name: str
    path: Path | None  # None when skipped
    reason: str = ""


def _case_text(
    schema: str,
    name: str,
    op: str,
    desc: str,
    dtype: str,
    body: Callable[[CaseText], object],
    onnx_vs_exact: str,
) -> str:
    doc = CaseText(schema).comment(
        f"Imported by `conformance import onnx` from the onnx package's backend node test {name}\n"
        "(onnx.backend.test.case.node). Inputs are ONNX's, written with the digits that read\n"
        f"back as exactly its {dtype} values; expected is the exact reference.\n{onnx_vs_exact}"
    )
    doc.folded("description", desc)
    doc.field("tags", ["onnx", op.lower()])
    doc.field("dtypes", [dtype])
    body(doc)
    return doc.text()


def _dtype_of(arr: np.ndarray) -> str | None:
    return _DTYPES.get(str(arr.dtype))


def convert(
    name: str,
    op: str,
    attrs: dict[str, Any],
    inputs: list[np.ndarray],
    outputs: list[np.ndarray],
    schema: str,
) -> tuple[str | None, str]:
    """(case text, "") or (None, why it is not a dense layer); ``schema`` is what follows
    ``$schema=`` (:func:`conformance.casefile.schema_ref`)."""
    y = outputs[0]
    dtype = _dtype_of(y)
    if dtype is None or any(_dtype_of(a) != dtype for a in inputs):
        return None, f"dtype {y.dtype} is not one of {', '.join(_DTYPES)}"
    t = lambda a: texts(np.asarray(a, dtype=np.float64), dtype)  # noqa: E731
    f64 = [np.asarray(a, dtype=np.float64) for a in inputs]
    if op == "Sigmoid":
        exact = reference(dtype, z=f64[0]).sigmoid

        def sigmoid(doc: CaseText) -> None:
            doc.field("inputs").rows("z", t(inputs[0]), 2)
            doc.field("expected").field("sigmoid", None, 2).rows(dtype, t(exact), 4)

        desc = f"ONNX Sigmoid backend test over shape {list(inputs[0].shape)}: our frameworks on ONNX's inputs."
        text = _case_text(schema, name, op, desc, dtype, sigmoid, _versus(y, exact, dtype))
        return text, ""
    if op == "MatMul":
        a, b = inputs
        if a.ndim != 2 or b.ndim != 2:
            return (
                None,
                "MatMul of arrays that are not both 2-D (batched matmul is not a dense layer)",
            )

        exact = _affine(dtype, f64[0], f64[1].T, None)

        def matmul(doc: CaseText) -> None:
            doc.field("inputs").rows("x", t(a), 2)
            doc.field("params").rows("kernel", t(b), 2)
            doc.field("expected").field("affine", None, 2).rows(dtype, t(exact), 4)

        desc = "ONNX MatMul 2-D backend test: A @ B is a dense layer with kernel B (in, out) and no bias."
        text = _case_text(schema, name, op, desc, dtype, matmul, _versus(y, exact, dtype))
        return text, ""
    if op != "Gemm":
        return None, f"op {op} is not imported"
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    trans_a, trans_b = int(attrs.get("transA", 0)), int(attrs.get("transB", 0))
    if alpha != 1.0 or (beta != 1.0 and len(inputs) > 2):
        return None, f"alpha={alpha:g}, beta={beta:g}: a dense layer has no scaling"
    if trans_a:
        return None, "transA=1: the layer input would be A transposed, not ONNX's A"
    a, b = inputs[0], inputs[1]
    n_out = b.shape[0] if trans_b else b.shape[1]
    bias = None
    if len(inputs) > 2:
        c = inputs[2]
        if c.size not in (1, n_out) or (c.ndim == 2 and c.shape[0] != 1) or c.ndim > 2:
            return (
                None,
                f"bias C of shape {list(c.shape)} is not broadcast along the batch (a dense layer adds one bias per output)",
            )
        bias = np.broadcast_to(c.reshape(-1), (n_out,))
    key, note = (
        ("weight", "transB=1: B is (N, K), the PyTorch weight layout")
        if trans_b
        else ("kernel", "B is (K, N), the Keras kernel layout")
    )
    broadcast = len(inputs) > 2 and inputs[2].shape != (n_out,)
    weight = f64[1] if trans_b else f64[1].T
    exact = _affine(dtype, f64[0], weight, None if bias is None else np.asarray(bias, np.float64))

    def gemm(doc: CaseText) -> None:
        doc.field("inputs").rows("x", t(a), 2)
        doc.field("params").rows(key, t(b), 2)
        if bias is not None:
            doc.field("bias", t(bias), 2, note="ONNX's C, broadcast to (N,)" if broadcast else "")
        doc.field("expected").field("affine", None, 2).rows(dtype, t(exact), 4)

    desc = f"ONNX Gemm backend test: Y = A @ B{'.T' if trans_b else ''}{' + C' if bias is not None else ''}; {note}."
    return _case_text(schema, name, op, desc, dtype, gemm, _versus(y, exact, dtype)), ""


def _affine(dtype: str, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    values = reference(dtype, x=x, weight=weight, bias=bias).affine
    assert values is not None
    return values


def _versus(onnx_out: np.ndarray, exact: np.ndarray, dtype: str) -> str:
    """How far ONNX's own expected output is from the exact reference, for the comment."""
    ulp = D.ulp_distance(np.asarray(onnx_out, dtype=np.float64), exact, D.get(dtype))
    off = int(np.count_nonzero(ulp))
    if not off:
        return "ONNX's own expected output is exactly the reference."
    return (
        f"ONNX's own expected output (NumPy) differs from it in {off} of {ulp.size} values, "
        f"by at most {ulp.max():.0f} ulp."
    )


def import_onnx(out_dir: Path, force: bool = False) -> list[Imported]:
    """Write one case file per convertible ONNX node test; report the ones skipped and why."""
    import onnx  # optional dependency
    from onnx import helper
    from onnx.backend.test.case.node import collect_testcases

    results: list[Imported] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    schema = schema_ref(out_dir)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # onnx's generators warn about their own test data
        testcases = collect_testcases(None)
    for tc in testcases:
        if tc.model is None or not tc.data_sets:
            continue
        graph = tc.model.graph
        if len(graph.node) != 1 or graph.node[0].op_type not in ("Gemm", "MatMul", "Sigmoid"):
            continue  # other ops, and multi-node graphs that merely contain one of these
        node = graph.node[0]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        data_sets = list(tc.data_sets)
        for k, (inputs, outputs) in enumerate(data_sets):
            name = tc.name.removeprefix("test_") + (f"_{k}" if len(data_sets) > 1 else "")
            text, why = convert(
                tc.name.removeprefix("test_"),
                node.op_type,
                attrs,
                [np.asarray(i) for i in inputs],
                [np.asarray(o) for o in outputs],
                schema,
            )
            if text is None:
                results.append(Imported(name, None, why))
                continue
            path = out_dir / f"{name}.yaml"
            if path.exists() and not force and path.read_text(encoding="utf-8") != text:
                results.append(Imported(name, None, f"{path} exists and differs (use --force)"))
                continue
            path.write_text(text, encoding="utf-8")
            results.append(Imported(name, path))
    del onnx
    return results
