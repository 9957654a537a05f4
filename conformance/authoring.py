"""``fill``: expected values from the exact reference, written into an existing case file.

:func:`fill_file` edits a case file in place with ruamel.yaml's round-trip mode
(:func:`conformance.yamlio.round_trip`): comments, key order, flow/block style and the original
text of every number are kept; only ``expected`` values are added (or, with ``force``,
replaced), each with the digits that read back as exactly the reference value in its dtype
(:func:`conformance.casefile.dtype_text`).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from . import dtypes as D
from .casefile import texts
from .cases import Case, for_dtype
from .checks import expected_errors
from .errors import CaseError
from .literals import Literal
from .loader import load_case
from .reference import reference
from .yamlio import number, round_trip

# Expected values are inlined only for outputs up to this many values per op and dtype; larger
# cases are checked against the exact reference at run time instead (a 64x1024 output would be
# 65536 numbers per dtype in the file, unreadable and slow to review).
MAX_FILL_VALUES = 512


# --------------------------------------------------------------------------------------------
# New values as round-trip nodes


def to_yaml_values(nested: Any, top: bool = True) -> Any:
    """Nested text lists -> ruamel nodes: a multi-row output is a block list of flow rows
    (``- [a, b]``, one per line); everything else is one flow list."""
    if not isinstance(nested, list):
        return number(nested)
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
    y = round_trip(width=max(100, longest + 8))
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
            lit = for_dtype(have, dtype)
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
        lit = for_dtype(check.expected[op], dtype)
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
