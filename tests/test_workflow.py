"""The GitHub Actions workflow cannot run here: check its job graph against the real CLI.

Every ``conformance ...`` line parses with the real argparse parser for every matrix entry;
the shard jobs cover parts 1..N of ``--shard K/N`` exactly once per framework set; the
artifacts the gate downloads are exactly the shards of its set, unpacked where ``combine``
looks; the gate needs the shard jobs and diffs against a committed baseline; the pinned set is
the baseline's framework versions.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from ruamel.yaml import YAML

from conformance.cli import build_parser
from conformance.results import read_rows

from .conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "conformance.yml"
OPERATORS = {"||", "&&", ";", "|", ">", ">>", "<", "&"}


def load(path: Path = WORKFLOW) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))  # YAML 1.2: `on` stays a key


def entries(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The matrix entries of a job (one empty entry without a matrix)."""
    matrix = job.get("strategy", {}).get("matrix", {})
    keys = [k for k in matrix if k not in ("include", "exclude")]
    assert "include" not in matrix and "exclude" not in matrix  # not modelled here
    return [
        dict(zip(keys, vs, strict=True)) for vs in itertools.product(*(matrix[k] for k in keys))
    ]


def expand(text: str, entry: dict[str, Any]) -> str:
    """``${{ matrix.X }}`` replaced by the entry's value (other expressions must not occur
    where this is used)."""

    def sub(m: re.Match[str]) -> str:
        return str(entry[m.group(1)])

    return re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", sub, text)


def commands(script: str) -> list[list[str]]:
    """The ``conformance`` command lines of a shell script, as argv (up to the first shell
    operator; backslash continuations joined)."""
    out = []
    for line in script.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line.startswith("conformance "):
            continue
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        argv = []
        for token in lex:
            if token in OPERATORS:
                break
            argv.append(token)
        out.append(argv)
    return out


def job_commands(job: dict[str, Any], entry: dict[str, Any]) -> list[list[str]]:
    return [
        c for step in job["steps"] if "run" in step for c in commands(expand(step["run"], entry))
    ]


def parse(argv: list[str]) -> Any:
    assert argv[0] == "conformance"
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"does not parse with the CLI: {shlex.join(argv)}")


def step(job: dict[str, Any], uses: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(uses)]


@pytest.fixture(scope="module")
def wf() -> dict[str, Any]:
    return load()


def test_triggers_include_pull_requests_and_a_nightly(wf) -> None:
    on = wf["on"]
    assert {"push", "pull_request", "schedule"} <= set(on)
    (cron,) = [s["cron"] for s in on["schedule"]]
    assert len(cron.split()) == 5 and cron.split()[2:] == ["*", "*", "*"]  # every day


def test_every_conformance_line_parses_with_the_cli(wf) -> None:
    seen = 0
    for job in wf["jobs"].values():
        for entry in entries(job):
            for argv in job_commands(job, entry):
                parse(argv)
                seen += 1
    assert seen >= 3 * 2 + 2 * 2  # shard runs, and combine + diff per framework set


def test_shards_cover_parts_1_to_n_per_framework_set(wf) -> None:
    job = wf["jobs"]["shard"]
    parts: dict[str, list[tuple[int, int]]] = {}
    for entry in entries(job):
        (run,) = [parse(c) for c in job_commands(job, entry) if c[1] == "run"]
        assert run.shard is not None and run.shard.index == int(entry["shard"])
        assert not run.paths and not run.framework  # the bundled suite, every framework
        parts.setdefault(entry["frameworks"], []).append((run.shard.index, run.shard.count))
    assert set(parts) == {"pinned", "latest"}
    for got in parts.values():
        (n,) = {count for _, count in got}
        assert sorted(k for k, _ in got) == list(range(1, n + 1))


