"""Loading and validating case files, and turning a case into exact per-dtype arrays.

A case is checked in two steps: the JSON Schema (``conformance.schema``) for structure, then the
checks a schema cannot express (array shapes against each other and against ``shapes:``, size
limits, parseable literals). Every problem becomes a :class:`CaseError` pointing at
``FILE:LINE: field``; a broken file never stops the other files from loading.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from . import dtypes as D
from .errors import CaseError
from .schema import CASE_SCHEMA
from .yamlio import Num, line_of
from .yamlio import load as load_yaml

# Size limits, checked before anything is allocated (README "Size limits"). They bound the
# exact reference too, whose cost is one error-free product per multiply-accumulate.
MAX_ARRAY_ELEMENTS = 1 << 24  # 16.7 M values per array
MAX_MACS = 1 << 28  # batch * in_features * out_features, 268 M

BUNDLED_CASES = Path(__file__).resolve().parent.parent / "cases"

# Framework-native seeded init (``params: {init: ...}``, docs/native.md): the parameter layout
# each initialiser draws in, and the framework (adapter name) that owns it.
INIT_LAYOUT = {"torch": "weight", "keras": "kernel", "jax": "kernel"}
INIT_OWNER = {"torch": "torch", "keras": "tensorflow", "jax": "jax"}
PARAM_PINS = ("weight", "kernel", "bias")

_VALIDATOR = Draft202012Validator(CASE_SCHEMA)


@dataclass(frozen=True)
class Literal:
    """Explicit values: ``hi`` = nearest float64, ``lo`` = sign of the rest, ``half_unit`` =
    half a unit in the last written digit (0 for exact forms such as hex floats)."""

    hi: np.ndarray
    lo: np.ndarray
    half_unit: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.hi.shape)

    def rounded(self, dt: D.DType) -> np.ndarray:
        """The values rounded once, straight from the literal, to ``dt`` (as float64)."""
        return D.round_pair(self.hi, self.lo, dt)

    def slack(self, dt: D.DType) -> np.ndarray:
        """0 where the literal is exactly a ``dt`` value, else half a unit of its last digit."""
        exact = (self.lo == 0) & ((self.rounded(dt) == self.hi) | np.isnan(self.hi))
        return np.where(exact, 0.0, self.half_unit)


@dataclass(frozen=True)
class Generated:
    distribution: str
    params: dict[str, float]

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        p = self.params
        if self.distribution == "uniform":
            return rng.uniform(p.get("low", -1.0), p.get("high", 1.0), size=shape)
        if self.distribution == "normal":
            return rng.normal(p.get("mean", 0.0), p.get("std", 1.0), size=shape)
        if self.distribution == "student_t":
            return rng.standard_t(p.get("df", 3.0), size=shape) * p.get("scale", 1.0)
        raise AssertionError(self.distribution)


Source = Literal | Generated


@dataclass(frozen=True)
class Arrays:
    """One case in one dtype: float64 arrays whose values are all representable in ``dtype``."""

    dtype: str
    x: np.ndarray | None  # (*batch, in) for dense cases
    z: np.ndarray | None  # sigmoid-only input
    weight: np.ndarray | None  # (out, in), PyTorch layout, always given
    bias: np.ndarray | None
    layout: str  # how the case wrote its parameter: "weight" or "kernel"


@dataclass
class Case:
    id: str
    file: str
    description: str
    tags: tuple[str, ...]
    dtypes: tuple[str, ...]
    seed: int
    kind: str  # "dense" or "sigmoid"
    batch: tuple[int, ...]
    in_features: int
    out_features: int
    input: Source
    layout: str  # "weight" | "kernel" | "" (sigmoid-only)
    param: Source | None
    bias: Source | None
    init: str | None
    expected: dict[str, dict[str, Literal]]  # op -> dtype ("*" for all) -> values
    tolerance: dict[str, dict[str, dict[str, float]]]  # op -> dtype ("*") -> {ulp,rtol,atol}
    lines: dict[str, int] = field(default_factory=dict)
    # params.init only: whether the layer has a bias, and pinned drawn parameters
    # (name "weight"/"kernel"/"bias" -> dtype ("*" for all) -> values, in the pin's own layout)
    init_bias: bool = True
    pins: dict[str, dict[str, Literal]] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.kind == "dense":
            return (*self.batch, self.in_features)
        return self.batch

    @property
    def output_shape(self) -> tuple[int, ...]:
        if self.kind == "dense":
            return (*self.batch, self.out_features)
        return self.batch

    @property
    def ops(self) -> tuple[str, ...]:
        return ("affine", "sigmoid") if self.kind == "dense" else ("sigmoid",)

    def line(self, key: str) -> int | None:
        return self.lines.get(key)

    @cached_property
    def _draws(self) -> dict[str, np.ndarray]:
        """Generated arrays, drawn once from ``default_rng(seed)`` in the order x/z, param, bias."""
        rng = np.random.default_rng(self.seed)
        out: dict[str, np.ndarray] = {}
        pshape = (
            (self.out_features, self.in_features)
            if self.layout == "weight"
            else (self.in_features, self.out_features)
        )
        for name, src, shape in (
            ("input", self.input, self.input_shape),
            ("param", self.param, pshape),
            ("bias", self.bias, (self.out_features,)),
        ):
            if isinstance(src, Generated):
                out[name] = np.asarray(src.draw(rng, shape), dtype=np.float64)
        return out

    def _values(self, name: str, src: Source | None, dt: D.DType) -> np.ndarray | None:
        if src is None:
            return None
        if isinstance(src, Literal):
            return src.rounded(dt)
        draw = self._draws[name]
        return D.round_pair(draw, np.zeros_like(draw), dt)

    def arrays(
        self, dtype: str, drawn: tuple[np.ndarray, np.ndarray | None] | None = None
    ) -> Arrays:
        """Exact arrays in ``dtype``; an init case needs ``drawn`` = (param in ``layout``, bias)
        as its owning framework drew them (values of ``dtype``)."""
        dt = D.get(dtype)
        inp = self._values("input", self.input, dt)
        assert inp is not None
        if self.kind == "sigmoid":
            return Arrays(dtype, None, inp, None, None, "")
        param: np.ndarray | None
        bias: np.ndarray | None
        if self.init is not None:
            if drawn is None:
                raise ValueError(f"{self.id}: init {self.init} parameters have not been drawn")
            param = np.asarray(drawn[0]).astype(np.float64)
            bias = None if drawn[1] is None else np.asarray(drawn[1]).astype(np.float64)
        else:
            param = self._values("param", self.param, dt)
            bias = self._values("bias", self.bias, dt)
        assert param is not None
        weight = param if self.layout == "weight" else param.T.copy()
        return Arrays(dtype, inp, None, weight, bias, self.layout)


# --------------------------------------------------------------------------------------------
# Literal parsing


def _parse_scalar(value: Any) -> tuple[float, float, float]:
    """(hi, lo-sign, half-unit) for one scalar; raises ValueError with a short reason."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, Num):
        text = value.text.replace("_", "").strip()
        low = text.lower().lstrip("+-")
        if low in (".nan", ".inf", "nan", "inf"):
            return float(value), 0.0, 0.0
        return _decimal(text)
    if isinstance(value, float):  # .nan / .inf come as plain floats
        if math.isfinite(value):
            return _decimal(repr(value))
        return value, 0.0, 0.0
    if isinstance(value, int):
        return _decimal(str(int(value)))
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        low = text.lower().lstrip("+-")
        if low.startswith("0x"):
            try:
                return float.fromhex(text), 0.0, 0.0
            except (ValueError, OverflowError):
                raise ValueError(f"not a hex float: {value!r}") from None
        if low in ("nan", "inf", "infinity"):
            return float(text), 0.0, 0.0
        return _decimal(text)
    raise ValueError(f"expected a number, got {type(value).__name__}")


