"""Reproduction programs: a short runnable program per failing row.

A program uses only the row's framework and NumPy. Its framework code is the row's path as
its adapter declares it (``Adapter.repro_prelude`` and ``ApiPath.repro``, next to the code
the suite runs). Its inputs are the case's arrays as the run kept them (:class:`Inputs` in
``outputs.npz``): written out as float64 literals (``repr`` round-trips exactly, and every
value is representable in the dtype) or, for large generated arrays, redrawn from
``numpy.random.default_rng(seed)`` and rounded to the dtype with round-to-nearest-even as the
suite does. Its target is what the row was judged against (the case's expected values, or the
exact reference correctly rounded to the dtype). It exits 1 while the reported error still
shows, 0 once it is gone; given a file name it also saves its output there (float64 ``.npy``).

Everything a program takes from a row or a case — ids, file names, path names, messages
(known-deviation reasons included), versions, numbers — is written as a Python literal
(:func:`conformance.escape.python`), never spliced into code. A row without a program gets the
reason instead, and the report says it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from string import Template
from textwrap import dedent

import numpy as np

from .. import dtypes as D
from ..adapters.base import Adapter, ApiPath
from ..distributions import DISTRIBUTIONS, Generated
from ..escape import python as literal
from ..outputs import INPUTS_ALL, Inputs, OutputStore
from ..registry import load_class
from ..results import Row

TARGET_LIMIT = 256  # target values written out; above this only the worst element is checked
NAME_LIMIT = 150  # characters of a program's file name before ".py"
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class Snippet:
    name: str  # file name under repro/
    code: str


@dataclass
class Programs:
    """The programs of a report's failing rows, keyed by ``id(row)``, and why some have none."""

    written: dict[int, Snippet] = field(default_factory=dict)
    missing: dict[int, str] = field(default_factory=dict)


class NoProgram(Exception):
    """Why a row has no reproduction program (shown in the report)."""


def needs_snippet(r: Row) -> bool:
    return r.status in ("fail", "error", "known") and r.op in ("affine", "sigmoid")


def programs(rows: list[Row], store: OutputStore | None, adapters: dict[str, str]) -> Programs:
    """Programs of the rows that need one; ``adapters``: name -> "module:Class" of the run."""
    out = Programs()
    taken: set[str] = set()
    classes: dict[str, type[Adapter] | None] = {}
    for r in rows:
        if not needs_snippet(r):
            continue
        if r.framework not in classes:
            spec = adapters.get(r.framework)
            classes[r.framework] = load_class(spec) if spec else None
        try:
            if store is None:
                raise NoProgram("no outputs.npz with the run's inputs was found beside the results")
            code = program(r, store, classes[r.framework])
        except NoProgram as exc:
            out.missing[id(r)] = str(exc)
            continue
        out.written[id(r)] = Snippet(unique_name(file_name(r), taken), code)
    return out


def file_name(r: Row) -> str:
    """A safe file name stem for a row: ASCII letters, digits, ``-`` and ``_`` only."""

    def clean(s: str) -> str:
        return re.sub(r"[^A-Za-z0-9-]+", "_", s).strip("_-")

    parts = [r.case, r.dtype, r.op, r.framework, r.path, r.mode, r.device]
    return "__".join(c for c in (clean(p) for p in parts) if c)[:NAME_LIMIT] or "row"


def unique_name(stem: str, taken: set[str]) -> str:
    """``stem.py``, or ``stem-2.py``, ... when that name (compared case-insensitively, as macOS
    and Windows file systems do) is taken; the chosen name is added to ``taken``."""
    name, n = f"{stem}.py", 1
    while name.casefold() in taken:
        n += 1
        name = f"{stem}-{n}.py"
    taken.add(name.casefold())
    return name


# -- one program ----------------------------------------------------------------------------


