"""JAX: ``jnp.matmul`` + add and ``jax.nn.sigmoid`` (float64 via ``jax_enable_x64``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Adapter, Batch, Item, PathFn, weight_of


class JaxAdapter(Adapter):
    name = "jax"
    requires = "jax"

    def setup(self) -> None:
        import jax

        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        import jax.numpy as jnp

        self.jax = jax
        self.jnp = jnp

    def version(self) -> str:
        import jaxlib

        return f"{self.jax.__version__} (jaxlib {jaxlib.__version__})"

    def settings(self) -> dict[str, str]:
        cfg = self.jax.config
        return {
            "jax_enable_x64": str(cfg.jax_enable_x64),  # type: ignore[attr-defined]
            "jax_default_matmul_precision": str(cfg.jax_default_matmul_precision),  # type: ignore[attr-defined]
            "backend": self.jax.default_backend(),
        }

    def _np(self, y: Any) -> np.ndarray:
        return np.asarray(y)

    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        jnp, jax = self.jnp, self.jax

        def affine(item: Item) -> Any:
            y = jnp.matmul(jnp.asarray(item.x), jnp.asarray(weight_of(item)).T)
            return y + jnp.asarray(item.bias) if item.bias is not None else y

        return {
            "jnp.matmul+add": ("affine", lambda i: self._np(affine(i))),
            "jax.nn.sigmoid(jnp.matmul+add)": (
                "sigmoid",
                lambda i: self._np(jax.nn.sigmoid(affine(i))),
            ),
        }

    def sigmoid_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        jnp, jax = self.jnp, self.jax
        return {"jax.nn.sigmoid": ("sigmoid", lambda i: self._np(jax.nn.sigmoid(jnp.asarray(i.z))))}