def _decimal(text: str) -> tuple[float, float, float]:
    try:
        dec = Decimal(text)
        exact = Fraction(text)
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a number: {text!r}") from None
    try:
        hi = float(text)
    except OverflowError:
        hi = math.copysign(math.inf, float(dec))
    rem = exact - Fraction(hi) if math.isfinite(hi) else Fraction(0)
    lo = 0.0 if rem == 0 else math.copysign(1.0, rem)
    exp = dec.as_tuple().exponent
    half_unit = 0.5 * 10.0 ** int(exp) if isinstance(exp, int) else 0.0
    return hi, lo, half_unit


def parse_literal(node: Any) -> Literal:
    """Nested list (or scalar) -> :class:`Literal`; ValueError names the bad index."""
    flat: list[tuple[float, float, float]] = []

    def shape_of(n: Any, index: tuple[int, ...]) -> tuple[int, ...]:
        if isinstance(n, list):
            shapes = [shape_of(item, (*index, i)) for i, item in enumerate(n)]
            if any(s != shapes[0] for s in shapes[1:]):
                raise ValueError(f"ragged nested list at {_fmt_index(index)}")
            return (len(n), *(shapes[0] if shapes else ()))
        try:
            flat.append(_parse_scalar(n))
        except ValueError as exc:
            raise ValueError(f"{_fmt_index(index)}: {exc}") from None
        return ()

    shape = shape_of(node, ())
    arr = np.array(flat, dtype=np.float64).reshape((*shape, 3)) if flat else np.zeros((*shape, 3))
    return Literal(arr[..., 0].copy(), arr[..., 1].copy(), arr[..., 2].copy())


