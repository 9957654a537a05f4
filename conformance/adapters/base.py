"""The adapter interface: one class per framework, the same names in each.

Runs are batched by design. The runner groups cases by (kind, dtype, in, out, bias, mode,
device) and hands an adapter one :class:`Batch` at a time; each path builds its layer or
compiled function once per batch and only copies each case's parameters in. Frameworks are
imported once per worker process, in :meth:`Adapter.setup`, never at module import time of
this package, so the registry and the case loader can import adapter classes cheaply.

An adapter module reads like a Keras 3 backend module: the same names in every framework.

* class facts: ``name``, ``requires``, ``modes`` (``eager``/``compiled``), ``devices``
  (``cpu``/``cuda``), ``init_kinds`` (the ``params: {init: KIND}`` draws it owns and the
  layout each draws in) and ``paths``;
* ``setup()`` imports the framework, ``configure(options)`` applies run-level knobs
  (``matmul_precision``, ``devices``, ``modes``), ``version()``, ``settings()`` and
  ``denormals()`` record what decides its numbers;
* ``device(batch)`` picks the framework device (or raises :class:`SkipBatch`),
  ``init_params(request)`` draws with the framework's seeded initialiser;
* a path's builder raises :class:`SkipPath` when that one path cannot run the batch here (a
  dtype its kernels lack, an optional package missing): its rows are ``skip`` with the reason
  and the batch's other paths still run;
* ``paths``: the table of :class:`ApiPath` — each API users call, declared once: its row name,
  its op, the method that builds it for a batch, and the lines of the standalone reproduction
  program that calls it (``repro``, using ``repro_prelude``). The runner runs the table, the
  report writes reproduction programs from it, and the tests run those programs.

Parameters travel as the case wrote them (``Item.param`` in ``Item.layout``); each adapter
converts once, where it hands them to its framework (:func:`weight_of` / :func:`kernel_of`).
"""

from __future__ import annotations

import importlib.util
import re
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

PathFn = Callable[["Item"], Any]
#: ``progress(path name, items done in the batch)``, see :meth:`Adapter.run`
Progress = Callable[[str, int], None]
#: ``build(adapter, batch, device) -> fn(item) -> array``: a path made once per batch
PathBuilder = Callable[[Any, "Batch", Any], PathFn]

LAYOUTS = ("weight", "kernel")


@dataclass
class Item:
    """One case's arrays in the batch dtype (NumPy, ml_dtypes.bfloat16 for bfloat16)."""

    case: str
    x: np.ndarray | None = None  # (*batch, in)
    z: np.ndarray | None = None  # sigmoid-only input
    param: np.ndarray | None = None  # as the case wrote it, see ``layout``
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


@dataclass(frozen=True)
class ApiPath:
    """One API users call (a result row's ``path``), declared once in its adapter's table.

    ``repro`` is Python source (dedented when used) that computes ``y`` in the standalone
    reproduction program, after the adapter's ``repro_prelude``. The program defines, as
    literals: ``DTYPE`` and ``DEVICE`` (strings); ``x`` (dense cases) or ``z`` (sigmoid-only
    cases), the parameter as the case wrote it and ``b`` (``None`` without a bias), all float64
    NumPy arrays holding values of ``DTYPE``; ``IN`` and ``OUT``. The source refers to the
    parameter as ``$weight`` (an (out, in) expression) or ``$kernel`` ((in, out)): each
    becomes the parameter, transposed where the case wrote the other layout. The prelude
    defines ``T(a)`` (float64 array -> the framework's array in ``DTYPE`` on ``DEVICE``) and
    ``to_numpy(y)`` (-> float64 NumPy array). ``None``: no reproduction program (said in the
    report).
    """

    name: str
    op: str  # "affine" or "sigmoid"
    kind: str  # the cases it runs on: "dense" (input x) or "sigmoid" (input z)
    build: PathBuilder
    repro: str | None = None


@dataclass
class PathResult:
    path: str
    op: str
    outputs: list[np.ndarray | None]
    errors: list[str | None]
    mode: str = "eager"
    device: str = "cpu"
    seconds: list[float] = field(default_factory=list)  # wall time per item (first call warms up)
    skip: str = ""  # the path did not run on this batch here: why (its rows are ``skip``)


@dataclass
class InitRequest:
    """Draw one case's parameters with a framework's seeded default initialiser."""

    key: tuple[str, str]  # (case id, dtype)
    init: str  # a kind from the owning adapter's ``init_kinds``
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
    skip: str = ""  # the kind cannot be drawn here (an optional package missing): why


class SkipBatch(Exception):
    """The adapter cannot run this batch here (e.g. no CUDA device); the reason is shown."""


