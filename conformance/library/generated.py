"""Seeded sweeps: six input distributions over five layer sizes in every dtype, and
sigmoid-only sweeps (no expected values: the exact reference judges them at run time)."""

from __future__ import annotations

import math

from .common import ALL, Library, body, distribution


def generated(lib: Library) -> None:
    dists = {
        "uniform": (distribution("uniform", low=-1, high=1), "uniform on [-1, 1]"),
        "positive": (
            distribution("uniform", low=0, high=1),
            "uniform on [0, 1] (no cancellation: all terms add)",
        ),
        "normal": (distribution("normal", std=1), "standard normal"),
        "wide-normal": (
            distribution("normal", std=100),
            "normal with std 100 (large magnitudes)",
        ),
        "student-t3": (distribution("student_t", df=3), "Student t with 3 dof (heavy tails)"),
        "student-t1": (
            distribution("student_t", df=1, scale=0.1),
            "Cauchy-like t(1) x 0.1 (very heavy tails, rare huge values)",
        ),
    }
    sizes = [(8, 4, 3), (16, 32, 8), (32, 128, 16), (7, 61, 13), (64, 512, 32)]
    seed = 1000
    for dname, (spec, words) in dists.items():
        for b, n_in, n_out in sizes:
            seed += 1
            std = 1 / math.sqrt(n_in)
            weight = (
                distribution("normal", std=f"{std:.4g}")
                if dname != "student-t1"
                else distribution("student_t", df=1, scale=f"{0.1 * std:.4g}")
            )
            lib.write(
                f"generated/{dname}-{b}x{n_in}x{n_out}",
                f"Seeded sweep: {b} x {n_in} -> {n_out} layer, inputs {words}, weights scaled by "
                "1/sqrt(in), every dtype. Random cases catch what hand-picked ones miss; the "
                "exact reference judges them.",
                ["generated", dname],
                ALL,
                body(
                    {"x": spec},
                    {"weight": weight, "bias": distribution("normal", std=0.1)},
                    shapes={"batch": [b], "in_features": n_in, "out_features": n_out},
                ),
                fill=False,
                seed=seed,
            )
    # Square layers, as weight and as kernel: a parameter read in the wrong layout runs without
    # any shape error and fails on values. batch == out_features: a bias added along the batch
    # axis instead of the features runs too, and fails on values.
    for b, n_in, n_out, lay in (
        (8, 16, 16, "weight"),
        (8, 16, 16, "kernel"),
        (12, 7, 12, "weight"),
        (6, 9, 6, "kernel"),
    ):
        seed += 1
        std = 1 / math.sqrt(n_in)
        what = (
            f"a square {n_in} -> {n_out} layer given as {lay} (a transposed parameter has the same "
            "shape, so only the values catch it)"
            if n_in == n_out
            else f"batch {b} == out_features {n_out} (a bias broadcast along the batch axis has "
            "the same shape, so only the values catch it)"
        )
        lib.write(
            f"generated/{'square' if n_in == n_out else 'batch-eq-out'}-{lay}-{b}x{n_in}x{n_out}",
            f"Seeded {b} x {n_in} -> {n_out} layer, normal inputs and parameters: {what}; every dtype.",
            ["generated", "layout" if n_in == n_out else "bias", lay],
            ALL,
            body(
                {"x": distribution("normal", std=1)},
                {
                    lay: distribution("normal", std=f"{std:.4g}"),
                    "bias": distribution("normal", std=0.5),
                },
                shapes={"batch": [b], "in_features": n_in, "out_features": n_out},
            ),
            fill=False,
            seed=seed,
        )
    for i, (b, n) in enumerate(((64, 64), (8, 8))):
        lib.write(
            f"generated/sigmoid-normal-{b}x{n}",
            f"Seeded sigmoid-only sweep over {b} x {n} logits drawn from normal(0, 6): the range "
            "where sigmoid changes fastest plus its tails, every dtype.",
            ["generated", "sigmoid"],
            ALL,
            body({"z": distribution("normal", std=6)}, shapes={"batch": [b, n]}),
            fill=False,
            seed=2000 + i,
        )
