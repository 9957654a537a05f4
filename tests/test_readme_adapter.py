"""The README's "Writing an adapter" example, as printed there, is a complete plugin: loaded
through the entry-point mechanism (a distribution's dist-info folder on sys.path, nothing
installed), it runs its cases, skips what it says it cannot run, and writes reproduction
programs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.registry import load_class, select

from .conftest import ROOT, load_results

Cli = Callable[..., tuple[int, str, str]]
WriteCase = Callable[[str, str], Path]

CASE = """\
dtypes: [float16, bfloat16, float32, float64]
inputs: {x: [[1.5, -2.0, 0.375], [0.25, 3.0, -1.0]]}
params: {weight: [[0.5, -1.25, 2.0], [1.0, 0.125, -0.75]], bias: [0.5, -3.0]}
"""
SIGMOID = "dtypes: [float32, float64]\ninputs: {z: [-20.0, -1.5, 0.0, 0.3, 7.25]}\n"


def readme_adapter() -> str:
    """The first Python block of the README's "Writing an adapter" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Writing an adapter", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "no python block in the README's Writing an adapter section"
    return blocks[0]


def install_as_entry_point(site: Path, code: str) -> None:
    """A distribution as pip would leave it: the module and its dist-info on a path."""
    (site / "conformance_einsum.py").write_text(code, encoding="utf-8")
    dist = site / "conformance_einsum-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: conformance-einsum\nVersion: 0.1\n"
    )
    # the README's pyproject.toml line, name = "module:Class", as entry_points.txt writes it
    toml = (ROOT / "README.md").read_text(encoding="utf-8").split("## Writing an adapter")[1]
    declared = re.search(
        r'\[project\.entry-points\."conformance\.adapters"\]\n(\S+) = "([^"]+)"\n', toml
    )
    assert declared is not None
    name, value = declared.groups()
    (dist / "entry_points.txt").write_text(f"[conformance.adapters]\n{name} = {value}\n")


@pytest.mark.slow
def test_the_readme_adapter_runs_through_its_entry_point(
    cli: Cli, write_case: WriteCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = readme_adapter()
    assert len(code.strip().splitlines()) < 60
    site = tmp_path / "site"
    site.mkdir()
    install_as_entry_point(site, code)
    monkeypatch.syspath_prepend(str(site))  # the entry point, seen here
    monkeypatch.setenv("PYTHONPATH", str(site) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    chosen, _ = select(["einsum"], [])
    assert chosen == {"einsum": "conformance_einsum:EinsumAdapter"}
    assert load_class(chosen["einsum"]).name == "einsum"

    folder = write_case("dense.yaml", CASE).parent
    write_case("z.yaml", SIGMOID)
    out_dir = tmp_path / "r"
    status, out, err = cli(
        "run", str(folder), "--framework", "einsum", "--report-dir", str(out_dir), "--quiet"
    )
    assert status == 0, out + err
    rows = load_results(out_dir)
    assert {r["framework"] for r in rows} == {"einsum"}
    by = {(r["path"], r["dtype"]): r for r in rows}
    assert set(by) == {
        *(("np.einsum+add", d) for d in ("float16", "bfloat16", "float32", "float64")),
        *(("exp(-logaddexp(0, -z))", d) for d in ("float32", "float64")),
    }
    assert by[("np.einsum+add", "bfloat16")]["status"] == "skip"
    assert by[("np.einsum+add", "bfloat16")]["message"] == "np.einsum has no bfloat16 loop"
    assert {r["status"] for k, r in by.items() if k[1] != "bfloat16"} == {"pass"}

    # A failing row gets a reproduction program from the adapter's own path code: plant a bug
    # (the bias subtracted) in the path and its program alike; the program shows the mismatch.
    buggy = code.replace("y + item.bias", "y - item.bias").replace("y + T(b)", "y - T(b)")
    assert buggy.count(" - ") == code.count(" - ") + 2
    (site / "conformance_einsum.py").write_text(buggy, encoding="utf-8")
    monkeypatch.delitem(sys.modules, "conformance_einsum")  # this process imports it afresh too
    status, out, _ = cli(
        "run", str(folder / "dense.yaml"), "--framework", "einsum", "--dtype", "float32",
        "--report-dir", str(tmp_path / "bug"), "--quiet",
    )  # fmt: skip
    assert status == 1, out
    (program,) = (tmp_path / "bug" / "repro").iterdir()
    done = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 1 and "MISMATCH reproduced" in done.stdout, done.stdout + done.stderr
