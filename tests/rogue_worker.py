"""A worker process that breaks the protocol in the way ``argv[1]`` names, then lingers (the
parent must kill it). Started by tests/test_faults.py through ``WorkerProcess(argv=...)``."""

from __future__ import annotations

import json
import pickle
import struct
import sys
import time

from conformance import wire


class Unpicklable:
    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (_explode, ())


def _explode() -> None:
    raise RuntimeError("unpickling this object raises")


def frame(out: object, data: bytes) -> None:
    out.write(struct.pack("<Q", len(data)))  # type: ignore[attr-defined]
    out.write(data)  # type: ignore[attr-defined]
    out.flush()  # type: ignore[attr-defined]


def head(out: object, obj: object) -> None:
    frame(out, json.dumps(obj).encode())


def main() -> None:
    mode = sys.argv[1]
    out = sys.stdout.buffer
    wire.receive_pickle(sys.stdin.buffer)
    wire.send(out, "hello", version="rogue 1", settings={})
    wire.send(out, "inits_done")
    wire.receive_pickle(sys.stdin.buffer)  # the batches; batch 0 was sent
    if mode == "unknown-kind":
        wire.send(out, "explode")
    elif mode == "pickle":  # what the old protocol sent: an object whose unpickling raises
        frame(out, pickle.dumps(("batch", 0, [Unpicklable()])))
    elif mode == "unsent-batch":
        wire.send(out, "batch", batch=7, results=[])
    elif mode == "answered-twice":
        wire.send(out, "batch_skip", batch=0, reason="no")
        wire.send(out, "batch_skip", batch=0, reason="no")
    elif mode == "wrong-type":
        wire.send(out, "batch", batch="0", results=[])
    elif mode == "extra-field":
        wire.send(out, "batch_skip", batch=0, reason="no", extra=1)
    elif mode == "object-array":
        head(out, {"kind": "batch", "batch": 0, "results": [], "arrays": [["|O", [1]]]})
        frame(out, b"\0" * 8)
    elif mode == "short-array":
        head(out, {"kind": "batch", "batch": 0, "results": [], "arrays": [["<f8", [2]]]})
        frame(out, b"\0" * 8)
    elif mode == "huge-length":
        out.write(struct.pack("<Q", 1 << 62))
        out.flush()
    elif mode == "bad-result":
        head(out, {"kind": "batch", "batch": 0, "results": [{"path": 1}]})
    elif mode == "bad-array-ref":
        result = {"path": "p", "op": "affine", "outputs": [{"array": 3}], "errors": [None]}
        result |= {"seconds": [0.0], "skip": ""}
        head(out, {"kind": "batch", "batch": 0, "results": [result]})
    elif mode == "deep-json":
        frame(out, b"[" * 100_000 + b"]" * 100_000)
    elif mode == "not-an-object":
        head(out, ["batch", 0])
    elif mode == "garbage":
        frame(out, bytes(range(256)))
    time.sleep(60)


if __name__ == "__main__":
    main()
