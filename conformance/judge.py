"""Judging one framework output against the exact reference, and the ``op: init`` rows.

The verdict of a row — its errors, its tolerance text and its status — is decided here and
nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import replace

import numpy as np

from . import dtypes as D
from .cases import for_dtype
from .compare import Metrics, Target, measure
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
        settings=fw.settings,  # shared by the framework's rows: replaced, never changed
    )


def init_rows(u: Unit, fw: FrameworkRun) -> list[Row]:
    """``op: init`` rows: the owning framework's drawn parameters against the case's pins."""
    case = u.case
    rows = []
    for name, per in case.pins.items():
        lit = for_dtype(per, u.dtype)
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
        admitted = lit.contains(y, dt)
        m = measure(y, lit.rounded(dt), dt)
        m.n_bad = int(np.count_nonzero(~admitted))
        if m.n_bad:  # name the value the pin admits least (the largest ULP distance)
            pinned = lit.rounded(dt)
            ulps = np.where(admitted, -1.0, D.ulp_distance(y, pinned, dt))
            idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(ulps)), y.shape))
            m.worst_index, m.worst_value = idx, float(y[idx])
            m.worst_target, m.worst_ulp = float(pinned[idx]), float(ulps[idx])
        printed = not bool(lit.point(dt).all())
        r.tolerance = "exact" + (
            "; printed digits: ± half a unit of the last digit" if printed else ""
        )
        r.against = "expected"
        _fill(r, m)
        r.budget_used = None  # a pin admits or does not; there is no budget
        if r.status == "fail":
            within = " beyond its printed digits" if printed else ""
            r.message = (
                f"drawn {name}{r.worst_index} = {m.worst_value!r} differs from the pin "
                f"{m.worst_target!r}{within} by {_ulp_text(m.worst_ulp or 0.0)} ({m.n_bad} of "
                f"{m.n} values differ; did the {case.init} random stream change?)"
            )
        rows.append(r)
    return rows


Prepared = tuple[Allowance, Target]


class Memo:
    """The allowance and prepared reference of a (unit, op, tolerance), shared by the rows of
    every path and framework judged against them: without it each row recomputed both, a
    fifth of a run's judging. Bounded by bytes held; the oldest entries go first."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self.held = 0
        self.entries: dict[Hashable, tuple[Prepared, int]] = {}  # insertion order = age

    def get(self, key: Hashable, make: Callable[[], Prepared]) -> Prepared:
        hit = self.entries.get(key)
        if hit is not None:
            return hit[0]
        value = make()
        allow, target = value
        size = sum(a.nbytes for a in vars(target).values()) + sum(
            a.nbytes for a in (allow.abs_allow, allow.flush) if a is not None
        )
        self.entries[key] = (value, size)
        self.held += size
        while self.held > self.max_bytes and len(self.entries) > 1:
            oldest = next(iter(self.entries))
            self.held -= self.entries.pop(oldest)[1]
        return value


def judge(
    r: Row,
    u: Unit,
    ref: Reference,
    y: np.ndarray,
    accumulate: str = "",
    memo: Memo | None = None,
) -> None:
    """Fill metrics and status of one row from a framework output: always against the exact
    reference, with the op's tolerance (a case's pinned values are checked against the
    reference when the case loads, not here). ``accumulate``: the run's accumulation model;
    ``memo``: the run's :class:`Memo` (rows of one unit share its allowance)."""
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
    tol = device_tolerance(resolve(op, u.dtype, case.tolerance, accumulate), r)
    n_in = case.in_features if case.kind == "dense" else None

    def prepare() -> Prepared:
        return case_allowance(tol, op, ref, n_in), Target.of(ref.of(op), dt)

    # one memo per run, where the unit (case id, dtype) has one reference
    key = (case.id, u.dtype, op, tol)
    allow, target = memo.get(key, prepare) if memo is not None else prepare()
    r.tolerance = allow.text
    m = measure(y.astype(np.float64), target, dt, allow)
    r.against = "reference"
    r.ref_max_abs_err, r.ref_max_ulp = m.max_abs_err, m.max_ulp
    _fill(r, m)


def device_tolerance(tol: Tolerance, r: Row) -> Tolerance:
    """Widen a default float32 tolerance on CUDA where the framework's float32 matmul rounds
    its inputs to TF32/bfloat16 (TF and JAX by default; torch only with high/medium)."""
    mode = r.settings.get("cuda_float32_matmul", "ieee")
    if r.device != "cuda" or tol.dtype != "float32" or tol.source != "default":
        return tol
    if mode not in REDUCED_MATMUL_U:
        return tol
    return replace(tol, matmul_u=REDUCED_MATMUL_U[mode], note=mode)


def _fill(r: Row, m: Metrics) -> None:
    r.max_abs_err, r.max_rel_err, r.max_ulp, r.n = m.max_abs_err, m.max_rel_err, m.max_ulp, m.n
    r.budget_used, r.wrong_sign_zeros = m.budget_used, m.wrong_sign_zeros
    if m.worst_index is not None:
        r.worst_index = str(list(m.worst_index))
        r.worst_value, r.worst_target = m.worst_value, m.worst_target
    if m.passed:
        r.status = "pass"
        return
    r.status = "fail"
    own = _ulp_text(m.worst_ulp if m.worst_ulp is not None else m.max_ulp)
    if m.worst_value == 0 and m.worst_target == 0 and own == "0 ulp":
        own = "zero of the wrong sign"
    over = (
        f", {m.worst_budget:.3g}x its allowance"
        if m.worst_budget is not None and np.isfinite(m.worst_budget)
        else ""
    )
    r.message = (
        f"{m.n_bad} of {m.n} elements outside tolerance vs {r.against}; worst at {r.worst_index}: "
        f"got {m.worst_value!r}, want {m.worst_target!r} ({own}{over})"
    )


def _ulp_text(u: float) -> str:
    return "special-value mismatch" if u == float("inf") else f"{u:.0f} ulp"
