"""The plugin's options, checked once when pytest starts: a bad value is a usage error before
anything is collected or run, as for ``conformance run``.

Collection must stay light: nothing here imports the report package (pandas, matplotlib)
unless a report directory is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .. import escape, shards
from .. import known as known_mod
from ..cases import BUNDLED_CASES
from ..dtypes import DTYPE_NAMES
from ..errors import UsageError
from ..planning import DEVICES, MODES, expand
from ..registry import init_owners, select
from ..results import Row, read_rows
from ..rowplan import RunShape

if TYPE_CHECKING:
    from ..runner import RunOptions

#: applied to a session of the bundled library, as ``conformance run`` does
BUNDLED_KNOWN = BUNDLED_CASES.parent / "known-deviations.yaml"


@dataclass
class Settings:
    case_paths: list[str]  # where case files are collected from (the runner's paths)
    frameworks: list[str]
    dtypes: list[str]
    adapters: list[str]
    replace_adapters: bool
    mode: str
    device: str
    matmul_precision: str
    accumulation: str
    shape: RunShape  # adapters, init owners, (mode, device) pairs of the session
    chosen: dict[str, str]  # adapter name -> "module:Class", in run order
    known: list[known_mod.Deviation] | None
    known_file: str | None
    baseline: list[Row] | None
    baseline_file: str | None
    ulp_threshold: float
    allow_skipped: bool
    report_dir: Path | None
    shard: shards.Shard | None
    timeout: float | None
    stall_timeout: float | None
    adapter_specs: dict[str, str] = field(default_factory=dict)  # every adapter known
    #: ``params.init`` kind -> layout its owner draws in (what the loader accepts)
    init_layouts: dict[str, str] = field(default_factory=dict)

    def run_options(
        self,
        paths: list[str],
        frameworks: list[str],
        units: frozenset[tuple[str, str]],
        mode: str,
        device: str,
    ) -> RunOptions:
        from ..runner import RunOptions

        return RunOptions(
            paths=paths,
            frameworks=frameworks,
            dtypes=self.dtypes,
            adapters=self.adapters,
            replace_adapters=self.replace_adapters,
            mode=mode,
            device=device,
            matmul_precision=self.matmul_precision,
            accumulation=self.accumulation,
            units=units,
            timeout=self.timeout,
            stall_timeout=self.stall_timeout,
            # pytest-xdist already spreads the frameworks over its workers (shards.work_groups)
            worker_processes=1 if os.environ.get("PYTEST_XDIST_WORKER") else None,
        )


def _threshold(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise UsageError(f"--conformance-ulp-threshold: not a number: {text[:40]!r}") from None
    if not v >= 0:
        raise UsageError("--conformance-ulp-threshold: must be >= 0")
    return v


def _seconds(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        v = float(text)
    except ValueError:
        raise UsageError(f"{option}: not a number of seconds: {text[:40]!r}") from None
    if not 0 < v < 1e9:
        raise UsageError(f"{option}: must be a positive number of seconds")
    return v


def case_paths(config: pytest.Config) -> list[str]:
    """The paths given on the command line (each case file under them is collected), or the
    bundled library, which then replaces pytest's default arguments (``testpaths``, the
    current directory)."""
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        base = config.invocation_params.dir
        return [str(base / a.split("::", 1)[0]) for a in config.args]
    if not BUNDLED_CASES.is_dir():
        raise pytest.UsageError(
            "--conformance: name the case files or folders to run (this installation has no "
            "bundled case library)"
        )
    config.args = [str(BUNDLED_CASES)]
    return [str(BUNDLED_CASES)]


def read(config: pytest.Config) -> Settings:
    """The settings of this session; a usage error (pytest exit 4) names the bad option."""
    opt = config.getoption
    try:
        paths = case_paths(config)
        bundled = config.args_source != pytest.Config.ArgsSource.ARGS
        dtypes = list(opt("conformance_dtype"))
        for d in dtypes:
            if d not in DTYPE_NAMES:
                raise UsageError(f"--conformance-dtype {d!r}: one of {', '.join(DTYPE_NAMES)}")
        chosen, specs = select(
            list(opt("conformance_framework")),
            list(opt("conformance_adapter")),
            bool(opt("conformance_replace_adapter")),
        )
        mode, device = opt("conformance_mode"), opt("conformance_device")
        shape = RunShape.of(chosen, specs, expand(mode, MODES), expand(device, DEVICES))
        known_file = opt("conformance_known")
        if opt("conformance_no_known"):
            known_file = None
        elif known_file is None and bundled and BUNDLED_KNOWN.exists():
            known_file = str(BUNDLED_KNOWN)
        entries = known_mod.load(Path(known_file)) if known_file else None
        baseline_file = opt("conformance_baseline")
        baseline = None
        if baseline_file:
            if not Path(baseline_file).exists():
                raise UsageError(f"{escape.visible(baseline_file)}: no such file or directory")
            baseline = read_rows(Path(baseline_file))
        threshold = _threshold(opt("conformance_ulp_threshold"))
        report_dir = opt("conformance_report_dir")
        if report_dir:
            from .. import report

            report.check_out_dir(Path(report_dir))
        timeout = _seconds("--conformance-timeout", opt("conformance_timeout"))
        stall = _seconds("--conformance-stall-timeout", opt("conformance_stall_timeout"))
        if opt("conformance_no_cache") or opt("conformance_cache_dir"):
            from ..reference import cache as refcache

            refcache.configure(
                None if opt("conformance_no_cache") else Path(opt("conformance_cache_dir"))
            )
        shard_text = opt("conformance_shard")
        try:
            shard = shards.parse(shard_text) if shard_text else None
        except ValueError as exc:
            raise UsageError(f"--conformance-shard: {exc}") from None
    except UsageError as exc:
        raise pytest.UsageError(f"conformance: {exc}") from None
    return Settings(
        case_paths=paths,
        frameworks=list(chosen),
        dtypes=dtypes,
        adapters=list(opt("conformance_adapter")),
        replace_adapters=bool(opt("conformance_replace_adapter")),
        mode=mode,
        device=device,
        matmul_precision=opt("conformance_matmul_precision"),
        accumulation=opt("conformance_accumulation"),
        shape=shape,
        chosen=chosen,
        known=entries,
        known_file=known_file,
        baseline=baseline,
        baseline_file=baseline_file,
        ulp_threshold=threshold,
        allow_skipped=bool(opt("conformance_allow_skipped")),
        report_dir=Path(report_dir) if report_dir else None,
        shard=shard,
        timeout=timeout,
        stall_timeout=stall,
        adapter_specs=specs,
        init_layouts={k: o.layout for k, o in init_owners(specs, chosen).items()},
    )
