"""A pytest-xdist scheduler that sends each group of conformance items whole to one worker.

xdist's ``loadscope`` machinery distributes *scopes*, each to one worker; here a scope is a
conformance group (the workers write which item is in which, see :mod:`.session`), and every
other test is a scope of its own, as under ``--dist load``. Item ids stay as collected
(``--dist loadgroup`` would append ``@group`` to them). Imported only under xdist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xdist.scheduler import LoadScopeScheduling


class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
    def __init__(self, config: Any, log: Any, groups: Callable[[], dict[str, str]]) -> None:
        super().__init__(config, log)
        self._groups = groups

    def _split_scope(self, nodeid: str) -> str:
        return self._groups().get(nodeid, nodeid)