def _fmt_index(index: Sequence[int]) -> str:
    return "".join(f"[{i}]" for i in index) or "value"


# --------------------------------------------------------------------------------------------
# Discovery and loading


def discover(paths: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """Case files under ``paths`` as (file, root); ids are paths relative to the root.

    The root is the nearest enclosing folder named ``cases`` (so an id does not depend on
    whether a case was run alone, by folder or with the whole suite), else the folder given
    (or the file's folder)."""
    found: list[tuple[Path, Path]] = []
    for p in paths:
        path = Path(p)
        start = path.resolve() if path.is_dir() else path.resolve().parent
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
        rel = file.resolve().relative_to(root.resolve())
    except ValueError:
        rel = Path(file.name)
    return rel.with_suffix("").as_posix()


def display_path(file: Path) -> str:
    try:
        return file.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(file)


def load_cases(paths: Iterable[str | Path]) -> tuple[list[Case], list[CaseError]]:
    """Load every case under ``paths``; bad files become errors and do not stop the rest."""
    cases: list[Case] = []
    errors: list[CaseError] = []
    seen: dict[str, str] = {}
    for file, root in discover(paths):
        disp = display_path(file)
        if not file.exists():
            errors.append(CaseError(disp, None, "", "no such file"))
            continue
        try:
            case = load_case(file, root, disp)
        except CaseError as exc:
            errors.append(exc)
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


def _path_str(path: Sequence[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def load_case(file: Path, root: Path, disp: str | None = None) -> Case:
    disp = disp or display_path(file)
    doc = load_yaml(file, disp)
    if doc is None:
        raise CaseError(disp, 1, "", "empty case file")
    if not isinstance(doc, dict):
        raise CaseError(
            disp, 1, "", "a case file must be a mapping of keys (id, inputs, params, ...)"
        )
    err = best_match(_VALIDATOR.iter_errors(doc))
    if err is not None:
        path = tuple(err.absolute_path)
        raise CaseError(
            disp, line_of(doc, path, 1), _path_str(path) or "(top level)", _schema_message(err)
        )
    return _build(doc, file, root, disp)


def _schema_message(err: Any) -> str:
    msg = str(err.message)
    if err.validator == "additionalProperties":
        return msg.replace("Additional properties are not allowed", "unknown key")
    if err.validator in ("anyOf", "oneOf"):
        return "expected a number, a nested list of numbers, or {distribution: ...}"
    return msg


class _Ctx:
    def __init__(self, doc: Any, disp: str) -> None:
        self.doc = doc
        self.disp = disp

    def err(self, path: tuple[Any, ...], message: str) -> CaseError:
        return CaseError(self.disp, line_of(self.doc, path, 1), _path_str(path), message)

    def source(self, path: tuple[Any, ...]) -> Source:
        node = self.doc
        for k in path:
            node = node[k]
        if isinstance(node, dict):
            params = {k: float(v) for k, v in node.items() if k != "distribution"}
            return Generated(str(node["distribution"]), params)
        try:
            return parse_literal(node)
        except ValueError as exc:
            raise self.err(path, str(exc)) from None


def _build(doc: Any, file: Path, root: Path, disp: str) -> Case:
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
        layout = INIT_LAYOUT[init]
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
    case_id = str(doc.get("id") or default_id(file, root))
    expected = _expected(ctx, doc.get("expected") or {}, kind, batch, n_out, init)
    pins = _pins(ctx, doc.get("expected") or {}, n_in, n_out) if init is not None else {}
    tolerance = _tolerance(doc.get("tolerance") or {})
    lines = {k: line_of(doc, (k,), 1) or 1 for k in doc}
    return Case(
        id=case_id,
        file=disp,
        description=str(doc.get("description", "")),
        tags=tuple(str(t) for t in doc.get("tags") or ()),
        dtypes=tuple(str(d) for d in doc.get("dtypes") or ("float32",)),
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
    batch = known["batch"][0]
    assert isinstance(batch, tuple)
    if kind == "sigmoid":
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


def _tolerance(node: Any) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for op, spec in node.items():
        per: dict[str, dict[str, float]] = {}
        for key, value in spec.items():
            if isinstance(value, dict):
                per[str(key)] = {str(k): float(v) for k, v in value.items()}
            else:
                per.setdefault("*", {})[str(key)] = float(value)
        out[str(op)] = per
    return out
