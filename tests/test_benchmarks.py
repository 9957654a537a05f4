"""The benchmark instrument (benchmarks/): its JSON keys, the case generator, the memory sampler
and the hand-written yardstick. No timing assertions: speed is what the benchmarks measure."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from conformance.loader import load_cases

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def bench_module(name: str) -> ModuleType:
    """A module of benchmarks/ (its scripts import each other by plain name)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


def run_bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / "run.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_run_quick_reference_writes_the_documented_keys(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    done = run_bench(
        "--quick", "--only", "c", "--reference-size", "16,256,16", "--output", str(out)
    )
    assert done.returncode == 0, done.stderr
    res = json.loads(out.read_text(encoding="utf-8"))
    for key in ("schema", "date", "host", "machine", "versions", "git", "cache", "targets"):
        assert key in res
    assert res["quick"] is True and res["parts"] == ["c"]
    for key in ("cpu_model", "cores", "ram_bytes"):
        assert res["machine"][key]
    for key in ("python", "numpy", "torch", "tensorflow", "jax"):
        assert res["versions"][key]
    assert len(res["git"]["revision"]) == 40
    ref = res["reference"]
    assert ref["size"] == [16, 256, 16]
    assert set(ref["dtypes"]) == {"float16", "bfloat16", "float32", "float64"}
    for r in ref["dtypes"].values():
        assert r["complete"] is True and r["rows_reached"] == 16
        assert r["reference_s"] > 0 and r["matmul_s"] > 0
        assert r["ratio"] == pytest.approx(r["reference_s"] / r["matmul_s"])
        # the full size is a best of 3, like the matmul; the first run is kept beside it
        full = r["steps"][-1]
        assert full["first_s"] >= full["seconds"] == r["reference_s"]
        assert r["first_ratio"] == pytest.approx(full["first_s"] / r["matmul_s"])
        assert r["heap_tuned"] is sys.platform.startswith("linux")
        assert r["blas_quiet"] is ("OPENBLAS_THREAD_TIMEOUT" not in os.environ)
        assert [s["rows"] for s in r["steps"]] == [1, 2, 4, 8, 16]
    keys = {(t["key"], t.get("dtype")) for t in res["targets"]}
    assert keys == {("c_ratio", d) for d in ref["dtypes"]}
    # not the target's size: no verdict
    assert all(t["ok"] is None for t in res["targets"])
    assert "float64" in done.stdout and str(out) in done.stdout
    assert {"imports", "bundled", "generated", "handwritten"}.isdisjoint(res)


