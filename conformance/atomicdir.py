"""Replace a directory by a new version of it in one step, one writer at a time.

``with replacing(target, owned=...) as staging:`` yields an empty directory beside ``target``
(``.NAME.conformance-new-*``, same filesystem); the caller writes everything into it. On a
normal exit the staging directory becomes ``target``; on an exception (or a kill) ``target`` is
untouched. Readers therefore see either the whole previous version or the whole new one, never
a mix, and nothing of the previous version that the new one did not write survives.

- **Swap.** Linux ``renameat2(RENAME_EXCHANGE)`` swaps the two directories atomically; where
  that is unavailable (another OS, a filesystem without it) two renames do it, and a kill
  between them leaves the previous version at ``.NAME.conformance-old-*``, which the next
  writer puts back.
- **Lock.** A lock file beside the target (``.NAME.conformance-lock``, ``flock``) is held from
  the staging directory's creation to the swap: a second writer waits for it (saying so once)
  and fails with a clear error after ``timeout`` seconds. Leftover staging directories of killed
  writers are removed by the next writer, under the lock.
- **Other files.** Entries of ``target`` whose names are not in ``owned`` are not the caller's
  (a user's notes, a ``.gitignore``): they are carried into the new version (hard links, or
  copies across filesystems). A non-empty ``target`` that holds none of the ``markers`` is not
  something this caller wrote at all (``--report-dir ~``): it is refused, never replaced; so
  is the current directory or one above it (the shell's working directory would vanish).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from . import escape
from .errors import UsageError

DEFAULT_TIMEOUT = 300.0  # seconds a second writer waits for the first

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _stderr(text: str) -> None:
    print(f"conformance: {text}", file=sys.stderr)


@contextlib.contextmanager
def replacing(
    target: Path,
    owned: Collection[str],
    markers: Collection[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    say: Callable[[str], None] = _stderr,
) -> Iterator[Path]:
    """Yield a staging directory that replaces ``target`` when the block ends normally."""
    target = Path(os.path.realpath(target))
    parent, name = target.parent, target.name
    shown = escape.visible(target)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{shown}: cannot create: {exc.strerror or exc}") from None
    with _Lock(parent / f".{name}.conformance-lock", shown, timeout, say):
        _recover(parent, name)
        if target.exists():
            _check_replaceable(target, shown, markers)
        staging = parent / f".{name}.conformance-new-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.mkdir(staging)
        except OSError as exc:
            raise UsageError(f"{shown}: cannot write beside it: {exc.strerror or exc}") from None
        try:
            yield staging
            if target.exists():
                os.chmod(staging, stat.S_IMODE(os.stat(target).st_mode))
                _carry_over(target, staging, owned)
                _swap(staging, target)
            else:
                os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def check(target: Path, markers: Collection[str]) -> None:
    """Raise the UsageError :func:`replacing` would raise for ``target`` (so a long run can
    find out before it starts, not after)."""
    target = Path(os.path.realpath(target))
    if target.exists():
        _check_replaceable(target, escape.visible(target), markers)


def _check_replaceable(target: Path, shown: str, markers: Collection[str]) -> None:
    if not target.is_dir():
        raise UsageError(f"{shown}: exists and is not a directory")
    cwd = Path(os.path.realpath(Path.cwd()))
    if cwd == target or target in cwd.parents:
        raise UsageError(
            f"{shown}: is (or contains) the current directory, which replacing it would "
            "delete from under this shell; run the command from outside it"
        )
    names = [e.name for e in os.scandir(target)]
    if names and not any(n in markers for n in names):
        example = escape.visible(sorted(names)[0], 60)
        raise UsageError(
            f"{shown}: refusing to replace a directory that holds no report but other files "
            f"(e.g. {example!r}); choose an empty directory or one that holds a report"
        )


def _leftovers(parent: Path, name: str, kind: str) -> list[Path]:
    prefix = f".{name}.conformance-{kind}-"
    return sorted(
        (p for p in parent.iterdir() if p.name.startswith(prefix)),
        key=lambda p: p.stat().st_mtime,
    )


def _recover(parent: Path, name: str) -> None:
    """Under the lock: put back a previous version a killed two-rename swap left aside, and
    remove killed writers' staging directories."""
    olds = _leftovers(parent, name, "old")
    if olds and not (parent / name).exists():
        os.rename(olds.pop(), parent / name)
    for p in olds + _leftovers(parent, name, "new"):
        shutil.rmtree(p, ignore_errors=True)


def _carry_over(old: Path, new: Path, owned: Collection[str]) -> None:
    for entry in os.scandir(old):
        dst = new / entry.name
        if entry.name in owned or os.path.lexists(dst):
            continue
        src = Path(entry.path)
        if entry.is_symlink():
            os.symlink(os.readlink(src), dst)
        elif entry.is_dir():
            shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(src), str(dst))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        if not stat.S_ISREG(os.lstat(src).st_mode):
            raise UsageError(
                f"{escape.visible(src)}: cannot carry this over into the new report"
            ) from None
        shutil.copy2(src, dst)


def _swap(staging: Path, target: Path) -> None:
    """Afterwards ``target`` is the new version and ``staging`` the old one (or gone)."""
    if _exchange(staging, target):
        return
    old = target.parent / staging.name.replace("-new-", "-old-")
    os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def _renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


#: ``renameat2`` when this platform has it; tests set it to None to exercise the fallback
RENAMEAT2 = _renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False when the platform or filesystem cannot."""
    if RENAMEAT2 is None:
        return False
    if RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


class _Lock:
    """An exclusive ``flock`` on a lock file that is removed on release (a waiter that locked
    the removed file notices that the path is gone or new, and tries again)."""

    def __init__(self, path: Path, shown: str, timeout: float, say: Callable[[str], None]):
        self.path, self.shown, self.timeout, self.say = path, shown, timeout, say
        self.fd: int | None = None

    def __enter__(self) -> _Lock:
        import fcntl

        deadline = time.monotonic() + self.timeout
        told = False
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise UsageError(
                    f"{self.shown}: cannot create the lock file {escape.visible(self.path)}: "
                    f"{exc.strerror or exc}"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise UsageError(
                        f"{self.shown}: another conformance process (pid {holder}) is writing "
                        f"this directory; gave up after waiting {self.timeout:g} s"
                    ) from None
                if not told:
                    self.say(f"waiting for pid {holder}, which is writing {self.shown}")
                    told = True
                time.sleep(0.05)
                continue
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            self.fd = fd
            return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            os.close(self.fd)
            self.fd = None