def test_artifacts_flow_from_the_shards_to_the_gate(wf) -> None:
    shard, gate = wf["jobs"]["shard"], wf["jobs"]["gate"]
    assert gate["needs"] in ("shard", ["shard"])
    uploads: dict[str, dict[str, Any]] = {}
    for entry in entries(shard):
        (up,) = step(shard, "actions/upload-artifact")
        name = expand(up["with"]["name"], entry)
        assert name not in uploads  # one artifact per matrix job
        uploads[name] = entry
        (run,) = [parse(c) for c in job_commands(shard, entry) if c[1] == "run"]
        assert Path(expand(up["with"]["path"], entry)) == Path(run.report_dir)
    sets = {e["frameworks"] for e in entries(gate)}
    assert sets == {e["frameworks"] for e in uploads.values()}
    for entry in entries(gate):
        (down,) = step(gate, "actions/download-artifact")
        pattern = expand(down["with"]["pattern"], entry)
        got = sorted(n for n in uploads if fnmatch.fnmatchcase(n, pattern))
        mine = sorted(n for n, e in uploads.items() if e["frameworks"] == entry["frameworks"])
        assert got == mine and got
        # download-artifact unpacks each artifact into PATH/NAME (no merge-multiple)
        assert not down["with"].get("merge-multiple")
        unpacked = [f"{down['with']['path']}/{n}" for n in got]
        cmds = [parse(c) for c in job_commands(gate, entry)]
        (combine,) = [c for c in cmds if c.command == "combine"]
        matched = sorted({u for p in combine.shards for u in unpacked if fnmatch.fnmatchcase(u, p)})
        assert matched == unpacked  # combine is given every shard of the set, nothing else
        (diff,) = [c for c in cmds if c.command == "diff"]
        assert diff.candidate == combine.out
        assert (ROOT / diff.baseline).is_file()  # the committed baseline
        assert diff.known == combine.known and (ROOT / diff.known).is_file()


def test_gate_runs_even_when_a_shard_fails(wf) -> None:
    # combine then refuses the incomplete run, and the gate fails, instead of being skipped
    assert "!cancelled()" in wf["jobs"]["gate"]["if"].replace(" ", "")


def test_pinned_set_is_the_baselines_versions(wf) -> None:
    job = wf["jobs"]["shard"]
    scripts = " ".join(s.get("run", "") for s in job["steps"])
    (constraints,) = set(re.findall(r"-c (\S+)", scripts))
    pins = {}
    for line in (ROOT / constraints).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            pins[req.name] = req.specifier
    rows = read_rows(ROOT / "reports" / "results.json")
    versions = {r.framework: r.framework_version for r in rows if r.status != "skip"}
    settings = {r.framework: r.settings for r in rows if r.status != "skip"}
    # "2.21.0 (keras 3.15.1)", "0.10.2 (jaxlib 0.10.2)", "2.13.0+cpu", "1.32.0 (onnx 1.23.2)"
    found = {
        "torch": versions["torch"],
        "numpy": versions["numpy"],
        "tensorflow-cpu": versions["tensorflow"].split()[0],
        "keras": re.search(r"keras ([^)\s]+)", versions["tensorflow"]).group(1),  # type: ignore[union-attr]
        "jax": versions["jax"].split()[0],
        "jaxlib": re.search(r"jaxlib ([^)\s]+)", versions["jax"]).group(1),  # type: ignore[union-attr]
        "onnxruntime": versions["onnxruntime"].split()[0],
        "onnx": re.search(r"onnx ([^)\s]+)", versions["onnxruntime"]).group(1),  # type: ignore[union-attr]
        "onnxscript": settings["onnxruntime"]["onnxscript"],
        "flax": settings["jax"]["flax"],
    }
    assert versions["keras-jax"].split()[0] == versions["keras-torch"].split()[0] == found["keras"]
    assert set(pins) == set(found)
    for name, version in found.items():
        assert pins[name].contains(version), (name, version, str(pins[name]))


def test_checks_fail_on_a_broken_workflow(tmp_path: Path) -> None:
    """The checks above catch the mistakes they are for (a wrong shard count, an artifact
    name the gate does not download, an option the CLI does not have)."""
    text = WORKFLOW.read_text(encoding="utf-8")
    broken = {
        "shard count": text.replace("--shard ${{ matrix.shard }}/3", "--shard ${{ matrix.shard }}/4"),
        "artifact name": text.replace("name: shard-${{ matrix.frameworks }}", "name: part-${{ matrix.frameworks }}"),
        "option": text.replace("--out combined", "--output combined"),
    }  # fmt: skip
    for what, bad in broken.items():
        assert bad != text, what
        wf = YAML(typ="safe").load(bad)
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            test_shards_cover_parts_1_to_n_per_framework_set(wf)
            test_artifacts_flow_from_the_shards_to_the_gate(wf)
            test_every_conformance_line_parses_with_the_cli(wf)
