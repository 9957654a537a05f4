"""Case ids: what they may contain.

An id names the case in every report and becomes a file name under ``repro/``, so it is a
relative path of plain segments: letters, digits, ``_``, ``.`` and ``-``, each segment starting
with a letter, digit or ``_`` (so no absolute ids, no ``.``/``..`` or other dot-only segments,
no hidden files, nothing an option parser could take for a flag), ``/`` between segments, at
most ``MAX_ID_LENGTH`` characters. An id outside this is refused, never rewritten: two
rewritten ids could collide.
"""

from __future__ import annotations

import re

from .limits import MAX_ID_LENGTH

SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
ID_PATTERN = rf"^{SEGMENT}(/{SEGMENT})*$"
ID_RULE = "segments of letters, digits, _ . - that start with a letter, digit or _, joined by /"
_ID = re.compile(ID_PATTERN, re.ASCII)


def id_problem(case_id: str) -> str | None:
    """Why ``case_id`` is not a valid id, or None."""
    shown = repr(case_id if len(case_id) <= 60 else case_id[:59] + "…")
    if len(case_id) > MAX_ID_LENGTH:
        return f"id {shown} has {len(case_id)} characters; at most {MAX_ID_LENGTH}"
    if not _ID.fullmatch(case_id):
        return f"{shown} is not a valid id ({ID_RULE})"
    return None
