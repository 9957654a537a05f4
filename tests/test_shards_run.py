"""Shards end to end: two shards joined equal the unsharded run row for row, the rows a run
makes are the rows ``rowplan`` predicts, and ``combine`` refuses parts that do not belong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance import shards
from conformance.cli import main
from conformance.loader import load_cases
from conformance.registry import select
from conformance.rowplan import CaseFacts, RunShape, unit_rows

from .conftest import CASES, load_results

pytestmark = pytest.mark.slow

# init cases (with and without a bias pin), dense and sigmoid-only cases, an empty batch,
# every dtype; NumPy and torch keep it quick (an init kind owned by a framework outside the
# run is covered in test_shards.py without starting that framework)
PATHS = [
    str(CASES / "init" / "torch-linear-2x1-seed0.yaml"),
    str(CASES / "init" / "torch-linear-3x2-nobias-seed1.yaml"),
    str(CASES / "semantics"),
    str(CASES / "sigmoid" / "grid-float32.yaml"),
    str(CASES / "shapes" / "empty-batch-2d.yaml"),
]
RUN = [*PATHS, "--framework", "numpy", "--framework", "torch", "--device", "all", "--quiet"]


def run(out: Path, *extra: str) -> list[dict[str, Any]]:
    code = main(["run", *RUN, *extra, "--report-dir", str(out), "--format", "json"])
    assert code in (0, 1)  # semantics/ has failing rows without the known-deviations file
    return load_results(out)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("shards")
    out = {"whole": base / "whole", "1": base / "s1", "2": base / "s2"}
    run(out["whole"])
    run(out["1"], "--shard", "1/2")
    run(out["2"], "--shard", "2/2")
    return out


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_two_shards_joined_equal_the_unsharded_run(runs, tmp_path: Path, capsys) -> None:
    s1, s2 = load_results(runs["1"]), load_results(runs["2"])
    assert s1 and s2  # both parts ran something
    assert not {(r["case"], r["dtype"]) for r in s1} & {(r["case"], r["dtype"]) for r in s2}
    code = main(["combine", str(runs["2"]), str(runs["1"]), "--out", str(tmp_path / "c")])
    whole = load_results(runs["whole"])
    joined = load_results(tmp_path / "c")
    assert code == (1 if any(r["status"] in ("fail", "error") for r in whole) else 0)
    # row for row: order, statuses, errors, budgets, worst elements, messages, settings
    assert comparable(joined) == comparable(whole)
    assert len(whole) > 300 and {r["status"] for r in whole} >= {"pass", "fail", "skip"}
    # the joined report is a whole report: the failing rows have their programs
    assert list((tmp_path / "c" / "repro").glob("*.py"))
    env = json.loads((tmp_path / "c" / "environment.json").read_text())
    assert env["shards"] == 2 and "shard" not in env
    assert "2 shards" in capsys.readouterr().out


def test_shard_records_hold_the_split(runs) -> None:
    recs = [json.loads((runs[k] / "environment.json").read_text())["shard"] for k in "12"]
    assert [r["index"] for r in recs] == [1, 2] and recs[0]["digest"] == recs[1]["digest"]
    assert "shard" not in json.loads((runs["whole"] / "environment.json").read_text())


def test_rows_are_the_rows_rowplan_predicts(runs) -> None:
    """The plugin's items and the shards' weights come from rowplan: it must name exactly the
    rows the runner makes, in its order (init rows by their pin, in pin order)."""
    cases, errors = load_cases(PATHS, check=False)
    assert not errors
    chosen, known = select(["numpy", "torch"], [])
    shape = RunShape.of(chosen, known, ["eager"], ["cpu", "cuda"])
    predicted = []
    for c in cases:
        f = CaseFacts.of(c)
        for d in f.dtypes:
            predicted += unit_rows(f, d, shape)
    rows = load_results(runs["whole"])
    key = ("case", "dtype", "op", "framework", "mode", "device")
    assert [tuple(r[k] for k in key) for r in rows] == [
        (p.case, p.dtype, p.op, p.framework, p.mode, p.device) for p in predicted
    ]
    for r, p in zip(rows, predicted, strict=True):
        if p.op == "init":
            assert r["path"].startswith("nn.Linear." + p.pin), (r["path"], p.pin)
        else:
            assert r["path"] == p.path


def copy_part(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_combine_refuses_parts_that_do_not_belong(runs, tmp_path: Path, capsys) -> None:
    def combine(*parts: Path) -> str:
        code = main(["combine", *map(str, parts), "--out", str(tmp_path / "out")])
        assert code == 2
        return capsys.readouterr().err

    assert "shard 2/2 missing" in combine(runs["1"])
    assert "given twice" in combine(runs["1"], runs["1"], runs["2"])
    assert "no shard record" in combine(runs["whole"], runs["1"])

    # a shard of another split (here: the same units dealt into three parts)
    other = copy_part(runs["1"], tmp_path / "other")
    env = json.loads((other / "environment.json").read_text())
    plan, _ = shards.from_record(env["shard"])
    three = shards.split([(u, 1.0) for u in plan.units], 3)
    env["shard"] = shards.record(three, 1)
    (other / "environment.json").write_text(json.dumps(env))
    assert "another split" in combine(other, runs["2"])

    # a row moved into the wrong shard's results
    moved = copy_part(runs["1"], tmp_path / "moved")
    rows = json.loads((moved / "results.json").read_text())
    rows.append(load_results(runs["2"])[0])
    (moved / "results.json").write_text(json.dumps(rows))
    assert "belongs to shard 2/2, not to this shard (1/2)" in combine(moved, runs["2"])

    # an edited record
    edited = copy_part(runs["1"], tmp_path / "edited")
    env = json.loads((edited / "environment.json").read_text())
    env["shard"]["units"] = env["shard"]["units"][1:]
    (edited / "environment.json").write_text(json.dumps(env))
    assert "digest" in combine(edited, runs["2"])


def test_shard_with_baseline_is_a_usage_error(runs, capsys) -> None:
    code = main(["run", *RUN, "--shard", "1/2", "--baseline", str(runs["whole"])])
    assert code == 2
    assert "conformance combine" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["0/2", "3/2", "x"])
def test_bad_shard_is_a_usage_error(bad: str, capsys) -> None:
    assert main(["run", *RUN, "--shard", bad]) == 2
    assert "--shard" in capsys.readouterr().err
