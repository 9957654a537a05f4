"""Everything one report shows, computed once and shared by the Markdown, HTML and JUnit writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from ..known import KnownReport
from ..outputs import OutputStore
from ..registry import available_specs
from ..results import Row
from . import environment, repro, tables


@dataclass
class Bundle:
    rows: list[Row]
    store: OutputStore | None = None
    env: dict[str, Any] | None = None
    known: KnownReport | None = None
    title: str = "Parity report"
    extra: dict[str, str] = field(default_factory=dict)  # e.g. the gate's Markdown
    #: adapter name -> "module:Class" of the run (default: the built-in and installed ones)
    adapters: dict[str, str] | None = None

    @cached_property
    def parity(self) -> pd.DataFrame:
        return tables.parity_table(self.rows)

    @cached_property
    def ulp(self) -> pd.DataFrame:
        return tables.ulp_table(self.rows)

    @cached_property
    def summary(self) -> pd.DataFrame:
        return tables.summary(self.rows)

    @cached_property
    def agreement(self) -> tables.Agreement:
        return tables.agreement(self.rows, self.store)

    @cached_property
    def tolerances(self) -> pd.DataFrame:
        return tables.tolerances(self.rows)

    @cached_property
    def frameworks(self) -> list[dict[str, str]]:
        return environment.frameworks(self.rows)

    @cached_property
    def header(self) -> list[tuple[str, str]]:
        return environment.header(self.rows, self.env)

    @cached_property
    def failing(self) -> list[Row]:
        return [r for r in self.rows if repro.needs_snippet(r)]

    @cached_property
    def programs(self) -> repro.Programs:
        adapters = self.adapters if self.adapters is not None else available_specs()
        return repro.programs(self.failing, self.store, adapters)

    @property
    def snippets(self) -> dict[int, repro.Snippet]:
        """id(row) -> its reproduction program."""
        return self.programs.written

    @property
    def no_repro(self) -> dict[int, str]:
        """id(row) -> why a failing row has no reproduction program."""
        return self.programs.missing

    def verdict(self) -> str:
        n = {
            s: sum(r.status == s for r in self.rows)
            for s in ("pass", "fail", "error", "skip", "known")
        }
        bad = n["fail"] + n["error"]
        head = "FAIL" if bad else "PASS"
        return (
            f"{head}: {len(self.rows)} rows — {n['pass']} pass, {n['fail']} fail, "
            f"{n['error']} error, {n['known']} known, {n['skip']} skip"
        )
