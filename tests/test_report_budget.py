"""How close each row came: budget used (largest error / its allowance) and wrong-signed zeros
in the tables, and the colours that follow the budget rather than the raw ULP count."""

from __future__ import annotations

import importlib
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance import report
from conformance.report import html, tables
from conformance.results import Row

from .report_fixtures import synthetic

markdown = importlib.import_module("conformance.report.markdown")


def _budgeted(folder: Path) -> list[Row]:
    """The synthetic rows with budgets: a float32 affine cancellation row that passes with a
    huge ULP count but a tenth of its allowance, a failing row three times over, and a row
    with wrong-signed zeros."""
    rows, _ = synthetic(folder)
    for r in rows:
        if r.status in ("pass", "fail", "known"):
            r.budget_used = 0.25
    cancel = Row(**{**rows[4].__dict__})  # numpy dense row
    cancel.path, cancel.status, cancel.message = "cancellation", "pass", ""
    cancel.max_ulp, cancel.max_abs_err, cancel.budget_used = 4.6e18, 1e-30, 0.1
    rows.append(cancel)
    rows[4].budget_used = 3.0  # the failing numpy dense row
    rows[1].wrong_sign_zeros = 2  # torch.sigmoid
    return rows


class _Cells(HTMLParser):
    """(table id, cell text) -> class of every <td> of the report."""

    def __init__(self) -> None:
        super().__init__()
        self.table = ""
        self.cls: str | None = None
        self.text = ""
        self.cells: dict[tuple[str, str], str] = {}
        self.ids: dict[tuple[str, str], str] = {}
        self.id = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.table = a.get("id") or ""
        if tag == "td":
            self.cls, self.text, self.id = a.get("class") or "", "", a.get("id") or ""

    def handle_data(self, data: str) -> None:
        if self.cls is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cls is not None:
            self.cells[(self.table, self.text.strip())] = self.cls
            self.ids[(self.table, self.text.strip())] = self.id
            self.cls = None


def test_budget_levels_and_text() -> None:
    assert tables.budget_level(0.1) == "low"
    assert tables.budget_level(0.5) == "low"
    assert tables.budget_level(0.9) == "near"
    assert tables.budget_level(1.0) == "near"
    assert tables.budget_level(3.0) == "over"
    assert tables.budget_level(50.0) == "far"
    assert tables.budget_level(math.inf) == "far"
    assert tables.budget_level(None) is None and tables.budget_level(math.nan) is None
    assert [tables.fmt_budget(b) for b in (0.0, 0.004, 0.1, 0.999, 1.001, 3.0, 42.0)] == [
        "0%",
        "<1%",
        "10%",
        "100%",
        ">100%",
        "300%",
        "42×",
    ]
    assert tables.fmt_budget(None) == "–"


def test_colour_follows_the_budget_not_the_ulp_count() -> None:
    # a passing cancellation row: enormous ULP count, a tenth of its allowance -> green
    assert html.budget_class(0.1, 4.6e18) == "b-low"
    # a row three times over its tolerance is red even at 2 ULP
    assert html.budget_class(3.0, 2.0) == "b-over"
    assert html.budget_class(0.95, 7.0) == "b-near"
    # no budget recorded (older result files): the ULP scale as before
    assert html.budget_class(None, 4.6e18) == "u7"
    assert html.budget_class(None, 0.0) == "u0"
    assert "background-color:#d8f0d8" in html.BUDGET_CSS["low"]  # green
    assert "#e31a1c" in html.BUDGET_CSS["over"]  # red


def test_cells_show_budget_and_wrong_signed_zeros(tmp_path: Path) -> None:
    rows = _budgeted(tmp_path / "cases")
    t = tables.parity_table(rows)
    dense = t.loc[("synth/dense-2x3", "float32", "affine")]
    assert dense["numpy / cancellation"] == "pass 4600000000000000000 ulp (1e-30) · 10% of tol"
    assert dense["numpy / x @ W.T + b"] == "fail 1500000 ulp (4.5) · 300% of tol"
    sig = t.loc[("synth/sigmoid-small", "float32", "sigmoid")]
    assert sig["torch / torch.sigmoid"] == "pass 0 ulp (0) · 25% of tol · 2 wrong-sign zeros"
    u = tables.ulp_text_table(rows).loc[("synth/dense-2x3", "float32", "affine")]
    assert u["numpy / cancellation"] == "4600000000000000000 · 10%"


