"""A loaded :class:`Case` (or the :class:`CaseError` that refused its file) as plain JSON data,
and back: what :mod:`conformance.casecache` keeps, so a case file read once is not parsed
again.

Only data crosses: numbers, strings, lists and mappings; arrays as the base64 of their
little-endian float64 bytes (exact, ``-0.0`` and nan payloads included), exact decimal values
as ``"p/q"`` fractions. Reading checks every field's type and size, and the invariants the
loader guarantees and the rest of the suite relies on (a valid id, known dtypes, array shapes
that agree with the case's shapes, the size limits), and raises ``ValueError`` on anything
else, so a damaged or foreign entry is a cache miss, never a case the loader would refuse.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
import re
from fractions import Fraction
from typing import Any

import numpy as np

from . import dtypes as D
from .cases import PARAM_PINS, Case, Source
from .distributions import DISTRIBUTIONS, Generated
from .errors import CaseError
from .ids import id_problem
from .limits import MAX_ARRAY_ELEMENTS, MAX_BATCH_DIMS, MAX_MACS
from .literals import Literal

#: the fields of :class:`Case` this module writes; a new field must be added here (a test holds
#: the two lists together)
CASE_FIELDS = (
    "id",
    "file",
    "description",
    "tags",
    "dtypes",
    "seed",
    "kind",
    "batch",
    "in_features",
    "out_features",
    "input",
    "layout",
    "param",
    "bias",
    "init",
    "expected",
    "tolerance",
    "lines",
    "init_bias",
    "pins",
)


# -- writing -----------------------------------------------------------------------------------


def _array(a: np.ndarray) -> dict[str, Any]:
    raw = np.ascontiguousarray(a, dtype="<f8").tobytes()
    return {"shape": [int(n) for n in a.shape], "f8": base64.b64encode(raw).decode("ascii")}


def _fraction(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"


def _source(src: Source | None) -> dict[str, Any] | None:
    if src is None:
        return None
    if isinstance(src, Generated):
        return {"generated": src.distribution, "params": dict(src.params)}
    exact = None
    if src.exact is not None:
        exact = [None if e is None else [_fraction(e[0]), _fraction(e[1])] for e in src.exact]
    return {
        "hi": _array(src.hi),
        "lo": _array(src.lo),
        "half_unit": _array(src.half_unit),
        "exact": exact,
    }


def _per_dtype(node: dict[str, dict[str, Literal]]) -> dict[str, dict[str, Any]]:
    return {op: {dt: _source(lit) for dt, lit in per.items()} for op, per in node.items()}


def case_to_json(case: Case) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in CASE_FIELDS:
        value = getattr(case, name)
        if name in ("input", "param", "bias"):
            value = _source(value)
        elif name in ("expected", "pins"):
            value = _per_dtype(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def error_to_json(err: CaseError) -> list[Any]:
    return [err.file, err.line, err.field, err.message]


# -- reading (checked) -------------------------------------------------------------------------


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise ValueError(f"case cache entry: {what}")


def _str(v: Any, what: str) -> str:
    _need(isinstance(v, str), what)
    return str(v)


def _int(v: Any, what: str) -> int:
    _need(isinstance(v, int) and not isinstance(v, bool), what)
    return int(v)


def _unarray(d: Any) -> np.ndarray:
    _need(isinstance(d, dict) and set(d) == {"shape", "f8"}, "array")
    shape = d["shape"]
    _need(isinstance(shape, list) and len(shape) <= 9, "array shape")
    dims = tuple(_int(n, "array shape") for n in shape)
    _need(all(n >= 0 for n in dims), "array shape")
    try:
        raw = base64.b64decode(_str(d["f8"], "array data"), validate=True)
    except binascii.Error:
        raise ValueError("case cache entry: array data") from None
    _need(len(raw) == 8 * math.prod(dims), "array size")
    return np.frombuffer(raw, dtype="<f8").astype(np.float64).reshape(dims)


_FRACTION = re.compile(r"-?[0-9]{1,2500}/[1-9][0-9]{0,2500}", re.ASCII)


def _unfraction(v: Any) -> Fraction:
    text = _str(v, "fraction")
    _need(len(text) <= 5002 and _FRACTION.fullmatch(text) is not None, "fraction")
    num, _, den = text.partition("/")
    return Fraction(int(num), int(den))


def _unsource(d: Any) -> Source | None:
    if d is None:
        return None
    _need(isinstance(d, dict), "source")
    if "generated" in d:
        name, params = d.get("generated"), d.get("params")
        _need(name in DISTRIBUTIONS and isinstance(params, dict), "generated source")
        allowed = DISTRIBUTIONS[str(name)].parameters
        _need(
            all(k in allowed and isinstance(v, float) for k, v in params.items()),
            "distribution parameters",
        )
        return Generated(str(name), {str(k): float(v) for k, v in params.items()})
    _need(set(d) == {"hi", "lo", "half_unit", "exact"}, "literal")
    hi, lo, half = _unarray(d["hi"]), _unarray(d["lo"]), _unarray(d["half_unit"])
    _need(hi.shape == lo.shape == half.shape, "literal shapes")
    exact = d["exact"]
    if exact is not None:
        _need(isinstance(exact, list) and len(exact) == hi.size, "exact values")
        pairs: list[tuple[Fraction, Fraction] | None] = []
        for e in exact:
            if e is None:
                pairs.append(None)
                continue
            _need(isinstance(e, list) and len(e) == 2, "exact value")
            pairs.append((_unfraction(e[0]), _unfraction(e[1])))
        return Literal(hi, lo, half, tuple(pairs))
    return Literal(hi, lo, half, None)


def _unper_dtype(d: Any) -> dict[str, dict[str, Literal]]:
    _need(isinstance(d, dict), "per-dtype values")
    out: dict[str, dict[str, Literal]] = {}
    for op, per in d.items():
        _need(isinstance(per, dict), "per-dtype values")
        out[str(op)] = {}
        for dt, src in per.items():
            lit = _unsource(src)
            _need(isinstance(lit, Literal), "pinned values")
            assert isinstance(lit, Literal)
            out[str(op)][str(dt)] = lit
    return out


def _strings(v: Any, what: str) -> tuple[str, ...]:
    _need(isinstance(v, list), what)
    return tuple(_str(s, what) for s in v)


def _tolerance(v: Any) -> dict[str, dict[str, dict[str, Any]]]:
    _need(isinstance(v, dict), "tolerance")
    for per in v.values():
        _need(isinstance(per, dict), "tolerance")
        for spec in per.values():
            _need(isinstance(spec, dict), "tolerance")
            for value in spec.values():
                _need(
                    isinstance(value, bool | str)
                    or (isinstance(value, float) and math.isfinite(value) and value >= 0),
                    "tolerance value",
                )
    return v


def case_from_json(d: Any) -> Case:
    """The case :func:`case_to_json` wrote; ``ValueError`` for anything else."""
    _need(isinstance(d, dict) and set(d) == set(CASE_FIELDS), "case fields")
    kind = _str(d["kind"], "kind")
    _need(kind in ("dense", "sigmoid"), "kind")
    inp = _unsource(d["input"])
    _need(inp is not None, "input")
    assert inp is not None
    init = d["init"]
    _need(init is None or isinstance(init, str), "init")
    lines = d["lines"]
    _need(
        isinstance(lines, dict)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in lines.values()),
        "lines",
    )
    _need(isinstance(d["init_bias"], bool), "init_bias")
    _need(isinstance(d["batch"], list), "batch")
    case = Case(
        id=_str(d["id"], "id"),
        file=_str(d["file"], "file"),
        description=_str(d["description"], "description"),
        tags=_strings(d["tags"], "tags"),
        dtypes=_strings(d["dtypes"], "dtypes"),
        seed=_int(d["seed"], "seed"),
        kind=kind,
        batch=tuple(_int(n, "batch") for n in d["batch"]),
        in_features=_int(d["in_features"], "in_features"),
        out_features=_int(d["out_features"], "out_features"),
        input=inp,
        layout=_str(d["layout"], "layout"),
        param=_unsource(d["param"]),
        bias=_unsource(d["bias"]),
        init=init,
        expected=_unper_dtype(d["expected"]),
        tolerance=_tolerance(d["tolerance"]),
        lines={str(k): int(v) for k, v in lines.items()},
        init_bias=bool(d["init_bias"]),
        pins=_unper_dtype(d["pins"]),
    )
    _check(case)
    return case


def _check(case: Case) -> None:
    """What the loader guarantees of every case it returns, and other modules rely on: an id
    safe as a file name, known dtypes, shapes that agree, sizes within the limits."""
    _need(id_problem(case.id) is None, "id")
    _need(bool(case.dtypes) and all(dt in D.DTYPES for dt in case.dtypes), "dtypes")
    dense = case.kind == "dense"
    _need(case.layout in (("weight", "kernel") if dense else ("",)), "layout")
    _need(len(case.batch) <= MAX_BATCH_DIMS and all(n >= 0 for n in case.batch), "batch")
    n_in, n_out = case.in_features, case.out_features
    _need((n_in >= 1 and n_out >= 1) if dense else (n_in == n_out == 0), "features")
    rows = math.prod(case.batch)
    _need(
        max(rows * max(n_in, 1), rows * max(n_out, 1), n_in * n_out) <= MAX_ARRAY_ELEMENTS, "size"
    )
    _need(rows * n_in * n_out <= MAX_MACS, "size")
    for name, src, shape in case.sources():
        if isinstance(src, Literal):
            _need(src.shape == shape, f"{name} shape")
    if not dense or case.init is not None:
        _need(case.param is None and case.bias is None, "params")
    elif case.param is None:
        _need(False, "params")
    _need(case.init is None or dense, "init")
    for op, per in case.expected.items():
        _need(op in case.ops, "expected")
        for dt, lit in per.items():
            _need(dt == "*" or dt in case.dtypes, "expected dtype")
            _need(lit.shape == case.output_shape, "expected shape")
    pin_shapes = {"weight": (n_out, n_in), "kernel": (n_in, n_out), "bias": (n_out,)}
    _need(not case.pins or case.init is not None, "pins")
    for name, per in case.pins.items():
        _need(name in PARAM_PINS, "pins")
        for lit in per.values():
            _need(lit.shape == pin_shapes[name], "pin shape")


def error_from_json(v: Any) -> CaseError:
    _need(isinstance(v, list) and len(v) == 4, "case error")
    file, line, field, message = v
    _need(line is None or (isinstance(line, int) and not isinstance(line, bool)), "line")
    return CaseError(_str(file, "file"), line, _str(field, "field"), _str(message, "message"))


def field_names() -> tuple[str, ...]:
    """The fields :class:`Case` has now (for the test that holds CASE_FIELDS to them)."""
    return tuple(f.name for f in dataclasses.fields(Case))
