"""YAML 1.2 loading that keeps line numbers and the literal text of every number.

ruamel.yaml reads YAML 1.2 (so ``1e16`` is a float, unlike PyYAML's 1.1 resolver) and its
round-trip nodes know their line. The literal text matters: ``0.1`` must be rounded to
float32 *from the decimal*, not via float64 (double rounding), and a printed value such as
``-0.00529398`` carries a precision of half a unit in its last digit. :func:`round_trip` is
the same reader paired with a writer that puts every number back exactly as it was written
(``fill`` edits case files with it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.representer import RoundTripRepresenter

from .errors import CaseError


class Num(float):
    """A float that remembers how it was written."""

    text: str

    def __new__(cls, value: float, text: str) -> Num:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


_SPECIALS = {".nan": math.nan, ".inf": math.inf, "-.inf": -math.inf, "+.inf": math.inf}


def number(text: str) -> Num:
    """The :class:`Num` that the YAML float ``text`` loads as (``0.1``, ``-0.0``, ``.nan``)."""
    low = text.strip().lower()
    return Num(_SPECIALS[low] if low in _SPECIALS else float(text), text)


class _Constructor(RoundTripConstructor):
    pass


def _construct_float(self: _Constructor, node: Any) -> Num:
    value = RoundTripConstructor.construct_yaml_float(self, node)
    return Num(float(value), node.value)


_Constructor.add_constructor("tag:yaml.org,2002:float", _construct_float)


class _Representer(RoundTripRepresenter):
    pass


def _represent_num(self: _Representer, data: Num) -> Any:
    return self.represent_scalar("tag:yaml.org,2002:float", data.text)


_Representer.add_representer(Num, _represent_num)


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.Constructor = _Constructor
    y.allow_duplicate_keys = False
    return y


def round_trip(width: int = 100) -> YAML:
    """A ruamel.yaml round-trip reader and writer: numbers load as :class:`Num` and are
    written back as their text; comments, key order and flow/block style are kept."""
    y = _yaml()
    y.Representer = _Representer
    y.preserve_quotes = True
    y.width = width
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load(path: Path, display: str) -> Any:
    """Parse one YAML file; syntax errors become a located :class:`CaseError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(display, None, "", f"cannot read file: {exc}") from None
    try:
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise CaseError(display, line, "yaml", problem) from None
    except YAMLError as exc:
        raise CaseError(display, None, "yaml", str(exc).splitlines()[0]) from None


def line_of(node: Any, path: tuple[Any, ...], default: int | None = None) -> int | None:
    """1-based line of the value at ``path`` inside a round-trip document (best effort)."""
    line = default
    cur = node
    for key in path:
        lc = getattr(cur, "lc", None)
        try:
            if lc is not None:
                if isinstance(key, int):
                    line = lc.item(key)[0] + 1
                else:
                    line = lc.key(key)[0] + 1
            cur = cur[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line