class SkipPath(Exception):
    """One path cannot run this batch here (e.g. a dtype its framework has no kernel for, an
    optional package missing): raised by its builder, its rows are ``skip`` with the reason."""


class Adapter(ABC):
    """Base class of framework adapters (see module docstring)."""

    #: framework name in result rows: numpy, torch, tensorflow, jax (plugins choose their own)
    name: ClassVar[str] = ""
    #: importable module that must exist for the adapter to be available
    requires: ClassVar[str] = ""
    #: execution modes this adapter implements
    modes: ClassVar[tuple[str, ...]] = ("eager",)
    #: devices this adapter can target (a missing one raises SkipBatch per batch)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    #: ``params.init`` kinds this adapter draws -> the layout it draws the parameter in
    init_kinds: ClassVar[Mapping[str, str]] = {}
    #: the paths, each declared once (see :class:`ApiPath`)
    paths: ClassVar[tuple[ApiPath, ...]] = ()
    #: reproduction programs: the lines that import the framework and define T and to_numpy
    repro_prelude: ClassVar[str] = ""
    #: a framework that compiles per shape even in eager mode (JAX: every primitive): the
    #: worker then runs :meth:`warm` on the batches ahead in a second thread while it runs
    #: the batches in order (compilers release the GIL: two cold JAX threads do 1.77x the work)
    warm_ahead: ClassVar[bool] = False

    def unavailable(self) -> str | None:
        """Why the adapter cannot run here (checked without importing the framework)."""
        if self.requires and importlib.util.find_spec(self.requires) is None:
            return f"{self.requires} is not installed (pip install 'conformance[{self.name}]')"
        return None

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Import the framework; called once per worker process."""

    def configure(self, options: dict[str, str]) -> None:  # noqa: B027 - optional hook
        """Apply run-level options (``matmul_precision``, ``devices``, ``modes``,
        ``cache_dir``: see :meth:`compile_cache`); called once, after :meth:`setup`, before
        :meth:`settings` is recorded and before anything is compiled."""

    def compile_cache(self, options: dict[str, str]) -> str | None:
        """The folder where this framework keeps compiled programs across runs, or None (no
        ``cache_dir`` option: ``--no-cache``; or it cannot be made). The runner's
        ``cache_dir`` is already per machine (:func:`conformance.host.machine_key`); this adds a
        folder per framework and version. A cached program is the one the compiler built for
        the same input, so what it computes is the same: only the compile time is saved."""
        root = options.get("cache_dir")
        if not root:
            return None
        tag = re.sub(r"[^A-Za-z0-9._+-]+", "_", f"{self.name}-{self.version()}")[:120]
        path = Path(root) / tag
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return str(path)

    @abstractmethod
    def version(self) -> str: ...

    def settings(self) -> dict[str, str]:
        """What decides this framework's numbers beyond the host's (precision modes, ...)."""
        return {}

    def denormals(self, compiled: bool = False) -> dict[str, str]:
        """Observed subnormal behaviour (measured, not assumed); NumPy's unless overridden.
        ``compiled``: measure in the compiled mode instead (key ``denormals_compiled``); the
        worker asks for it after the init draws, so a slow compiler does not delay them."""
        from ..host import measure_denormals

        if compiled:
            return {}
        return {"denormals": measure_denormals(lambda a, s: a * np.float32(s))}

    def device(self, batch: Batch) -> Any:
        """The framework's device for ``batch``; :class:`SkipBatch` when it is not here."""
        return batch.device

    def init_params(self, request: InitRequest) -> InitResult:
        """Draw parameters with the framework's own seeded initialiser (``init_kinds``)."""
        raise NotImplementedError(f"{self.name} has no framework-native init {request.init!r}")

    def run(self, batch: Batch, progress: Progress | None = None) -> list[PathResult]:
        """Run every path of the batch's kind on every item; failures are recorded per item
        (a path that cannot even be built fails all its items). ``progress(path, done)`` is
        called before each path is built and after each item (``done``: items finished in
        the batch, all paths counted): the worker turns it into the answers its watchdog
        waits for, so an override should call it too."""
        if batch.mode not in self.modes:
            raise SkipBatch(f"{self.name} has no {batch.mode} mode")
        if batch.device not in self.devices:
            raise SkipBatch(f"{self.name} does not run on {batch.device}")
        tell = progress or _no_progress
        dev = self.device(batch)
        results = []
        done = 0
        for path in self.paths:
            if path.kind != batch.kind:
                continue
            tell(path.name, done)
            try:
                fn: PathFn | None = path.build(self, batch, dev)
                built = ""
            except SkipBatch:
                raise
            except SkipPath as exc:
                n = len(batch.items)
                results.append(
                    PathResult(
                        path.name,
                        path.op,
                        [None] * n,
                        [None] * n,
                        batch.mode,
                        batch.device,
                        [0.0] * n,
                        skip=str(exc) or "skipped",
                    )
                )
                continue
            except Exception as exc:
                fn, built = None, _short_error(exc)
            outs: list[np.ndarray | None] = []
            errs: list[str | None] = []
            secs: list[float] = []
            for item in batch.items:
                start = time.perf_counter()
                try:
                    if fn is None:
                        raise RuntimeError(f"building the path failed: {built}")
                    outs.append(as_output(fn(item)))
                    errs.append(None)
                except OutputError as exc:
                    outs.append(None)
                    errs.append(str(exc))
                except Exception as exc:  # a crashing path costs only its own rows
                    outs.append(None)
                    errs.append(_short_error(exc))
                secs.append(time.perf_counter() - start)
                done += 1
                tell(path.name, done)
            results.append(
                PathResult(path.name, path.op, outs, errs, batch.mode, batch.device, secs)
            )
        return results

    def warm(self, batch: Batch) -> None:
        """Run every path of the batch's kind once on zeros shaped like its items (one item
        per distinct set of shapes), outputs discarded: what a framework compiles for a shape
        it then holds, and the batch's own run finds it. Shapes and dtypes decide a compiled
        program, never the values, so the batch's outputs are the same (the tests compare
        them bit for bit). Best effort: a failure here is left for the batch's own run."""
        if batch.mode not in self.modes or batch.device not in self.devices:
            return
        dev = self.device(batch)
        zeros: dict[tuple[Any, ...], Item] = {}
        for item in batch.items:
            arrays = (item.x, item.z, item.param, item.bias)
            key = (item.layout, *(None if a is None else (a.shape, a.strides) for a in arrays))
            if key not in zeros:
                x, z, param, bias = (None if a is None else np.zeros_like(a) for a in arrays)
                zeros[key] = Item(item.case, x, z, param, item.layout, bias)
        for path in self.paths:
            if path.kind != batch.kind:
                continue
            try:
                fn = path.build(self, batch, dev)
                for item in zeros.values():
                    fn(item)
            except Exception:
                pass


