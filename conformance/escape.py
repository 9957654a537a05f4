"""Escaping untrusted text for each place it is written.

Case ids come from file names, paths and versions from adapters (plugins included), messages
from frameworks: all of it is untrusted. Every writer escapes for its own format with one of
these functions; none of them may be skipped because a string "looks safe".
"""

from __future__ import annotations

import hashlib
import html as _html
import re

# C0 controls (tab, newline included), DEL, C1 controls, the Unicode line/paragraph
# separators, the bidi marks, embeddings, overrides and isolates that can reorder what a
# terminal or browser shows, and lone surrogates (no encoder can write them).
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _show(match: re.Match[str]) -> str:
    ch = match.group(0)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if ch in named:
        return named[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


#: Longest one-line message (a case error, a known-deviations line) printed to a terminal.
LINE_LIMIT = 1000


def visible(text: object, limit: int | None = None) -> str:
    """One line with every control character shown as an escape (``\\x1b``, ``\\n``), cut to
    ``limit`` characters with an ellipsis: for terminals and one-line messages."""
    out = _CONTROL.sub(_show, str(text))
    if limit is not None and len(out) > limit:
        out = out[: max(0, limit - 1)] + "…"
    return out


def terminal(text: object, limit: int | None = 2000) -> str:
    """Several lines for a terminal: each line through :func:`visible` (cut to ``limit``),
    line breaks kept."""
    return "\n".join(visible(line, limit) for line in str(text).split("\n"))


def html(text: object) -> str:
    """Text for HTML element content or a quoted attribute value."""
    return _html.escape(visible(text), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
# Block syntax that only acts at the start of a line: an ATX heading or bullet marker followed
# by a blank, a setext underline or thematic break, an ordered-list marker, indented code.
_MD_BLOCK_START = re.compile(r"^(?:(?:#{1,6}|[+*-])(?=[ \t]|$)|[=-]+[ \t]*$)")
_MD_ORDERED = re.compile(r"^(\d{1,9})([.)])(?=[ \t]|$)")


def markdown(text: object) -> str:
    """Text for a Markdown paragraph or table cell: emphasis, links, code, math, pipes, HTML
    and block syntax at the start are inert (escaped with a backslash or as an entity)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", visible(text))
    escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _MD_BLOCK_START.sub(lambda m: "\\" + m.group(0), escaped)
    escaped = _MD_ORDERED.sub(r"\1\\\2", escaped)
    return "&#32;" + escaped[1:] if escaped.startswith(" ") else escaped


def markdown_code(text: object, table: bool = True) -> str:
    """Inline code: a fence longer than any backtick run inside. In a table cell (``table``)
    pipes are escaped too: GitHub splits table cells on ``|`` even inside code spans, and
    removes the backslash again; elsewhere the backslash would show."""
    body = visible(text)
    if table:
        body = body.replace("|", "\\|")
    runs = [len(m) for m in re.findall(r"`+", body)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def code_fence(code: str, minimum: int = 3) -> str:
    """A backtick fence for a fenced code block that no backtick run in ``code`` can close."""
    runs = [len(m) for m in re.findall(r"`+", code)]
    return "`" * max(minimum, max(runs, default=0) + 1)


_SLUG_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def slug(text: object) -> str:
    """A name for an HTML ``id``/``href="#…"``, a CSS selector or a file name: ``text``
    itself when it is already a short ``[A-Za-z0-9_-]`` word, else its letters and digits
    with a hash of the whole text appended (distinct texts keep distinct slugs)."""
    raw = str(text)
    if _SLUG_SAFE.fullmatch(raw):
        return raw
    word = re.sub(r"[^A-Za-z0-9]+", "-", raw).strip("-")[:40]
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{word}-{digest}" if word else f"x-{digest}"


def matplotlib_text(text: object, limit: int | None = 80) -> str:
    """Text for a matplotlib title, label or legend: one visible line, and ``$`` escaped so
    it is never parsed as mathtext (a bad formula raises when the figure is drawn)."""
    return visible(text, limit).replace("$", "\\$")


# What XML 1.0 forbids even as a character reference, plus DEL, C1 controls and the
# bidi/line-separator characters a CI page or console would act on.
_XML_ILLEGAL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
    "\u2066-\u2069\ufffe\uffff\ud800-\udfff]"
)


def xml(text: object) -> str:
    """Text an XML 1.0 document can hold, line breaks and tabs kept (characters XML forbids
    even as references, and invisible controls, are shown as escapes); the XML writer still
    escapes ``<``, ``&`` and quotes."""
    return _XML_ILLEGAL.sub(_show, str(text))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(text: str) -> str:
    """A string cell no spreadsheet evaluates: one that starts like a formula gets a leading
    apostrophe (OWASP CSV injection), and so does one that already starts with an apostrophe,
    so that reading back is lossless. Numeric columns are written as numbers, not through this."""
    return "'" + text if text.startswith((*_FORMULA_START, "'")) else text


def uncsv_cell(text: str) -> str:
    """Inverse of :func:`csv_cell` for reading a results.csv back."""
    return text[1:] if text.startswith("'") else text


def python(value: str | float | bool | None) -> str:
    """A Python literal of ``value`` for a generated program: it reads back as the same value
    and cannot run code, whatever the text holds (quotes, newlines, triple quotes). Non-finite
    floats become ``float("nan")``, ``float("inf")``, ``float("-inf")``."""
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    v = float(value)
    if v != v:
        return 'float("nan")'
    if v in (float("inf"), float("-inf")):
        return 'float("inf")' if v > 0 else 'float("-inf")'
    return repr(v)
