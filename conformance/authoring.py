"""Authoring helpers: decimal text that means exactly one dtype value, and ``fill``.

A decimal in a case file that is not exactly a value of the dtype is read as printed output:
it stands for every value within half a unit of its last digit (``Literal.contains``). So
the plain shortest round-trip repr is not always right for an expected value: ``0.1`` rounds to
the float64 nearest 0.1, but it is also read as "0.1 ± 0.05". :func:`dtype_text` writes the
shortest decimal whose whole ±half-unit interval rounds to the one dtype value (usually the
shortest repr or one digit more), or the exact decimal when that is shorter; every string is
checked by parsing it back through :func:`conformance.literals.parse_literal`.

:func:`fill_file` edits a case file in place with ruamel.yaml's round-trip mode: comments, key
order, flow/block style and the original text of every number are kept; only ``expected``
values are added (or, with ``force``, replaced).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter

from . import dtypes as D
from .cases import Case
from .checks import expected_errors
from .errors import CaseError
from .literals import Literal, parse_literal
from .loader import load_case
from .reference import reference
from .yamlio import Num, _Constructor

# Expected values are inlined only for outputs up to this many values per op and dtype; larger
# cases are checked against the exact reference at run time instead (a 64x1024 output would be
# 65536 numbers per dtype in the file, unreadable and slow to review).
MAX_FILL_VALUES = 512


# --------------------------------------------------------------------------------------------
# Decimal text for dtype values


def _neighbours_half(a: float, dt: D.DType) -> tuple[Fraction, Fraction]:
    """Half the gap below and above the non-negative dtype value ``a``."""
    if a == 0:
        s = Fraction(dt.min_subnormal)
        return s / 2, s / 2
    up = Fraction(float(D.ulp_of(np.array([a]), dt)[0]))
    m, e = math.frexp(a)
    down = up / 2 if (m == 0.5 and e - 1 > dt.emin) else up
    return down / 2, up / 2


def _inside(text: str, v: float, dt: D.DType) -> bool:
    """True if every real within half a unit of ``text``'s last digit rounds to ``v``."""
    dec = Decimal(text)
    exact = Fraction(dec)
    if exact == Fraction(v):
        return True
    exp = dec.as_tuple().exponent
    assert isinstance(exp, int)
    half = Fraction(1, 2) * Fraction(10) ** exp
    down, up = _neighbours_half(abs(v), dt)
    if v < 0:
        down, up = up, down
    return Fraction(v) - down < exact - half and exact + half < Fraction(v) + up


def _plain(dec: Decimal) -> str:
    """Text with the same digits (so the same last-digit unit): positional when the last digit
    is at or right of the units place and the magnitude is moderate, else scientific."""
    sign, digits, exp = dec.as_tuple()
    assert isinstance(exp, int)
    adjusted = len(digits) + exp - 1
    if exp <= 0 and -4 <= adjusted < 16:
        text = format(dec, "f")
        return text if "." in text else text + ".0"
    mant = "".join(str(d) for d in digits)
    body = mant[0] + ("." + mant[1:] if len(mant) > 1 else "")
    return ("-" if sign else "") + f"{body}e{adjusted:+d}".replace("e+", "e")


def dtype_text(value: float, dtype: str) -> str:
    """The shortest decimal text that a case file reads as exactly ``value`` in ``dtype``."""
    dt = D.get(dtype)
    v = float(value)
    if math.isnan(v):
        return ".nan"
    if math.isinf(v):
        return ".inf" if v > 0 else "-.inf"
    if v == 0:
        return "-0.0" if math.copysign(1.0, v) < 0 else "0.0"
    exact = Decimal(v)  # a binary float has a finite decimal expansion
    for digits in range(1, 800):
        text = f"{v:.{digits - 1}e}"
        dec = Decimal(text)
        if Fraction(dec) == Fraction(v):
            dec = dec.normalize()
            out = _plain(dec)
            break
        if _inside(text, v, dt):
            out = _plain(dec)
            break
    else:  # pragma: no cover - the exact expansion always ends the loop
        out = _plain(exact)
    _verify(out, v, dt)
    return out


