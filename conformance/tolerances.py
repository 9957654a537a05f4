"""Default tolerances, in one place, with where each figure comes from.

Affine (``x @ W.T + b``), any dtype with unit roundoff u = 2**-p:
    |y - S| <= gamma_{n+1} * (sum_i |x_i w_i| + |b|) + (n + 1) * tiny
    gamma_k = k*u / (1 - k*u)  (Higham, Accuracy and Stability of Numerical Algorithms, §3.1).
    This holds for *every* summation order, blocking and FMA use of a dot product computed in
    the dtype (or in a wider type and rounded once), so it never fails a correct
    implementation, and it scales with n and with cancellation (sum |x_i w_i| >> |S|), unlike a
    fixed rtol. ``tiny`` (smallest normal) per product and for the output covers
    flush-to-zero of subnormal intermediates.

Sigmoid, against the correctly rounded sigmoid of the *exact* affine value:
    |y - sigma(S)| <= budget * ulp(sigma(S)) + sigma'(S) * affine_bound + subnormal floor
    The propagated term is what the affine rounding error can do to the sigmoid input
    (sigma' = sigma(1 - sigma) <= 1/4); it is 0 for sigmoid-only cases. The floor is the
    smallest normal number when the reference is subnormal (frameworks may flush to zero).
    Budgets (ULP of the output dtype), against the largest errors measured here with
    ``python benchmarks/sigmoid_ulp_sweep.py`` (20001 points per dtype over the range where
    sigmoid is a normal number; torch 2.13, TF 2.21, JAX 0.10.2, NumPy 2.4, x86-64 CPU):

    float64   4: measured torch 1, NumPy/JAX/TF 2. An exp within 1 ulp plus the two
                 roundings of 1/(1+e) stay within ~2.5 ulp; 4 leaves room for other libms.
    float32   4: measured torch/JAX 2, NumPy 3 (textbook formula). TensorFlow's Eigen logistic
                 kernel measures 5 ulp for a few z in [-15, 0) and 6 in the tail (z ~ -53):
                 those are reported as deviations, which is the point of a budget that the
                 correctly implemented frameworks meet with margin.
    float16   2 / bfloat16 2: measured torch 0 (computes in float32, rounds once), NumPy/JAX/TF
                 2 (exp and division rounded in the narrow type).

A case may override per op and dtype with ``{ulp, rtol, atol}``; an element then passes when
it is within ``ulp`` ULP *or* within ``atol + rtol*|ref|``; ``ulp: 0`` means bit-exact (±0 equal).
Special values are never covered by a tolerance: nan matches only nan, and an infinity only the
same infinity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import dtypes as D
from .reference import Reference

SIGMOID_ULP_BUDGET: dict[str, float] = {"float64": 4, "float32": 4, "float16": 2, "bfloat16": 2}


def gamma(k: int, u: float) -> float:
    return k * u / (1 - k * u) if k * u < 1 else float("inf")


@dataclass(frozen=True)
class Allowance:
    """Per-element allowance: pass if |err| <= abs_allow or ulp <= ulp_allow."""

    abs_allow: np.ndarray | None
    ulp_allow: float | None
    text: str


@dataclass(frozen=True)
class Tolerance:
    op: str
    dtype: str
    source: str  # "default" or "case"
    ulp: float | None = None
    rtol: float | None = None
    atol: float | None = None
    # Reduced-precision float32 matmul (TF32 / bfloat16 inputs, float32 accumulation; the
    # documented default of some frameworks on CUDA): unit roundoff of the rounded inputs.
    # Each product x_i*w_i then carries a relative error up to 2v + v^2 (v = matmul_u).
    matmul_u: float | None = None
    note: str = ""  # e.g. "tf32": why matmul_u is set

    def affine_bound(self, n: int, abs_sum: np.ndarray) -> np.ndarray:
        dt = D.get(self.dtype)
        extra = 0.0 if self.matmul_u is None else 2 * self.matmul_u + self.matmul_u**2
        with np.errstate(over="ignore", invalid="ignore"):
            return (gamma(n + 1, dt.u) + extra) * abs_sum + (n + 1) * dt.tiny

    def allowance(
        self,
        ref: np.ndarray,
        n: int | None = None,
        abs_sum: np.ndarray | None = None,
        sigmoid_prime: np.ndarray | None = None,
    ) -> Allowance:
        """Allowance per element of ``ref`` (``n``/``abs_sum`` describe the affine map)."""
        dt = D.get(self.dtype)
        if self.source == "case":
            abs_allow = None
            parts = []
            if self.ulp is not None:
                parts.append(f"ulp<={self.ulp:g}")
            if self.rtol is not None or self.atol is not None:
                rtol, atol = self.rtol or 0.0, self.atol or 0.0
                abs_allow = atol + rtol * np.abs(ref)
                parts.append(f"atol={atol:g}+rtol={rtol:g}*|ref|")
            return Allowance(abs_allow, self.ulp, "case: " + " or ".join(parts))
        if self.op == "affine":
            assert n is not None and abs_sum is not None
            bound = self.affine_bound(n, abs_sum)
            worst = float(np.max(bound)) if bound.size else 0.0
            text = f"gamma_{n + 1}(2^-{dt.p})*sum|xw| + {n + 1}*tiny (max {worst:.3g})"
            if self.matmul_u is not None:
                text += (
                    f"; {self.note or 'reduced'} matmul inputs: +2v*sum|xw|, v={self.matmul_u:g}"
                )
            return Allowance(bound, None, text)
        budget = SIGMOID_ULP_BUDGET[self.dtype]
        floor = np.where(np.abs(ref) < dt.tiny, dt.tiny, 0.0)
        allow = budget * D.ulp_of(ref, dt) + floor
        text = f"{budget:g} ulp"
        if n is not None and abs_sum is not None and sigmoid_prime is not None:
            bound = self.affine_bound(n, abs_sum)
            with np.errstate(invalid="ignore"):  # a saturated sigmoid (sigma' = 0) takes none of it
                allow = allow + np.where(sigmoid_prime == 0, 0.0, sigmoid_prime * bound)
            text += " + sigma'*affine bound"
        return Allowance(allow, budget, text)


def resolve(op: str, dtype: str, overrides: dict[str, dict[str, dict[str, float]]]) -> Tolerance:
    """The tolerance for ``op``/``dtype``: a per-dtype override, else an all-dtype one, else default."""
    per = overrides.get(op, {})
    spec = per.get(dtype) or per.get("*")
    if not spec:
        return Tolerance(op, dtype, "default")
    return Tolerance(op, dtype, "case", spec.get("ulp"), spec.get("rtol"), spec.get("atol"))


def case_allowance(tol: Tolerance, op: str, ref: Reference, n_in: int | None) -> Allowance:
    """The allowance of one case's ``op`` output: ``n_in`` is in_features for a dense case
    (None for sigmoid-only), whose sigmoid also takes the propagated affine bound."""
    sprime = ref.sigmoid * (1.0 - ref.sigmoid) if (op == "sigmoid" and n_in is not None) else None
    return tol.allowance(ref.of(op), n=n_in, abs_sum=ref.abs_sum, sigmoid_prime=sprime)
