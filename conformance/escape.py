"""Escaping untrusted text for each place it is written.

Case ids come from file names, paths and versions from adapters (plugins included), messages
from frameworks: all of it is untrusted. Every writer escapes for its own format with one of
these functions; none of them may be skipped because a string "looks safe".
"""

from __future__ import annotations

import html as _html
import re

# C0 controls (tab, newline included), DEL, C1 controls, and the Unicode line/paragraph
# separators and bidi overrides that can reorder what a terminal or browser shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _show(match: re.Match[str]) -> str:
    ch = match.group(0)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if ch in named:
        return named[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, limit: int | None = None) -> str:
    """One line with every control character shown as an escape (``\\x1b``, ``\\n``), cut to
    ``limit`` characters with an ellipsis: for terminals and one-line messages."""
    out = _CONTROL.sub(_show, str(text))
    if limit is not None and len(out) > limit:
        out = out[: max(0, limit - 1)] + "…"
    return out


def html(text: object) -> str:
    """Text for HTML element content or a quoted attribute value."""
    return _html.escape(visible(text), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_MD_LINE_START = re.compile(r"^([#+=-])")
_MD_ORDERED = re.compile(r"^(\d+)([.)])")


def markdown(text: object) -> str:
    """Text for a Markdown paragraph or table cell: emphasis, links, code, pipes, HTML and
    block syntax at the start are inert."""
    escaped = _MD_SPECIAL.sub(r"\\\1", visible(text))
    escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_ORDERED.sub(r"\1\\\2", _MD_LINE_START.sub(r"\\\1", escaped))


def markdown_code(text: object) -> str:
    """Inline code for a Markdown table cell: a fence longer than any backtick run inside,
    pipes escaped (GitHub splits table cells on ``|`` even inside code spans)."""
    body = visible(text).replace("|", "\\|")
    runs = [len(m) for m in re.findall(r"`+", body)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body else ""
    return f"{fence}{pad}{body}{pad}{fence}"


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml(text: object) -> str:
    """Text an XML 1.0 document can hold (characters XML forbids even as references are shown
    as escapes); the XML writer still escapes ``<``, ``&`` and quotes."""
    return _XML_ILLEGAL.sub(_show, str(text))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(text: str) -> str:
    """A string cell no spreadsheet evaluates: one that starts like a formula gets a leading
    apostrophe (OWASP CSV injection). Numeric columns are written as numbers, not through this."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def uncsv_cell(text: str) -> str:
    """Inverse of :func:`csv_cell` for reading a results.csv back."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text