def test_reference_over_the_cap_reports_the_size_reached(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    done = run_bench(
        "--only", "c", "--reference-dtype", "float64", "--reference-cap", "4",
        "--output", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    r = json.loads(out.read_text(encoding="utf-8"))["reference"]["dtypes"]["float64"]
    assert r["timed_out"] is True and r["complete"] is False
    assert r["reference_s"] is None and r["rows_reached"] < 1024
    assert "> 4 s cap" in done.stdout
    (target,) = json.loads(out.read_text(encoding="utf-8"))["targets"]
    assert target["ok"] is False  # the full size, not finished in the cap: missed


def test_generator_is_deterministic_and_the_suite_loads_its_cases(tmp_path: Path) -> None:
    gen = bench_module("gen_cases")
    specs = gen.specs(200, seed=3, dtypes=gen.MIXED)
    assert specs == gen.specs(200, seed=3, dtypes=gen.MIXED)
    assert specs != gen.specs(200, seed=4, dtypes=gen.MIXED)
    a = gen.write(tmp_path / "a", specs)
    b = gen.write(tmp_path / "b", gen.specs(200, seed=3, dtypes=gen.MIXED))
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    cases, errors = load_cases([tmp_path / "a"])
    assert errors == [] and len(cases) == 200
    assert {c.layout for c in cases} == {"weight", "kernel"}
    assert {c.bias is None for c in cases} == {True, False}
    dtypes = [c.dtypes[0] for c in cases]
    assert set(dtypes) == {"float16", "bfloat16", "float32", "float64"}
    assert dtypes.count("float32") > len(dtypes) / 2
    for c in cases:
        assert 1 <= c.input_shape[0] <= 32 and 1 <= c.in_features <= 64
        assert 1 <= c.out_features <= 32
    assert {s["dtype"] for s in gen.specs(50, seed=3)} == {"float32"}


def test_handwritten_draws_the_suites_arrays(tmp_path: Path) -> None:
    gen = bench_module("gen_cases")
    hand = bench_module("handwritten")
    specs = gen.specs(20, seed=5)
    gen.write(tmp_path, specs)
    cases, _ = load_cases([tmp_path])
    by_id = {s["id"]: s for s in specs}
    for case in cases:
        arr = case.arrays("float32")
        x, w, b = hand.arrays(by_id[case.id])
        assert (arr.x == x).all() and (arr.weight == w).all()
        assert (b is None) == (arr.bias is None)
        if b is not None:
            assert (arr.bias == b).all()


CHILD = textwrap.dedent(
    """
    import subprocess, sys, time
    if sys.argv[1] == "child":
        block = bytearray(300 * 2**20)
        block[:: 4096] = b"x" * len(block[:: 4096])  # touch every page
        time.sleep(float(sys.argv[2]))
    else:
        subprocess.run([sys.executable, __file__, "child", sys.argv[2]])
    """
)


def test_measure_sees_the_memory_of_a_child_process(tmp_path: Path) -> None:
    procs = bench_module("procs")
    script = tmp_path / "tree.py"
    script.write_text(CHILD, encoding="utf-8")
    m = procs.measure([sys.executable, str(script), "parent", "1.5"])
    assert m.returncode == 0 and not m.timed_out and not m.killed_for_memory
    assert m.processes == 2
    assert m.peak_rss_bytes > 300 * 2**20
    assert m.sum_hwm_bytes >= m.peak_rss_bytes * 0.9


def test_measure_kills_a_tree_over_its_memory_limit_or_time(tmp_path: Path) -> None:
    procs = bench_module("procs")
    script = tmp_path / "tree.py"
    script.write_text(CHILD, encoding="utf-8")
    m = procs.measure([sys.executable, str(script), "parent", "30"], max_rss=200 * 2**20)
    assert m.killed_for_memory and m.returncode != 0 and m.seconds < 20
    m = procs.measure([sys.executable, str(script), "parent", "30"], timeout=1.0)
    assert m.timed_out and m.seconds < 20
    alive = subprocess.run(["pgrep", "-f", str(script)], capture_output=True, text=True)
    assert alive.stdout.strip() == ""


@pytest.mark.slow
def test_handwritten_loop_checks_every_path() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "handwritten.py"), "--cases", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rep = json.loads(done.stdout.strip().splitlines()[-1])
    # torch, Keras (2 layers), JAX, NumPy: affine and sigmoid each
    assert rep["cases"] == 3 and rep["checks"] == 3 * 8
    assert rep["failures"] == 0, rep["first_failure"]


RAW = (
    'process 10:"python -m conformance run";thread (10): MainThread;<module> (x.py:1);'
    "main (conformance/commands/run.py:5);run (conformance/runner.py:9);"
    "load_cases (conformance/cases.py:3);read_text (pathlib.py:1) 30\n"
    'process 10:"python -m conformance run";thread (10);<module> (x.py:1);'
    "main (conformance/commands/run.py:5);run (conformance/runner.py:9);"
    "join (threading.py:4) 50\n"
    'process 10:"python -m conformance run";process 11:"python -m conformance.worker";'
    "thread (11): MainThread;main (conformance/worker.py:2);"
    "TorchAdapter.setup (conformance/adapters/torch_adapter.py:5);"
    "_find_and_load (<frozen importlib._bootstrap>:1) 40\n"
    'process 10:"python -m conformance run";process 11:"python -m conformance.worker";'
    "thread (11): MainThread;main (conformance/worker.py:2);"
    "TorchAdapter.run (conformance/adapters/base.py:7);"
    "TorchAdapter.dense_paths.<locals>.nn_linear (conformance/adapters/torch_adapter.py:9);"
    "forward (torch/nn/modules/linear.py:1) 20\n"
)


def test_profile_summary_attributes_samples_to_phases(tmp_path: Path) -> None:
    prof = bench_module("profile_summary")
    raw = tmp_path / "prof.txt"
    raw.write_text(RAW, encoding="utf-8")
    procs = prof.parse(raw)
    parent, worker = procs["10"], procs["11"]
    assert worker.label == "torch" and parent.label == ""
    # "thread (10): MainThread" and "thread (10)" are one thread
    (main,) = parent.threads.values()
    assert main.samples == 80
    assert main.phases[("run (conformance/runner.py)", "load_cases (conformance/cases.py)")] == 30
    (wmain,) = worker.threads.values()
    assert wmain.phases[("TorchAdapter.setup (conformance/adapters/torch_adapter.py)",)] == 40
    text = prof.report(procs, rate=10, top=3, depth=3)
    assert "worker: torch" in text and "8.0 s" in text and "3.0 s  37.5%" in text
    assert "4.0 s  66.7%  TorchAdapter.setup" in text
    focus = prof.focus(raw, "load_cases (", rate=10, top=3)
    assert focus.startswith("3.0 s") and "read_text (pathlib.py)" in focus


@pytest.mark.slow
def test_phases_times_every_step_of_a_run(tmp_path: Path) -> None:
    gen = bench_module("gen_cases")
    gen.write(tmp_path / "cases", gen.specs(6, seed=1))
    done = subprocess.run(
        [sys.executable, str(BENCH / "phases.py"), str(tmp_path / "cases"), "--framework",
         "numpy", "--format", "json", "--report-dir", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    err = done.stderr
    for phase in ("load cases", "plan batches", "reference (6 calls)", "collect results",
                  "write reports", "-- worker numpy", "6 batches", "start, imports"):  # fmt: skip
        assert phase in err, phase
    assert "not hooked" not in err
    assert json.loads((tmp_path / "r" / "results.json").read_text())  # the run itself ran


def test_floors_measures_each_framework_and_adds_up(tmp_path: Path) -> None:
    """benchmarks/floors.py: every framework's start-up and work, cold and warm, and floors
    that are the sums of those CPU seconds over the cores."""
    gen = bench_module("gen_cases")
    gen.write(tmp_path / "cases", gen.specs(6, seed=1))
    out = tmp_path / "floors.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "floors.py"), str(tmp_path / "cases"), "--framework",
         "numpy", "--framework", "torch", "--output", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    res = json.loads(out.read_text())
    assert set(res["frameworks"]) == {"numpy", "torch"} and res["runs"] == ["cold", "warm"]
    for fw in res["frameworks"].values():
        for run in fw.values():
            assert run["batches"] >= 1 and run["cases_without_draw"] == 6
            assert run["failed_batches"] == 0 and run["skipped_batches"] == 0
            assert run["startup_cpu_s"] > 0 and run["startup_rss_bytes"] > 0
    torch_start = res["frameworks"]["torch"]["warm"]["startup_cpu_s"]
    assert torch_start > res["frameworks"]["numpy"]["warm"]["startup_cpu_s"]  # it imports torch
    for key in ("cold", "warm"):
        cpu = sum(
            r[key]["startup_cpu_s"] + r[key]["work_cpu_s"] for r in res["frameworks"].values()
        )
        assert res[f"{key}_cpu_s"] == pytest.approx(cpu, abs=2e-3)
        assert res[f"{key}_floor_s"] == pytest.approx(cpu / res["cores"], abs=2e-3)
    rss = sum(r["warm"]["startup_rss_bytes"] for r in res["frameworks"].values())
    assert res["floor_rss_bytes"] == rss
    assert "floor" in done.stdout and "CPU-s" in done.stdout


def test_floors_refuses_a_floor_when_batches_raise(tmp_path: Path) -> None:
    """A framework whose batches raise did none of their work: its floor would be too low,
    so floors.py says so and exits 1 (a plugin adapter through --adapter, as run takes it)."""
    gen = bench_module("gen_cases")
    gen.write(tmp_path / "cases", gen.specs(3, seed=2))
    done = subprocess.run(
        [sys.executable, str(BENCH / "floors.py"), str(tmp_path / "cases"), "--framework",
         "deviceraises", "--adapter", "tests.plugins:DeviceRaises", "--runs", "warm"],
        capture_output=True, text=True, timeout=300, check=False,
        cwd=BENCH.parent,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    assert "batches that raised" in done.stderr and "'deviceraises': 3" in done.stderr
