"""JAX adapters for the warm-ahead tests, through ``--adapter tests.warm_adapters:Class``."""

from __future__ import annotations

from typing import Any

from conformance.adapters.base import Batch
from conformance.adapters.jax_adapter import JaxAdapter


class JaxUnwarmed(JaxAdapter):
    """Plain JAX without the warm-ahead thread: every batch compiles in its own run."""

    name = "jax-unwarmed"
    warm_ahead = False


class JaxLeakyWarm(JaxAdapter):
    """Wrong on purpose: its warm-up leaves a global change behind (float64 off), the kind
    of side effect that would make warmed rows differ from what users get."""

    name = "jax-leakywarm"

    def warm(self, batch: Batch) -> Any:
        self.jax.config.update("jax_enable_x64", False)
        return super().warm(batch)


class JaxClearsOften(JaxAdapter):
    """JAX that drops every compiled program after each batch (``jax.clear_caches``)."""

    name = "jax-clearsoften"
    RSS_LIMIT = 0
    EVERY = 1
