"""Reading a file the user named, without trusting it to be small, regular or finite.

A FIFO would block ``open`` until a writer comes, ``/dev/zero`` never ends and a stray 10 GB
file exhausts memory; each is refused with one line before anything large is read: the file is
opened without blocking, checked with ``fstat`` (regular, and its size) before reading, and
read no further than ``limit + 1`` bytes whatever ``fstat`` said (``/proc`` files say 0).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from . import escape
from .errors import UsageError

_OPEN = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class Refused(Exception):
    """Why a file was not read: one line, without the file's name."""


def read_regular(path: Path, limit: int, what: str = "file") -> bytes:
    """At most ``limit`` bytes of the regular file ``path``; anything else raises
    :class:`Refused` (callers add the file's name and their own error type)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below)
        fd = os.open(path, _OPEN)
    except FileNotFoundError:
        raise Refused(f"no such {what}") from None
    except OSError as exc:
        raise Refused(f"cannot read: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        os.close(fd)  # (os.fdopen refuses a directory)
        if st.st_size > limit and stat.S_ISREG(st.st_mode):
            raise Refused(_too_big(limit, what))
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "something else")
        raise Refused(f"not a regular file ({kind})")
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise Refused(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise Refused(_too_big(limit, what))
    return data


def read_bytes(path: Path, limit: int, what: str = "file") -> bytes:
    """:func:`read_regular` whose refusals are a UsageError (``FILE: reason``)."""
    try:
        return read_regular(path, limit, what)
    except Refused as exc:
        raise UsageError(f"{escape.visible(path)}: {exc}") from None


def _too_big(limit: int, what: str) -> str:
    return f"larger than the {_size(limit)} a {what} may have (README 'Size limits')"


def _size(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    return f"{n >> 10} KiB" if n >= 1 << 10 and n % (1 << 10) == 0 else f"{n} bytes"
