"""Writing case files from code: ``conformance new``, ``conformance import onnx`` and the
library generator (:mod:`conformance.library`) all write through this module.

Two parts:

* **Number text per dtype.** A decimal in a case file that is not exactly a value of the dtype
  is read as printed output: it stands for every value within half a unit of its last digit
  (``literals.Literal.slack``). So the shortest round-trip repr is not always right: ``0.1``
  rounds to the float64 nearest 0.1, but it is also read as "0.1 ± 0.05". :func:`dtype_text`
  writes the shortest decimal whose whole ±half-unit interval rounds to the one dtype value
  (usually the shortest repr or one digit more), or the exact decimal when that is shorter;
  every string is checked by parsing it back through :func:`conformance.literals.parse_literal`.
* **Text layout.** :class:`CaseText` writes a file top to bottom: the editor's
  ``# yaml-language-server: $schema=...`` line, comments, a folded description, and keys whose
  values are flow-style arrays (``[a, b]``) and maps (``{k: v}``), or blocks of flow rows
  (``- [a, b]`` per row, the style ``fill`` writes for expected values).

Leaves of a value are strings (YAML scalar text, written as is: the caller chooses the digits)
or Python numbers (``str`` for finite ones, ``.inf``/``-.inf``/``.nan`` otherwise). Text that
would change the structure (``,``, ``:``, ``#``, brackets, quotes, spaces, newlines) is refused,
so a value can never turn into more keys or a comment.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from decimal import Context, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from . import dtypes as D
from .literals import parse_literal
from .schema import SCHEMA_FILE
from .yamlio import number

SCHEMA_COMMENT = "# yaml-language-server: $schema="

# --------------------------------------------------------------------------------------------
# Decimal text for dtype values


def _neighbours_half(a: float, dt: D.DType) -> tuple[Fraction, Fraction]:
    """Half the gap below and above the non-negative dtype value ``a``."""
    if a == 0:
        s = Fraction(dt.min_subnormal)
        return s / 2, s / 2
    up = Fraction(float(D.ulp_of(np.array([a]), dt)[0]))
    m, e = math.frexp(a)
    down = up / 2 if (m == 0.5 and e - 1 > dt.emin) else up
    return down / 2, up / 2


def _inside(text: str, v: float, dt: D.DType) -> bool:
    """True if every real within half a unit of ``text``'s last digit rounds to ``v``."""
    dec = Decimal(text)
    exact = Fraction(dec)
    if exact == Fraction(v):
        return True
    exp = dec.as_tuple().exponent
    assert isinstance(exp, int)
    half = Fraction(1, 2) * Fraction(10) ** exp
    down, up = _neighbours_half(abs(v), dt)
    if v < 0:
        down, up = up, down
    return Fraction(v) - down < exact - half and exact + half < Fraction(v) + up


def _plain(dec: Decimal) -> str:
    """Text with the same digits (so the same last-digit unit): positional when the last digit
    is at or right of the units place and the magnitude is moderate, else scientific."""
    sign, digits, exp = dec.as_tuple()
    assert isinstance(exp, int)
    adjusted = len(digits) + exp - 1
    if exp <= 0 and -4 <= adjusted < 16:
        text = format(dec, "f")
        return text if "." in text else text + ".0"
    mant = "".join(str(d) for d in digits)
    body = mant[0] + ("." + mant[1:] if len(mant) > 1 else "")
    return ("-" if sign else "") + f"{body}e{adjusted:+d}".replace("e+", "e")


def dtype_text(value: float, dtype: str) -> str:
    """The shortest decimal text that a case file reads as exactly ``value`` in ``dtype``."""
    dt = D.get(dtype)
    v = float(value)
    if math.isnan(v):
        return ".nan"
    if math.isinf(v):
        return ".inf" if v > 0 else "-.inf"
    if v == 0:
        return "-0.0" if math.copysign(1.0, v) < 0 else "0.0"
    exact = Decimal(v)  # a binary float has a finite decimal expansion
    for digits in range(1, 800):
        text = f"{v:.{digits - 1}e}"
        dec = Decimal(text)
        if Fraction(dec) == Fraction(v):
            out = _plain(dec.normalize(Context(prec=digits)))  # no rounding: digits fit
            break
        if _inside(text, v, dt):
            out = _plain(dec)
            break
    else:  # pragma: no cover - the exact expansion always ends the loop
        out = _plain(exact)
    _verify(out, v, dt)
    return out


