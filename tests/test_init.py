"""Framework-native seeded init (``params: {init: ...}``) and ``op: init`` rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from conformance.adapters.base import InitRequest
from conformance.adapters.torch_adapter import TorchAdapter
from conformance.errors import CaseError
from conformance.loader import load_cases
from conformance.registry import BUILTIN, InitOwner, init_owners, select
from conformance.runner import RunOptions, run

from .plugins import GATE_ENV, TinyAdapter

ROOT = Path(__file__).resolve().parent.parent
SEED_INIT = ROOT / "cases" / "init" / "torch-linear-2x1-seed0.yaml"

WriteCase = Callable[[str, str], Path]


def _load_one(path: Path) -> tuple[list, list[CaseError]]:
    return load_cases([path])


def test_bundled_init_cases_load() -> None:
    cases, errors = load_cases([ROOT / "cases" / "init"])
    assert not errors, [str(e) for e in errors]
    by_id = {c.id: c for c in cases}
    seed = by_id["init/torch-linear-2x1-seed0"]
    assert seed.init == "torch" and seed.layout == "weight"
    assert (seed.in_features, seed.out_features) == (2, 1)  # out from the pinned weight
    assert set(seed.pins) == {"weight", "bias"}
    assert {c.init for c in cases} == {"torch", "keras", "jax", "flax"}
    assert by_id["init/keras-dense-4x3-seed42"].layout == "kernel"
    assert not by_id["init/torch-linear-3x2-nobias-seed1"].init_bias


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("params: {init: torch, weight: [[1, 2]]}\n", "params.weight", "params.init draws"),
        ("params: {init: torch, bias: [1]}\n", "params.bias", "bias: null"),
        (
            "params: {init: torch, bias: null}\nexpected: {bias: [0.5]}\n",
            "expected.bias",
            "no bias to pin",
        ),
        (
            "params: {init: torch}\nexpected: {weight: [[1, 2]], bias: [1, 2]}\n",
            "expected.bias",
            "out_features is 2 here but 1",
        ),
        ("params: {init: torch}\n", "shapes", "shapes.out_features is needed"),
        ("params: {init: mxnet}\n", "params.init", "torch"),
    ],
)
def test_init_case_errors(write_case: WriteCase, body: str, field: str, message: str) -> None:
    path = write_case("bad.yaml", "inputs: {x: [[1, 2]]}\n" + body)
    cases, errors = _load_one(path)
    assert not cases and len(errors) == 1, errors
    assert errors[0].field == field, str(errors[0])
    assert message in errors[0].message, str(errors[0])


def test_param_pins_still_need_init(write_case: WriteCase) -> None:
    path = write_case(
        "pin.yaml",
        "inputs: {x: [[1, 2]]}\nparams: {weight: [[1, 2]]}\nexpected: {weight: [[1, 2]]}\n",
    )
    _cases, errors = _load_one(path)
    assert errors and "need params.init" in errors[0].message


@pytest.mark.slow
def test_seed_init_case_passes_and_an_altered_pin_fails(tmp_path: Path) -> None:
    # The seed example: torch draws, numpy runs the drawn parameters too.
    result = run(RunOptions(paths=[str(SEED_INIT)], frameworks=["torch", "numpy"]))
    init = [r for r in result.rows if r.op == "init"]
    assert {r.path for r in init} == {"nn.Linear.weight", "nn.Linear.bias"}
    assert all(r.status == "pass" and r.framework == "torch" for r in init), init
    affine = [r for r in result.rows if r.op == "affine"]
    assert {r.framework for r in affine} == {"torch", "numpy"}
    assert all(r.status == "pass" for r in result.rows), [r.message for r in result.rows]
    assert all(r.worst_value == pytest.approx(-0.47296917, abs=1e-7) for r in affine)

    altered = tmp_path / "altered.yaml"
    text = SEED_INIT.read_text(encoding="utf-8")
    assert "-0.00529398," in text
    altered.write_text(text.replace("-0.00529398,", "-0.00529399,"), encoding="utf-8")
    result = run(RunOptions(paths=[str(altered)], frameworks=["torch"]))
    bad = [r for r in result.rows if r.status != "pass"]
    assert len(bad) == 1, [(r.op, r.path, r.message) for r in bad]
    row = bad[0]
    assert (row.op, row.status, row.path) == ("init", "fail", "nn.Linear.weight")
    assert "weight[0, 0]" in row.message and "19 ulp" in row.message, row.message
    assert row.max_ulp == 19


@pytest.mark.slow
def test_missing_owner_framework_skips_the_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TorchAdapter, "unavailable", lambda self: "torch is not installed (test)")
    result = run(RunOptions(paths=[str(SEED_INIT)], frameworks=["torch", "numpy"]))
    assert result.rows
    for r in result.rows:
        assert r.status == "skip", (r.framework, r.op, r.message)
        assert "torch is not installed (test)" in r.message
    assert {r.op for r in result.rows} == {"init", "affine", "sigmoid"}


TINY_INIT = """\
seed: 3
dtypes: [float32, float64]
shapes: {batch: [2], in_features: 3, out_features: 2}
inputs: {x: [[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]]}
params: {init: tiny}
"""


def test_init_owner_is_the_first_adapter_of_the_run_that_declares_it() -> None:
    chosen, known = select(["mytorch"], ["tests.plugins:TorchInitPlugin"])
    assert init_owners(known, chosen)["torch"].name == "mytorch"
    chosen, known = select(["numpy"], ["tests.plugins:TorchInitPlugin"])
    owners = init_owners(known, chosen)
    assert owners["torch"] == InitOwner("torch", BUILTIN["torch"], "weight")
    assert owners["keras"] == InitOwner("tensorflow", BUILTIN["tensorflow"], "kernel")


def test_a_plugin_owns_an_init_kind(write_case: WriteCase) -> None:
    path = write_case("tiny-init.yaml", TINY_INIT)
    cases, errors = load_cases([path])  # no adapter here declares "tiny"
    assert not cases and "unknown init 'tiny'" in errors[0].message, errors
    result = run(
        RunOptions(
            paths=[str(path)], frameworks=["tiny", "numpy"], adapters=["tests.plugins:TinyAdapter"]
        )
    )
    assert not result.errors and result.rows
    assert all(r.status == "pass" for r in result.rows), [r.message for r in result.rows]
    assert {r.framework for r in result.rows} == {"tiny", "numpy"}
    # NumPy computed with what the plugin drew (a kernel and a bias of 0.5)
    request = InitRequest(("", "float64"), "tiny", 3, 3, 2, True, "float64")
    drawn = TinyAdapter().init_params(request)
    assert drawn.param is not None and drawn.bias is not None
    row = next(
        r for r in result.rows if (r.framework, r.op, r.dtype) == ("numpy", "affine", "float64")
    )
    y = result.outputs.output(row)
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]])
    assert y is not None and np.array_equal(y.values.reshape(y.shape), x @ drawn.param + drawn.bias)


def test_batches_that_need_no_draw_run_while_the_owner_draws(
    write_case: WriteCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner of ``gated`` draws only once another framework has run a batch: the run
    passes only if the batches that need no draw are sent before the draws are in."""
    monkeypatch.setenv(GATE_ENV, str(tmp_path / "gate"))
    init = write_case("gated-init.yaml", TINY_INIT.replace("init: tiny", "init: gated"))
    plain = write_case("plain.yaml", TINY_INIT.replace("params: {init: tiny}", PLAIN_PARAMS))
    result = run(
        RunOptions(
            paths=[str(init), str(plain)],
            frameworks=["gated", "gateopener"],
            adapters=["tests.plugins:GatedDraw", "tests.plugins:GateOpener"],
        )
    )
    assert not result.errors and len(result.rows) == 8
    assert all(r.status == "pass" for r in result.rows), [r.message for r in result.rows]
    # rows keep the run's order (case, dtype, framework, path) whatever the order of arrival
    assert [(r.case, r.dtype, r.framework) for r in result.rows] == [
        (case, dtype, fw)
        for case in ("gated-init", "plain")
        for dtype in ("float32", "float64")
        for fw in ("gated", "gateopener")
    ]


PLAIN_PARAMS = "params: {kernel: [[1.0, 0.5], [0.25, -1.0], [2.0, 0.0]], bias: [0.5, -0.5]}"


def test_a_replacement_adapter_need_not_be_named_torch_to_draw_torch_init() -> None:
    result = run(
        RunOptions(
            paths=[str(SEED_INIT)],
            frameworks=["mytorch", "numpy"],
            adapters=["tests.plugins:TorchInitPlugin"],
        )
    )
    assert "torch" not in result.frameworks  # the built-in torch adapter never started
    init = [r for r in result.rows if r.op == "init"]
    assert init and {r.framework for r in init} == {"mytorch"}
    # NumPy ran the parameters mytorch drew (not torch's, so the case's pins disagree)
    numpy = [r for r in result.rows if r.framework == "numpy"]
    assert numpy and {r.status for r in numpy} <= {"pass", "fail"}, [r.message for r in numpy]