def program(r: Row, store: OutputStore, cls: type[Adapter] | None) -> str:
    """The program of one row (raises :class:`NoProgram` with the reason when there is none)."""
    if cls is None:
        raise NoProgram(f"the adapter {r.framework!r} is not known here")
    path = next((p for p in cls.paths if p.name == r.path), None)
    if path is None:
        raise NoProgram(f"the adapter {r.framework!r} declares no path {r.path!r}")
    if path.repro is None:
        raise NoProgram(f"{r.framework} declares no reproduction code for {r.path!r}")
    if r.dtype not in D.DTYPES or r.device not in DEVICES:
        raise NoProgram(f"unknown dtype or device ({r.dtype!r}, {r.device!r})")
    inputs = store.inputs(r.case, r.dtype)
    if inputs is None:
        raise NoProgram(
            "the run kept no inputs for this case (its init draw failed, or an older run)"
        )
    dt = D.get(r.dtype)
    names = _names(inputs)
    head = [
        '"""Reproduce one conformance result row (ROW below): rebuild the case\'s inputs, call',
        "the same API the suite called, and compare with the target the row was judged against.",
        "",
        "Needs NumPy and the row's framework only. Exit status 1 while the reported error still",
        "shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.",
        '"""',
        "",
        "import sys",
        "",
        "import numpy as np",
        "",
        "ROW = {",
        *[
            f"    {literal(k)}: {literal(v)},"
            for k, v in (
                ("case", r.case),
                ("file", r.file),
                ("dtype", r.dtype),
                ("op", r.op),
                ("framework", r.framework),
                ("framework_version", r.framework_version),
                ("path", r.path),
                ("mode", r.mode),
                ("device", r.device),
                ("status", r.status),
                ("message", r.message[:2000]),
                ("tolerance", r.tolerance),
                ("max_ulp", r.max_ulp),
            )
        ],
        "}",
        f"DTYPE, DEVICE = {literal(r.dtype)}, {literal(r.device)}",
    ]
    if inputs.kind == "dense":
        n_in, n_out = _features(inputs)
        head.append(f"IN, OUT = {n_in}, {n_out}")
    head.append("")
    body = [*head, *_inputs(inputs, names, dt), ""]
    want, whole = ([], True) if r.status == "error" else _target(r, store)
    body += [*want, ""] if want else []
    notes = []
    if r.mode != "eager":
        notes += [
            f"# The suite ran this path in mode {r.mode}; this program calls it eagerly. Wrap",
            "# the call as that mode does (torch.compile, tf.function(jit_compile=True),",
            "# jax.jit) if the eager result does not show the error.",
        ]
    call = _call(cls, path, names)
    body += [
        *notes,
        *call,
        "got = to_numpy(y)",
        "if len(sys.argv) > 1:",
        "    np.save(sys.argv[1], got)",
        "",
    ]
    if r.status == "error":
        body += ['print("no exception: the error no longer reproduces")', "sys.exit(0)"]
    else:
        body += _compare(r, dt, whole)
    return "\n".join(body) + "\n"


def _names(inputs: Inputs) -> dict[str, str]:
    """Program variable per input name: x or z, W or K (as the case wrote it), b."""
    param = "W" if inputs.layout == "weight" else "K"
    return {"input": "x" if inputs.kind == "dense" else "z", "param": param, "bias": "b"}


def _features(inputs: Inputs) -> tuple[int, int]:
    shape = inputs.shapes.get("param")
    if shape is None or len(shape) != 2:
        raise NoProgram("the kept inputs have no 2-D parameter")
    return (shape[1], shape[0]) if inputs.layout == "weight" else (shape[0], shape[1])


def _array(values: np.ndarray) -> str:
    flat = ", ".join(literal(float(v)) for v in np.asarray(values, dtype=np.float64).reshape(-1))
    shape = tuple(int(s) for s in np.shape(values))
    return f"np.array([{flat}], dtype=np.float64).reshape({shape!r})"


def _comment(name: str, inputs: Inputs) -> str:
    if name == "param":
        return (
            "  # the case's weight (out, in), as written"
            if inputs.layout == "weight"
            else "  # the case's kernel (in, out), as written"
        )
    return ""


def _inputs(inputs: Inputs, names: dict[str, str], dt: D.DType) -> list[str]:
    present = [n for n in ("input", "param", "bias") if n in inputs.shapes]
    lines: list[str] = []
    if all(n in inputs.values for n in present):
        lines.append(f"# Inputs: {dt.name} values written as float64 literals (exact).")
        for n in present:
            lines.append(f"{names[n]} = {_array(inputs.values[n])}{_comment(n, inputs)}")
    else:
        drawn = {name: (dist, params) for name, dist, params in inputs.draws}
        if any(n not in inputs.values and n not in drawn for n in present):
            raise NoProgram(
                f"its inputs are too large to write out (over {INPUTS_ALL} values) and not "
                "all of them can be redrawn from the seed"
            )
        lines += _round_to(dt)
        lines.append(
            f"# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, "
            f"rounded to {dt.name}."
        )
        lines.append(f"rng = np.random.default_rng({int(inputs.seed)!r})")
        for n in present:
            if n in drawn:
                dist, params = drawn[n]
                if dist not in DISTRIBUTIONS:
                    raise NoProgram(f"unknown distribution {dist!r}")
                expr = Generated(dist, params).source(inputs.shapes[n])
                lines.append(f"{names[n]} = round_to({expr}){_comment(n, inputs)}")
            else:
                lines.append(f"{names[n]} = {_array(inputs.values[n])}{_comment(n, inputs)}")
    if inputs.kind == "dense" and "bias" not in inputs.shapes:
        lines.append("b = None  # the layer has no bias")
    return lines


def _round_to(dt: D.DType) -> list[str]:
    if dt.p == 53:
        return ["def round_to(a):", "    return np.asarray(a, dtype=np.float64)", ""]
    return [
        f"def round_to(a, p={dt.p}, emin={dt.emin}, top={dt.max!r}):",
        f'    """Round float64 values to {dt.name} (nearest, ties to even), kept as float64."""',
        "    a = np.asarray(a, dtype=np.float64)",
        "    _, e = np.frexp(np.abs(a))",
        "    q = np.maximum(e - 1, emin) - (p - 1)",
        "    r = np.ldexp(np.rint(np.ldexp(a, -q)), q)",
        "    return np.where(np.abs(r) > top, np.copysign(np.inf, a), r)",
        "",
    ]


