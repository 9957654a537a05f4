"""What a dense layer computes (affine, not its sigmoid; bias or none; identity, permutation,
one-hot) and the two parameter layouts, weight (out, in) and kernel (in, out), as twins."""

from __future__ import annotations

import numpy as np

from .common import ALL, Library, dense_body, with_tolerance

SIGNED_ZEROS = {"affine": {"signed_zeros": "true"}}


def semantics(lib: Library) -> None:
    x = [[0.5, -1.25, 2.0], [1.0, 0.0, -0.75]]
    w = [[0.25, 0.5, -1.0], [1.5, -0.125, 0.75]]
    cases = {
        "affine-not-sigmoid": (
            "nn.Linear returns the affine value x @ W.T + b, not its sigmoid: the two expected "
            "blocks differ visibly (affine -2.5 vs sigmoid 0.076). Linear, Linear+Sigmoid and "
            "Keras Dense(activation='sigmoid') are each checked against the matching one.",
            dense_body(x, w, [0.125, -0.5]),
        ),
        "no-bias-null": (
            "bias: null means no bias term at all (Linear(bias=False), Dense(use_bias=False)); "
            "the output is exactly x @ W.T.",
            dense_body(x, w, "null"),
        ),
        "bias-only": (
            "A zero weight leaves only the bias: every row of the output equals b exactly, and "
            "the sigmoid is sigmoid(b).",
            dense_body(x, [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [0.3, -2.0]),
        ),
        "identity-weight": (
            "The identity weight with zero bias returns x unchanged (exactly, in every dtype that "
            "holds x): a layer that transposes, scales or accumulates wrongly shows at once.",
            dense_body(
                [[0.1, -0.2, 0.3], [4.0, 5.5, -6.25]],
                [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
                [0.0, 0.0, 0.0],
            ),
        ),
        "permutation-weight": (
            "A permutation weight reorders the inputs: y[j] = x[perm[j]] exactly. Distinguishes "
            "weight (out, in) from its transpose.",
            dense_body(
                [[1.0, 2.0, 3.0], [-4.0, -5.0, -6.0]],
                [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                None,
            ),
        ),
        "one-hot-inputs": (
            "One-hot inputs select one column of the weight: y = W[:, k] + b exactly (an "
            "embedding-like use of a dense layer).",
            dense_body(
                [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
                [[0.7, -0.2, 0.05], [1.5, 2.5, -3.5]],
                [0.01, -0.02],
            ),
        ),
        "zero-input": (
            "A zero input gives exactly the bias, and sigmoid(bias): no framework may add "
            "anything from the weights.",
            dense_body([[0.0, 0.0, 0.0]], [[3.0, -7.0, 1e3], [-2.0, 0.5, 8.0]], [-1.0, 1.0]),
        ),
        "negative-zero": (
            "Signed zeros: x = -0 with weight 1 and bias -0 gives -0 (every term is -0); with "
            "bias +0 it gives +0. sigmoid(±0) is 0.5 either way. The sign is checked "
            "(signed_zeros).",
            with_tolerance(dense_body([["-0.0"]], [[1.0], [-1.0]], ["-0.0", "0.0"]), SIGNED_ZEROS),
        ),
        "signed-zero-k1-no-bias": (
            "Signed zeros of a one-term sum without bias: each output is one product, -0 where "
            "exactly one factor is negative (-0·1, 0·-1) and +0 otherwise; no accumulator is "
            "needed, so none may turn -0 into +0. The sign is checked (signed_zeros).",
            with_tolerance(dense_body([["-0.0"], ["0.0"]], [[1.0], [-1.0]], None), SIGNED_ZEROS),
        ),
        "signed-zero-k2-no-bias": (
            "Signed zeros of a two-term sum without bias: -0 + -0 is -0, -0 + +0 is +0 (IEEE "
            "round to nearest). A dot product whose accumulator starts from +0 gives +0 for "
            "the first. The sign is checked (signed_zeros).",
            with_tolerance(
                dense_body([["-0.0", "-0.0"], ["-0.0", "0.0"]], [[1.0, 1.0]], None), SIGNED_ZEROS
            ),
        ),
        "row-sums": (
            "An all-ones weight returns each row's sum (exactly here: the values are dyadic), the "
            "simplest check that the layer reduces over in_features.",
            dense_body([[0.5, 0.25, 0.125, 0.0625]], [[1.0, 1.0, 1.0, 1.0]], [0.0]),
        ),
        "seed-example-all-dtypes": (
            "The original report's numbers (nn.Linear(2,1) after torch.manual_seed(0), "
            "x = [[0.2877, 0.2914]]) in every dtype: the affine output is -0.473, its sigmoid "
            "0.3839; float16/bfloat16 round the printed decimals once.",
            dense_body([[0.2877, 0.2914]], [[-0.00529398, 0.3793229]], [-0.58198076]),
        ),
        "batch-consistency": (
            "The same input row repeated 8 times in one batch: every output row must be bitwise "
            "identical (pytorch/pytorch#91598 reports nn.Linear varying ~1e-7 with batching); "
            "each row is checked against the exact reference.",
            dense_body(
                [[0.1, -0.7, 0.33, 0.9]] * 8,
                [[0.3, -0.2, 0.11, 0.5], [-0.6, 0.4, 0.8, -0.1]],
                [0.05, -0.05],
            ),
        ),
    }
    for name, (desc, body) in cases.items():
        lib.write(f"semantics/{name}", desc, ["semantics"], ALL, body)


def layout(lib: Library) -> None:
    rng = np.random.default_rng(7)
    for n_in, n_out in ((2, 3), (3, 2), (1, 4), (4, 1), (5, 7), (7, 5)):
        w = np.round(rng.uniform(-2, 2, (n_out, n_in)), 3)
        x = np.round(rng.uniform(-1, 1, (2, n_in)), 3)
        b = np.round(rng.uniform(-0.5, 0.5, n_out), 3)
        for lay, p in (("weight", w), ("kernel", w.T)):
            other = "kernel (in, out)" if lay == "weight" else "weight (out, in)"
            lib.write(
                f"layout/pair-{n_in}to{n_out}-{lay}",
                f"A {n_in} -> {n_out} layer with a non-square, non-symmetric parameter given as "
                f"{lay} ({'out, in' if lay == 'weight' else 'in, out'}); its twin gives the same "
                f"numbers as {other}, and both must produce identical outputs (a transposed "
                "Dense/Linear conversion, huggingface/transformers#4514, fails one of them).",
                ["layout", lay],
                ("float32", "float64"),
                dense_body(x.tolist(), p.tolist(), b.tolist(), layout=lay),
            )
