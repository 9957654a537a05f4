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
    for text in ("=1+2", "+1", "-inf", "@SUM(A1)", "\tx", "plain", "'quoted", "'=x", "''"):
        cell = escape.csv_cell(text)
        assert not cell.startswith(("=", "+", "-", "@", "\t"))
        assert escape.uncsv_cell(cell) == text


def test_visible_escapes_bidi_marks_and_lone_surrogates() -> None:
    for ch in ("\u200e", "\u200f", "\u061c", "\u2066", "\ud800", "\udfff"):
        out = escape.visible(f"a{ch}b")
        assert ch not in out and out.startswith("a\\u"), out
        out.encode("utf-8")  # writable by any encoder


def test_terminal_keeps_line_breaks_only() -> None:
    out = escape.terminal("ok\n\x1b[2Jcleared\rback", limit=12)
    assert out.split("\n") == ["ok", "\\x1b[2Jclea…"]


def test_markdown_block_syntax_only_where_it_acts() -> None:
    for text in ("# h", "## h", "- x", "+ x", "---", "===", "1. x", "2) y"):
        out = escape.markdown(text)
        assert out.startswith(text[0] + "\\") or out.startswith("\\"), (text, out)
    # no list, heading or break: left as it reads
    for text in ("2.13.0", "-inf", "#x", "10.5"):
        assert escape.markdown(text) == text
    assert escape.markdown("  indented") == "&#32; indented"  # never indented code
    assert escape.markdown("$x$") == "\\$x\\$"  # no math


def test_markdown_code_outside_a_table_keeps_pipes() -> None:
    assert escape.markdown_code("a|b", table=False) == "`a|b`"
    assert escape.markdown_code("a|b") == "`a\\|b`"


def test_code_fence_outlasts_backticks_in_the_code() -> None:
    assert escape.code_fence("x = 1") == "```"
    assert escape.code_fence('s = "````"') == "`````"


def test_slug_is_strict_and_keeps_distinct_texts_apart() -> None:
    assert escape.slug("agreement_float32_sigmoid") == "agreement_float32_sigmoid"
    seen = set()
    for text in ('"><script>', "../../etc/passwd", "a b", "a-b ", "", "x" * 200, "\x00"):
        out = escape.slug(text)
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", out) and len(out) <= 64, out
        seen.add(out)
    assert len(seen) == 7


def test_matplotlib_text_is_never_mathtext() -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for text in ("$\\frac{$", "$x^$", "a\\$b$c$", "plain $5"):
        fig, ax = plt.subplots()
        ax.set_title(escape.matplotlib_text(text))
        fig.savefig(io.BytesIO(), format="png")  # raw, the first two raise ValueError
        plt.close(fig)
    assert escape.matplotlib_text("\x1b$") == "\\x1b\\$"


def test_xml_shows_invisible_controls_and_keeps_line_breaks() -> None:
    assert escape.xml("a\nb\tc") == "a\nb\tc"
    assert escape.xml("\x1b[31m\u202e\x85") == "\\x1b[31m\\u202e\\x85"
