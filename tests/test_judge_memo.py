"""Judging shares work between the rows of one unit: the reference is prepared once
(:class:`compare.Target`) and the allowance is memoised per (unit, op, tolerance). Neither may
change a verdict: every metric must be the one the element-wise definitions give, on the edges
(±0, nan, ±inf, subnormals, the largest finite values), and a memo entry must never serve a row
whose tolerance differs (another device mode, a case tolerance)."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from conformance import dtypes as D
from conformance.compare import Target, measure
from conformance.judge import Memo, base_row, judge
from conformance.loader import load_cases
from conformance.planning import plan
from conformance.reference import compute
from conformance.tolerances import Allowance
from conformance.worker import FrameworkRun

DTYPES = ("float16", "bfloat16", "float32", "float64")


def _edges(dt: D.DType) -> np.ndarray:
    tiny = float(np.ldexp(1.0, dt.emin - dt.p + 1))  # smallest subnormal
    vals = [0.0, -0.0, np.nan, np.inf, -np.inf, dt.max, -dt.max, tiny, -tiny, 1.0, -1.0, 0.5]
    return np.array(vals, dtype=np.float64)


@pytest.mark.parametrize("name", DTYPES)
def test_measure_with_a_prepared_target_matches_the_definitions(name: str) -> None:
    dt = D.get(name)
    edges = _edges(dt)
    y = np.repeat(edges, edges.size)  # every (y, t) pair of edge values
    t = np.tile(edges, edges.size)
    m = measure(y, Target.of(t, dt), dt)
    assert repr(m) == repr(measure(y, t, dt))  # repr: nan fields compare equal
    ulp = D.ulp_distance(y, t, dt)
    assert m.max_ulp == float(np.max(ulp))
    wrong = int(np.count_nonzero((y == 0) & (t == 0) & (np.signbit(y) != np.signbit(t))))
    assert m.wrong_sign_zeros == wrong == 2
    # without an allowance only bit-identical values (±0 aside) pass
    assert m.n_bad == int(np.count_nonzero(ulp != 0))


def _unit(tmp_path: Path, extra: str = "") -> object:
    (tmp_path / "c.yaml").write_text(
        "id: memo-case\ndtypes: [float32]\nseed: 3\n"
        "shapes: {batch: [4], in_features: 7, out_features: 5}\n"
        "inputs:\n  x: {distribution: normal, std: 1.0}\n"
        "params:\n  weight: {distribution: normal, std: 0.4}\n"
        "  bias: {distribution: uniform, low: -0.1, high: 0.1}\n" + extra,
        encoding="utf-8",
    )
    cases, errors = load_cases([tmp_path])
    assert not errors, errors
    units, _ = plan(cases, [])
    return units[0]


def test_a_memo_entry_never_serves_another_tolerance(tmp_path: Path) -> None:
    """One memo, rows of one unit on cpu and on cuda under TF32 (a wider default float32
    bound): each row is what judging it alone gives."""
    u = _unit(tmp_path)
    a = u.arrays  # type: ignore[attr-defined]
    ref = compute("float32", x=a.x, weight=a.weight, bias=a.bias)
    cpu = FrameworkRun("cpu-fw", "1")
    tf32 = FrameworkRun("cuda-fw", "1", settings={"cuda_float32_matmul": "tf32"})
    # an output a few ulp off, so the two bounds give different budgets
    y = (ref.affine * (1 + 6e-7)).astype(np.float32)
    memo = Memo()
    for fw, device in [(cpu, "cpu"), (tf32, "cuda"), (cpu, "cpu"), (tf32, "cuda")]:
        shared = base_row(u, fw, "affine", "p", "eager", device)  # type: ignore[arg-type]
        alone = replace(shared)
        judge(shared, u, ref, y, "", memo)  # type: ignore[arg-type]
        judge(alone, u, ref, y, "")  # type: ignore[arg-type]
        assert asdict(shared) == asdict(alone)
    texts = {e[0][0].text for e in memo.entries.values()}
    assert len(memo.entries) == 2 and len(texts) == 2, texts


def test_the_memo_is_bounded_by_bytes() -> None:
    memo = Memo(max_bytes=10_000)
    dt = D.get("float64")
    for i in range(50):
        t = np.full(200, float(i))  # 1,600 bytes an array, 7 arrays a target
        memo.get(i, lambda t=t: (Allowance(None, 0.0, "exact"), Target.of(t, dt)))
    assert len(memo.entries) == 1  # each entry alone is over the bound: only the newest stays
    assert memo.held == next(iter(memo.entries.values()))[1]
