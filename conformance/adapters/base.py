"""The adapter interface: one class per framework, the same functions in each.

Runs are batched by design. The runner groups cases by (kind, dtype, in, out, bias) and hands
an adapter one :class:`Batch` at a time, so an adapter builds its layer / compiled function
once per batch and only copies each case's parameters in. Frameworks are imported once per
worker process, in :meth:`Adapter.setup`, never at module import time of this package.

An adapter declares its *paths* (the APIs users call) as ``{name: (op, fn)}``; ``fn`` maps one
:class:`Item` to a NumPy array in the batch dtype. A path that raises for an item costs only
that item's row.
"""

from __future__ import annotations

import importlib.util
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PathFn = Callable[["Item"], Any]


@dataclass
class Item:
    """One case's arrays in the batch dtype (NumPy, ml_dtypes.bfloat16 for bfloat16)."""

    case: str
    x: np.ndarray | None = None  # (*batch, in)
    z: np.ndarray | None = None  # sigmoid-only input
    param: np.ndarray | None = None  # as the case wrote it
    layout: str = "weight"  # "weight": (out, in), PyTorch; "kernel": (in, out), Keras/Flax
    bias: np.ndarray | None = None


@dataclass
class Batch:
    kind: str  # "dense" or "sigmoid"
    dtype: str
    in_features: int
    out_features: int
    has_bias: bool
    items: list[Item]
    mode: str = "eager"
    device: str = "cpu"
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class PathResult:
    path: str
    op: str
    outputs: list[np.ndarray | None]
    errors: list[str | None]
    mode: str = "eager"
    device: str = "cpu"


class SkipBatch(Exception):
    """The adapter cannot run this batch here (e.g. no CUDA device); the reason is shown."""


class Adapter(ABC):
    """Base class of framework adapters (see module docstring)."""

    #: framework name in result rows: numpy, torch, tensorflow, jax (plugins choose their own)
    name: str = ""
    #: importable module that must exist for the adapter to be available
    requires: str = ""
    #: execution modes this adapter implements
    modes: tuple[str, ...] = ("eager",)

    def unavailable(self) -> str | None:
        """Why the adapter cannot run here (checked without importing the framework)."""
        if self.requires and importlib.util.find_spec(self.requires) is None:
            return f"{self.requires} is not installed (pip install 'conformance[{self.name}]')"
        return None

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Import the framework and configure it; called once per worker process."""

    @abstractmethod
    def version(self) -> str: ...

    def settings(self) -> dict[str, str]:
        """What decides this framework's numbers (precision modes, threads, ...)."""
        return {}

    @abstractmethod
    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        """Paths for ``x @ W.T + b`` cases: ``{path name: (op, fn(item) -> ndarray)}``."""

    @abstractmethod
    def sigmoid_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        """Paths for sigmoid-only cases (input ``item.z``)."""

    def run(self, batch: Batch) -> list[PathResult]:
        """Run every path on every item of ``batch``; failures are recorded per item."""
        paths = self.dense_paths(batch) if batch.kind == "dense" else self.sigmoid_paths(batch)
        results = []
        for name, (op, fn) in paths.items():
            outs: list[np.ndarray | None] = []
            errs: list[str | None] = []
            for item in batch.items:
                try:
                    outs.append(np.asarray(fn(item)))
                    errs.append(None)
                except Exception as exc:  # a crashing path costs only its own rows
                    outs.append(None)
                    errs.append(_short_error(exc))
            results.append(PathResult(name, op, outs, errs, batch.mode, batch.device))
        return results


def _short_error(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg[:300]}{where}"


def weight_of(item: Item) -> np.ndarray:
    """(out, in) view of the item's parameter: the PyTorch layout."""
    assert item.param is not None
    return item.param if item.layout == "weight" else item.param.T


def kernel_of(item: Item) -> np.ndarray:
    """(in, out) view of the item's parameter: the Keras/Flax layout."""
    assert item.param is not None
    return item.param if item.layout == "kernel" else item.param.T
