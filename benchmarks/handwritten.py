"""The yardstick: what a user writes instead of the suite, in one process.

For each float32 case of ``gen_cases.specs`` (the same arrays the suite draws: NumPy's
``default_rng(seed)`` in the order x, parameter, bias): ``torch.nn.Linear`` with the weight
copied in + ``torch.sigmoid``; Keras ``Dense`` with the kernel set, once with
``activation=None`` and once with ``activation="sigmoid"``; ``jnp.matmul`` + ``jax.nn.sigmoid``;
NumPy. Every output is checked with ``numpy.testing.assert_allclose`` against a float64 NumPy
result. Prints one JSON object: cases, checks, failures and seconds per phase.

    python benchmarks/handwritten.py [--cases 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np
from gen_cases import specs

RTOL, ATOL = 1e-5, 1e-6


def draw(rng: np.random.Generator, src: dict[str, Any], shape: tuple[int, ...]) -> np.ndarray:
    if src["distribution"] == "uniform":
        return rng.uniform(src["low"], src["high"], size=shape)
    return rng.normal(0.0, src["std"], size=shape)


def arrays(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """x (batch, in), weight (out, in), bias (out,) or None, as float32."""
    rng = np.random.default_rng(spec["seed"])
    b, k, m = spec["batch"], spec["in"], spec["out"]
    x = draw(rng, spec["x"], (b, k))
    pshape = (m, k) if spec["layout"] == "weight" else (k, m)
    param = draw(rng, spec["param"], pshape)
    weight = param if spec["layout"] == "weight" else param.T
    bias = draw(rng, spec["bias"], (m,)) if spec["bias"] is not None else None
    f32 = np.float32
    return (
        x.astype(f32),
        np.ascontiguousarray(weight.astype(f32)),
        (None if bias is None else bias.astype(f32)),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    import torch

    seconds["import_torch"] = time.perf_counter() - t0
    t = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf  # noqa: F401  (Keras runs on it)

    seconds["import_tensorflow_keras"] = time.perf_counter() - t
    t = time.perf_counter()
    import jax
    import jax.numpy as jnp

    seconds["import_jax"] = time.perf_counter() - t
    for k in ("torch", "keras", "jax", "numpy", "reference", "draw"):
        seconds[k] = 0.0
    checks = failures = 0
    first_failure = ""

    def check(got: Any, want: np.ndarray, what: str) -> None:
        nonlocal checks, failures, first_failure
        checks += 1
        try:
            np.testing.assert_allclose(np.asarray(got), want, rtol=RTOL, atol=ATOL)
        except AssertionError as exc:
            failures += 1
            first_failure = first_failure or f"{what}: {str(exc).strip().splitlines()[0]}"

    for spec in specs(args.cases, args.seed):
        t = time.perf_counter()
        x, w, b = arrays(spec)
        seconds["draw"] += time.perf_counter() - t

        t = time.perf_counter()
        y64 = x.astype(np.float64) @ w.astype(np.float64).T
        if b is not None:
            y64 = y64 + b.astype(np.float64)
        s64 = 1.0 / (1.0 + np.exp(-y64))
        seconds["reference"] += time.perf_counter() - t

        t = time.perf_counter()
        lin = torch.nn.Linear(spec["in"], spec["out"], bias=b is not None)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            if b is not None:
                lin.bias.copy_(torch.from_numpy(b))
            y = lin(torch.from_numpy(x))
            check(y.numpy(), y64, f"{spec['id']} torch affine")
            check(torch.sigmoid(y).numpy(), s64, f"{spec['id']} torch sigmoid")
        seconds["torch"] += time.perf_counter() - t

        t = time.perf_counter()
        for activation, want in ((None, y64), ("sigmoid", s64)):
            layer = keras.layers.Dense(spec["out"], activation=activation, use_bias=b is not None)
            layer.build((None, spec["in"]))
            layer.set_weights([w.T] if b is None else [w.T, b])
            check(layer(x).numpy(), want, f"{spec['id']} keras {activation}")
        seconds["keras"] += time.perf_counter() - t

        t = time.perf_counter()
        yj = jnp.matmul(jnp.asarray(x), jnp.asarray(w).T)
        if b is not None:
            yj = yj + jnp.asarray(b)
        check(yj, y64, f"{spec['id']} jax affine")
        check(jax.nn.sigmoid(yj), s64, f"{spec['id']} jax sigmoid")
        seconds["jax"] += time.perf_counter() - t

        t = time.perf_counter()
        yn = x @ w.T
        if b is not None:
            yn = yn + b
        check(yn, y64, f"{spec['id']} numpy affine")
        check(1.0 / (1.0 + np.exp(-yn)), s64, f"{spec['id']} numpy sigmoid")
        seconds["numpy"] += time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "cases": args.cases,
                "checks": checks,
                "failures": failures,
                "first_failure": first_failure,
                "seconds": {k: round(v, 3) for k, v in seconds.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
