"""Escaping for each output format: hostile text must come out inert."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from conformance import escape

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "a|b",
    "`code` and ``more``",
    "[link](javascript:alert(1))",
    "\x1b[31mred\x1b[0m",
    "line\nbreak\rreturn",
    "bell\x07nul\x00",
    '=HYPERLINK("http://x")',
    "# heading",
    "rtl\u202eevil",
    "emoji 🙂 ok",
]


def test_visible_has_no_control_characters_and_is_bounded() -> None:
    for text in HOSTILE:
        out = escape.visible(text)
        assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e]", out), out
    assert escape.visible("\x1b[2J") == "\\x1b[2J"
    assert escape.visible("a\nb") == "a\\nb"
    assert len(escape.visible("x" * 1000, limit=80)) == 80
    assert escape.visible("🙂") == "🙂"  # printable non-ASCII is kept


def test_html_is_inert() -> None:
    out = escape.html('<script>alert("x")</script>')
    assert "<" not in out and ">" not in out and '"' not in out
    assert escape.html("a & b") == "a &amp; b"


def test_markdown_cell_cannot_split_a_table_or_inject() -> None:
    for text in HOSTILE:
        out = escape.markdown(text)
        assert "<" not in out and "\n" not in out
        # every pipe is escaped
        assert not re.search(r"(?<!\\)\|", out), out
        assert not re.search(r"(?<!\\)\[", out), out
    assert escape.markdown("# h").startswith("\\#")
    assert escape.markdown("1. x") == "1\\. x"


def test_markdown_code_fence_is_longer_than_any_backtick_run() -> None:
    out = escape.markdown_code("a``b|c")
    assert out.startswith("```") and out.endswith("```")
    assert "\\|" in out


def test_xml_text_always_parses() -> None:
    for text in HOSTILE:
        el = ET.Element("t", name=escape.xml(text))
        el.text = escape.xml(text)
        ET.fromstring(ET.tostring(el))  # raises on a character XML 1.0 forbids


def test_csv_cells_never_start_a_formula_and_round_trip() -> None:
    for text in ("=1+2", "+1", "-inf", "@SUM(A1)", "\tx", "plain", "'quoted"):
        cell = escape.csv_cell(text)
        assert not cell.startswith(("=", "+", "-", "@", "\t"))
        assert escape.uncsv_cell(cell) == text