def _verify(text: str, v: float, dt: D.DType) -> None:
    lit = parse_literal(Num(float(text), text))
    got = float(lit.rounded(dt))
    if got != v or math.copysign(1.0, got) != math.copysign(1.0, v):
        raise AssertionError(f"{text!r} reads as {got!r}, not {v!r}, in {dt.name}")


def texts(values: np.ndarray, dtype: str) -> Any:
    """Nested lists of :func:`dtype_text` strings with the shape of ``values``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        return dtype_text(float(arr), dtype)
    return [texts(row, dtype) for row in arr]


# --------------------------------------------------------------------------------------------
# Round-trip YAML


class _Representer(RoundTripRepresenter):
    pass


def _represent_num(self: _Representer, data: Num) -> Any:
    return self.represent_scalar("tag:yaml.org,2002:float", data.text)


_Representer.add_representer(Num, _represent_num)


def rt_yaml(width: int = 100) -> YAML:
    """ruamel.yaml round-trip instance that writes every number back as it was written."""
    y = YAML(typ="rt")
    y.Constructor = _Constructor
    y.Representer = _Representer
    y.preserve_quotes = True
    y.width = width
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _num(text: str) -> Num:
    specials = {".nan": math.nan, ".inf": math.inf, "-.inf": -math.inf}
    return Num(specials[text] if text in specials else float(text), text)


def to_yaml_values(nested: Any, top: bool = True) -> Any:
    """Nested text lists -> ruamel nodes: a multi-row output is a block list of flow rows
    (``- [a, b]``, one per line); everything else is one flow list."""
    if not isinstance(nested, list):
        return _num(nested)
    seq = CommentedSeq(to_yaml_values(n, top=False) for n in nested)
    if top and len(nested) > 1 and isinstance(nested[0], list):
        seq.fa.set_block_style()
    else:
        seq.fa.set_flow_style()
    return seq


# --------------------------------------------------------------------------------------------
# fill


@dataclass
class FillResult:
    file: str
    added: list[str] = field(default_factory=list)  # "expected.affine.float32"
    disagree: list[str] = field(default_factory=list)  # human-readable, with ULP counts
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    off: list[CaseError] = field(default_factory=list)  # beyond tolerance (validate errors)
    changed: bool = False


def reference_outputs(case: Case, dtype: str) -> dict[str, np.ndarray]:
    arr = case.arrays(dtype)
    ref = reference(dtype, x=arr.x, weight=arr.weight, bias=arr.bias, z=arr.z)
    return {op: ref.of(op) for op in case.ops}


def _disagreement(lit: Literal, ref: np.ndarray, dt: D.DType) -> tuple[int, float, int] | None:
    """(count, max ULP, flat index) of pinned values that do not admit the reference (see
    ``Literal.contains``); None if all do."""
    got = lit.rounded(dt)
    ulp = D.ulp_distance(got, ref, dt)
    bad = ~lit.contains(ref, dt)
    if not bad.any():
        return None
    score = np.where(bad, ulp, -1.0)
    return int(bad.sum()), float(ulp[bad].max()), int(np.argmax(score))


def fill_file(path: Path, root: Path, *, force: bool = False, write: bool = True) -> FillResult:
    """Add missing expected values to one case file (see module docstring)."""
    disp = str(path)
    case = load_case(path, root, disp)
    text = path.read_text(encoding="utf-8")
    longest = max((len(line) for line in text.splitlines()), default=0)
    y = rt_yaml(width=max(100, longest + 8))
    doc = y.load(text)
    result = FillResult(disp)
    size = math.prod(case.output_shape)
    if size == 0:
        result.skipped.append("empty output: there are no values to pin")
        return result
    if size > MAX_FILL_VALUES:
        result.skipped.append(
            f"output has {size} values per op and dtype (> {MAX_FILL_VALUES}); not inlined, "
            "the exact reference checks it at run time"
        )
        return result

    if case.init is not None:
        result.skipped.append(
            f"params.init: {case.init} draws the parameters at run time; pin what it drew "
            "under expected.weight/kernel/bias by hand (docs/native.md)"
        )
        return result
    refs = {dt: reference_outputs(case, dt) for dt in case.dtypes}
    result.off = expected_errors(case)
    expected = doc.get("expected")
    new_ops: dict[str, dict[str, Any]] = {}
    for op in case.ops:
        have = case.expected.get(op, {})
        node = expected.get(op) if isinstance(expected, dict) else None
        per_dtype: dict[str, Any] = {}
        rewrite_all = False
        for dtype in case.dtypes:
            dt = D.get(dtype)
            ref = refs[dtype][op]
            lit = have.get(dtype) or have.get("*")
            key = f"expected.{op}.{dtype}"
            if lit is None:
                result.added.append(key)
                per_dtype[dtype] = texts(ref, dtype)
                continue
            bad = _disagreement(lit, ref, dt)
            if bad is None:
                per_dtype[dtype] = None  # keep as written
                continue
            n, worst, flat = bad
            idx = np.unravel_index(flat, ref.shape) if ref.ndim else ()
            where = "".join(f"[{i}]" for i in idx)
            result.disagree.append(
                f"{key}{where}: {float(lit.rounded(dt).flat[flat])!r} is {worst:.0f} ulp from the "
                f"exact reference {float(ref.flat[flat])!r} ({n} of {ref.size} values disagree)"
            )
            if force:
                result.replaced.append(key)
                per_dtype[dtype] = texts(ref, dtype)
                if dtype not in have:
                    rewrite_all = True  # a shared list is wrong for this dtype: split it
        if all(v is None for v in per_dtype.values()):
            continue
        if isinstance(node, CommentedMap):
            node.fa.set_block_style()  # one dtype per line once there are several
            for dtype, vals in per_dtype.items():
                if vals is None:
                    continue
                if dtype in node:
                    node[dtype] = to_yaml_values(vals)
                else:
                    node.insert(
                        _dtype_position(node, dtype, case.dtypes), dtype, to_yaml_values(vals)
                    )
            continue
        if node is not None and not rewrite_all:
            continue  # shared list kept; nothing to add for a dtype it covers
        if node is not None:  # split the shared list into per-dtype lists
            for dtype in case.dtypes:
                if per_dtype[dtype] is None:
                    per_dtype[dtype] = texts(refs[dtype][op], dtype)
        new_ops[op] = per_dtype

    if new_ops:
        if not isinstance(expected, dict):
            expected = CommentedMap()
            _insert_after(doc, "expected", expected, ("params", "inputs"))
        for op in case.ops:
            if op in new_ops:
                m = CommentedMap()
                for dtype, vals in new_ops[op].items():
                    m[dtype] = to_yaml_values(vals)
                if op in expected:
                    expected[op] = m
                else:
                    expected.insert(_op_position(expected, op), op, m)

    result.changed = bool(result.added) or (force and bool(result.replaced))
    if not result.changed or not write:
        return result
    out = io.StringIO()
    y.dump(doc, out)
    new_text = out.getvalue()
    path.write_text(new_text, encoding="utf-8")
    # The file must still load, and every value written must read back as the reference.
    check = load_case(path, root, disp)
    for key in result.added + result.replaced:
        _, op, dtype = key.split(".")
        lit = check.expected[op].get(dtype) or check.expected[op].get("*")
        if lit is None or _disagreement(lit, refs[dtype][op], D.get(dtype)) is not None:
            raise CaseError(disp, None, key, "fill wrote a value that does not read back")
    return result


def _dtype_position(node: CommentedMap, dtype: str, order: tuple[str, ...]) -> int:
    keys = list(node)
    for i, k in enumerate(keys):
        if k in order and order.index(k) > order.index(dtype):
            return i
    return len(keys)


def _op_position(expected: CommentedMap, op: str) -> int:
    order = ["affine", "sigmoid"]
    keys = list(expected)
    for i, k in enumerate(keys):
        if k in order and order.index(k) > order.index(op):
            return i
    return len(keys)


def _insert_after(doc: CommentedMap, key: str, value: Any, after: tuple[str, ...]) -> None:
    keys = list(doc)
    for a in after:
        if a in keys:
            pos = keys.index(a) + 1
            doc.insert(pos, key, value)
            return
    doc[key] = value
