"""Would one fused ``jax.jit`` program per batch give the numbers the JAX rows report?

    python benchmarks/jax_fusion.py [PATHS...] [--dtype NAME]...

For every dense (case, dtype) unit of the cases (default: the bundled suite) this computes, in
one process, each JAX path three ways and compares them bit for bit:

- **eager**: what an ``eager`` row reports — the adapter's op-by-op functions (``jnp.matmul``,
  ``+``, ``jax.nn.sigmoid``, each dispatched and rounded to the dtype on its own);
- **jit per path**: what a ``compiled`` row reports — ``jax.jit`` of each path's function alone;
- **fused**: one ``jax.jit`` program returning both paths' outputs (``affine`` and
  ``sigmoid(affine)``), as a batch-fused program would.

It prints, per dtype, how many outputs differ between eager and fused, and between jit per
path and fused, with the largest difference in ULP of the dtype, and exits 0 either way: it
measures, it does not decide. (docs/native.md records the outcome.)
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance import dtypes as D  # noqa: E402
from conformance.adapters.base import Batch, kernel_of  # noqa: E402
from conformance.adapters.jax_adapter import JaxAdapter  # noqa: E402
from conformance.loader import load_cases  # noqa: E402
from conformance.planning import plan  # noqa: E402


def _ulps(a: np.ndarray, b: np.ndarray, dtype: str) -> float:
    a64, b64 = np.asarray(a).astype(np.float64), np.asarray(b).astype(np.float64)
    if a64.size == 0:
        return 0.0
    return float(np.max(D.ulp_distance(a64, b64, D.get(dtype))))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _first(a: np.ndarray, b: np.ndarray) -> str:
    """The first element where two outputs differ, as float64 values."""
    a64, b64 = np.asarray(a).astype(np.float64).ravel(), np.asarray(b).astype(np.float64).ravel()
    i = int(
        np.argmax(
            a.view(np.uint8).reshape(a64.size, -1).any(axis=1)
            if False
            else ((a64 != b64) | (np.signbit(a64) != np.signbit(b64)))
        )
    )
    return f"element {i}: {a64[i]!r} vs {b64[i]!r}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("paths", nargs="*", default=[str(ROOT / "cases")])
    ap.add_argument("--dtype", action="append", default=[])
    a = ap.parse_args(argv)
    cases, _ = load_cases(a.paths, check=False)
    cases = [c for c in cases if c.kind == "dense" and c.init is None]
    _, batches = plan(cases, a.dtype)
    adapter = JaxAdapter()
    adapter.setup()
    adapter.configure({"modes": "eager,compiled", "devices": "cpu"})
    jax, jnp = adapter.jax, adapter.jnp

    def fused(x: Any, k: Any, b: Any) -> tuple[Any, Any]:
        y = jnp.matmul(x, k)
        y = y + b if b is not None else y
        return y, jax.nn.sigmoid(y)

    fused_jit = jax.jit(fused)
    dev = jax.devices("cpu")[0]
    # dtype -> comparison -> [outputs compared, outputs differing, elements differing, max ulp]
    tally: dict[str, dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0, 0, 0.0])
    )
    shown: list[str] = []
    for batch in batches:
        assert isinstance(batch, Batch)
        for item in batch.items:
            x, k, b = (adapter.tensor(v, dev) for v in (item.x, kernel_of(item), item.bias))
            got = {
                "eager": [np.asarray(adapter.eager[n](x, k, b)) for n in ("affine", "affine_sigmoid")],
                "jit": [np.asarray(adapter.jitted[n](x, k, b)) for n in ("affine", "affine_sigmoid")],
                "fused": [np.asarray(v) for v in fused_jit(x, k, b)],
            }  # fmt: skip
            for base in ("eager", "jit"):
                t = tally[batch.dtype][f"{base} vs fused"]
                for one, other in zip(got[base], got["fused"], strict=True):
                    t[0] += 1
                    if not _same(one, other):
                        t[1] += 1
                        t[2] += int(np.count_nonzero(one.view(np.uint8) != other.view(np.uint8)))
                        t[3] = max(t[3], _ulps(one, other, batch.dtype))
                        shown.append(
                            f"{item.case} {batch.dtype} {base} vs fused: {_first(one, other)}"
                        )
    for line in shown:
        print(line)
    print(f"{len(cases)} dense cases, {len(batches)} batches, jax {jax.__version__}")
    print("dtype     comparison       outputs  differ  bytes-differ  max ulp")
    for dtype, per in sorted(tally.items()):
        for what, (n, diff, elems, ulp) in sorted(per.items()):
            print(f"{dtype:9} {what:16} {int(n):7d} {int(diff):7d} {int(elems):13d}  {ulp:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
