"""The bytes between the runner and a worker: what each side may send, and how it is checked.

Every message is one or more *frames*: an 8-byte little-endian length, then that many bytes.

- **Parent → worker** messages are pickles (the job, then the batches). The worker trusts the
  parent that started it.
- **Worker → parent** messages are a JSON frame followed by one frame per array it names, so
  the parent never unpickles anything a framework made: an output object whose unpickling
  raises (or runs code) cannot reach it. The JSON is ``{"kind": ..., fields...}``; an array is
  written in the JSON as ``{"array": i}`` (its dtype and shape in the header's ``"arrays"``
  list) and travels as its raw C-order bytes. Only plain numbers cross: bool, integers,
  float16/32/64, bfloat16 (``ml_dtypes``), complex — never objects or strings.

:func:`read` checks each message against :data:`KINDS` (its fields and their types), every
array against its dtype and byte count, and every length against :data:`MAX_JSON_BYTES` /
:data:`MAX_ARRAY_BYTES` before reading it (and reads in chunks, so a bogus length costs no
memory); anything else raises :class:`ProtocolError`. A stream that ends raises ``EOFError``.
"""

from __future__ import annotations

import json
import math
import pickle
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from .adapters.base import InitResult, PathResult, as_output, output_problem

#: the largest JSON frame (a batch of 10,000 items with a 300-character error each is ~10 MB)
MAX_JSON_BYTES = 1 << 28
#: the largest array frame (an output of the largest case in complex128 is 2 GiB)
MAX_ARRAY_BYTES = 1 << 33
#: arrays one message may carry
MAX_ARRAYS = 1 << 20
MAX_DIMS = 32
CHUNK = 1 << 20

#: dtypes that may cross (``dtype.str`` little-endian, or the ``ml_dtypes`` name)
DTYPES = frozenset(
    {"|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8"}
    | {"<c8", "<c16", "bfloat16"}
)


class ProtocolError(Exception):
    """The worker sent something this protocol does not allow (its own rows are lost)."""


# --------------------------------------------------------------------------------------------
# Frames


def _write_frame(out: BinaryIO, data: bytes | memoryview) -> None:
    out.write(struct.pack("<Q", len(data)))
    out.write(data)


def _read_exact(inp: BinaryIO, size: int, first: bool = False) -> bytearray:
    data = bytearray()
    while len(data) < size:
        chunk = inp.read(min(size - len(data), CHUNK))
        if not chunk:
            if first and not data:
                raise EOFError("the worker closed its end")
            raise EOFError(f"the stream ended inside a frame ({len(data)} of {size} bytes)")
        data += chunk
    return data


def _read_frame(inp: BinaryIO, limit: int, what: str, first: bool = False) -> bytearray:
    (size,) = struct.unpack("<Q", _read_exact(inp, 8, first))
    if size > limit:
        raise ProtocolError(f"{what} of {size} bytes (at most {limit})")
    return _read_exact(inp, size)


# --------------------------------------------------------------------------------------------
# Parent -> worker: pickles


def send_pickle(out: BinaryIO, msg: Any) -> None:
    _write_frame(out, pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))
    out.flush()


def receive_pickle(inp: BinaryIO) -> Any:
    return pickle.loads(_read_frame(inp, 1 << 62, "job", first=True))


# --------------------------------------------------------------------------------------------
# Worker -> parent: JSON and plain arrays


def _dtype_name(dt: np.dtype) -> str:
    return "bfloat16" if dt.name == "bfloat16" else dt.newbyteorder("<").str


