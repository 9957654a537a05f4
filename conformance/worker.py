"""Worker process: runs one adapter over the batches it is sent, isolated from the others.

Protocol (length-prefixed pickles both ways, see :func:`send`/:func:`receive`):

1. parent -> worker: ``{"adapter": "mod:Class", "options": {...}, "inits": [InitRequest]}``;
2. worker -> parent: ``("hello", version, settings)``, then ``("init", InitResult)`` per request
   and ``("inits_done",)`` (phase 1: framework-native parameter draws, issue 3); with
   compiled mode on, then ``("settings", {...})`` (compiled-mode denormal behaviour);
3. parent -> worker: ``{"batches": [(index, Batch), ...]}`` (built once every draw is known);
4. worker -> parent: ``("batch", index, [PathResult])``, ``("batch_error", index, message)`` or
   ``("batch_skip", index, reason)`` per batch, then ``("done",)``.

Anything the framework prints goes to stderr, so it cannot corrupt the stream. A crash (even a
segfault) costs only this framework's remaining work.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import traceback
from typing import Any, BinaryIO

from .adapters._env import host_settings
from .adapters.base import InitResult, SkipBatch


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
    job = receive(sys.stdin.buffer)
    from .registry import load_class

    try:
        adapter = load_class(job["adapter"])()
        adapter.setup()
        adapter.configure(job.get("options") or {})
        settings = {**host_settings(), **adapter.denormals(), **adapter.settings()}
        send(proto, ("hello", adapter.version(), settings))
    except Exception as exc:
        send(proto, ("fatal", f"{type(exc).__name__}: {exc}"))
        return 1
    for request in job.get("inits") or []:
        try:
            result = adapter.init_params(request)
        except Exception as exc:
            result = InitResult(request.key, error=_one_line(exc))
        send(proto, ("init", result))
    send(proto, ("inits_done",))
    if "compiled" in (job.get("options") or {}).get("modes", ""):
        try:  # after the draws: a slow first compile (inductor) must not hold them up
            late = adapter.denormals(compiled=True)
        except Exception as exc:
            late = {"denormals_compiled": f"not measured ({_one_line(exc)})"}
        if late:
            send(proto, ("settings", late))
    try:
        batches = receive(sys.stdin.buffer)["batches"]
    except EOFError:
        batches = []
    for index, batch in batches:
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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


if __name__ == "__main__":
    sys.exit(main())
