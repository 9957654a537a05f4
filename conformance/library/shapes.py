"""Shapes: empty and unbatched inputs, many batch dims, 1-wide layers, tall, wide and large
layers; seeded values, the exact reference judges them."""

from __future__ import annotations

import math

from .common import Library, body, distribution


def shapes(lib: Library) -> None:
    specs = [
        (
            "empty-batch-3to2",
            "An empty batch (0, 3) -> (0, 2): frameworks must return an empty (0, 2) array, not fail or return (2,).",
            [0],
            3,
            2,
        ),
        (
            "empty-batch-2d",
            "Two batch dims with a zero, (0, 4, 3) -> (0, 4, 5): the empty leading dim must survive.",
            [0, 4],
            3,
            5,
        ),
        ("empty-inner-batch", "An empty inner batch dim (3, 0, 2) -> (3, 0, 4).", [3, 0], 2, 4),
        (
            "single-vector-1to1",
            "A single unbatched vector of length 1 -> output of shape (1,).",
            [],
            1,
            1,
        ),
        (
            "single-vector-16to8",
            "An unbatched vector (16,) -> (8,): no batch dim is added or dropped.",
            [],
            16,
            8,
        ),
        (
            "batch-3d-4x5x6",
            "3-D batch (4, 5, 6, 3) -> (4, 5, 6, 2): the layer applies to the last axis only.",
            [4, 5, 6],
            3,
            2,
        ),
        ("batch-4d", "4-D batch (2, 3, 4, 5, in=7) -> out=3.", [2, 3, 4, 5], 7, 3),
        (
            "batch-5d",
            "5-D batch (2, 2, 2, 2, 2, in=4) -> out=2: arbitrary leading dims.",
            [2, 2, 2, 2, 2],
            4,
            2,
        ),
        (
            "in-features-1",
            "in_features = 1: each output is x*w + b, a single rounded product and add.",
            [16],
            1,
            8,
        ),
        (
            "in-1-out-1",
            "A 1 -> 1 layer over a batch of 64: the smallest layer, y = x*w + b.",
            [64],
            1,
            1,
        ),
        (
            "out-features-1",
            "A 64 -> 1 layer (logistic regression head) over a batch of 32.",
            [32],
            64,
            1,
        ),
        (
            "tall-batch",
            "A tall batch of 4096 rows through an 8 -> 4 layer: row-blocked kernels.",
            [4096],
            8,
            4,
        ),
        (
            "wide-input",
            "A 4096 -> 2 layer: a long dot product (error bound grows with n).",
            [4],
            4096,
            2,
        ),
        ("wide-output", "A 4 -> 4096 layer: many outputs from a short dot product.", [4], 4, 4096),
        (
            "odd-sizes",
            "Odd, prime sizes 13 x 31 -> 17 that defeat vector-width fast paths.",
            [13],
            31,
            17,
        ),
        (
            "large-64x4096x1024",
            "A large layer, 64 x 4096 -> 1024 (268M multiply-adds, the per-case limit): blocked, multi-threaded GEMM paths with a long reduction.",
            [64],
            4096,
            1024,
        ),
    ]
    for i, (name, desc, batch, n_in, n_out) in enumerate(specs):
        dt = (
            ("float32",)
            if n_in * n_out * max(1, math.prod(batch)) > 1 << 20
            else ("float32", "float64")
        )
        cells = body(
            {"x": distribution("uniform", low=-1, high=1)},
            {
                "weight": distribution("normal", std=f"{1 / math.sqrt(n_in):.4g}"),
                "bias": distribution("uniform", low=-0.1, high=0.1),
            },
            shapes={"batch": batch, "in_features": n_in, "out_features": n_out},
        )
        lib.write(f"shapes/{name}", desc, ["shapes"], dt, cells, seed=100 + i)
