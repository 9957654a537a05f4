"""The split into shards, without running anything: parsing, partition, balance, the record."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from conformance import shards
from conformance.loader import load_cases
from conformance.registry import select
from conformance.rowplan import CaseFacts, RunShape, unit_rows

from .conftest import CASES


@pytest.fixture(scope="module")
def bundled() -> list[CaseFacts]:
    cases, errors = load_cases([CASES], check=False)
    assert not errors
    return [CaseFacts.of(c) for c in cases]


def shape(frameworks: list[str] | None = None, modes=("eager",), devices=("cpu",)) -> RunShape:
    chosen, known = select(frameworks or [], [])
    return RunShape.of(chosen, known, list(modes), list(devices))


@pytest.mark.parametrize("text", ["1/1", "3/4", " 2/2 ", "10000/10000"])
def test_parse_accepts_k_of_n(text: str) -> None:
    s = shards.parse(text)
    assert 1 <= s.index <= s.count and str(s) == text.strip()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0/3", "K must be"),
        ("4/3", "K must be"),
        ("1/0", "N must be"),
        ("1/10001", "N must be"),
        ("1", "not K/N"),
        ("-1/2", "not K/N"),
        ("1/2/3", "not K/N"),
        ("a/b", "not K/N"),
        ("1e3/2e3", "not K/N"),
        ("9" * 500 + "/1", "not K/N"),
    ],
)
def test_parse_refuses_with_one_line(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as exc:
        shards.parse(text)
    assert "\n" not in str(exc.value) and len(str(exc.value)) < 120


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_every_unit_in_exactly_one_part_and_parts_balanced(bundled, count: int) -> None:
    p = shards.plan(bundled, [], count, shape())
    units = [(c.id, d) for c in bundled for d in c.dtypes]
    assert list(p.units) == units  # run order, each unit once
    assert set(p.parts) <= set(range(1, count + 1))
    loads = [p.cost(k) for k in range(1, count + 1)]
    # greedy, heaviest first: no part exceeds another by more than the heaviest unit
    assert max(loads) - min(loads) <= max(p.costs) + 1e-9
    if count > 1:  # ... and every part gets work on the bundled library
        assert min(loads) > 0


def test_split_follows_cost_not_unit_count() -> None:
    units = [(("big", "float32"), 10.0)] + [((f"s{i}", "float32"), 1.0) for i in range(10)]
    p = shards.split(units, 2)
    part = p.part_of()
    # the heavy unit is alone against the ten light ones: 10 vs 10, not 6 units vs 5
    assert [u for u, k in part.items() if k == part[("big", "float32")]] == [("big", "float32")]
    assert p.cost(1) == p.cost(2) == 10.0


def test_split_is_deterministic_and_independent_of_cost_ties_order() -> None:
    units = [((f"c{i}", "float16"), float(i % 3)) for i in range(40)]
    a, b = shards.split(units, 4), shards.split(list(units), 4)
    assert a == b and a.digest() == b.digest()
    assert shards.split(units, 3).digest() != a.digest()


def test_costs_weigh_size_and_framework(bundled) -> None:
    by_id = {c.id: c for c in bundled}
    full, only_numpy = shape(), shape(["numpy"])
    large, small = by_id["shapes/large-64x4096x1024"], by_id["semantics/core-no-bias"]
    assert shards.unit_cost(large, full) > 20 * shards.unit_cost(small, full)
    # JAX's per-call cost: the same case costs more with every framework than with NumPy alone
    assert shards.unit_cost(small, full) > 10 * shards.unit_cost(small, only_numpy)


def test_dtype_filter_splits_only_the_units_of_the_run(bundled) -> None:
    p = shards.plan(bundled, ["float16"], 3, shape())
    assert {d for _, d in p.units} == {"float16"}


def test_record_round_trips_and_refuses_edits(bundled) -> None:
    p = shards.plan(bundled, [], 3, shape())
    rec = shards.record(p, 2)
    back, index = shards.from_record(copy.deepcopy(rec))
    assert index == 2 and back.digest() == p.digest() and back.part_of() == p.part_of()

    moved = copy.deepcopy(rec)
    moved["units"][0][2] = moved["units"][0][2] % 3 + 1  # a unit moved to another part
    bad = [
        (moved, "digest"),
        ({**rec, "index": 4}, "index"),
        ({**rec, "index": True}, "index"),
        ({**rec, "count": 0}, "count"),
        ({**rec, "units": "x"}, "units"),
        ({**rec, "units": [*rec["units"], rec["units"][0]]}, "twice"),
        ({**rec, "units": [["a", "float32", "1"]]}, r"units\[0\]"),
        ({**rec, "units": [["a" * 300, "float32", 1]]}, r"units\[0\]"),
        ([], "mapping"),
    ]
    for obj, why in bad:
        with pytest.raises(shards.PlanError, match=why):
            shards.from_record(obj)


def test_narrow_keeps_only_the_units_given() -> None:
    cases, _ = load_cases([CASES / "dtypes" / "core-small-all-dtypes.yaml"], check=False)
    (case,) = cases
    assert len(case.dtypes) == 4
    (narrowed,) = shards.narrow(cases, {(case.id, "float16"), ("other", "float32")})
    assert narrowed.dtypes == ("float16",) and narrowed.id == case.id
    assert shards.narrow(cases, {("other", "float16")}) == []
    assert shards.narrow(cases, {case.id: set(case.dtypes)})[0] is case


def test_unit_rows_follow_the_adapter_tables(bundled) -> None:
    by_id = {c.id: c for c in bundled}
    s = shape(["numpy", "torch"], modes=("eager", "compiled"), devices=("cpu", "cuda"))
    rows = unit_rows(by_id["init/torch-linear-2x1-seed0"], "float32", s)
    init = [r for r in rows if r.op == "init"]
    assert [(r.framework, r.pin) for r in init] == [("torch", "weight"), ("torch", "bias")]
    numpy_rows = [r for r in rows if r.framework == "numpy"]
    assert {(r.mode, r.device) for r in numpy_rows} == {("eager", "cpu")}  # NumPy has no more
    torch_rows = [r for r in rows if r.framework == "torch" and r.op != "init"]
    assert len(torch_rows) == 4 * 4  # four dense paths x two modes x two devices
    sig = unit_rows(by_id["sigmoid/grid-float32"], "float32", s)
    assert {r.path for r in sig if r.framework == "torch"} == {"torch.sigmoid", "nn.Sigmoid"}
    # an init kind whose owner is not in the run: the draw happens, its rows do not
    keras = unit_rows(by_id["init/keras-dense-4x3-seed42"], "float32", s)
    assert not [r for r in keras if r.op == "init"]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 9])
def test_work_groups_partition_the_session_by_framework(bundled, count: int) -> None:
    s = shape()
    units = [((c.id, d), c) for c in bundled for d in c.dtypes]
    groups = shards.work_groups(units, s, count)
    assert 1 <= len(groups) <= count
    names = [a.name for a in s.adapters]
    owners = {(fw, u): [g for g in groups if g.owns(fw, u)] for fw in names for u, _ in units}
    assert all(len(v) == 1 for v in owners.values())  # every (framework, unit) exactly once
    if count <= len(names):  # whole frameworks: each starts once
        assert sorted(fw for g in groups for fw in g.frameworks) == sorted(names)
        assert all(g.units == {u for u, _ in units} for g in groups)
        assert len(groups) == count
    else:  # one framework per group, the heavy ones split further
        assert all(len(g.frameworks) == 1 for g in groups) and len(groups) == count
        per = Counter(g.frameworks[0] for g in groups)
        assert per["jax"] == max(per.values())  # JAX costs the most on the bundled suite
    assert shards.work_groups(list(reversed(units)), s, count) == [
        shards.WorkGroup(g.frameworks, g.units) for g in groups
    ]  # the order the cases were found in does not matter
