"""YAML 1.2 loading that keeps line numbers and the literal text of every number.

ruamel.yaml reads YAML 1.2 (so ``1e16`` is a float, unlike PyYAML's 1.1 resolver) and its
round-trip nodes know their line. The literal text matters: ``0.1`` must be rounded to
float32 *from the decimal*, not via float64 (double rounding), and a printed value such as
``-0.00529398`` carries a precision of half a unit in its last digit. :func:`round_trip` is
the same reader paired with a writer that puts every number back exactly as it was written
(``fill`` edits case files with it).

Files are untrusted, so reading is strict (README "Size limits"): only regular files of at most
``MAX_FILE_BYTES`` (checked with fstat before reading, never blocking on a FIFO or a device);
only the YAML 1.2 core schema (no tags or ``%TAG``/``%YAML 1.1`` directives, no merge keys or
timestamps); at most ``MAX_DEPTH`` nested collections and ``MAX_NODES`` nodes with aliases
expanded, counted while composing, so alias bombs and deep nesting stop before they cost
anything. Every problem is a :class:`CaseError` with the line where it is.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingStartEvent,
    SequenceStartEvent,
)
from ruamel.yaml.parser import Parser
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.resolver import VersionedResolver, implicit_resolvers
from ruamel.yaml.scanner import Scanner

from . import boundedio
from .errors import CaseError
from .escape import visible
from .limits import MAX_DEPTH, MAX_DIGITS, MAX_FILE_BYTES, MAX_NODES


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


class _Refused(MarkedYAMLError):
    """A document outside what case files may use (raised with the mark where it is)."""

    def __init__(self, mark: Any, problem: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)


_CORE_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float")}


class _CoreResolver(VersionedResolver):
    """YAML 1.2 core schema only: ``<<`` (merge), ``=`` and dates stay plain strings."""

    @property
    def versioned_resolver(self) -> Any:
        version = (1, 2)
        if version not in self._version_implicit_resolver:
            self._version_implicit_resolver[version] = {}
            for versions, tag, regexp, first in implicit_resolvers:
                if version in versions and tag in _CORE_TAGS:
                    self.add_version_implicit_resolver(version, tag, regexp, first)
        return self._version_implicit_resolver[version]


class _Scanner(Scanner):
    """Stops at the first flow collection nested deeper than ``MAX_DEPTH`` (``[[[[...``):
    the scanner looks ahead up to 1024 characters for a possible key at every open flow
    level, which costs quadratic time before the composer could see the depth."""

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        if len(self.flow_context) >= MAX_DEPTH:
            raise _Refused(
                self.reader.get_mark(),
                f"nested more than {MAX_DEPTH} deep; see README 'Size limits'",
            )
        super().fetch_flow_collection_start(TokenClass, to_push)


class _Composer(Composer):
    """Refuses tags, directives other than ``%YAML 1.2``, recursive aliases, nesting deeper
    than ``MAX_DEPTH`` and more than ``MAX_NODES`` nodes once aliases are expanded."""

    def compose_document(self: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, DocumentStartEvent):
            if event.version is not None and tuple(event.version) != (1, 2):
                version = ".".join(str(v) for v in event.version)
                raise _Refused(event.start_mark, f"%YAML {version}: only YAML 1.2 is read")
            if event.tags:
                raise _Refused(event.start_mark, "%TAG directives are not allowed (no tags)")
        self._nodes = 0  # nodes so far, aliases expanded
        self._open = [0]  # expanded size of the children of each collection being composed
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size
        self._nesting = 0
        return super().compose_document()

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise _Refused(
                mark,
                f"more than {MAX_NODES} YAML nodes (aliases expanded); see README 'Size limits'",
            )

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:
                    raise _Refused(
                        event.start_mark,
                        f"alias *{event.anchor} refers to a collection that contains it",
                    )
                self._count(size, event.start_mark)
                self._open[-1] += size
            return super().compose_node(parent, index)
        if event.ctag is not None:
            raise _Refused(
                event.start_mark,
                f"tag {event.ctag} is not allowed: case files use the YAML 1.2 core schema",
            )
        collection = isinstance(event, (SequenceStartEvent, MappingStartEvent))
        if collection:
            self._nesting += 1
            if self._nesting > MAX_DEPTH:
                raise _Refused(
                    event.start_mark, f"nested more than {MAX_DEPTH} deep; see README 'Size limits'"
                )
        self._count(1, event.start_mark)
        self._open.append(0)
        node = super().compose_node(parent, index)
        size = 1 + self._open.pop()
        self._open[-1] += size
        if event.anchor is not None:
            self._sizes[id(node)] = size
        if collection:
            self._nesting -= 1
        return node


def _check_digits(node: Any) -> None:
    digits = sum(ch.isdigit() for ch in node.value)
    if digits > MAX_DIGITS:
        raise ConstructorError(
            None,
            None,
            f"a number of {digits} digits; at most {MAX_DIGITS} (README 'Size limits')",
            node.start_mark,
        )


class _Constructor(RoundTripConstructor):
    pass


def _construct_float(self: _Constructor, node: Any) -> Num:
    _check_digits(node)
    value = RoundTripConstructor.construct_yaml_float(self, node)
    return Num(float(value), node.value)


def _construct_int(self: _Constructor, node: Any) -> Any:
    _check_digits(node)  # before int(): Python refuses int strings over 4300 digits
    return RoundTripConstructor.construct_yaml_int(self, node)


_Constructor.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Constructor.add_constructor("tag:yaml.org,2002:int", _construct_int)


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


def _reader() -> YAML:
    """Reading only: the plain (not round-trip) scanner and parser, which skip collecting
    comments (a quarter of the time), with the checks above."""
    y = _yaml()
    y.Scanner = _Scanner
    y.Parser = Parser
    y.Composer = _Composer
    y.Resolver = _CoreResolver
    return y


# Characters YAML does not allow in a stream (the YAML 1.2 printable set), found before parsing
# so the error can name the line.
_UNPRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def read_bytes(path: Path, display: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (:mod:`conformance.boundedio`:
    never blocking on a FIFO or device, size checked before reading)."""
    try:
        return boundedio.read_regular(path, limit, "case file")
    except boundedio.Refused as exc:
        raise CaseError(display, None, "", str(exc)) from None


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def decode(data: bytes, display: str) -> str:
    """UTF-8 text without the characters YAML forbids; errors name the line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CaseError(
            display, line, "yaml", f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded"
        ) from None
    bad = _UNPRINTABLE.search(text)
    if bad is not None:
        raise CaseError(
            display,
            _line_at(text, bad.start()),
            "yaml",
            f"character {visible(bad.group())} (U+{ord(bad.group()):04X}) is not allowed in YAML",
        )
    return text


def load(path: Path, display: str) -> Any:
    """Parse one YAML file; every problem becomes a located :class:`CaseError`."""
    text = decode(read_bytes(path, display), display)
    return loads(text, display)


def loads(text: str, display: str) -> Any:
    """Parse YAML text with the limits above (``display`` names it in errors)."""
    try:
        return _reader().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = (exc.problem or exc.context or "invalid YAML").strip().splitlines()
        raise CaseError(display, line, "yaml", problem[0] if problem else "invalid YAML") from None
    except YAMLError as exc:
        first = str(exc).strip().splitlines()
        raise CaseError(display, None, "yaml", first[0] if first else "invalid YAML") from None


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
