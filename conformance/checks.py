"""Case checks that need the exact reference: are the expected values right?"""

from __future__ import annotations

from . import dtypes as D
from .cases import Case
from .compare import measure
from .errors import CaseError
from .reference import reference
from .tolerances import resolve


def expected_errors(case: Case, dtypes: list[str] | None = None) -> list[CaseError]:
    """Expected values farther from the exact reference than the op's tolerance allows."""
    errors: list[CaseError] = []
    if not case.expected:
        return errors
    for dtype in case.dtypes:
        if dtypes and dtype not in dtypes:
            continue
        dt = D.get(dtype)
        arr = case.arrays(dtype)
        if case.kind == "dense":
            ref = reference(dtype, x=arr.x, weight=arr.weight, bias=arr.bias)
        else:
            ref = reference(dtype, z=arr.z)
        for op, per in case.expected.items():
            lit = per.get(dtype) or per.get("*")
            if lit is None:
                continue
            values = ref.affine if op == "affine" else ref.sigmoid
            assert values is not None
            sprime = (
                ref.sigmoid * (1 - ref.sigmoid)
                if (op == "sigmoid" and case.kind == "dense")
                else None
            )
            n = case.in_features if case.kind == "dense" else None
            allow = resolve(op, dtype, case.tolerance).allowance(values, n, ref.abs_sum, sprime)
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
