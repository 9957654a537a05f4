"""Judging one framework output against the exact reference, and the ``op: init`` rows.

The verdict of a row — its errors, its tolerance text and its status — is decided here and
nowhere else.
"""

from __future__ import annotations

import numpy as np

from . import dtypes as D
from .compare import Metrics, measure
from .planning import Unit
from .reference import Reference
from .results import Row
from .tolerances import Allowance, Tolerance, case_allowance, resolve
from .worker import FrameworkRun

# Unit roundoff of the matmul *inputs* under a reduced-precision float32 matmul mode.
REDUCED_MATMUL_U = {"tf32": 2.0**-11, "bf16": 2.0**-8}


def base_row(u: Unit, fw: FrameworkRun, op: str, path: str, mode: str, device: str) -> Row:
    return Row(
        case=u.case.id,
        file=u.case.file,
        dtype=u.dtype,
        op=op,
        framework=fw.name,
        framework_version=fw.version,
        path=path,
        mode=mode,
        device=device,
        status="pass",
        settings=dict(fw.settings),
    )


def init_rows(u: Unit, fw: FrameworkRun) -> list[Row]:
    """``op: init`` rows: the owning framework's drawn parameters against the case's pins."""
    case = u.case
    rows = []
    for name, per in case.pins.items():
        lit = per.get(u.dtype) or per.get("*")
        if lit is None:
            continue
        drawn = u.drawn
        path = (drawn.paths.get(name) if drawn else None) or f"{case.init} init {name}"
        r = base_row(u, fw, "init", path, "eager", "cpu")
        if fw.skip or u.blocked is not None or drawn is None:
            r.status = "skip" if fw.skip else (u.blocked[0] if u.blocked else "error")
            r.message = fw.skip or (u.blocked[1] if u.blocked else "nothing drawn")
            rows.append(r)
            continue
        got = drawn.bias if name == "bias" else drawn.param
        if got is None:
            r.status, r.message = "error", f"{case.init} drew no {name}"
            rows.append(r)
            continue
        if name != "bias" and name != drawn.layout:
            got = got.T  # the pin is in the other layout
        dt = D.get(u.dtype)
        y = np.asarray(got).astype(np.float64)
        if y.shape != lit.shape:
            r.status = "fail"
            r.message = f"drawn {name} has shape {list(y.shape)}, pinned {list(lit.shape)}"
            rows.append(r)
            continue
        slack = lit.slack(dt)
        exact = Allowance(np.zeros(y.shape), 0.0, "exact")
        m = measure(y, lit.rounded(dt), dt, exact, slack)
        printed = float(np.max(slack, initial=0.0))
        r.tolerance = "exact" + (f"; printed digits ±{printed:.1g}" if printed > 0 else "")
        r.against = "expected"
        _fill(r, m)
        if r.status == "fail":
            within = " beyond its printed digits" if printed > 0 else ""
            r.message = (
                f"drawn {name}{r.worst_index} = {m.worst_value!r} differs from the pin "
                f"{m.worst_target!r}{within} by {_ulp_text(m.max_ulp)} "
                f"({m.n_bad} of {m.n} values differ; did the {case.init} random stream change?)"
            )
        rows.append(r)
    return rows


def judge(r: Row, u: Unit, ref: Reference, y: np.ndarray) -> None:
    """Fill metrics and status of one row from a framework output."""
    dt = D.get(u.dtype)
    op = r.op
    case = u.case
    want_shape = case.output_shape
    if tuple(y.shape) != want_shape:
        r.status, r.message = "fail", f"output shape {list(y.shape)}, expected {list(want_shape)}"
        return
    if y.dtype != dt.np:
        r.status, r.message = "fail", f"output dtype {y.dtype}, expected {dt.name}"
        return
    y64 = y.astype(np.float64)
    ref_vals = ref.of(op)
    tol = device_tolerance(resolve(op, u.dtype, case.tolerance), r)
    allow = case_allowance(tol, op, ref, case.in_features if case.kind == "dense" else None)
    r.tolerance = allow.text
    vs_ref = measure(y64, ref_vals, dt, allow)
    r.ref_max_abs_err, r.ref_max_ulp = vs_ref.max_abs_err, vs_ref.max_ulp
    expected = case.expected.get(op, {})
    lit = expected.get(u.dtype) or expected.get("*")
    if lit is not None:
        target = lit.rounded(dt)
        slack = lit.slack(dt)
        m = measure(y64, target, dt, allow, slack)
        r.against = "expected"
        if float(np.max(slack, initial=0.0)) > 0:
            r.tolerance += f" + printed digits ±{float(np.max(slack)):.1g}"
    else:
        m = vs_ref
        r.against = "reference"
    _fill(r, m)


def device_tolerance(tol: Tolerance, r: Row) -> Tolerance:
    """Widen a default float32 tolerance on CUDA where the framework's float32 matmul rounds
    its inputs to TF32/bfloat16 (TF and JAX by default; torch only with high/medium)."""
    mode = r.settings.get("cuda_float32_matmul", "ieee")
    if r.device != "cuda" or tol.dtype != "float32" or tol.source != "default":
        return tol
    if mode not in REDUCED_MATMUL_U:
        return tol
    return Tolerance(tol.op, tol.dtype, tol.source, matmul_u=REDUCED_MATMUL_U[mode], note=mode)


def _fill(r: Row, m: Metrics) -> None:
    r.max_abs_err, r.max_rel_err, r.max_ulp, r.n = m.max_abs_err, m.max_rel_err, m.max_ulp, m.n
    if m.worst_index is not None:
        r.worst_index = str(list(m.worst_index))
        r.worst_value, r.worst_target = m.worst_value, m.worst_target
    if m.passed:
        r.status = "pass"
        return
    r.status = "fail"
    r.message = (
        f"{m.n_bad} of {m.n} elements outside tolerance vs {r.against}; worst at {r.worst_index}: "
        f"got {m.worst_value!r}, want {m.worst_target!r} ({_ulp_text(m.max_ulp)}, |err| {m.max_abs_err:.3g})"
    )


def _ulp_text(u: float) -> str:
    return "special-value mismatch" if u == float("inf") else f"{u:.0f} ulp"