def _dtype_of(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def send(out: BinaryIO, kind: str, **fields: Any) -> None:
    """One message: ``fields`` hold JSON values and NumPy arrays of plain numbers."""
    arrays: list[np.ndarray] = []

    def encode(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            arrays.append(v)
            return {"array": len(arrays) - 1}
        if isinstance(v, dict):
            return {str(k): encode(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [encode(x) for x in v]
        return v

    body = encode(fields)
    blobs = []
    for a in arrays:
        name = _dtype_name(a.dtype)
        if name not in DTYPES:
            raise TypeError(f"array of dtype {a.dtype} cannot cross to the parent")
        blobs.append(np.asarray(a, dtype=_dtype_of(name), order="C"))
    head = {"kind": kind, **body, "arrays": [[_dtype_name(b.dtype), list(b.shape)] for b in blobs]}
    _write_frame(out, json.dumps(head, allow_nan=True).encode("utf-8"))
    for b in blobs:
        _write_frame(out, b.reshape(-1).view(np.uint8).data if b.size else b"")
    out.flush()


class Message:
    """One checked message from a worker: its kind and its fields (arrays resolved)."""

    def __init__(self, kind: str, fields: dict[str, Any]) -> None:
        self.kind = kind
        self.fields = fields

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def __repr__(self) -> str:
        return f"Message({self.kind!r})"


def read(inp: BinaryIO) -> Message:
    """The next message, checked (:class:`ProtocolError`), or ``EOFError`` at the end."""
    raw = _read_frame(inp, MAX_JSON_BYTES, "a message", first=True)
    try:
        head = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"not a JSON message: {type(exc).__name__}") from None
    if not isinstance(head, dict):
        raise ProtocolError(f"a message is a JSON object, not {type(head).__name__}")
    specs = head.pop("arrays", [])
    if not isinstance(specs, list) or len(specs) > MAX_ARRAYS:
        raise ProtocolError("'arrays' is not a list of at most {MAX_ARRAYS} entries")
    arrays = [_read_array(inp, spec) for spec in specs]
    kind = head.pop("kind", None)
    if kind not in KINDS:
        raise ProtocolError(f"unknown message kind {str(kind)[:40]!r}")
    return Message(kind, _check(kind, head, arrays))


def _read_array(inp: BinaryIO, spec: Any) -> np.ndarray:
    if not (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[1], list)):
        raise ProtocolError("an array spec is [dtype, shape]")
    name, shape = spec
    if name not in DTYPES:
        raise ProtocolError(f"array dtype {str(name)[:20]!r} may not cross")
    if len(shape) > MAX_DIMS or not all(type(n) is int and n >= 0 for n in shape):
        raise ProtocolError("an array shape is a list of at most 32 non-negative integers")
    dt = _dtype_of(name)
    want = math.prod(shape) * dt.itemsize
    data = _read_frame(inp, MAX_ARRAY_BYTES, "an array")
    if len(data) != want:
        raise ProtocolError(f"array of {len(data)} bytes for shape {shape} of {name}")
    return np.frombuffer(data, dtype=dt).reshape(shape)


# --------------------------------------------------------------------------------------------
# What each kind holds


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _opt_str(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _int(v: Any) -> bool:
    return type(v) is int and v >= 0


def _str_map(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(x, str) for x in v.values())


def _list(v: Any) -> bool:
    return isinstance(v, list)


#: kind -> field -> check; every field is required, no other is allowed
KINDS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "hello": {"version": _str, "settings": _str_map},
    "init": {
        "key": lambda v: isinstance(v, list) and len(v) == 2 and all(map(_str, v)),
        "param": lambda v: v is None or isinstance(v, dict),
        "layout": _str,
        "bias": lambda v: v is None or isinstance(v, dict),
        "paths": _str_map,
        "error": _str,
        "skip": _str,
    },
    "inits_done": {},
    "settings": {"settings": _str_map},
    "tick": {"batch": _int, "path": _str, "done": _int},
    "batch": {"batch": _int, "results": _list},
    "batch_error": {"batch": _int, "message": _str, "traceback": _str},
    "batch_skip": {"batch": _int, "reason": _str},
    "fatal": {"message": _str, "traceback": _str},
    "done": {},
}


def _check(kind: str, fields: dict[str, Any], arrays: list[np.ndarray]) -> dict[str, Any]:
    spec = KINDS[kind]
    if set(fields) != set(spec):
        raise ProtocolError(f"{kind}: fields {sorted(fields)[:8]}, expected {sorted(spec)}")
    for name, ok in spec.items():
        if not ok(fields[name]):
            raise ProtocolError(f"{kind}: field {name!r} has the wrong type")
    if kind == "init":
        return {"result": _init_result(fields, arrays)}
    if kind == "batch":
        return {
            "batch": fields["batch"],
            "results": [_path_result(r, arrays) for r in fields["results"]],
        }
    return fields


def _array(v: Any, arrays: list[np.ndarray]) -> np.ndarray | None:
    if v is None:
        return None
    i = v.get("array") if isinstance(v, dict) else None
    if type(i) is not int or not 0 <= i < len(arrays) or len(v) != 1:
        raise ProtocolError("an array reference is {'array': index} of a sent array")
    return arrays[i]


def _init_result(f: dict[str, Any], arrays: list[np.ndarray]) -> InitResult:
    key = (f["key"][0], f["key"][1])
    return InitResult(
        key,
        _array(f["param"], arrays),
        f["layout"],
        _array(f["bias"], arrays),
        f["paths"],
        f["error"],
        f["skip"],
    )


RESULT_FIELDS = {"path", "op", "outputs", "errors", "seconds", "skip"}


def _path_result(r: Any, arrays: list[np.ndarray]) -> PathResult:
    if not isinstance(r, dict) or set(r) != RESULT_FIELDS:
        raise ProtocolError(f"a path result is an object with {sorted(RESULT_FIELDS)}")
    if not (_str(r["path"]) and _str(r["op"]) and _str(r["skip"])):
        raise ProtocolError("a path result's path, op and skip are strings")
    if not (_list(r["outputs"]) and _list(r["errors"]) and _list(r["seconds"])):
        raise ProtocolError("a path result's outputs, errors and seconds are lists")
    if not all(map(_opt_str, r["errors"])):
        raise ProtocolError("a path result's errors are strings or null")
    if not all(isinstance(s, int | float) and not isinstance(s, bool) for s in r["seconds"]):
        raise ProtocolError("a path result's seconds are numbers")
    outputs = [_array(v, arrays) for v in r["outputs"]]
    return PathResult(
        r["path"], r["op"], outputs, r["errors"], seconds=r["seconds"], skip=r["skip"]
    )


# --------------------------------------------------------------------------------------------
# The worker's side of results: what an adapter returned, made plain


def path_result_fields(pr: Any) -> dict[str, Any]:
    """A :class:`PathResult` as message fields; an output that is not an array of plain
    numbers becomes ``None`` with an error saying what it was."""
    if not isinstance(pr, PathResult):
        raise TypeError(f"run() returned a {type(pr).__name__} where a PathResult belongs")
    outputs: list[np.ndarray | None] = []
    errors: list[str | None] = [None if e is None else str(e) for e in list(pr.errors)]
    for i, y in enumerate(list(pr.outputs)):
        problem = None if y is None else output_problem(y)
        if problem is not None and i < len(errors):
            errors[i] = problem
        outputs.append(None if y is None or problem is not None else as_output(y))
    return {
        "path": str(pr.path),
        "op": str(pr.op),
        "outputs": outputs,
        "errors": errors,
        "seconds": [float(s) for s in list(pr.seconds)],
        "skip": str(pr.skip),
    }


def init_result_fields(r: Any) -> dict[str, Any]:
    """An :class:`InitResult` as message fields (drawn arrays as plain arrays)."""
    if not isinstance(r, InitResult):
        raise TypeError(f"init_params() returned a {type(r).__name__}, not an InitResult")
    error = str(r.error)
    arrays = {}
    for name in ("param", "bias"):
        v = getattr(r, name)
        problem = None if v is None else output_problem(v)
        if problem is not None:
            error = error or f"drawn {name} {problem}"
        arrays[name] = None if v is None or problem is not None else as_output(v)
    return {
        "key": [str(k) for k in r.key],
        "layout": str(r.layout),
        "paths": {str(k): str(v) for k, v in dict(r.paths).items()},
        "error": error,
        "skip": str(r.skip),
        **arrays,
    }
