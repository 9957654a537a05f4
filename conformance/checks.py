"""Case checks beyond loading: expected values against the exact reference, the tolerance
ceiling. :func:`case_problems` is the one list both ``validate`` and ``run`` apply (through
:func:`conformance.loader.load_cases`)."""

from __future__ import annotations

import numpy as np

from . import dtypes as D
from .cases import Case
from .errors import CaseError
from .reference import Reference, reference


def case_problems(case: Case) -> list[CaseError]:
    """Everything wrong with a loaded case that loading itself does not see."""
    try:
        expected = expected_errors(case)
    except Exception as exc:  # a reference failure is reported as this case's one line
        where = case.line("expected")
        why = f"{type(exc).__name__}: {exc}"
        expected = [CaseError(case.file, where, "expected", f"cannot check: the reference {why}")]
    return [*tolerance_errors(case), *expected]


def expected_errors(case: Case) -> list[CaseError]:
    """Pinned outputs that do not admit the exact reference (see :func:`pin_errors`)."""
    if not case.expected or case.init is not None:
        # params.init: the parameters exist only once the owning framework draws them, so
        # such a case's expected outputs cannot be checked before a run (docs/native.md).
        return []
    errors: list[CaseError] = []
    for dtype in case.dtypes:
        arr = case.arrays(dtype)
        ref = reference(dtype, x=arr.x, weight=arr.weight, bias=arr.bias, z=arr.z)
        errors.extend(e for e in pin_errors(case, dtype, ref) if str(e) not in map(str, errors))
    return errors


def pin_errors(case: Case, dtype: str, ref: Reference) -> list[CaseError]:
    """A pin is a check on the case file, never a second judge of a row: an exact value must
    be the reference exactly (sign of zero included), a printed decimal must lie within half a
    unit of its last digit of it (``Literal.contains``). One error per pinned op and dtype."""
    errors: list[CaseError] = []
    dt = D.get(dtype)
    for op, per in case.expected.items():
        key = dtype if dtype in per else "*"
        lit = per.get(key)
        if lit is None or op not in case.ops:
            continue
        values = ref.of(op)
        admitted = lit.contains(values, dt)
        if admitted.all():
            continue
        idx = tuple(int(i) for i in np.argwhere(~admitted)[0])
        pinned = float(lit.rounded(dt)[idx])
        got = float(values[idx])
        ulp = float(D.ulp_distance(np.array([pinned]), np.array([got]), dt)[0])
        off = (
            "a zero of the other sign"
            if pinned == 0 and got == 0
            else f"{ulp:.0f} ulp ({dtype}) away"
        )
        field = f"expected.{op}" + (f".{dtype}" if key != "*" else "")
        where = "".join(f"[{i}]" for i in idx)
        errors.append(
            CaseError(
                case.file,
                case.line("expected"),
                field + where,
                f"pins {pinned!r} but the exact reference is {got!r}, {off}; "
                f"{int(np.count_nonzero(~admitted))} of {admitted.size} pinned values do not "
                "admit it (conformance fill --force rewrites them)",
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
