"""Reproduction snippets: a short runnable program per failing row.

Each snippet uses only the row's framework and NumPy. It rebuilds the case's inputs in the
row's dtype — written out as float64 literals (``repr`` round-trips exactly, and every value
is representable in the dtype) or, for large generated arrays, redrawn from
``numpy.random.default_rng(seed)`` and rounded to the dtype with round-to-nearest-even exactly
as the suite does — calls the same API the suite called, and compares with the target the
row was judged against (the case's ``expected`` values, or the exact reference correctly
rounded to the dtype). It exits 1 while the reported error still shows, 0 once it is gone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import dtypes as D
from ..cases import Case, Source
from ..distributions import Generated
from ..literals import Literal
from ..loader import load_cases
from ..reference import reference
from ..results import Row

LITERAL_LIMIT = 256  # input values written out; above this generated arrays are redrawn
TARGET_LIMIT = 256  # target values written out; above this only the worst element is checked


@dataclass(frozen=True)
class Snippet:
    name: str  # file name under repro/
    code: str


def needs_snippet(r: Row) -> bool:
    return r.status in ("fail", "error", "known") and r.op in ("affine", "sigmoid")


def file_name(r: Row) -> str:
    def clean(s: str) -> str:
        return re.sub("_+", "_", "".join(c if c.isalnum() or c in "-" else "_" for c in s)).strip(
            "_"
        )

    parts = [r.case, r.dtype, r.op, r.framework, r.path, r.mode, r.device]
    name = "__".join(clean(p) for p in parts if p)
    return name[:180] + ".py"


@lru_cache(maxsize=256)
def _case(file: str, case_id: str) -> Case | None:
    if not file or not Path(file).exists():
        return None
    cases, _errors = load_cases([file], check=False)  # the row ran: only its arrays matter
    for c in cases:
        if c.id == case_id:
            return c
    return cases[0] if len(cases) == 1 else None


def snippet(r: Row) -> Snippet | None:
    """The snippet of one row, or None when its case file cannot be read here."""
    case = _case(r.file, r.case)
    if case is None or r.dtype not in case.dtypes or case.init is not None:
        return None  # params.init cases: the parameters come from the framework's own draw
    return Snippet(file_name(r), _render(r, case))


# --------------------------------------------------------------------------------------------


def _lit(values: np.ndarray) -> str:
    flat = ", ".join(_num(v) for v in np.asarray(values, dtype=np.float64).reshape(-1))
    shape = tuple(int(s) for s in np.shape(values))
    return f"np.array([{flat}], dtype=np.float64).reshape({shape!r})"


def _num(v: float) -> str:
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(float(v))


def _draw(src: Generated, shape: tuple[int, ...]) -> str:
    p = src.params
    if src.distribution == "uniform":
        call = f"rng.uniform({p.get('low', -1.0)!r}, {p.get('high', 1.0)!r}, size={shape!r})"
    elif src.distribution == "normal":
        call = f"rng.normal({p.get('mean', 0.0)!r}, {p.get('std', 1.0)!r}, size={shape!r})"
    else:
        call = f"rng.standard_t({p.get('df', 3.0)!r}, size={shape!r}) * {p.get('scale', 1.0)!r}"
    return f"round_to({call})"


def _inputs(case: Case, dtype: str) -> tuple[list[str], bool]:
    """Lines defining x, W, b (or z); and whether round_to() is used."""
    arr = case.arrays(dtype)
    dense = case.kind == "dense"
    sizes = sum(a.size for a in (arr.x, arr.z, arr.weight, arr.bias) if a is not None)
    regen = sizes > LITERAL_LIMIT and any(
        isinstance(s, Generated) for s in (case.input, case.param, case.bias)
    )
    lines: list[str] = []
    if not regen:
        lines.append(f"# Inputs: {dtype} values written as float64 literals (exact).")
        if dense:
            lines.append(f"x = {_lit(arr.x)}  # {case.input_shape}")  # type: ignore[arg-type]
            lines.append(f"W = {_lit(arr.weight)}  # (out, in): the nn.Linear layout")  # type: ignore[arg-type]
            lines.append(f"b = {_lit(arr.bias) if arr.bias is not None else None}")
        else:
            lines.append(f"z = {_lit(arr.z)}")  # type: ignore[arg-type]
        return lines, False
    lines.append(
        f"# Inputs: drawn from default_rng({case.seed}) in the order x/z, parameter, bias,"
        f" rounded to {dtype}."
    )
    lines.append(f"rng = np.random.default_rng({case.seed})")
    pshape = (
        (case.out_features, case.in_features)
        if case.layout == "weight"
        else (case.in_features, case.out_features)
    )
    items: list[tuple[str, Source | None, tuple[int, ...]]] = [
        ("z" if not dense else "x", case.input, case.input_shape)
    ]
    if dense:
        items += [("P", case.param, pshape), ("b", case.bias, (case.out_features,))]
    for name, src, shape in items:
        if isinstance(src, Generated):
            lines.append(f"{name} = {_draw(src, shape)}")
        elif isinstance(src, Literal):
            lines.append(f"{name} = {_lit(src.rounded(D.get(dtype)))}")
        else:
            lines.append(f"{name} = None")
    if dense:
        lines.append(
            "W = P  # (out, in): the nn.Linear layout"
            if case.layout == "weight"
            else "W = P.T  # the case gives a (in, out) kernel; W is (out, in)"
        )
    return lines, True


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


def _target(r: Row, case: Case) -> tuple[list[str], str]:
    """Lines defining ``want`` and a phrase naming it."""
    dt = D.get(r.dtype)
    expected = case.expected.get(r.op, {})
    lit = expected.get(r.dtype) or expected.get("*")
    arr = case.arrays(r.dtype)
    want: np.ndarray | None
    if lit is not None:
        want = lit.rounded(dt)
        what = f"the case's expected values rounded to {r.dtype}"
    else:
        size = int(np.prod(case.output_shape)) if case.output_shape else 1
        if size > TARGET_LIMIT:
            return [], "reference"
        ref = reference(r.dtype, x=arr.x, weight=arr.weight, bias=arr.bias, z=arr.z)
        want = ref.of(r.op)
        what = f"the exact result correctly rounded to {r.dtype}"
    assert want is not None
    if want.size > TARGET_LIMIT:
        return [], what
    return [f"want = {_lit(want)}  # {what}"], what


# -- framework code -----------------------------------------------------------------------------


def _torch(r: Row, case: Case, has_bias: bool) -> list[str] | None:
    dense = case.kind == "dense"
    pre = [
        "import torch",
        "",
        f"dt, dev = torch.{r.dtype}, {r.device!r}",
        "",
        "def T(a):  # exact: a holds dtype values",
        "    return torch.tensor(a, dtype=dt, device=dev)",
        "",
    ]
    bias = "T(b)" if has_bias else "None"
    nb = f"bias={has_bias}"
    if dense and r.path in ("nn.Linear", "nn.Sequential(nn.Linear, nn.Sigmoid)"):
        lin = (
            f"torch.nn.Linear({case.in_features}, {case.out_features}, {nb}, dtype=dt, device=dev)"
        )
        body = (
            [f"layer = {lin}", "first = layer"]
            if r.path == "nn.Linear"
            else [f"layer = torch.nn.Sequential({lin}, torch.nn.Sigmoid())", "first = layer[0]"]
        )
        body += ["with torch.no_grad():", "    first.weight.copy_(T(W))"]
        if has_bias:
            body.append("    first.bias.copy_(T(b))")
        body += ["with torch.inference_mode():", "    y = layer(T(x))"]
    elif dense and r.path == "F.linear":
        body = ["y = torch.nn.functional.linear(T(x), T(W), " + bias + ")"]
    elif dense and r.path == "torch.sigmoid(F.linear)":
        body = ["y = torch.sigmoid(torch.nn.functional.linear(T(x), T(W), " + bias + "))"]
    elif not dense and r.path == "torch.sigmoid":
        body = ["y = torch.sigmoid(T(z))"]
    elif not dense and r.path == "nn.Sigmoid":
        body = ["y = torch.nn.Sigmoid()(T(z))"]
    else:
        return None
    return [*pre, *body, "got = y.detach().to(torch.float64).cpu().numpy()"]


def _tensorflow(r: Row, case: Case, has_bias: bool) -> list[str] | None:
    dense = case.kind == "dense"
    pre = [
        "import os",
        "",
        'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")',
        "import keras",
        "import tensorflow as tf",
        "",
        f"dt = tf.{r.dtype}",
        "",
        "def T(a):  # exact: a holds dtype values",
        "    return tf.cast(tf.constant(a, dtype=tf.float64), dt)",
        "",
    ]
    one_d = len(case.input_shape) == 1
    if dense:
        pre += ["x2 = x[None, :]  # Dense and matmul need 2-D input" if one_d else "x2 = x"]
    squeeze = "[0]" if dense and one_d else ""
    if dense and r.path.startswith("keras.layers.Dense("):
        act = "'sigmoid'" if "sigmoid" in r.path else "None"
        body = [
            f"layer = keras.layers.Dense({case.out_features}, activation={act}, "
            f'use_bias={has_bias}, dtype="{r.dtype}")',
            f"layer.build((None, {case.in_features}))",
            "layer.kernel.assign(T(W.T))  # Keras kernel is (in, out)",
        ]
        if has_bias:
            body.append("layer.bias.assign(T(b))")
        body.append("y = layer(T(x2))")
    elif dense and r.path in (
        "tf.linalg.matmul+tf.nn.bias_add",
        "tf.math.sigmoid(matmul+bias_add)",
    ):
        body = ["y = tf.linalg.matmul(T(x2), T(W.T))"]
        if has_bias:
            body.append("y = tf.nn.bias_add(y, T(b))")
        if "sigmoid" in r.path:
            body.append("y = tf.math.sigmoid(y)")
    elif not dense and r.path == "tf.math.sigmoid":
        body = ["y = tf.math.sigmoid(T(z))"]
    elif not dense and r.path == "keras.activations.sigmoid":
        body = ["y = keras.activations.sigmoid(T(z))"]
    else:
        return None
    return [*pre, *body, f"got = np.asarray(tf.cast(y, tf.float64)){squeeze}"]


def _jax(r: Row, case: Case, has_bias: bool) -> list[str] | None:
    dense = case.kind == "dense"
    pre = [
        "import jax",
        "",
        'jax.config.update("jax_enable_x64", True)',
        "import jax.numpy as jnp",
        "",
        "def T(a):  # exact: a holds dtype values",
        f"    return jnp.asarray(a, dtype=jnp.{r.dtype})",
        "",
    ]
    add = " + T(b)" if has_bias else ""
    if dense and r.path == "jnp.matmul+add":
        body = [f"y = jnp.matmul(T(x), T(W).T){add}"]
    elif dense and r.path == "jax.nn.sigmoid(jnp.matmul+add)":
        body = [f"y = jax.nn.sigmoid(jnp.matmul(T(x), T(W).T){add})"]
    elif not dense and r.path == "jax.nn.sigmoid":
        body = ["y = jax.nn.sigmoid(T(z))"]
    else:
        return None
    return [*pre, *body, "got = np.asarray(y).astype(np.float64)"]


def _numpy(r: Row, case: Case, has_bias: bool) -> list[str] | None:
    dense = case.kind == "dense"
    if r.dtype == "bfloat16":
        pre = ["import ml_dtypes  # NumPy's bfloat16", "", "dt = ml_dtypes.bfloat16"]
    else:
        pre = [f"dt = np.{r.dtype}"]
    pre += [
        "",
        "def T(a):  # exact: a holds dtype values",
        "    return np.asarray(a).astype(dt)",
        "",
    ]
    add = " + T(b)" if has_bias else ""
    if dense and r.path == "x @ W.T + b":
        body = [f"y = T(x) @ T(W).T{add}"]
    elif dense and r.path == "1/(1+np.exp(-(x @ W.T + b)))":
        body = [
            'with np.errstate(over="ignore"):',
            f"    y = 1 / (1 + np.exp(-(T(x) @ T(W).T{add})))",
        ]
    elif not dense and r.path == "1/(1+np.exp(-z))":
        body = ['with np.errstate(over="ignore"):', "    y = 1 / (1 + np.exp(-T(z)))"]
    else:
        return None
    return [*pre, *body, "got = np.asarray(y).astype(np.float64)"]


FRAMEWORKS = {"torch": _torch, "tensorflow": _tensorflow, "jax": _jax, "numpy": _numpy}


def _render(r: Row, case: Case) -> str:
    dt = D.get(r.dtype)
    arr = case.arrays(r.dtype)
    has_bias = arr.bias is not None
    inputs, uses_round = _inputs(case, r.dtype)
    want_lines, what = _target(r, case)
    make = FRAMEWORKS.get(r.framework)
    fw_lines = make(r, case, has_bias) if make is not None else None
    reported = r.max_ulp if r.max_ulp is not None else math.inf
    doc = [
        f"Reproduce: {r.case} [{r.dtype} {r.op}] on {r.framework} {r.framework_version}".rstrip(),
        f"path: {r.path}; mode: {r.mode}; device: {r.device}",
        f"suite result: {r.status}: {r.message}"[:400],
        f"case file: {r.file}",
        f"target: {what}; tolerance used: {r.tolerance or 'n/a'}",
        f"Needs only {r.framework} and NumPy. Exits 1 while the reported error still shows.",
    ]
    out = ['"""' + doc[0], *doc[1:], '"""', "", "import sys", "", "import numpy as np", ""]
    if uses_round:
        out += _round_to(dt)
    out += [*inputs, ""]
    if want_lines:
        out += [*want_lines, ""]
    if fw_lines is None:
        out += [
            f"# No template for {r.framework} path {r.path!r}: call it on the inputs above,",
            "# assign the result (as float64) to `got`, and remove the exit below.",
            'sys.exit("no template for this path; see the comment above")',
        ]
        return "\n".join(out) + "\n"
    if r.mode != "eager":
        out += [
            f"# The suite ran this path in mode {r.mode!r}; this snippet calls it eagerly.",
            "# Wrap the call as that mode does (torch.compile, tf.function, jax.jit) if the",
            "# eager result does not show the error.",
        ]
    if r.status == "error":
        out += [
            *fw_lines,
            "",
            'print("no exception: the error no longer reproduces")',
            "sys.exit(0)",
        ]
        return "\n".join(out) + "\n"
    out += [*fw_lines, ""]
    if not want_lines:
        idx = r.worst_index or "[]"
        out += [
            f"idx = tuple({idx})  # the worst element the suite reported",
            f"got, want = got[idx].reshape(1), np.array([{_num(r.worst_target or math.nan)}])",
        ]
    out += [
        f"P, EMIN = {dt.p}, {dt.emin}  # {r.dtype}: significand bits, smallest normal exponent",
        "_, e = np.frexp(np.abs(np.where(np.isfinite(want), want, 1.0)))",
        "spacing = np.ldexp(1.0, np.maximum(e - 1, EMIN) - (P - 1))",
        'with np.errstate(invalid="ignore"):',
        "    ulp = np.abs(got - want) / spacing",
        "same = (got == want) | (np.isnan(got) & np.isnan(want))",
        "ulp = np.where(same, 0.0, np.where(np.isfinite(ulp), ulp, np.inf))",
        "worst = np.unravel_index(int(np.argmax(ulp)), ulp.shape)",
        'print(f"max error {ulp.max():g} ulp at {list(map(int, worst))}: '
        'got {float(got[worst])!r}, want {float(want[worst])!r}")',
        f"REPORTED = {_num(reported)}  # ulp, as the suite measured",
        "if ulp.max() >= REPORTED and ulp.max() > 0:",
        '    print("MISMATCH reproduced")',
        "    sys.exit(1)",
        'print("the reported error no longer shows")',
    ]
    return "\n".join(out) + "\n"
