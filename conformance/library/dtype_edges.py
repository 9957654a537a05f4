"""Per-dtype edges of the affine map: overflow to inf, nan and inf operands, subnormal inputs,
products that underflow, mixed magnitudes, decimal inputs rounded once, exact small integers."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes as D
from .common import ALL, Library, dense_body, rounded

INF = math.inf


def dtype_edges(lib: Library) -> None:
    for d in ALL:
        dt = D.get(d)
        big = dt.max / 2
        lib.write(
            f"dtypes/affine-overflow-{d}",
            f"Affine results past {d}'s max ({dt.max:.4g}) become +inf / -inf, and one just under "
            "max stays finite; sigmoid(±inf) is exactly 1 / 0.",
            ["dtypes", "overflow", d],
            [d],
            dense_body(
                [rounded([[big, big], [big, -big]], d)][0], [[1.0, 1.5], [-1.0, -1.5]], None
            ),
        )
        lib.write(
            f"dtypes/nonfinite-inputs-{d}",
            f"nan and inf in x, in {d}: inf*1 + 1 is inf, inf*0 is nan (IEEE 754), -inf keeps its "
            "sign, nan propagates to every output of its row; finite rows stay exact. Compared "
            "exactly: no tolerance covers a special value.",
            ["dtypes", "specials", d],
            [d],
            dense_body(
                [[INF, 1.0], [1.0, 1.0], [-INF, 2.0], [0.0, 1.0], [math.nan, 1.0]],
                [[1.0, 1.0], [0.0, 1.0], [1.0, -1.0]],
                [0.5, 0.5, -0.5],
            ),
        )
        lib.write(
            f"dtypes/nonfinite-params-{d}",
            f"inf in the weight and the bias, in {d}: +inf + -inf is nan (inf*1 and -inf*1 in one "
            "sum, or an inf product and a -inf bias), -inf*0 is nan, a finite sum plus an inf "
            "bias is inf.",
            ["dtypes", "specials", d],
            [d],
            dense_body(
                [[1.0, 1.0], [1.0, 0.0]],
                [[INF, -INF], [1.0, 1.0], [INF, 0.0]],
                [0.0, INF, -INF],
            ),
        )
        sub = dt.min_subnormal
        lib.write(
            f"dtypes/subnormal-inputs-{d}",
            f"Subnormal inputs in {d} (the smallest, {sub:.3g}, and a few multiples) times weights "
            "of 1 and 2^k: exact results are subnormal; flush-to-zero kernels (XLA/oneDNN CPU) give "
            "0, tolerated by the (n+2)*tiny floor of the affine bound.",
            ["dtypes", "subnormal", d],
            [d],
            dense_body(rounded([[sub, 3 * sub, 1.0]], d), [[1.0, 2.0, 0.0], [4.0, 1.0, 0.0]], None),
        )
        lib.write(
            f"dtypes/product-underflow-{d}",
            f"Products that underflow {d}: tiny * tiny is far below the smallest subnormal, so the "
            "exact result rounds to 0 (or the signed zero); a product computed in a wider type "
            "and added to the bias keeps the bias exact.",
            ["dtypes", "subnormal", d],
            [d],
            dense_body(rounded([[dt.tiny, -dt.tiny]], d), [rounded([dt.tiny, dt.tiny], d)], [1.0]),
        )
        lib.write(
            f"dtypes/mixed-magnitudes-{d}",
            f"Terms of very different magnitude in {d} (1, 2^-(p/2), 2^-p, and a large one): the "
            "small ones are partly or wholly absorbed depending on order; tests the tolerance's "
            "scaling with sum|xw|.",
            ["dtypes", "conditioning", d],
            [d],
            dense_body(
                rounded([[1.0, 2.0 ** -(dt.p // 2), dt.u, 2.0 ** (dt.p // 2)]], d),
                [[1.0, 1.0, 1.0, -1.0], [1.0, -1.0, 1.0, 1.0]],
                [0.5, -0.5],
            ),
        )
        rng = np.random.default_rng({"float16": 1, "bfloat16": 2, "float32": 3, "float64": 4}[d])
        lib.write(
            f"dtypes/decimal-inputs-{d}",
            f"Decimal inputs not representable in {d} (0.1, 0.2, 1/3, 2/3, ...): each is rounded "
            "once from the decimal to the dtype (never via float32 for bfloat16), and frameworks "
            "are fed exactly those values.",
            ["dtypes", "rounding", d],
            [d],
            dense_body(
                [[0.1, 0.2, 0.3, 0.7], [0.3333333333333333, 0.6666666666666666, 1.1, -2.2]],
                np.round(rng.uniform(-1, 1, (3, 4)), 2).tolist(),
                [0.01, 0.02, -0.03],
            ),
        )
        lib.write(
            f"dtypes/integers-exact-{d}",
            f"Small integers in {d}: products and sums are exact up to 2^{dt.p} in magnitude, so every "
            "framework must return the exact integer result.",
            ["dtypes", "exact", d],
            [d],
            dense_body([[1, 2, 3, 4], [-5, 6, -7, 8]], [[1, -1, 2, -2], [3, 0, 1, 5]], [10, -10]),
        )
