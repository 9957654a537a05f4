"""The adapter interface: one class per framework, the same functions in each.

Runs are batched by design. The runner groups cases by (kind, dtype, in, out, bias) and hands
an adapter one :class:`Batch` at a time, so an adapter builds its layer / compiled function
once per batch and only copies each case's parameters in. Frameworks are imported once per
worker process, in :meth:`Adapter.setup`, never at module import time of this package.

An adapter declares its *paths* (the APIs users call) as ``{name: (op, fn)}``; ``fn`` maps one
:class:`Item` to a NumPy array in the batch dtype. A path that raises for an item costs only
that item's row.

Beyond the paths, an adapter may implement (issue 3, docs/native.md):

* ``modes``/``devices``: the execution modes (``eager``, ``compiled``) and devices (``cpu``,
  ``cuda``) it has; the runner sends it only batches it can run, so NumPy rows exist only in
  eager mode on the CPU. A device that is missing here raises :class:`SkipBatch`.
* ``configure(options)``: run-level knobs (``matmul_precision``, ``devices``, ``modes``),
  applied once after :meth:`Adapter.setup` and before :meth:`Adapter.settings` is recorded.
* ``init_kinds`` and :meth:`Adapter.init_params`: the framework's own seeded default
  initialiser (``params: {init: torch}``), run as a first phase before any batch.
"""

from __future__ import annotations

import importlib.util
import time
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
    seconds: list[float] = field(default_factory=list)  # wall time per item (first call warms up)


@dataclass
class InitRequest:
    """Draw one case's parameters with a framework's seeded default initialiser."""

    key: tuple[str, str]  # (case id, dtype)
    init: str  # "torch", "keras" or "jax"
    seed: int
    in_features: int
    out_features: int
    has_bias: bool
    dtype: str


@dataclass
class InitResult:
    """What the owning framework drew: ``param`` in ``layout`` and the bias, in ``dtype``."""

    key: tuple[str, str]
    param: np.ndarray | None = None
    layout: str = "weight"
    bias: np.ndarray | None = None
    #: row path per parameter name ("weight"/"kernel"/"bias"), e.g. "nn.Linear.weight"
    paths: dict[str, str] = field(default_factory=dict)
    error: str = ""


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
    #: devices this adapter can target (a missing one raises SkipBatch per batch)
    devices: tuple[str, ...] = ("cpu",)
    #: ``params.init`` values this adapter draws (see :meth:`init_params`)
    init_kinds: tuple[str, ...] = ()

    def unavailable(self) -> str | None:
        """Why the adapter cannot run here (checked without importing the framework)."""
        if self.requires and importlib.util.find_spec(self.requires) is None:
            return f"{self.requires} is not installed (pip install 'conformance[{self.name}]')"
        return None

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Import the framework and configure it; called once per worker process."""

    @abstractmethod
    def version(self) -> str: ...

    def configure(self, options: dict[str, str]) -> None:
        """Apply run-level options (``matmul_precision``, ``devices``, ``modes``); called once,
        after :meth:`setup`, before :meth:`settings` is recorded."""
        self.options = dict(options)

    def settings(self) -> dict[str, str]:
        """What decides this framework's numbers (precision modes, threads, ...)."""
        return {}

    def denormals(self, compiled: bool = False) -> dict[str, str]:
        """Observed subnormal behaviour (measured, not assumed); NumPy's unless overridden.
        ``compiled``: measure in the compiled mode instead (key ``denormals_compiled``); the
        worker asks for it after the init draws, so a slow compiler does not delay them."""
        from ._env import measure_denormals

        if compiled:
            return {}
        return {"denormals": measure_denormals(lambda a, s: a * np.float32(s))}

    def init_params(self, request: InitRequest) -> InitResult:
        """Draw parameters with the framework's own seeded initialiser (``init_kinds``)."""
        raise NotImplementedError(f"{self.name} has no framework-native init {request.init!r}")

    @abstractmethod
    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        """Paths for ``x @ W.T + b`` cases: ``{path name: (op, fn(item) -> ndarray)}``."""

    @abstractmethod
    def sigmoid_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        """Paths for sigmoid-only cases (input ``item.z``)."""

    def run(self, batch: Batch) -> list[PathResult]:
        """Run every path on every item of ``batch``; failures are recorded per item."""
        if batch.mode not in self.modes:
            raise SkipBatch(f"{self.name} has no {batch.mode} mode")
        if batch.device not in self.devices:
            raise SkipBatch(f"{self.name} does not run on {batch.device}")
        paths = self.dense_paths(batch) if batch.kind == "dense" else self.sigmoid_paths(batch)
        results = []
        for name, (op, fn) in paths.items():
            outs: list[np.ndarray | None] = []
            errs: list[str | None] = []
            secs: list[float] = []
            for item in batch.items:
                start = time.perf_counter()
                try:
                    outs.append(np.asarray(fn(item)))
                    errs.append(None)
                except Exception as exc:  # a crashing path costs only its own rows
                    outs.append(None)
                    errs.append(_short_error(exc))
                secs.append(time.perf_counter() - start)
            results.append(PathResult(name, op, outs, errs, batch.mode, batch.device, secs))
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
