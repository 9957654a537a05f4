"""Case checks beyond loading: expected values against the exact reference, the tolerance
ceiling. :func:`case_problems` is the one list both ``validate`` and ``run`` apply (through
:func:`conformance.loader.load_cases`)."""

from __future__ import annotations

from . import dtypes as D
from .cases import Case
from .compare import measure
from .errors import CaseError
from .reference import reference
from .tolerances import case_allowance, resolve


def case_problems(case: Case) -> list[CaseError]:
    """Everything wrong with a loaded case that loading itself does not see."""
    try:
        expected = expected_errors(case)
    except Exception as exc:  # a reference failure is reported as this case's one line
        where = case.line("expected")
        why = f"{type(exc).__name__}: {exc}"
        expected = [CaseError(case.file, where, "expected", f"cannot check: the reference {why}")]
    return [*tolerance_errors(case), *expected]


def expected_errors(case: Case, dtypes: list[str] | None = None) -> list[CaseError]:
    """Expected values farther from the exact reference than the op's tolerance allows."""
    errors: list[CaseError] = []
    if not case.expected or case.init is not None:
        # params.init: the parameters exist only once the owning framework draws them, so
        # such a case's expected values are judged at run time (docs/native.md).
        return errors
    for dtype in case.dtypes:
        if dtypes and dtype not in dtypes:
            continue
        dt = D.get(dtype)
        arr = case.arrays(dtype)
        ref = reference(dtype, x=arr.x, weight=arr.weight, bias=arr.bias, z=arr.z)
        for op, per in case.expected.items():
            lit = per.get(dtype) or per.get("*")
            if lit is None:
                continue
            values = ref.of(op)
            n = case.in_features if case.kind == "dense" else None
            allow = case_allowance(resolve(op, dtype, case.tolerance), op, ref, n)
            m = measure(lit.rounded(dt), values, dt, allow, lit.slack(dt))
            if not m.passed:
                key = dtype if dtype in per else None
                field = f"expected.{op}" + (f".{dtype}" if key else "")
                idx = "".join(f"[{i}]" for i in (m.worst_index or ()))
                errors.append(
                    CaseError(
                        case.file,
                        case.line("expected"),
                        field + idx,
                        f"{m.worst_value!r} is {m.max_ulp:.0f} ulp ({dtype}) from the exact reference "
                        f"{m.worst_target!r}; {m.n_bad} of {m.n} values off ({allow.text})",
                    )
                )
    return errors


# Loosest tolerance override a case may set (README "Tolerance ceiling"). ulp: 16 is four times
# the loosest default sigmoid budget (4 ulp); rtol/atol: 16 eps of the dtype (float32 1.9e-6
# admits torch.testing's 1.3e-6 and tf.test's 1e-6; float16 1.6e-2 admits both anchors' 1e-3).
# Anything looser no longer tests the dtype: record a genuine deviation as a known deviation.
TOLERANCE_CEILING_ULP = 16.0
TOLERANCE_CEILING_EPS = 16.0


def tolerance_errors(case: Case) -> list[CaseError]:
    """Tolerance overrides looser than the documented ceiling."""
    errors: list[CaseError] = []
    reported: set[str] = set()
    for op, per in case.tolerance.items():
        for key, spec in per.items():
            for dtype in case.dtypes if key == "*" else (key,):
                eps = D.get(dtype).eps
                limits = {
                    "ulp": TOLERANCE_CEILING_ULP,
                    "rtol": TOLERANCE_CEILING_EPS * eps,
                    "atol": TOLERANCE_CEILING_EPS * eps,
                }
                for name, limit in limits.items():
                    value = spec.get(name)
                    field = f"tolerance.{op}" + ("" if key == "*" else f".{key}") + f".{name}"
                    if value is not None and value > limit and field not in reported:
                        reported.add(field)
                        errors.append(
                            CaseError(
                                case.file,
                                case.line("tolerance"),
                                field,
                                f"{value:g} is looser than the ceiling {limit:.3g} for {dtype} "
                                "(README 'Tolerance ceiling'); document a known deviation instead",
                            )
                        )
    return errors
