"""The pytest plugin: ``pytest --conformance [PATHS]`` collects case files as tests.

Registered through the ``pytest11`` entry point, so every pytest run of an environment with
this package imports this module: it imports nothing but pytest here, adds its options, and
does nothing else unless ``--conformance`` is given. Then :mod:`.session` takes over: each
case file is a collector, each result row (case, dtype, op, framework, path, mode, device) an
item, and the rows come from the real runner (framework worker processes, batched), run once
per session or per pytest-xdist worker. Disable it entirely with ``-p no:conformance``.
"""

from __future__ import annotations

import pytest

MODES = ("eager", "compiled", "all")
DEVICES = ("cpu", "cuda", "all")


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("conformance", "conformance suite (cross-framework dense-layer checks)")
    g.addoption(
        "--conformance",
        action="store_true",
        default=False,
        help="collect case files (*.yaml, *.yml) under the paths given as tests, one item per "
        "result row; without paths, the bundled case library",
    )
    g.addoption(
        "--conformance-framework",
        action="append",
        default=[],
        metavar="NAME",
        help="only this adapter (repeatable): numpy, torch, tensorflow, jax or a plugin's",
    )
    g.addoption(
        "--conformance-dtype", action="append", default=[], metavar="NAME", help="only this dtype"
    )
    g.addoption("--conformance-mode", choices=MODES, default="eager", help="eager, compiled, all")
    g.addoption("--conformance-device", choices=DEVICES, default="cpu", help="cpu, cuda, all")
    g.addoption(
        "--conformance-adapter",
        action="append",
        default=[],
        metavar="MOD:CLS",
        help="add this adapter class (repeatable)",
    )
    g.addoption(
        "--conformance-replace-adapter",
        action="store_true",
        default=False,
        help="let an added adapter replace the adapter of the same name",
    )
    g.addoption(
        "--conformance-matmul-precision",
        choices=("highest", "high", "medium"),
        default="",
        help="pin float32 matmul precision in every framework",
    )
    g.addoption(
        "--conformance-accumulation",
        choices=("float32", "dtype"),
        default="",
        help="the affine tolerance's accumulation model",
    )
    g.addoption(
        "--conformance-known",
        metavar="FILE",
        help="known-deviations YAML: covered failures are xfail with the entry's reason "
        "(default for the bundled library: its known-deviations.yaml)",
    )
    g.addoption(
        "--conformance-no-known",
        action="store_true",
        default=False,
        help="apply no known-deviations file",
    )
    g.addoption(
        "--conformance-baseline",
        metavar="FILE",
        help="results file or report dir: an item fails when its row regressed against it "
        "(the gate of `conformance diff`); rows failing in both are xfail",
    )
    g.addoption(
        "--conformance-ulp-threshold",
        default="2",
        metavar="N",
        help="with --conformance-baseline: max ULP may grow by N (default 2)",
    )
    g.addoption(
        "--conformance-allow-skipped",
        action="store_true",
        default=False,
        help="with --conformance-baseline: a row skipped now that ran in the baseline is a skip",
    )
    g.addoption(
        "--conformance-report-dir",
        metavar="DIR",
        help="write the parity reports of the session's rows here when it ends",
    )
    g.addoption(
        "--conformance-timeout",
        metavar="S",
        help="seconds each framework's worker may run (default: derived from its work)",
    )
    g.addoption(
        "--conformance-stall-timeout",
        metavar="S",
        help="kill a worker that gives no answer for S seconds (default: derived)",
    )
    g.addoption("--conformance-cache-dir", metavar="DIR", help="exact reference cache folder")
    g.addoption(
        "--conformance-no-cache",
        action="store_true",
        default=False,
        help="compute every exact reference afresh",
    )
    g.addoption(
        "--conformance-shard",
        metavar="K/N",
        help="collect part K of N (the split of `conformance run --shard K/N`)",
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("conformance"):
        return
    from .session import Session  # imports the suite (never a framework)

    config.pluginmanager.register(Session(config), Session.NAME)
