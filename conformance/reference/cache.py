"""A content-addressed cache of reference results, shared by runs, ``validate`` and ``fill``.

The exact reference of a case in a dtype depends only on its arrays and on the reference's own
code, so a result is stored under the SHA-256 of both: the dtype, each array's shape and bytes,
and the source of ``conformance/reference/`` and ``conformance/dtypes.py``. Editing the
algorithm therefore never reuses an old result. Entries are ``.npz`` files read with
``allow_pickle=False`` (nothing in them can execute), written to a temporary name and renamed
into place (concurrent runs never see half an entry); the oldest are removed once the cache
passes its size limit.

Where: ``--cache-dir DIR``, else ``$CONFORMANCE_CACHE_DIR``, else
``$XDG_CACHE_HOME/conformance`` (default ``~/.cache/conformance``); ``--no-cache`` or
``CONFORMANCE_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

ENV = "CONFORMANCE_CACHE_DIR"
OFF = ("off", "none", "0", "")
SIZE_LIMIT = 2 << 30  # bytes of reference entries kept; the oldest go first
WORTH_SECONDS = 0.02  # results computed faster than this are not stored (a lookup costs ~0.1 ms)
_FIELDS = ("affine", "sigmoid", "abs_sum", "products")


def default_dir() -> Path | None:
    """The cache directory the environment asks for (None: off)."""
    env = os.environ.get(ENV)
    if env is not None:
        return None if env.strip().lower() in OFF else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conformance"


@cache
def code_version() -> str:
    """SHA-256 of the reference's source: any edit to the algorithm changes every key."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in [*sorted(here.glob("*.py")), here.parent / "dtypes.py"]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


class ReferenceCache:
    """Reference results on disk under ``root/reference``."""

    def __init__(self, root: Path, size_limit: int = SIZE_LIMIT) -> None:
        self.root = Path(root)  # the cache directory; other caches live beside "reference"
        self.dir = self.root / "reference"
        self.size_limit = size_limit
        self._lock = threading.Lock()
        self._written = 0

    def key(self, dtype: str, arrays: dict[str, np.ndarray | None]) -> str:
        h = hashlib.sha256(code_version().encode())
        h.update(dtype.encode())
        for name in sorted(arrays):
            a = arrays[name]
            h.update(name.encode())
            if a is None:
                h.update(b"-")
                continue
            a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
            h.update(repr(a.shape).encode())
            h.update(a.tobytes())
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.npz"

    def load(self, key: str) -> dict[str, np.ndarray | None] | None:
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                out: dict[str, np.ndarray | None] = {
                    f: (data[f] if f in data.files else None) for f in _FIELDS
                }
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None  # missing or damaged: recompute (and overwrite)
        if out["sigmoid"] is None:
            return None
        return out

    def store(self, key: str, values: dict[str, Any]) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **{k: v for k, v in values.items() if v is not None})
            os.replace(tmp, path)
        except OSError:
            return  # a read-only or full disk costs the cache, never the run
        with self._lock:
            self._written += 1
            if self._written % 64 == 1:
                self.prune()

    def prune(self) -> None:
        """Remove the least recently written entries until the cache fits its size limit."""
        prune(self.dir, "*/*.npz", self.size_limit)


def prune(folder: Path, pattern: str, size_limit: int) -> None:
    """Remove the least recently written files matching ``pattern`` under ``folder`` until
    they fit ``size_limit`` bytes."""
    entries = []
    for p in folder.glob(pattern):
        try:
            st = p.stat()
        except OSError:
            continue  # removed meanwhile (another run pruning)
        entries.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in entries)
    for _, size, p in sorted(entries):
        if total <= size_limit:
            break
        try:
            p.unlink()
            total -= size
        except OSError:
            pass


_current: ReferenceCache | None = None
_configured = False


def configure(root: Path | None) -> None:
    """Use the cache under ``root`` (None: no cache) for this process."""
    global _current, _configured
    _current = None if root is None else ReferenceCache(root)
    _configured = True


def current() -> ReferenceCache | None:
    """The cache this process uses: as configured, else as the environment says."""
    global _current, _configured
    if not _configured:
        root = default_dir()
        _current = None if root is None else ReferenceCache(root)
        _configured = True
    return _current


def add_options(parser: Any) -> None:
    """``--cache-dir DIR`` and ``--no-cache`` for a command that computes references."""
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help=f"where exact reference results are cached (default: ${ENV}, else "
        "$XDG_CACHE_HOME/conformance or ~/.cache/conformance)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="compute every reference afresh, store nothing"
    )


def configure_from(args: Any) -> None:
    """Apply :func:`add_options`' choices to this process."""
    if getattr(args, "no_cache", False):
        configure(None)
    elif getattr(args, "cache_dir", None):
        configure(Path(args.cache_dir))
    else:
        configure(default_dir())
