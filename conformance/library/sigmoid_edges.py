"""Sigmoid edges per dtype: saturation to 1 and to 0, the subnormal-output range, exp
overflow, signed zeros, large logits, IEEE specials, a grid, and a dense layer onto the edges."""

from __future__ import annotations

import numpy as np

from .. import dtypes as D
from ..casefile import dtype_text
from .common import ALL, Library, dense_body, rounded, z_body
from .points import around, thresholds


def sigmoid_edges(lib: Library) -> None:
    for d in ALL:
        dt = D.get(d)
        th = thresholds(d)
        lib.write(
            f"sigmoid/saturate-one-{d}",
            f"Where {d} sigmoid first returns exactly 1: z = {dtype_text(th['one'], d)} is the smallest "
            f"{d} value whose correctly rounded sigmoid is 1 (sigmoid(z) > 1 - 2^-{dt.p + 1}); the "
            "three values below must stay at the largest value under 1. Implementations that "
            "clamp or compute 1/(1+exp(-z)) with a sloppy exp move this point.",
            ["sigmoid", "edges", "saturation", d],
            [d],
            z_body(rounded(around(th["one"], d), d)),
        )
        lib.write(
            f"sigmoid/saturate-zero-{d}",
            f"Where {d} sigmoid first returns exactly 0 (going down): below "
            f"z = {dtype_text(th['zero'], d)} the exact sigmoid is under half the smallest "
            f"subnormal ({dt.min_subnormal:.3g}) and rounds to +0; at and above it the result is "
            "the smallest subnormal. Frameworks that flush subnormals return 0 earlier (tolerated: "
            "the subnormal floor in docs/numerics.md).",
            ["sigmoid", "edges", "saturation", "subnormal", d],
            [d],
            z_body(rounded(around(th["zero"], d), d)),
        )
        lo, hi = th["zero"], th["normal"]
        pts = np.linspace(lo, hi, 9)
        lib.write(
            f"sigmoid/subnormal-output-{d}",
            f"Sigmoid results in {d}'s subnormal range: z from {dtype_text(lo, d)} (first non-zero "
            f"result) to {dtype_text(hi, d)} (first normal result). Correct rounding here needs "
            "gradual underflow; results flushed to zero are within the default subnormal floor.",
            ["sigmoid", "edges", "subnormal", d],
            [d],
            z_body(rounded(pts, d)),
        )
        lib.write(
            f"sigmoid/normal-boundary-{d}",
            f"Where {d} sigmoid output crosses the smallest normal number ({dt.tiny:.3g}): "
            f"z = {dtype_text(hi, d)} is the first value with a normal result.",
            ["sigmoid", "edges", "subnormal", d],
            [d],
            z_body(rounded(around(hi, d), d)),
        )
        ov = th["overflow"]
        offs = [ov - 1.0, ov - 0.1, *around(ov, d, 2), ov + 0.1, ov + 1.0]
        lib.write(
            f"sigmoid/exp-overflow-{d}",
            f"Around z = -ln(max {d}) = {dtype_text(ov, d)}, where exp(-z) overflows {d}: the "
            "naive 1/(1+exp(-z)) computed in the dtype returns 0 below this point (exp = inf) "
            "while the true sigmoid is ~1/max; a stable formulation keeps the tiny value. "
            "(jax.nn.sigmoid and hand-written NumPy compute in the input dtype.)",
            ["sigmoid", "edges", "overflow", d],
            [d],
            z_body(rounded(sorted(offs), d)),
        )
        small = [0.0, -0.0] + [
            s * v
            for v in (dt.min_subnormal, dt.tiny, dt.u, dt.eps, 2.0**-10, 0.125, 0.5)
            for s in (1, -1)
        ]
        zs = [dtype_text(v, d) for v in small]
        lib.write(
            f"sigmoid/around-zero-{d}",
            f"Sigmoid around 0 in {d}: ±0 give exactly 0.5; ±smallest subnormal, ±smallest normal, "
            "±unit roundoff and ±eps must round to 0.5 or its neighbours exactly as the exact "
            "value says (sigmoid(z) ~ 1/2 + z/4). A framework that rounds the sign of -0 or "
            "computes 1 - sigmoid(-z) loses these.",
            ["sigmoid", "edges", "zero", d],
            [d],
            z_body(zs),
        )
        big = [
            v for v in (10.0, 30.0, 50.0, 100.0, 1e3, 1e4, 6e4, 1e10, 1e30, 1e300) if v <= dt.max
        ]
        big = [*big, dt.max]
        vals = sorted({*big, *(-v for v in big)})
        lib.write(
            f"sigmoid/large-logits-{d}",
            f"Large logits in {d}, up to ±max ({dt.max:.4g}): results are exactly 1 or the correctly "
            "rounded tiny value (or 0); exp(-z) of a large negative z overflows, exp(z) of a large "
            "positive z must not produce nan via inf/inf.",
            ["sigmoid", "edges", "large", d],
            [d],
            z_body(rounded(vals, d)),
        )
        lib.write(
            f"sigmoid/specials-{d}",
            f"IEEE special inputs in {d}: sigmoid(+inf) = 1, sigmoid(-inf) = +0, sigmoid(nan) = nan "
            "(never 0.5 or 1 after a nan_to_num), sigmoid(-0) = 0.5.",
            ["sigmoid", "edges", "special", d],
            [d],
            z_body([".inf", "-.inf", ".nan", "-0.0", "0.0"]),
        )
        grid = np.linspace(-20, 20, 161)
        lib.write(
            f"sigmoid/grid-{d}",
            f"A grid of 161 points over [-20, 20] in {d} (rounded once to the dtype): the bulk of "
            "the sigmoid's range, where most logits of a trained model land; catches a few-ULP "
            "approximation error anywhere in the curve.",
            ["sigmoid", "grid", d],
            [d],
            z_body(rounded(grid, d)),
        )
        # Sigmoid after a dense layer, at the saturation and overflow points.
        logits = [th["one"], th["zero"], th["overflow"], hi]
        x = [[1.0]]
        w = [[v] for v in rounded(logits, d)]
        lib.write(
            f"sigmoid/dense-to-edges-{d}",
            f"A 1 -> 4 dense layer with x = 1 whose outputs are exactly {d}'s saturation-to-1, "
            "first-non-zero, exp-overflow and first-normal points: the affine values are exact, "
            "so the fused Dense(activation='sigmoid') and Linear+Sigmoid paths must land on the "
            "same edge results as sigmoid-only.",
            ["sigmoid", "edges", "dense", d],
            [d],
            dense_body(x, w, None),
        )
