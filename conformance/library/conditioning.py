"""Conditioning: TF32-sensitive values, heavy cancellation, ill-conditioned dot products,
summation order, a bias that cancels the product, products near float32's range."""

from __future__ import annotations

import numpy as np

from .. import dtypes as D
from ..casefile import dtype_text, flow
from .common import ALL, Library, dense_body, rounded


def conditioning(lib: Library) -> None:
    lib.write(
        "conditioning/tf32-1024.5",
        "[1024.5] @ [[1]] = 1024.5 exactly in float32; with TF32 (10-bit mantissa inputs, the "
        "default on Ampere GPUs in some frameworks) it becomes 1024 or 1025 "
        "(pytorch/pytorch#53635). Exact on CPU.",
        ["conditioning", "tf32"],
        ("float32", "float64"),
        dense_body([[1024.5]], [[1.0]], None),
    )
    lib.write(
        "conditioning/tf32-mantissa",
        "Inputs that need more than 10 mantissa bits (1 + 2^-11, 1 + 2^-20, 3 + 2^-15) times "
        "weights that need more than 7 (bfloat16): a TF32 or bfloat16-pass matmul rounds the "
        "inputs first and misses the low bits.",
        ["conditioning", "tf32"],
        ("float32", "float64"),
        dense_body(
            [["0x1.002p0", "0x1.00001p0", "0x1.8001p1"]],
            [["0x1.01p0", "-0x1.0001p0", "0x1.fffp-1"]],
            None,
        ),
    )
    for d in ALL:
        big = 2.0 ** D.get(d).p  # big + 1 is a tie in the dtype: it rounds to big
        wide = D.get(d).p < 24  # summed in float32 (every framework), big + 1 is exact
        verdict = (
            "every framework sums float16/bfloat16 products in float32, where big + 1 is "
            "exact, so the answer must be 1 (a sum accumulated in the dtype gives 0 and fails)"
            if wide
            else "any order that adds the 1 last gets 1, others 0; the default tolerance "
            "scales with sum|x||w| and allows both"
        )
        lib.write(
            f"conditioning/cancellation-{d}",
            f"Heavy cancellation in {d}: x . w = {flow([big, 1.0, -big])} . [1, 1, 1]: the exact "
            f"sum is 1 but big + 1 rounds to big in {d} when big = {big:g} (sum|xw| / |S| = "
            f"{2 * big + 1:g}); {verdict}. The pinned expected value is exact.",
            ["conditioning", "cancellation", d],
            [d],
            dense_body([[big, 1.0, -big], [1.0, big, -big]], [[1.0, 1.0, 1.0]], None),
        )
    rng = np.random.default_rng(11)
    for d in ALL:
        dt = D.get(d)
        for cond_exp in (3, 6):
            n = 16
            a = rng.uniform(-1, 1, n) * 2.0 ** rng.integers(0, 8, n)
            b = rng.uniform(-1, 1, n)
            a = D.round_pair(a, np.zeros(n), dt)
            b = D.round_pair(b, np.zeros(n), dt)
            # x = [a, a], w = [b, -b] cancels exactly; a small last term sets the condition.
            tail = D.round_pair(
                np.array([10.0**-cond_exp * float(np.abs(a * b).sum())]), np.zeros(1), dt
            )[0]
            perm = rng.permutation(2 * n + 1)
            x = np.concatenate([a, a, [1.0]])[perm]
            w = np.concatenate([b, -b, [tail]])[perm]
            lib.write(
                f"conditioning/ill-conditioned-1e{cond_exp}-{d}",
                f"A {2 * n + 1}-term dot product in {d} whose exact value is the small last "
                f"product ({tail:.3g}): the other terms cancel in pairs, in shuffled order, so "
                f"sum|x||w| / |S| ~ 1e{cond_exp}. Results depend on summation order; the "
                "default tolerance (gamma_n * sum|xw|) is sized for exactly this.",
                ["conditioning", "cancellation", d],
                [d],
                dense_body([rounded(x, d)], [rounded(w, d)], None),
            )
    for d in ("float32", "float64"):
        dt = D.get(d)
        n = 1024
        x = np.ones(n)
        w = np.full(n, dt.u)
        w[0] = 1.0
        lib.write(
            f"conditioning/summation-order-{d}",
            f"1 + {n - 1} * 2^-{dt.p} in {d}: left to right every small term is lost (result 1); "
            "pairwise or blocked summation keeps them (exact sum 1 + 1023 * u, rounds to "
            f"1 + 1024u). Sequential, pairwise and BLAS kernels differ here; all are within the "
            "tolerance.",
            ["conditioning", "summation-order", d],
            [d],
            dense_body(
                [rounded(x, d)],
                [[dtype_text(float(v), d) for v in w]],
                None,
            ),
        )
    lib.write(
        "conditioning/bias-cancels-product",
        "The bias cancels the product: 3 * 0.1 - 0.3 (each rounded once to the dtype): the exact "
        "result is the tiny rounding residue, not 0; a fused multiply-add gets it, separate "
        "rounding may not (within tolerance).",
        ["conditioning", "cancellation", "fma"],
        ALL,
        dense_body([[3.0]], [[0.1]], [-0.3]),
    )
    lib.write(
        "conditioning/large-magnitudes-float32",
        "Products near float32's range (1e19 * 1e19 = 1e38, max 3.4e38) summed: the sum 2e38 is "
        "representable but an intermediate in a wider-range-unaware kernel could overflow; the "
        "third row overflows for real (+inf).",
        ["conditioning", "overflow", "float32"],
        ["float32"],
        dense_body([[1e19, 1e19], [1e19, -1e19], [2e19, 1e19]], [[1e19, 1e19]], None),
    )
