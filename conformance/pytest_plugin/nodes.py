"""Collection nodes: a case file, one level per id part, one item per result row.

Node ids read ``FILE::DTYPE::OP::FRAMEWORK::PATH::MODE`` (``MODE-DEVICE`` off the CPU), e.g.
``cases/semantics/seed.yaml::float32::sigmoid::torch::nn.Sequential(nn.Linear, nn.Sigmoid)::eager``
— each part is a node of its own, so such an id given on the command line selects that item
(pytest matches ids part by part). ``op: init`` rows are named by their pinned parameter
(``...::init::torch::weight::eager``): the path the framework reports is known only once it
has drawn. Markers sit on the level they name (the dtype on the dtype node, ...), which
``-m`` sees from every item below it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

from .. import escape
from ..rowplan import CaseFacts, RowSpec

if TYPE_CHECKING:
    from .session import Session

#: a marker name: usable in -m expressions (letters, digits, _ and -, not starting with -)
_MARKER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_KEYWORDS = {"and", "or", "not", "True", "False", "None"}


def node_name(text: str) -> str:
    """A name pytest can match part by part: no ``::``, no control characters, not empty."""
    name = escape.visible(text, 200).replace("::", ": :")
    return name or "_"


def leaf_name(mode: str, device: str) -> str:
    return mode if device == "cpu" else f"{mode}-{device}"


class CaseCollectError(Exception):
    """A case file that cannot be collected: its one ``FILE:LINE: field: message`` line."""


class CaseFile(pytest.File):
    """One case file: its dtypes below it, or a collection error with the loader's line."""

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        session: Session = self.config.stash[SESSION]
        facts = session.facts_of(self.path)
        if isinstance(facts, str):
            raise CaseCollectError(facts)
        self.facts = facts
        self.extra_keyword_matches.add(facts.id)
        for tag in facts.tags:
            session.mark(self, tag, "case tag")
        tree: dict[str, Any] = {}
        for dtype in facts.dtypes:
            for spec in session.rows_of(facts, dtype):
                name = spec.pin if spec.op == "init" else spec.path
                path = (spec.dtype, spec.op, spec.framework, node_name(name))
                node = tree
                for part in path:
                    node = node.setdefault(part, {})
                node[leaf_name(spec.mode, spec.device)] = spec
        return [Level.from_parent(self, name=d, tree=sub, depth=0) for d, sub in tree.items()]

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, CaseCollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


#: what each level below a case file names, for its marker
LEVELS = ("dtype", "op", "framework", "path")


class Level(pytest.Collector):
    """A dtype, op, framework or path below a case file."""

    def __init__(self, *, tree: dict[str, Any], depth: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.tree = tree
        self.depth = depth
        if LEVELS[depth] != "path":
            self.config.stash[SESSION].mark(self, self.name, LEVELS[depth])

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        out: list[pytest.Item | pytest.Collector] = []
        for name, sub in self.tree.items():
            if isinstance(sub, RowSpec):
                out.append(RowItem.from_parent(self, name=name, spec=sub))
            else:
                out.append(Level.from_parent(self, name=name, tree=sub, depth=self.depth + 1))
        return out


class RowFailed(Exception):
    """A row that failed, erred or regressed: the text is the whole report of the item."""


class RowItem(pytest.Item):
    """One result row; its outcome is the row's verdict (:mod:`.verdict`)."""

    def __init__(self, *, spec: RowSpec, **kw: Any) -> None:
        super().__init__(**kw)
        self.spec = spec
        session = self.config.stash[SESSION]
        session.mark(self, spec.mode, "mode")
        if spec.device != "cpu":
            session.mark(self, spec.device, "device")

    @property
    def facts(self) -> CaseFacts:
        node = self.parent
        while not isinstance(node, CaseFile):
            assert node is not None
            node = node.parent
        return node.facts

    def runtest(self) -> None:
        self.config.stash[SESSION].verdict(self).apply()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, RowFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        s = self.spec
        return self.path, None, f"{s.case} [{s.dtype} {s.op}] {s.framework} {s.path or s.pin}"


def marker_ok(name: str) -> bool:
    return bool(_MARKER.fullmatch(name)) and name not in _KEYWORDS


SESSION = pytest.StashKey["Session"]()
