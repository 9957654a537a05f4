"""Everything one report shows, computed once and shared by the Markdown, HTML and JUnit writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from ..known import KnownReport
from ..outputs import OutputStore
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
    def snippets(self) -> dict[int, repro.Snippet]:
        """id(row) -> its reproduction snippet (rows whose case file is readable here)."""
        out = {}
        for r in self.failing:
            s = repro.snippet(r)
            if s is not None:
                out[id(r)] = s
        return out

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
