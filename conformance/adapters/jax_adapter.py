"""JAX: ``jnp.matmul`` + add and ``jax.nn.sigmoid`` (float64 via ``jax_enable_x64``).

Modes: ``eager`` (op-by-op dispatch) and ``compiled`` = ``jax.jit``; the jitted functions are
made once per worker, so XLA compiles once per (shape, dtype, device) across every batch.
Devices: ``cpu`` and ``cuda`` (``jax.devices("gpu")``; skipped with a reason when absent).
Init: ``jax.nn.initializers.lecun_normal()(jax.random.key(seed), (in, out), dtype)`` for the
kernel and zeros for the bias (Flax ``Dense``'s defaults, without Flax's key splitting).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._env import measure_denormals
from .base import Adapter, Batch, InitRequest, InitResult, Item, PathFn, SkipBatch, weight_of

# --matmul-precision -> jax_default_matmul_precision
PRECISION = {"highest": "highest", "high": "tensorfloat32", "medium": "bfloat16"}


class JaxAdapter(Adapter):
    name = "jax"
    requires = "jax"
    modes = ("eager", "compiled")
    devices = ("cpu", "cuda")
    init_kinds = ("jax",)

    def setup(self) -> None:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        self.jax = jax
        self.jnp = jnp
        self.options: dict[str, str] = {}

    def configure(self, options: dict[str, str]) -> None:
        super().configure(options)
        jax = self.jax
        if "cuda" not in options.get("devices", "cpu"):
            jax.config.update("jax_platforms", "cpu")  # no accelerator probing on CPU runs
        precision = options.get("matmul_precision")
        if precision:
            jax.config.update("jax_default_matmul_precision", PRECISION[precision])
        jnp = self.jnp

        def affine(x: Any, w: Any, b: Any) -> Any:
            y = jnp.matmul(x, w.T)
            return y + b if b is not None else y

        self._affine = affine
        self._jit_affine = jax.jit(affine)
        self._jit_affine_sigmoid = jax.jit(lambda x, w, b: jax.nn.sigmoid(affine(x, w, b)))
        self._jit_sigmoid = jax.jit(jax.nn.sigmoid)

    def version(self) -> str:
        import jaxlib

        return f"{self.jax.__version__} (jaxlib {jaxlib.__version__})"

    def settings(self) -> dict[str, str]:
        jax = self.jax
        cfg = jax.config
        precision = cfg.jax_default_matmul_precision  # type: ignore[attr-defined]
        out = {
            "jax_enable_x64": str(cfg.jax_enable_x64),  # type: ignore[attr-defined]
            "jax_default_matmul_precision": str(precision),
            "backend": jax.default_backend(),
            "devices": ", ".join(sorted({d.platform for d in jax.devices()})),
        }
        # float32 dots on a recent NVIDIA GPU: TF32 unless a precision is pinned (JAX docs,
        # "Matmul precision": the default leans toward speed).
        if precision in (None, "default", "fastest", "tensorfloat32", "high"):
            out["cuda_float32_matmul"] = "tf32"
        elif precision in ("bfloat16",):
            out["cuda_float32_matmul"] = "bf16"
        else:
            out["cuda_float32_matmul"] = "ieee"
        if os.environ.get("XLA_FLAGS"):
            out["xla_flags"] = os.environ["XLA_FLAGS"]
        return out

    def denormals(self, compiled: bool = False) -> dict[str, str]:
        jnp = self.jnp
        if compiled:
            halve = self.jax.jit(lambda a, s: a * s)
            return {
                "denormals_compiled": measure_denormals(
                    lambda a, s: np.asarray(halve(jnp.asarray(a), jnp.float32(s)))
                )
            }
        return {"denormals": measure_denormals(lambda a, s: np.asarray(jnp.asarray(a) * s))}

    def _device(self, batch: Batch) -> Any:
        if batch.device == "cuda":
            try:
                return self.jax.devices("gpu")[0]
            except RuntimeError as exc:
                raise SkipBatch(
                    f"JAX sees no GPU (backend {self.jax.default_backend()}): "
                    f"{str(exc).splitlines()[0][:120]}"
                ) from None
        return self.jax.devices("cpu")[0]

    # -- init -----------------------------------------------------------------------------------
    def init_params(self, request: InitRequest) -> InitResult:
        jax, jnp = self.jax, self.jnp
        with jax.default_device(jax.devices("cpu")[0]):
            key = jax.random.key(request.seed)
            dtype = jnp.dtype(request.dtype)
            kernel = jax.nn.initializers.lecun_normal()(
                key, (request.in_features, request.out_features), dtype
            )
            bias = jnp.zeros((request.out_features,), dtype) if request.has_bias else None
        return InitResult(
            request.key,
            param=np.asarray(kernel),
            layout="kernel",
            bias=None if bias is None else np.asarray(bias),
            paths={
                "kernel": "jax.nn.initializers.lecun_normal",
                "bias": "jax.nn.initializers.zeros",
            },
        )

    # -- paths --------------------------------------------------------------------------------
    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        jax = self.jax
        dev = self._device(batch)
        compiled = batch.mode == "compiled"
        affine_fn = self._jit_affine if compiled else self._affine
        sigmoid_fn = (
            self._jit_affine_sigmoid
            if compiled
            else (lambda x, w, b: jax.nn.sigmoid(self._affine(x, w, b)))
        )

        def args(item: Item) -> tuple[Any, Any, Any]:
            put = lambda a: jax.device_put(a, dev)  # noqa: E731
            b = put(item.bias) if item.bias is not None else None
            return put(item.x), put(np.ascontiguousarray(weight_of(item))), b

        return {
            "jnp.matmul+add": ("affine", lambda i: np.asarray(affine_fn(*args(i)))),
            "jax.nn.sigmoid(jnp.matmul+add)": (
                "sigmoid",
                lambda i: np.asarray(sigmoid_fn(*args(i))),
            ),
        }

    def sigmoid_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        jax = self.jax
        dev = self._device(batch)
        fn = self._jit_sigmoid if batch.mode == "compiled" else jax.nn.sigmoid
        return {"jax.nn.sigmoid": ("sigmoid", lambda i: np.asarray(fn(jax.device_put(i.z, dev))))}
