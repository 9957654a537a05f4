"""Default tolerances, in one place, with where each figure comes from (docs/numerics.md).

Affine (``x @ W.T + b``) in a dtype with unit roundoff ``u_d = 2**-p``, against the exact
``S = P + b`` (``P = sum_i x_i w_i``):

    |y - S| <= H · ( gamma_n(u_acc) · sum_i |x_i w_i| + u_d · (|P| + |S|) ) + (n + 2) · tiny

(a row is compared with ``S`` rounded to the dtype, so its allowance adds half an ulp of that)

The model is how every real path computes (torch, TensorFlow, JAX and NumPy, measured): the
products are accumulated in float32 or wider (``u_acc = min(u_d, 2**-24)``; Higham, *Accuracy
and Stability of Numerical Algorithms* §3.1: ``gamma_n`` covers every summation order, blocking
and FMA), then rounded to the dtype at most once before the bias is added and once after
(``u_d·|P|`` and ``u_d·|S|``). ``tiny`` (the dtype's smallest normal) per product and for the
two roundings covers flush-to-zero of subnormals. ``H = 2`` is the headroom (the largest
budget the real frameworks use on the bundled suite is in docs/numerics.md). A float16 dot
product accumulated in float16 needs about 27 times this bound; hardware that really does
that opts in with ``accumulate: dtype`` (per case and op, or ``run --accumulation dtype``),
which sets ``u_acc = u_d``.

Sigmoid, against the correctly rounded σ of the *exact* affine value:

    |y - σ(S)| <= budget · ulp(σ(S)) + σ'(S) · affine bound

plus, where σ(S) is subnormal in the dtype, a result flushed to zero (of the right sign, +0).
The propagated term is what the framework's own affine rounding can do to its sigmoid input
(``σ' = σ(1 - σ) <= 1/4``; 0 for sigmoid-only cases). Budgets, in ULP of the output dtype,
against the largest errors measured with ``python benchmarks/sigmoid_ulp_sweep.py`` (20001
points per dtype over the range where σ is normal; torch 2.13, TF 2.21, JAX 0.10.2, NumPy 2.4):

    float64   4: measured torch 1, NumPy/JAX/TF 2 (an exp within 1 ulp plus two roundings).
    float32   4: measured torch/JAX 2, NumPy 3; TensorFlow's Eigen logistic kernel 5-6
                 (listed in known-deviations.yaml, not hidden by a wider budget).
    float16   2 / bfloat16 2: measured torch 0 (float32 inside, one rounding), others 2.

A case may override per op (and dtype) with ``{ulp, rtol, atol}``: an element then passes
within ``ulp`` ULP *or* within ``atol + rtol·|ref|``; ``ulp: 0`` is bit-exact. ``signed_zeros:
true`` makes a zero of the wrong sign fail (``ulp: 0`` implies it). Special values are never
covered by a tolerance: nan matches only nan, an infinity only the same infinity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import dtypes as D
from .reference import Reference

SIGMOID_ULP_BUDGET: dict[str, float] = {"float64": 4, "float32": 4, "float16": 2, "bfloat16": 2}
AFFINE_HEADROOM = 2.0
ACCUMULATIONS = ("float32", "dtype")  # float32 (or wider, the default model) | the dtype itself
FLOAT32_U = 2.0**-24


def gamma(k: int, u: float) -> float:
    return k * u / (1 - k * u) if k * u < 1 else float("inf")


@dataclass(frozen=True)
class Allowance:
    """Per element: pass if |err| <= abs_allow or ulp <= ulp_allow; ``flush`` marks elements
    that may be flushed to zero (of the reference's sign); ``signed_zeros``: a zero of the
    wrong sign fails."""

    abs_allow: np.ndarray | None
    ulp_allow: float | None
    text: str
    signed_zeros: bool = False
    flush: np.ndarray | None = None


@dataclass(frozen=True)
class Tolerance:
    op: str
    dtype: str
    source: str  # "default" or "case" (ulp/rtol/atol given by the case)
    ulp: float | None = None
    rtol: float | None = None
    atol: float | None = None
    signed_zeros: bool = False
    accumulate: str = "float32"
    # Reduced-precision float32 matmul (TF32 / bfloat16 inputs, float32 accumulation; the
    # documented default of some frameworks on CUDA): unit roundoff of the rounded inputs.
    # Each product x_i*w_i then carries a relative error up to 2v + v^2 (v = matmul_u).
    matmul_u: float | None = None
    note: str = ""  # e.g. "tf32": why matmul_u is set

    @property
    def accumulation_u(self) -> float:
        u = D.get(self.dtype).u
        return u if self.accumulate == "dtype" else min(u, FLOAT32_U)

    def affine_bound(
        self, n: int, abs_sum: np.ndarray, products: np.ndarray, result: np.ndarray
    ) -> np.ndarray:
        """The default affine bound per element (see the module docstring)."""
        dt = D.get(self.dtype)
        extra = 0.0 if self.matmul_u is None else 2 * self.matmul_u + self.matmul_u**2
        with np.errstate(over="ignore", invalid="ignore"):
            core = (gamma(n, self.accumulation_u) + extra) * abs_sum
            core = core + dt.u * (np.abs(products) + np.abs(result))
            return AFFINE_HEADROOM * core + (n + 2) * dt.tiny

    def _affine_text(self, n: int, worst: float) -> str:
        dt = D.get(self.dtype)
        acc = self.accumulation_u
        text = (
            f"{AFFINE_HEADROOM:g}*(gamma_{n}(2^{int(np.log2(acc))})*sum|xw| "
            f"+ 2^-{dt.p}*(|P|+|S|)) + {n + 2}*tiny + ulp/2 (max {worst:.3g}; "
            f"accumulation in {self.dtype if acc == dt.u else 'float32'})"
        )
        if self.matmul_u is not None:
            text += f"; {self.note or 'reduced'} matmul inputs: +2v*sum|xw|, v={self.matmul_u:g}"
        return text

    def allowance(
        self,
        ref: np.ndarray,
        n: int | None = None,
        abs_sum: np.ndarray | None = None,
        products: np.ndarray | None = None,
        affine: np.ndarray | None = None,
        sigmoid_prime: np.ndarray | None = None,
    ) -> Allowance:
        """Allowance per element of ``ref``; ``n``, ``abs_sum``, ``products`` and ``affine``
        (the rounded exact affine values) describe the affine map of a dense case."""
        dt = D.get(self.dtype)
        signed = self.signed_zeros or self.ulp == 0
        sign_text = "; signed zeros" if signed else ""
        if self.source == "case":
            abs_allow = None
            parts = []
            if self.ulp is not None:
                parts.append(f"ulp<={self.ulp:g}")
            if self.rtol is not None or self.atol is not None:
                rtol, atol = self.rtol or 0.0, self.atol or 0.0
                abs_allow = atol + rtol * np.abs(ref)
                parts.append(f"atol={atol:g}+rtol={rtol:g}*|ref|")
            text = "case: " + " or ".join(parts) + sign_text
            return Allowance(abs_allow, self.ulp, text, signed)
        dense = n is not None and abs_sum is not None and products is not None
        if self.op == "affine":
            assert dense and n is not None and abs_sum is not None and products is not None
            # the model bounds |y - S|; the row is compared with S rounded to the dtype
            bound = self.affine_bound(n, abs_sum, products, ref) + 0.5 * D.ulp_of(ref, dt)
            worst = float(np.max(bound)) if bound.size else 0.0
            return Allowance(bound, None, self._affine_text(n, worst) + sign_text, signed)
        budget = SIGMOID_ULP_BUDGET[self.dtype]
        allow = budget * D.ulp_of(ref, dt)
        text = f"{budget:g} ulp"
        if dense and sigmoid_prime is not None and affine is not None:
            assert n is not None and abs_sum is not None and products is not None
            bound = self.affine_bound(n, abs_sum, products, affine)
            with np.errstate(invalid="ignore"):  # a saturated sigmoid (σ' = 0) takes none of it
                allow = allow + np.where(sigmoid_prime == 0, 0.0, sigmoid_prime * bound)
            text += " + sigma'*affine bound"
        flush = (ref != 0) & (np.abs(ref) < dt.tiny)
        if flush.any():
            text += "; subnormal results may flush to +0"
        return Allowance(allow, budget, text + sign_text, signed, flush)


def resolve(
    op: str, dtype: str, overrides: dict[str, dict[str, dict[str, Any]]], accumulate: str = ""
) -> Tolerance:
    """The tolerance for ``op``/``dtype``: the case's all-dtype override merged with its
    per-dtype one (the latter wins), else the default; ``accumulate`` is the run's choice,
    which a case's own ``accumulate`` overrides."""
    per = overrides.get(op, {})
    spec = {**per.get("*", {}), **per.get(dtype, {})}
    signed = bool(spec.get("signed_zeros", False))
    acc = str(spec.get("accumulate") or accumulate or "float32")
    if not any(k in spec for k in ("ulp", "rtol", "atol")):
        return Tolerance(op, dtype, "default", signed_zeros=signed, accumulate=acc)
    return Tolerance(
        op,
        dtype,
        "case",
        spec.get("ulp"),
        spec.get("rtol"),
        spec.get("atol"),
        signed_zeros=signed,
        accumulate=acc,
    )


def case_allowance(tol: Tolerance, op: str, ref: Reference, n_in: int | None) -> Allowance:
    """The allowance of one case's ``op`` output: ``n_in`` is in_features for a dense case
    (None for sigmoid-only), whose sigmoid also takes the propagated affine bound."""
    if n_in is None or ref.affine is None:
        return tol.allowance(ref.of(op))
    sprime = ref.sigmoid * (1.0 - ref.sigmoid) if op == "sigmoid" else None
    return tol.allowance(
        ref.of(op),
        n=n_in,
        abs_sum=ref.abs_sum,
        products=ref.products,
        affine=ref.affine,
        sigmoid_prime=sprime,
    )