def _no_progress(path: str, done: int) -> None:
    pass


class OutputError(TypeError):
    """A path returned something that is not an array of numbers (said in its row)."""


def as_output(y: Any) -> np.ndarray:
    """A path's output as a NumPy array of plain numbers (bool, integer, float, bfloat16,
    complex); :class:`OutputError` saying what it was otherwise. Only such arrays cross to
    the runner, so it never has to unpickle an object a framework made."""
    if y is None:
        raise OutputError("returned None, not an array")
    if isinstance(y, str | bytes):
        raise OutputError(f"returned {type(y).__name__} {y[:40]!r}, not an array")
    a = np.asarray(y)
    if a.dtype.kind not in "biufc" and a.dtype.name != "bfloat16":
        what = type(y).__name__
        of = "" if isinstance(y, np.ndarray) else f" ({what[:60]})"
        raise OutputError(f"returned an array of {a.dtype}{of}, not of numbers")
    return a


def output_problem(y: Any) -> str | None:
    """Why ``y`` is not a plain array of numbers (:func:`as_output`), or ``None``."""
    try:
        as_output(y)
    except OutputError as exc:
        return str(exc)
    except Exception as exc:
        return f"returned a {type(y).__name__[:60]} that is not an array ({_short_error(exc)})"
    return None


def table_problems(cls: type[Adapter]) -> list[str]:
    """What is wrong with an adapter class's declarations (empty: nothing)."""
    out = []
    names = [p.name for p in cls.paths]
    if not cls.paths:
        out.append("declares no paths")
    if len(set(names)) != len(names):
        out.append("declares a path name twice")
    for p in cls.paths:
        if not isinstance(p, ApiPath):
            out.append(f"paths holds {type(p).__name__}, not ApiPath")
        elif p.op not in ("affine", "sigmoid") or p.kind not in ("dense", "sigmoid"):
            out.append(f"path {p.name!r}: op {p.op!r} / kind {p.kind!r}")
    for kind, layout in cls.init_kinds.items():
        if layout not in LAYOUTS:
            out.append(f"init kind {kind!r}: layout {layout!r} is not one of {LAYOUTS}")
    return out


def _short_error(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg[:300]}{where}"


def weight_of(item: Item) -> np.ndarray:
    """The item's parameter as an (out, in) weight, the PyTorch layout (a view)."""
    assert item.param is not None
    return item.param if item.layout == "weight" else item.param.T


def kernel_of(item: Item) -> np.ndarray:
    """The item's parameter as an (in, out) kernel, the Keras/Flax layout (a view)."""
    assert item.param is not None
    return item.param if item.layout == "kernel" else item.param.T