def _verify(text: str, v: float, dt: D.DType) -> None:
    got = float(parse_literal(number(text)).rounded(dt))
    if got != v or math.copysign(1.0, got) != math.copysign(1.0, v):
        raise AssertionError(f"{text!r} reads as {got!r}, not {v!r}, in {dt.name}")


def texts(values: Any, dtype: str) -> Any:
    """Nested lists of :func:`dtype_text` strings with the shape of ``values``, which must all
    be ``dtype`` values (:func:`dtype_text` raises on any other)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        return dtype_text(float(arr), dtype)
    return [texts(row, dtype) for row in arr]


# --------------------------------------------------------------------------------------------
# Text layout

_PLAIN = re.compile(r"[A-Za-z0-9_.+-]+")


def scalar(value: Any) -> str:
    """YAML text of one leaf (see the module docstring)."""
    if isinstance(value, str):
        if not _PLAIN.fullmatch(value):
            raise ValueError(f"{value!r} is not a plain YAML scalar")
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"cannot write {value!r} as a case-file number")
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    return str(value)


def flow(value: Any) -> str:
    """Flow-style text: ``[a, [b, c]]`` for sequences, ``{k: v}`` for mappings."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, str):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def wrap(text: str, width: int = 96) -> list[str]:
    """Words of ``text`` in lines of at most ``width`` characters (longer words stay whole)."""
    lines: list[str] = []
    cur = ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    return [*lines, cur] if cur else lines


def schema_ref(directory: Path) -> str:
    """What follows ``$schema=`` in a case file in ``directory``: the path of the nearest
    ``schema/case.schema.json`` found above it, relative to it; else the installed copy."""
    here = directory.resolve()
    for d in (here, *here.parents):
        cand = d / "schema" / "case.schema.json"
        if cand.exists():
            return Path(os.path.relpath(cand, here)).as_posix()
    return SCHEMA_FILE.as_posix()


class CaseText:
    """A case file written top to bottom; each method appends lines and returns ``self``."""

    def __init__(self, schema: str | None) -> None:
        self.lines: list[str] = [] if schema is None else [SCHEMA_COMMENT + schema]

    def comment(self, text: str, indent: int = 0) -> CaseText:
        """``# text``, one comment line per line of ``text``."""
        for line in text.split("\n"):
            self.lines.append((" " * indent + "# " + line).rstrip())
        return self

    def folded(self, key: str, text: str, width: int = 96) -> CaseText:
        """``key: >`` and ``text`` wrapped at ``width``, indented by two (a folded scalar)."""
        lines = wrap(text, width)
        if not lines:
            raise ValueError(f"{key}: empty text")
        self.lines.append(f"{scalar(key)}: >")
        self.lines += ["  " + line for line in lines]
        return self

    def field(self, key: str, value: Any = None, indent: int = 0, note: str = "") -> CaseText:
        """``key: value`` with the value in flow style; ``key:`` alone (a block mapping
        follows) when ``value`` is None; ``note`` becomes a trailing comment."""
        text = " " * indent + scalar(key) + ":" + ("" if value is None else " " + flow(value))
        if note:
            if "\n" in note:
                raise ValueError("a trailing comment is one line")
            text += "   # " + note
        self.lines.append(text)
        return self

    def rows(self, key: str, value: Any, indent: int = 0) -> CaseText:
        """An array of two or more rows as a block list of flow rows (``- [a, b]`` per line);
        anything else in flow style on the key's line."""
        if isinstance(value, list) and len(value) > 1 and isinstance(value[0], list):
            self.field(key, None, indent)
            self.lines += [" " * (indent + 2) + "- " + flow(row) for row in value]
            return self
        return self.field(key, value, indent)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