def _target(r: Row, store: OutputStore) -> tuple[list[str], bool]:
    """Lines defining ``want``, and whether it is the whole output (else the worst element)."""
    if r.against == "expected":
        st, what = store.expected(r.case, r.dtype, r.op), f"the case's expected values in {r.dtype}"
    else:
        st, what = store.reference(r.case, r.dtype, r.op), f"the exact result rounded to {r.dtype}"
    if st is not None and not st.sampled and st.values.size <= TARGET_LIMIT:
        return [f"# Target: {what}.", f"want = {_array(st.values.reshape(st.shape))}"], True
    index = _index(r.worst_index)
    if index is None or r.worst_target is None:
        raise NoProgram("its target is neither kept nor named by the row (worst element)")
    return [
        f"# Target: {what}, at the worst element the suite reported (the output is large).",
        f"IDX = {index!r}",
        f"want = np.array([{literal(float(r.worst_target))}])",
    ], False


def _index(text: str) -> tuple[int, ...] | None:
    """The row's ``worst_index`` ("[0, 3]"), read as data."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(i, int) and i >= 0 for i in value):
        return tuple(value)
    return None


def _call(cls: type[Adapter], path: ApiPath, names: dict[str, str]) -> list[str]:
    param = names["param"]
    weight, kernel = (param, f"{param}.T") if param == "W" else (f"{param}.T", param)
    try:
        code = Template(dedent(path.repro or "")).substitute(weight=weight, kernel=kernel)
    except (KeyError, ValueError) as exc:
        raise NoProgram(
            f"{cls.name}'s reproduction code for {path.name!r} is malformed: {exc}"
        ) from None
    prelude = dedent(cls.repro_prelude).strip("\n")
    return [
        f"# {cls.name}: the framework, and T(a) / to_numpy(y) to hand arrays over exactly.",
        *prelude.splitlines(),
        "",
        "# The path, as the suite calls it.",
        *dedent(code).strip("\n").splitlines(),
    ]


def _compare(r: Row, dt: D.DType, whole: bool) -> list[str]:
    """Lines measuring ``got`` against ``want`` in ULP exactly as the suite does
    (:func:`conformance.dtypes.ulp_distance`) and deciding whether the error still shows."""
    reported = r.max_ulp if r.max_ulp is not None else float("inf")
    # bit patterns of the dtype: bfloat16 values are the upper half of their float32 bits
    store, uint, shift = {
        "float16": ("float16", "uint16", 0),
        "bfloat16": ("float32", "uint32", 16),
        "float32": ("float32", "uint32", 0),
        "float64": ("float64", "uint64", 0),
    }[dt.name]
    out = [] if whole else ["got = got[IDX].reshape(1)"]
    out += [
        "",
        f"def ordinal(a):  # {dt.name} values in order, 1 apart; -0 and +0 are both 0",
        f"    bits = np.ascontiguousarray(np.asarray(a).astype(np.{store})).view(np.{uint})",
        f"    bits = bits.astype(np.uint64) >> np.uint64({shift})",
        f"    sign = (bits >> np.uint64({dt.bits - 1})).astype(bool)",
        f"    mag = (bits & np.uint64({(1 << (dt.bits - 1)) - 1})).astype(np.int64)",
        "    return np.where(sign, -mag, mag)",
        "",
        "",
        "oa, ob = ordinal(got), ordinal(want)",
        "ua, ub = oa.astype(np.uint64), ob.astype(np.uint64)",
        "ulp = np.where(oa >= ob, ua - ub, ub - ua).astype(np.float64)",
        "special = ~(np.isfinite(got) & np.isfinite(want))",
        "same = (np.isnan(got) & np.isnan(want)) | (np.isinf(got) & (got == want))",
        "ulp = np.where(special, np.where(same, 0.0, np.inf), ulp)",
        "worst = np.unravel_index(int(np.argmax(ulp)), ulp.shape)",
        'print(f"max error {ulp.max():g} ulp at {list(map(int, worst))}: '
        'got {float(got[worst])!r}, want {float(want[worst])!r}")',
        "wrong_zeros = int(((got == 0) & (want == 0) & (np.signbit(got) != np.signbit(want))).sum())",
        'print(f"zeros of the wrong sign: {wrong_zeros}")',
        f"REPORTED = {literal(float(reported))}  # ulp, as the suite measured",
        f"REPORTED_ZEROS = {int(r.wrong_sign_zeros)}  # zeros of the wrong sign, as measured",
        "ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0",
        "if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:",
        '    print("MISMATCH reproduced")',
        "    sys.exit(1)",
        'print("the reported error no longer shows")',
    ]
    return out
