"""The verdicts catch wrong implementations in every dtype where they change the result, and
pass a correct one (tests/wrong_adapters.py: each adapter is one real kind of bug).

All adapters run in one suite run over cases that cover every dtype: seeded sweeps (n up to
512, where a bfloat16 bound built on the dtype's own accumulation is vacuous), square layers
and batch == out_features (where a transposed weight or a bias along the batch axis has the
right shape), non-finite parameters, the signed-zero cases and every dtype's sigmoid grid.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from conformance.results import Row
from conformance.runner import RunOptions, RunResult, run

from .conftest import CASES
from .wrong_adapters import WRONG, ModelAdapter

CASE_FILES = [
    "generated/core-64x256x32-normal.yaml",
    "generated/positive-64x512x32.yaml",
    "conditioning/cancellation-float16.yaml",
    "generated/uniform-16x32x8.yaml",
    "generated/normal-8x4x3.yaml",
    "generated/student-t3-7x61x13.yaml",
    "layout/square-3x3-weight.yaml",
    "layout/square-3x3-kernel.yaml",
    "generated/square-kernel-8x16x16.yaml",
    "generated/batch-eq-out-weight-12x7x12.yaml",
    "dtypes/nonfinite-params-float32.yaml",
    "semantics/negative-zero.yaml",
    "semantics/signed-zero-k2-no-bias.yaml",
    "semantics/bias-only.yaml",
    "sigmoid/grid-float16.yaml",
    "sigmoid/grid-bfloat16.yaml",
    "sigmoid/grid-float32.yaml",
    "sigmoid/grid-float64.yaml",
]
DTYPES = ("float16", "bfloat16", "float32", "float64")


@pytest.fixture(scope="module")
def outcome() -> RunResult:
    adapters = [ModelAdapter, *WRONG]
    options = RunOptions(
        paths=[str(CASES / f) for f in CASE_FILES],
        frameworks=[a.name for a in adapters],
        adapters=[f"tests.wrong_adapters:{a.__name__}" for a in adapters],
    )
    result = run(options)
    assert not result.errors, result.errors
    return result


def _rows(result: RunResult, name: str) -> list[Row]:
    rows = [r for r in result.rows if r.framework == name]
    assert rows, name
    return rows


def _key(r: Row) -> tuple[str, str, str, str]:
    return (r.case, r.dtype, r.op, r.path)


def _changed(result: RunResult, wrong: Row, right: Row) -> bool:
    """Whether the wrong output differs from the correct adapter's (a zero of the other sign
    counts)."""
    a, b = result.outputs.output(wrong), result.outputs.output(right)
    if a is None or b is None:
        return True  # no output at all (an error row)
    ya, yb = a.values, b.values
    if ya.shape != yb.shape:
        return True
    differ = ~((ya == yb) | (np.isnan(ya) & np.isnan(yb)))
    differ |= (ya == 0) & (yb == 0) & (np.signbit(ya) != np.signbit(yb))
    return bool(differ.any())


@pytest.mark.slow
def test_the_correct_model_passes_every_row(outcome: RunResult) -> None:
    rows = _rows(outcome, ModelAdapter.name)
    assert {r.dtype for r in rows} == set(DTYPES)
    assert [(_key(r), r.message) for r in rows if r.status != "pass"] == []


@pytest.mark.slow
@pytest.mark.parametrize("adapter", WRONG, ids=[a.name for a in WRONG])
def test_a_wrong_implementation_fails_in_every_dtype_it_changes(
    outcome: RunResult, adapter: type[ModelAdapter]
) -> None:
    right = {_key(r): r for r in _rows(outcome, ModelAdapter.name)}
    changed: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    for r in _rows(outcome, adapter.name):
        if _changed(outcome, r, right[_key(r)]):
            changed[r.dtype] += 1
            failed[r.dtype] += r.status in ("fail", "error")
        else:
            # the same numbers as the correct adapter: the same verdict
            assert r.status == right[_key(r)].status == "pass", (_key(r), r.message)
    assert changed, f"{adapter.name} changed nothing: the test would prove nothing"
    for dtype, n in changed.items():
        assert failed[dtype] > 0, f"{adapter.name}: {n} changed {dtype} rows, none failed"


@pytest.mark.slow
def test_large_n_narrow_dtypes_are_not_vacuous(outcome: RunResult) -> None:
    """At in_features = 256 and 512 the bfloat16 and float16 bounds still reject gross errors:
    zeros and a negated output fail every affine row; a sum accumulated in the dtype fails
    where its terms cancel (float16) or its rounding errors pile up (bfloat16). (A float16 output passed through bfloat16 moves it
    by at most 2**-9 relative, which the bound's headroom can hold at n = 256: that one is
    caught on other cases, in test_a_wrong_implementation_fails_in_every_dtype_it_changes.)"""
    normal, positive = "generated/core-64x256x32-normal", "generated/positive-64x512x32"
    for name, case, dtypes in (
        ("zero", normal, ("float16", "bfloat16")),
        ("negated", normal, ("float16", "bfloat16")),
        ("dtypeacc", positive, ("bfloat16",)),
        ("dtypeacc", "conditioning/cancellation-float16", ("float16",)),
    ):
        rows = [
            r
            for r in _rows(outcome, name)
            if r.case == case and r.op == "affine" and r.dtype in dtypes
        ]
        summary = [(name, r.dtype, r.status, r.budget_used) for r in rows]
        assert rows and all(r.status == "fail" for r in rows), summary


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, case",
    [
        ("transposed", "generated/square-kernel-8x16x16"),
        ("biasbatch", "generated/batch-eq-out-weight-12x7x12"),
    ],
)
def test_shape_preserving_bugs_fail_on_values(outcome: RunResult, name: str, case: str) -> None:
    """A transposed square parameter and a bias along the batch axis run without any shape
    error: every dtype's affine row of the case that makes them possible fails on values."""
    rows = [r for r in _rows(outcome, name) if r.case == case and r.op == "affine"]
    assert {r.dtype for r in rows} == set(DTYPES)
    for r in rows:
        assert r.status == "fail" and "outside tolerance" in r.message, (_key(r), r.message)


@pytest.mark.slow
def test_a_lost_negative_zero_fails_only_where_the_sign_is_checked(outcome: RunResult) -> None:
    rows = [r for r in _rows(outcome, "lostzero") if r.op == "affine"]
    checked = {"semantics/negative-zero", "semantics/signed-zero-k2-no-bias"}
    for r in rows:
        if r.case in checked:
            assert r.status == "fail" and r.wrong_sign_zeros > 0, (_key(r), r.message)
            assert "zero of the wrong sign" in r.message
        else:
            assert r.status == "pass", (_key(r), r.message)