def test_html_colours_by_budget(tmp_path: Path) -> None:
    rows = _budgeted(tmp_path / "cases")
    report.write(rows, tmp_path / "rep", ["html"])
    cells = _Cells()
    cells.feed((tmp_path / "rep" / "parity.html").read_text(encoding="utf-8"))
    ulp = {text: cls.split()[-1] for (table, text), cls in cells.cells.items() if table == "T_ulp"}
    assert ulp["4600000000000000000 · 10%"] == "b-low"
    assert ulp["1500000 · 300%"] == "b-over"
    assert ulp["–"] == "una"  # error and skip rows
    # the summary's budget column: the numpy affine group at 300% gets the red rule
    page = (tmp_path / "rep" / "parity.html").read_text(encoding="utf-8")
    cell_id = cells.ids[("T_summary", "300%")]
    rule = re.search(rf"#{cell_id}\s*{{([^}}]*)}}", page)
    assert rule and "#e31a1c" in rule.group(1), rule


def test_without_budgets_the_ulp_scale_is_kept(tmp_path: Path) -> None:
    rows, _ = synthetic(tmp_path / "cases")
    report.write(rows, tmp_path / "rep", ["html"])
    cells = _Cells()
    cells.feed((tmp_path / "rep" / "parity.html").read_text(encoding="utf-8"))
    ulp = {text: cls.split()[-1] for (table, text), cls in cells.cells.items() if table == "T_ulp"}
    assert ulp["1500000"] == "u7" and ulp["1"] == "u1" and ulp["0"] == "u0"
    assert tables.parity_table(rows).loc[("synth/dense-2x3", "float32", "affine")][
        "numpy / x @ W.T + b"
    ] == ("fail 1500000 ulp (4.5)")


def test_summary_worst_case_is_the_closest_to_its_tolerance(tmp_path: Path) -> None:
    rows = _budgeted(tmp_path / "cases")
    rows[4].status, rows[4].budget_used = "pass", 0.9  # 1.5e6 ulp at 90% of its allowance
    s = tables.summary(rows).loc[("numpy", "float32", "affine")]
    assert s["budget used"] == pytest.approx(0.9)
    assert s["worst ulp"] == 4.6e18  # the largest ULP count is still shown ...
    assert s["worst case"] == "synth/dense-2x3 (x @ W.T + b)"  # ... but not called the worst
    md = markdown.table(tables.summary(rows), formats=markdown.SUMMARY_FORMATS)
    line = next(x for x in md.splitlines() if "numpy" in x and "affine" in x)
    assert " 90% |" in line
    zeros = tables.summary(rows).loc[("torch", "float32", "sigmoid"), "wrong-sign zeros"]
    assert zeros == 2


def test_summary_colours_budget_cells_and_not_the_ulp_of_budgeted_rows(tmp_path: Path) -> None:
    rows = _budgeted(tmp_path / "cases")
    s = tables.summary(rows)
    css = html._summary_css(s)
    cancel = ("numpy", "float32", "affine")
    assert css.loc[cancel, "budget used"] == html.BUDGET_CSS["over"]  # 300%
    assert css.loc[cancel, "worst ulp"] == ""  # 4.6e18 ulp is not painted dark red
    assert css.loc[("torch", "float32", "sigmoid"), "budget used"] == html.BUDGET_CSS["low"]
    assert css.loc[("torch", "float32", "sigmoid"), "wrong-sign zeros"] != ""
    old, _ = synthetic(tmp_path / "old")
    css_old = html._summary_css(tables.summary(old))
    assert css_old.loc[cancel, "worst ulp"] == html.ULP_CSS["u7"]  # fallback: today's scale
