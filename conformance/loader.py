"""Discovering, loading and validating case files.

A case is checked in three steps: the JSON Schema (``conformance.schema``) for structure, then the
checks a schema cannot express (array shapes against each other and against ``shapes:``, size
limits, parseable literals, ids, distribution parameters, dtypes of expected values), then — in
:func:`load_cases`, which both ``validate`` and ``run`` use — the checks that need the exact
reference (:func:`conformance.checks.case_problems`). Every problem becomes a :class:`CaseError`
pointing at ``FILE:LINE: field``; a broken file never stops the other files from loading.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from . import casecache
from . import dtypes as D
from .cases import PARAM_PINS, Case, Source
from .checks import case_problems
from .distributions import ParameterError, generated
from .errors import CaseError
from .ids import id_problem
from .limits import MAX_ARRAY_ELEMENTS, MAX_BATCH_DIMS, MAX_MACS
from .literals import Literal, parse_literal
from .registry import default_init_layouts
from .schema import CASE_SCHEMA
from .yamlio import decode, line_of, loads, read_bytes
from .yamlio import load as load_yaml

_VALIDATOR = Draft202012Validator(CASE_SCHEMA)


def _resolved(path: Path) -> Path:
    """``path.resolve()``, or the absolute path where it cannot be resolved (a symlink loop
    must become "no such file", not a crash)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def discover(paths: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """Case files under ``paths`` as (file, root); ids are paths relative to the root.

    The root is the nearest enclosing folder named ``cases`` (so an id does not depend on
    whether a case was run alone, by folder or with the whole suite), else the folder given
    (or the file's folder)."""
    found: list[tuple[Path, Path]] = []
    for p in paths:
        path = Path(p)
        start = _resolved(path) if path.is_dir() else _resolved(path).parent
        fallback = path if path.is_dir() else path.parent
        root = next((a for a in (start, *start.parents) if a.name == "cases"), fallback)
        if path.is_dir():
            for f in sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml")):
                found.append((f, root))
        else:
            found.append((path, root))
    return found


def default_id(file: Path, root: Path) -> str:
    try:
        rel = _resolved(file).relative_to(_resolved(root))
    except ValueError:
        rel = Path(file.name)
    return rel.with_suffix("").as_posix()


def display_path(file: Path) -> str:
    try:
        return _resolved(file).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(file)


def load_cases(
    paths: Iterable[str | Path],
    init_layouts: Mapping[str, str] | None = None,
    check: bool = True,
) -> tuple[list[Case], list[CaseError]]:
    """Load every case under ``paths``; bad files become errors and do not stop the rest.
    ``init_layouts``: the ``params.init`` kinds the run's adapters draw, and their layouts
    (default: those of the built-in and installed adapters).

    With ``check`` (``validate`` and ``run``), a case with any of
    :func:`~conformance.checks.case_problems` is an error too: whatever validate rejects, run
    never runs."""
    cases: list[Case] = []
    errors: list[CaseError] = []
    seen: dict[str, str] = {}
    layouts = default_init_layouts() if init_layouts is None else init_layouts
    store = casecache.current()
    for file, root in discover(paths):
        disp = display_path(file)
        if not file.exists():
            errors.append(CaseError(disp, None, "", "no such file"))
            continue
        try:
            data = read_bytes(file, disp)
        except CaseError as exc:
            errors.append(exc)
            continue
        got = _cached_load(store, data, file, root, disp, layouts, check)
        if got.error is not None:
            errors.append(got.error)
            continue
        case = got.case
        assert case is not None
        problems = got.problems if check else None
        if problems:
            errors.extend(problems)
            continue
        if case.id in seen:
            errors.append(
                CaseError(
                    disp,
                    case.line("id") or 1,
                    "id",
                    f"duplicate id {case.id!r} (also in {seen[case.id]})",
                )
            )
            continue
        seen[case.id] = disp
        cases.append(case)
    return cases, errors


def _cached_load(
    store: casecache.CaseCache | None,
    data: bytes,
    file: Path,
    root: Path,
    disp: str,
    layouts: Mapping[str, str],
    check: bool,
) -> casecache.Entry:
    """The file's case or error, and with ``check`` its problems: from the case cache when it
    has them (:mod:`conformance.casecache`), else loaded and checked (and stored)."""
    key = store.key(data, disp, default_id(file, root), layouts) if store is not None else ""
    hit = store.load(key) if store is not None else None
    if hit is not None and (hit.error is not None or not check or hit.problems is not None):
        return hit
    if hit is not None and hit.case is not None:
        entry = hit  # loaded before without the checks
    else:
        try:
            entry = casecache.Entry(load_case(file, root, disp, layouts, data), None, None)
        except CaseError as exc:
            entry = casecache.Entry(None, exc, None)
    if check and entry.case is not None:
        entry.problems = case_problems(entry.case)
    if store is not None:
        store.store(key, entry)
    return entry


def _path_str(path: Sequence[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def load_case(
    file: Path,
    root: Path,
    disp: str | None = None,
    init_layouts: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> Case:
    """One case file, checked by the schema and the loader (not against the reference);
    ``data``: its bytes, when they have been read already."""
    disp = disp or display_path(file)
    doc = load_yaml(file, disp) if data is None else loads(decode(data, disp), disp)
    if doc is None:
        raise CaseError(disp, 1, "", "empty case file")
    if not isinstance(doc, dict):
        raise CaseError(
            disp, 1, "", "a case file must be a mapping of keys (id, inputs, params, ...)"
        )
    err = best_match(_VALIDATOR.iter_errors(doc))
    if err is not None:
        raise _schema_error(err, doc, disp)
    return _build(doc, file, root, disp, init_layouts)


def _schema_error(err: Any, doc: Any, disp: str) -> CaseError:
    """One located line for the schema's most relevant error."""
    if err.validator in ("anyOf", "oneOf") and isinstance(err.instance, dict):
        # a mapping where a number, a list or a mapping may go ({distribution: ...}, per-dtype
        # values): say what is wrong with it as a mapping, not "matches nothing"
        inner = _mapping_branch_error(err)
        if inner is not None:
            err = inner
    path = tuple(err.absolute_path)
    line = line_of(doc, path, 1)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = list(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        if extra:
            line = line_of(doc, (*path, extra[0]), line)
            shown = ", ".join(repr(str(k)[:40]) for k in extra[:3])
            more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
            noun = "unknown keys" if len(extra) > 1 else "unknown key"
            message = f"{noun} {shown}{more} (allowed: {', '.join(allowed)})"
            return CaseError(disp, line, _path_str(path) or "(top level)", message)
    instance = err.instance
    if path == ("id",) and isinstance(instance, str) and id_problem(instance):
        message = str(id_problem(instance))
    elif err.validator in ("anyOf", "oneOf"):
        message = "expected a number, a nested list of numbers, or {distribution: ...}"
    elif err.validator == "pattern":
        message = (
            f"{_short(instance)} is not a number (a string must hold a decimal or a hex float "
            "such as '0x1.8p-2')"
        )
    elif err.validator in ("maxItems", "maxLength") and hasattr(instance, "__len__"):
        message = f"{len(instance)} items; at most {err.validator_value}"
    else:
        message = str(err.message)
        shown = repr(instance)
        if len(shown) > 60 and message.startswith(shown):
            message = _short(instance) + message[len(shown) :]
    return CaseError(disp, line, _path_str(path) or "(top level)", message)


def _mapping_branch_error(err: Any) -> Any:
    """The most relevant error, under an anyOf/oneOf over one mapping, that is not just "not
    of type X" (the branch written for mappings)."""
    while err.parent is not None and err.parent.instance is err.instance:
        err = err.parent
    found, stack = [], [err]
    while stack:
        for sub in stack.pop().context or ():
            if sub.validator in ("anyOf", "oneOf"):
                stack.append(sub)
            elif sub.validator not in ("type", "$ref"):
                found.append(sub)
    return best_match(found) if found else None


def _short(value: Any, limit: int = 60) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


class _Ctx:
    def __init__(self, doc: Any, disp: str) -> None:
        self.doc = doc
        self.disp = disp
        self.dtypes = tuple(str(d) for d in doc.get("dtypes") or ("float32",))

    def err(self, path: tuple[Any, ...], message: str) -> CaseError:
        return CaseError(self.disp, line_of(self.doc, path, 1), _path_str(path), message)

    def source(self, path: tuple[Any, ...]) -> Source:
        node = self.doc
        for k in path:
            node = node[k]
        if isinstance(node, dict):
            try:
                return generated(node, [D.get(d) for d in self.dtypes])
            except ParameterError as exc:
                where = (*path, exc.key) if exc.key in node else path
                raise self.err(where, str(exc)) from None
        try:
            return parse_literal(node)
        except ValueError as exc:
            raise self.err(path, str(exc)) from None


def _build(
    doc: Any, file: Path, root: Path, disp: str, init_layouts: Mapping[str, str] | None
) -> Case:
    ctx = _Ctx(doc, disp)
    inputs = doc["inputs"]
    params = doc.get("params") or {}
    shapes = doc.get("shapes") or {}
    kind = "dense" if "x" in inputs else "sigmoid"
    in_key = "x" if kind == "dense" else "z"
    inp = ctx.source(("inputs", in_key))

    layout = ""
    param: Source | None = None
    bias: Source | None = None
    init = params.get("init")
    init_bias = True
    pin_param: Source | None = None
    pin_layout, pin_bias = "", None
    if kind == "sigmoid":
        if params:
            raise ctx.err(("params",), "a sigmoid-only case (inputs.z) takes no params")
    elif init is not None:
        for key in ("weight", "kernel"):
            if key in params:
                raise ctx.err(
                    ("params", key),
                    f"params.init draws the parameters; pin them under expected.{key} instead",
                )
        if params.get("bias") is not None:
            raise ctx.err(
                ("params", "bias"),
                "params.init draws the bias too; write bias: null for a layer without bias",
            )
        init_bias = "bias" not in params
        layouts = default_init_layouts() if init_layouts is None else init_layouts
        if init not in layouts:
            raise ctx.err(
                ("params", "init"),
                f"unknown init {init!r}; the adapters draw: {', '.join(sorted(layouts))}",
            )
        layout = layouts[init]
        pin_layout, pin_param, pin_bias = _pin_shapes(ctx, doc.get("expected") or {}, init_bias)
    else:
        has_w, has_k = "weight" in params, "kernel" in params
        if has_w == has_k:
            raise ctx.err(("params",), "give exactly one of weight (out, in) or kernel (in, out)")
        layout = "weight" if has_w else "kernel"
        param = ctx.source(("params", layout))
        if params.get("bias") is not None:
            bias = ctx.source(("params", "bias"))

    if init is not None:
        batch, n_in, n_out = _shapes(
            ctx, kind, shapes, inp, pin_layout or layout, pin_param, pin_bias, where="expected"
        )
    else:
        batch, n_in, n_out = _shapes(ctx, kind, shapes, inp, layout, param, bias)
    _check_sizes(ctx, kind, batch, n_in, n_out)
    case_id = _case_id(ctx, file, root)
    expected = _expected(ctx, doc.get("expected") or {}, kind, batch, n_out, init)
    pins = _pins(ctx, doc.get("expected") or {}, n_in, n_out) if init is not None else {}
    tolerance = _tolerance(ctx, doc.get("tolerance") or {})
    lines = {k: line_of(doc, (k,), 1) or 1 for k in doc}
    return Case(
        id=case_id,
        file=disp,
        description=str(doc.get("description", "")),
        tags=tuple(str(t) for t in doc.get("tags") or ()),
        dtypes=ctx.dtypes,
        seed=int(doc.get("seed", 0)),
        kind=kind,
        batch=batch,
        in_features=n_in,
        out_features=n_out,
        input=inp,
        layout=layout,
        param=param,
        bias=bias,
        init=init,
        expected=expected,
        tolerance=tolerance,
        lines=lines,
        init_bias=init_bias,
        pins=pins,
    )


def _case_id(ctx: _Ctx, file: Path, root: Path) -> str:
    """The id (given, or from the file's path under the cases root), checked: ids become file
    names and appear in every report."""
    if "id" in ctx.doc:
        case_id = str(ctx.doc["id"])
        problem = id_problem(case_id)
        if problem:
            raise ctx.err(("id",), problem)
        return case_id
    case_id = default_id(file, root)
    problem = id_problem(case_id)
    if problem:
        raise CaseError(ctx.disp, 1, "id", f"no id: and the file name gives none: {problem}")
    return case_id


def _pin_literals(ctx: _Ctx, node: Any, name: str) -> list[tuple[str, tuple[Any, ...], Literal]]:
    """(dtype or "*", path, values) for each entry of ``expected.<name>``."""
    spec = node[name]
    items = spec.items() if isinstance(spec, dict) else [("*", spec)]
    out = []
    for dtype, _values in items:
        path = ("expected", name) if dtype == "*" else ("expected", name, dtype)
        lit = ctx.source(path)
        if not isinstance(lit, Literal):
            raise ctx.err(path, "pinned parameters must be explicit values")
        out.append((str(dtype), path, lit))
    return out


def _pin_shapes(
    ctx: _Ctx, node: Any, init_bias: bool
) -> tuple[str, Literal | None, Literal | None]:
    """The first pinned weight/kernel and bias, so their shapes can claim in/out features."""
    if "weight" in node and "kernel" in node:
        raise ctx.err(("expected", "kernel"), "pin the parameter once: weight (out, in) or kernel")
    if "bias" in node and not init_bias:
        raise ctx.err(("expected", "bias"), "params.bias is null: this layer has no bias to pin")
    layout, param, bias = "", None, None
    for name in PARAM_PINS:
        if name in node:
            lits = _pin_literals(ctx, node, name)
            first = lits[0][2] if lits else None
            if name == "bias":
                bias = first
            else:
                layout, param = name, first
    return layout, param, bias


def _pins(ctx: _Ctx, node: Any, n_in: int, n_out: int) -> dict[str, dict[str, Literal]]:
    shapes = {"weight": (n_out, n_in), "kernel": (n_in, n_out), "bias": (n_out,)}
    out: dict[str, dict[str, Literal]] = {}
    for name in PARAM_PINS:
        if name not in node:
            continue
        per: dict[str, Literal] = {}
        for dtype, path, lit in _pin_literals(ctx, node, name):
            if lit.shape != shapes[name]:
                raise ctx.err(
                    path, f"shape {_show(lit.shape)} is not the {name} shape {_show(shapes[name])}"
                )
            per[dtype] = lit
        out[name] = per
    return out


def _shapes(
    ctx: _Ctx,
    kind: str,
    shapes: Any,
    inp: Source,
    layout: str,
    param: Source | None,
    bias: Source | None,
    where: str = "params",
) -> tuple[tuple[int, ...], int, int]:
    """Resolve batch/in/out from ``shapes:`` and explicit arrays, checking they agree
    (``where``: "params", or "expected" for an init case's pinned parameters)."""
    known: dict[str, tuple[int | tuple[int, ...], tuple[Any, ...]]] = {}

    def claim(name: str, value: int | tuple[int, ...], where: tuple[Any, ...]) -> None:
        if name in known and known[name][0] != value:
            prev, prev_where = known[name]
            raise ctx.err(
                where,
                f"{name} is {_show(value)} here but {_show(prev)} from {_path_str(prev_where)}",
            )
        known.setdefault(name, (value, where))

    if "batch" in shapes:
        claim("batch", tuple(int(b) for b in shapes["batch"]), ("shapes", "batch"))
    for key in ("in_features", "out_features"):
        if key in shapes:
            claim(key, int(shapes[key]), ("shapes", key))
    in_key = "x" if kind == "dense" else "z"
    if isinstance(inp, Literal):
        s = inp.shape
        if kind == "dense":
            if len(s) < 1:
                raise ctx.err(("inputs", "x"), "x needs at least one dimension (in_features)")
            claim("batch", s[:-1], ("inputs", "x"))
            claim("in_features", s[-1], ("inputs", "x"))
        else:
            claim("batch", s, ("inputs", "z"))
    if kind == "dense" and isinstance(param, Literal):
        s = param.shape
        if len(s) != 2:
            raise ctx.err((where, layout), f"{layout} must be 2-D, got shape {_show(s)}")
        out_, in_ = (s[0], s[1]) if layout == "weight" else (s[1], s[0])
        claim("in_features", in_, (where, layout))
        claim("out_features", out_, (where, layout))
    if kind == "dense" and isinstance(bias, Literal):
        if len(bias.shape) != 1:
            raise ctx.err(
                (where, "bias"), f"bias must be 1-D (out_features,), got {_show(bias.shape)}"
            )
        claim("out_features", bias.shape[0], (where, "bias"))
    if "batch" not in known:
        raise ctx.err(("inputs", in_key), "shapes.batch is needed to generate this array")
    batch, batch_where = known["batch"]
    assert isinstance(batch, tuple)
    if len(batch) > MAX_BATCH_DIMS:
        raise ctx.err(
            batch_where,
            f"{len(batch)} batch dimensions; at most {MAX_BATCH_DIMS} (README 'Size limits')",
        )
    if kind == "sigmoid":
        if batch == ():
            raise ctx.err(
                batch_where, "z needs at least one dimension (write [0.5], not 0.5; batch: [1])"
            )
        return batch, 0, 0
    for key in ("in_features", "out_features"):
        if key not in known:
            raise ctx.err(("shapes",), f"shapes.{key} is needed to generate the parameters")
    n_in, n_out = known["in_features"][0], known["out_features"][0]
    assert isinstance(n_in, int) and isinstance(n_out, int)
    if n_in < 1 or n_out < 1:
        raise ctx.err(("shapes",), "in_features and out_features must be at least 1")
    return batch, n_in, n_out


def _show(v: Any) -> str:
    return f"[{', '.join(str(i) for i in v)}]" if isinstance(v, tuple) else str(v)


def _check_sizes(ctx: _Ctx, kind: str, batch: tuple[int, ...], n_in: int, n_out: int) -> None:
    rows = math.prod(batch)
    sizes = {"inputs": rows * max(n_in, 1), "outputs": rows * max(n_out, 1)}
    if kind == "dense":
        sizes["params"] = n_in * n_out
    for name, n in sizes.items():
        if n > MAX_ARRAY_ELEMENTS:
            raise ctx.err(
                ("shapes",),
                f"{name} would hold {n} values; the limit is {MAX_ARRAY_ELEMENTS} per array",
            )
    macs = rows * n_in * n_out
    if kind == "dense" and macs > MAX_MACS:
        raise ctx.err(("shapes",), f"{macs} multiply-adds exceed the limit of {MAX_MACS} per case")


def _expected(
    ctx: _Ctx,
    node: Any,
    kind: str,
    batch: tuple[int, ...],
    n_out: int,
    init: str | None = None,
) -> dict[str, dict[str, Literal]]:
    out: dict[str, dict[str, Literal]] = {}
    shape = (*batch, n_out) if kind == "dense" else batch
    for op, spec in node.items():
        if op in PARAM_PINS and init is not None:
            continue  # parameter pins of an init case: see _pins
        if op in PARAM_PINS:
            raise ctx.err(
                ("expected", op), "parameter pins need params.init (framework-native init)"
            )
        if kind == "sigmoid" and op == "affine":
            raise ctx.err(("expected", op), "a sigmoid-only case has no affine output")
        per: dict[str, Literal] = {}
        items = spec.items() if isinstance(spec, dict) else [("*", spec)]
        for dtype, _values in items:
            path = ("expected", op) if dtype == "*" else ("expected", op, dtype)
            _check_runs(ctx, path, dtype)
            lit = ctx.source(path)
            if not isinstance(lit, Literal):
                raise ctx.err(path, "expected values must be explicit")
            if lit.shape != shape:
                raise ctx.err(
                    path, f"shape {_show(lit.shape)} does not match the output shape {_show(shape)}"
                )
            per[str(dtype)] = lit
        out[str(op)] = per
    return out


def _check_runs(ctx: _Ctx, path: tuple[Any, ...], dtype: str) -> None:
    """A per-dtype entry for a dtype the case does not run would never be used: say so."""
    if dtype != "*" and dtype not in ctx.dtypes:
        raise ctx.err(
            path, f"{dtype} is not among the case's dtypes ({', '.join(ctx.dtypes)}): never used"
        )


def _tolerance(ctx: _Ctx, node: Any) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for op, spec in node.items():
        per: dict[str, dict[str, Any]] = {}
        for key, value in spec.items():
            if isinstance(value, dict):
                _check_runs(ctx, ("tolerance", op, key), key)
                per[str(key)] = {
                    str(k): _tolerance_value(ctx, ("tolerance", op, key, k), v)
                    for k, v in value.items()
                }
            else:
                per.setdefault("*", {})[str(key)] = _tolerance_value(
                    ctx, ("tolerance", op, key), value
                )
        out[str(op)] = per
    return out


def _tolerance_value(ctx: _Ctx, path: tuple[Any, ...], value: Any) -> float | bool | str:
    """Numbers as finite floats >= 0; ``signed_zeros`` (bool) and ``accumulate`` (str) as they
    are (the schema checked their values)."""
    if isinstance(value, bool | str):
        return value
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise ctx.err(path, f"{number} is not a tolerance: use a finite number >= 0")
    return number
