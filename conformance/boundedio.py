"""Reading a file the user named, without trusting it to be small, regular or finite.

A FIFO would block ``open`` until a writer comes, ``/dev/zero`` never ends and a stray 10 GB
file exhausts memory; each is refused with one line before anything large is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from . import escape
from .errors import UsageError


def read_bytes(path: Path, limit: int, what: str = "file") -> bytes:
    """At most ``limit`` bytes of the regular file ``path``; anything else is a UsageError
    (``FILE: reason``)."""
    display = escape.visible(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UsageError(f"{display}: no such {what}") from None
    except OSError as exc:
        raise UsageError(f"{display}: cannot read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageError(f"{display}: not a regular file")
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise UsageError(f"{display}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UsageError(f"{display}: larger than the {_size(limit)} a {what} may have")
    return data


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"
