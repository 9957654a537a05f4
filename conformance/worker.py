"""Worker process: runs one adapter over the batches it is sent, isolated from the others.

Protocol: the parent writes one pickled ``{"adapter": "mod:Class", "batches": [...]}`` to
stdin; the worker answers on its original stdout with length-prefixed pickled messages:
``("hello", version, settings)``, ``("batch", index, [PathResult])`` or
``("batch_error", index, message)`` per batch, then ``("done",)``. Anything the framework
prints goes to stderr, so it cannot corrupt the stream. A crash (even a segfault) costs only
this framework's remaining batches.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import traceback
from typing import Any, BinaryIO

from .adapters.base import SkipBatch


def send(out: BinaryIO, msg: Any) -> None:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(struct.pack("<Q", len(data)))
    out.write(data)
    out.flush()


def receive(inp: BinaryIO) -> Any:
    head = inp.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", head)
    data = inp.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def main() -> int:
    proto = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # framework chatter on stdout goes to stderr
    sys.stdout = sys.stderr
    job = pickle.load(sys.stdin.buffer)
    from .registry import load_class

    try:
        adapter = load_class(job["adapter"])()
        adapter.setup()
        send(proto, ("hello", adapter.version(), adapter.settings()))
    except Exception as exc:
        send(proto, ("fatal", f"{type(exc).__name__}: {exc}"))
        return 1
    for index, batch in enumerate(job["batches"]):
        try:
            send(proto, ("batch", index, adapter.run(batch)))
        except SkipBatch as exc:
            send(proto, ("batch_skip", index, str(exc)))
        except Exception:
            send(
                proto,
                ("batch_error", index, traceback.format_exc(limit=3).strip().splitlines()[-1]),
            )
    send(proto, ("done",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
