"""JAX: ``jnp.matmul`` + add and ``jax.nn.sigmoid`` on a (in, out) kernel, the Flax layout
(float64 via ``jax_enable_x64``).

Modes: ``eager`` (op-by-op dispatch) and ``compiled`` = ``jax.jit``; the jitted functions are
made once per worker, so XLA compiles once per (shape, dtype, device) across every batch.
Devices: ``cpu`` and ``cuda`` (``jax.devices("gpu")``; skipped with a reason when absent).
Init ``jax``: ``jax.nn.initializers.lecun_normal()(jax.random.key(seed), (in, out), dtype)``
for the kernel and zeros for the bias (Flax ``Dense``'s defaults, without Flax's key splitting).

Flax (optional, when ``flax`` is installed; otherwise its paths and draws are ``skip`` rows
with the reason): ``flax.nnx.Linear`` and ``flax.linen.Dense`` (kernel (in, out), like the
JAX paths) and their sigmoid compositions, eager (called directly) or compiled (``nnx.jit``,
``jax.jit`` of ``Module.apply``), built once per batch with the case's parameters assigned.
Init ``flax``: ``flax.nnx.Linear(in, out, rngs=nnx.Rngs(seed), dtype=..., param_dtype=...)``
(Flax's default lecun_normal kernel and zeros bias, drawn from the key nnx derives for its
``params`` stream, so the values differ from the plain-JAX ``jax`` kind). The Flax paths are a
separate block of the path table.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..host import measure_denormals
from ..reference.cache import prune
from .base import (
    Adapter,
    ApiPath,
    Batch,
    InitRequest,
    InitResult,
    Item,
    PathFn,
    SkipBatch,
    SkipPath,
    kernel_of,
)

# --matmul-precision -> jax_default_matmul_precision
PRECISION = {"highest": "highest", "high": "tensorfloat32", "medium": "bfloat16"}
#: bytes of compiled programs kept in the persistent cache (least recently used go first)
COMPILE_CACHE_BYTES = 2 << 30

FLAX_MISSING = "flax is not installed (pip install 'conformance[flax]')"


def use_compile_cache(jax: Any, folder: str | None) -> None:
    """Keep every program JAX compiles in ``folder`` across runs: eager primitives too (each
    is a small jitted program per shape), so no minimum compile time or size. Nothing without
    a folder (``--no-cache``), or where the user set ``JAX_COMPILATION_CACHE_DIR`` (theirs).

    The folder is bounded here, once per worker (least recently written first), not by JAX's
    ``jax_compilation_cache_max_size``: that bound lists and stats the whole folder under a
    file lock on every write, quadratic in the entries, and a suite writes thousands of tiny
    ones (300 random cases, JAX alone, cold: 147 s with it, 75 s without, which is what no
    cache at all costs; warm 30 s either way: README, "Benchmarks")."""
    if not folder or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return
    path = Path(folder)
    prune(path, "*-cache", COMPILE_CACHE_BYTES)
    prune(path, "*-atime", 0)  # the access times JAX's bound kept (runs before this one)
    remove_stale_temps(path)
    atomic_cache_writes()
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_compilation_cache_max_size", -1)


#: a temporary entry older than this is a leftover of a killed writer
STALE_TEMP_S = 3600.0


def atomic_cache_writes() -> bool:
    """Make JAX's persistent cache write each entry whole: to a temporary file renamed onto
    its name. With no size bound (as here) JAX writes an entry in place, so another process
    on the same folder (a second worker of this framework, conformance/spread.py; another
    run) could read it half written, and two writers could interleave; JAX never rewrites an
    existing key, so a damaged entry would cost a warning and a compile on every later read.
    Returns whether it applies (False where this JAX's cache is not the class it patches)."""
    try:
        from jax._src import lru_cache
    except ImportError:
        return False
    cls = getattr(lru_cache, "LRUCache", None)
    original = getattr(cls, "put", None)
    suffix = getattr(lru_cache, "_CACHE_SUFFIX", None)
    if cls is None or not callable(original) or not isinstance(suffix, str):
        return False
    if getattr(original, "atomic_by_conformance", False):
        return True

    def put(self: Any, key: str, value: bytes) -> None:
        folder = str(getattr(self, "path", ""))
        if getattr(self, "eviction_enabled", True) or not key or not folder or "://" in folder:
            original(self, key, value)  # bounded (JAX locks), remote or odd: JAX's own way
            return
        final = Path(folder) / f"{key}{suffix}"
        if final.exists():
            return
        tmp = final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_bytes(value)
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    put.atomic_by_conformance = True  # type: ignore[attr-defined]
    cls.put = put
    return True


def remove_stale_temps(folder: Path, now: float | None = None) -> None:
    """Remove the temporary entries of writers killed mid-write (older than an hour: a
    live writer's is seconds old)."""
    limit = (time.time() if now is None else now) - STALE_TEMP_S
    for p in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if p.stat().st_mtime < limit:
                p.unlink()


def configure_jax(jax: Any, options: dict[str, str], cache: str | None) -> None:
    """What the ``jax`` and ``keras-jax`` workers set alike: CPU only unless CUDA is asked
    for (no accelerator probing), the run's matmul precision, the persistent cache."""
    if "cuda" not in options.get("devices", "cpu"):
        jax.config.update("jax_platforms", "cpu")
    precision = options.get("matmul_precision")
    if precision:
        jax.config.update("jax_default_matmul_precision", PRECISION[precision])
    use_compile_cache(jax, cache)


#: lowerings per MLIR context before a fresh one (bounds what a context keeps uniqued)
IR_CONTEXT_USES = 256
#: set (to anything) to give every JAX lowering a fresh MLIR context again, as JAX does
FRESH_IR_CONTEXTS_ENV = "CONFORMANCE_JAX_FRESH_IR_CONTEXTS"


def share_ir_contexts(uses: int = IR_CONTEXT_USES) -> bool:
    """Let JAX's lowerings on one thread share an MLIR context, a fresh one every ``uses``.

    Eager mode lowers every primitive at every new shape, also when the persistent cache
    holds its program: the lowered module is the cache key. JAX makes a new MLIR context for
    each lowering, and making one (loading and registering the dialects) was most of a warm
    run: 1,000 random cases, JAX alone, warm: 108 s, 54 s sharing. The context only holds
    the dialects and uniqued types and attributes, so the modules are the same text and the
    programs the same programs (the tests lower both ways and compare, and a run sharing
    contexts finds every key a run without sharing wrote). One context per thread, since the
    warm-ahead thread lowers while the main one does. Returns whether it applies (False
    where :data:`FRESH_IR_CONTEXTS_ENV` is set, or this JAX has no ``make_ir_context``)."""
    if os.environ.get(FRESH_IR_CONTEXTS_ENV):
        return False
    try:
        from jax._src.interpreters import mlir
    except ImportError:
        return False
    original = getattr(mlir, "make_ir_context", None)
    if not callable(original):
        return False
    if getattr(original, "shared_by_conformance", False):
        return True
    local = threading.local()

    def make_ir_context() -> Any:
        used = getattr(local, "used", uses)
        if used >= uses:
            local.context, used = original(), 0
        local.used = used + 1
        return local.context

    make_ir_context.shared_by_conformance = True  # type: ignore[attr-defined]
    mlir.make_ir_context = make_ir_context
    return True


def _flax_version() -> str:
    """Flax's version for the settings (its paths' rows carry JAX's version), read without
    importing it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flax")
    except PackageNotFoundError:
        return "not installed"


CACHE_REQUEST = "/jax/compilation_cache/compile_requests_use_cache"
CACHE_HIT = "/jax/compilation_cache/cache_hits"


def _thread_counts(local: threading.local) -> dict[str, int]:
    """This thread's cache requests and hits (made on first use)."""
    counts: dict[str, int] | None = getattr(local, "counts", None)
    if counts is None:
        counts = local.counts = {CACHE_REQUEST: 0, CACHE_HIT: 0}
    return counts


class WarmWhileCompiling:
    """Warm ahead (:attr:`Adapter.warm_ahead`) while it saves time: while XLA compiles,
    which releases the GIL, so the two threads share the cores (300 random cases, JAX
    alone, cold: 75 s without, 43 s with). When the persistent cache serves every program,
    what is left is lowering each one to find its key, Python under the GIL, and the second
    thread only competes (1,000 random cases, JAX alone, warm: 42 s without, 43–47 s with).
    So after :data:`IDLE` warmed batches in a row that compiled nothing (JAX's cache events
    say so), only every :data:`SAMPLE`-th batch is warmed, to notice when compiling starts
    again.

    The events are counted per thread: JAX records them in the thread that compiles, and
    the main loop compiles beside this one, so shared counts would mix its requests into a
    warm's (a request counted before its hit) and the warm would seldom look served."""

    IDLE: ClassVar[int] = 6
    SAMPLE: ClassVar[int] = 16
    warm_ahead = True
    jax: Any
    _cache_events: threading.local | None = None
    _idle = 0
    _skipped = 0

    def warm(self, batch: Batch) -> None:
        local = self._cache_events
        if local is None:
            local = self._cache_events = threading.local()

            def count(event: str, **kwargs: Any) -> None:
                if event in (CACHE_REQUEST, CACHE_HIT):
                    _thread_counts(local)[event] += 1

            self.jax.monitoring.register_event_listener(count)
        if self._idle >= self.IDLE:
            self._skipped += 1
            if self._skipped % self.SAMPLE:
                return
        counts = _thread_counts(local)
        requests, hits = counts[CACHE_REQUEST], counts[CACHE_HIT]
        super().warm(batch)  # type: ignore[misc]
        asked = counts[CACHE_REQUEST] - requests
        served = asked > 0 and counts[CACHE_HIT] - hits == asked  # no request: no cache
        self._idle = self._idle + 1 if served else 0


def resident_bytes() -> int:
    """This process's resident memory now (Linux: ``/proc/self/statm``; 0 where unknown)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class BoundedCompiledMemory:
    """JAX keeps every program it compiled in memory for the life of the process, and eager
    mode compiles one per primitive and shape: 1,000 random cases grew the JAX worker to
    3.9 GB (about 0.5 MB a program), so 10,000 would not fit this machine. After a batch that
    leaves the worker above :attr:`RSS_LIMIT` (and :attr:`EVERY` batches since the last
    time), ``jax.clear_caches()`` drops them: a later batch at a shape already seen gets its
    program back from the persistent cache or compiles it again — the same program, so the
    same numbers (a test compares a worker that clears after every batch bit for bit)."""

    RSS_LIMIT: ClassVar[int] = 3 << 29  # 1.5 GiB
    EVERY: ClassVar[int] = 16
    jax: Any
    _since_clear = 0

    def run(self, batch: Batch, progress: Any = None) -> Any:
        try:
            return super().run(batch, progress)  # type: ignore[misc]
        finally:
            self._since_clear += 1
            if self._since_clear >= self.EVERY and resident_bytes() > self.RSS_LIMIT:
                self.jax.clear_caches()
                self._since_clear = 0


class JaxAdapter(WarmWhileCompiling, BoundedCompiledMemory, Adapter):
    name = "jax"
    requires = "jax"
    modes = ("eager", "compiled")
    devices = ("cpu", "cuda")
    init_kinds: ClassVar[dict[str, str]] = {"jax": "kernel", "flax": "kernel"}

    repro_prelude = """
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 would silently be float32
        import jax.numpy as jnp

        dt = jnp.dtype(DTYPE)
        dev = jax.devices("gpu" if DEVICE == "cuda" else "cpu")[0]

        def T(a):  # exact: a holds values of DTYPE
            return jax.device_put(jnp.asarray(a, dtype=dt), dev)

        def to_numpy(y):
            return np.asarray(y).astype(np.float64)
    """

    def setup(self) -> None:
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 would silently be float32
        import jax.numpy as jnp

        self.jax = jax
        self.jnp = jnp
        self._nnx_layers = threading.local()
        share_ir_contexts()

    def configure(self, options: dict[str, str]) -> None:
        jax, jnp = self.jax, self.jnp
        configure_jax(jax, options, self.compile_cache(options))

        def affine(x: Any, k: Any, b: Any) -> Any:
            y = jnp.matmul(x, k)
            return y + b if b is not None else y

        def affine_sigmoid(x: Any, k: Any, b: Any) -> Any:
            return jax.nn.sigmoid(affine(x, k, b))

        self.eager = {"affine": affine, "affine_sigmoid": affine_sigmoid, "sigmoid": jax.nn.sigmoid}
        self.jitted = {name: jax.jit(f) for name, f in self.eager.items()}

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
        out["flax"] = _flax_version()
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

    def device(self, batch: Batch) -> Any:
        if batch.device == "cuda":
            try:
                return self.jax.devices("gpu")[0]
            except RuntimeError as exc:
                raise SkipBatch(
                    f"JAX sees no GPU (backend {self.jax.default_backend()}): "
                    f"{str(exc).splitlines()[0][:120]}"
                ) from None
        return self.jax.devices("cpu")[0]

    # -- conversion -----------------------------------------------------------------------------
    def tensor(self, a: np.ndarray | None, dev: Any) -> Any:
        return None if a is None else self.jax.device_put(np.ascontiguousarray(a), dev)

    def numpy(self, y: Any) -> np.ndarray:
        return np.asarray(y)

    def compile(self, batch: Batch, name: str) -> Any:
        return (self.jitted if batch.mode == "compiled" else self.eager)[name]

    # -- init -----------------------------------------------------------------------------------
    def init_params(self, request: InitRequest) -> InitResult:
        if request.init == "flax":
            return self.flax_init_params(request)
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

    # -- paths ----------------------------------------------------------------------------------
    def _dense_path(self, batch: Batch, dev: Any, name: str) -> PathFn:
        call = self.compile(batch, name)

        def fn(item: Item) -> np.ndarray:
            x, k, b = (self.tensor(a, dev) for a in (item.x, kernel_of(item), item.bias))
            return self.numpy(call(x, k, b))

        return fn

    def matmul_add(self, batch: Batch, dev: Any) -> PathFn:
        return self._dense_path(batch, dev, "affine")

    def sigmoid_matmul_add(self, batch: Batch, dev: Any) -> PathFn:
        return self._dense_path(batch, dev, "affine_sigmoid")

    def sigmoid(self, batch: Batch, dev: Any) -> PathFn:
        call = self.compile(batch, "sigmoid")
        return lambda item: self.numpy(call(self.tensor(item.z, dev)))

    # -- Flax (optional) -------------------------------------------------------------------------
    def flax(self) -> Any:
        """The ``flax`` package; a path that needs it is a ``skip`` where it is missing."""
        if importlib.util.find_spec("flax") is None:
            raise SkipPath(FLAX_MISSING)
        import flax.linen
        import flax.nnx

        return flax

    def flax_init_params(self, request: InitRequest) -> InitResult:
        if importlib.util.find_spec("flax") is None:
            return InitResult(request.key, skip=FLAX_MISSING)
        from flax import nnx

        jax, jnp = self.jax, self.jnp
        dtype = jnp.dtype(request.dtype)
        with jax.default_device(jax.devices("cpu")[0]):
            layer = nnx.Linear(
                request.in_features,
                request.out_features,
                use_bias=request.has_bias,
                dtype=dtype,
                param_dtype=dtype,
                rngs=nnx.Rngs(request.seed),
            )
        bias = layer.bias
        return InitResult(
            request.key,
            param=np.asarray(layer.kernel.value),
            layout="kernel",
            bias=None if bias is None else np.asarray(bias.value),
            paths={
                "kernel": "flax.nnx.Linear.kernel (lecun_normal)",
                "bias": "flax.nnx.Linear.bias (zeros)",
            },
        )

    def _nnx_layer(self, batch: Batch, dev: Any) -> Any:
        """The batch's ``nnx.Linear``, shared by ``nnx.Linear`` and ``nnx.Sequential``: each
        call assigns its item's parameters first, so the two paths need not build one each
        (a build with its ``nnx.Rngs`` dispatches several small random-key programs, ~2 ms:
        about 5 % of a warm JAX worker on 1,000 random cases). Kept per thread (the
        warm-ahead thread runs the next batch beside this one) and per shape, dtype, bias
        and device; a batch with another signature builds its own."""
        key = (batch.in_features, batch.out_features, batch.has_bias, batch.dtype, str(dev))
        mine = getattr(self._nnx_layers, "last", None)
        if mine is not None and mine[0] == key:
            return mine[1]
        nnx = self.flax().nnx
        dtype = self.jnp.dtype(batch.dtype)

        def zeros(key: Any, shape: Any, dtype: Any = None) -> Any:
            return self.tensor(np.zeros(shape, dtype), dev)

        with self.jax.default_device(dev):
            # Zeros put on the device, not drawn or broadcast: every case assigns its own
            # parameters, and either would compile a program per new shape (a random draw
            # costs more than the whole path; nnx.initializers.zeros_init 20 ms per array).
            layer = nnx.Linear(
                batch.in_features,
                batch.out_features,
                use_bias=batch.has_bias,
                dtype=dtype,
                param_dtype=dtype,
                kernel_init=zeros,
                bias_init=zeros,
                rngs=nnx.Rngs(0),
            )
        self._nnx_layers.last = (key, layer)
        return layer

    def _nnx_path(self, batch: Batch, dev: Any, sigmoid: bool) -> PathFn:
        nnx = self.flax().nnx
        layer = self._nnx_layer(batch, dev)
        model = nnx.Sequential(layer, nnx.sigmoid) if sigmoid else layer

        def forward(m: Any, x: Any) -> Any:
            return m(x)

        call = nnx.jit(forward) if batch.mode == "compiled" else forward

        def fn(item: Item) -> np.ndarray:
            layer.kernel.value = self.tensor(kernel_of(item), dev)
            if item.bias is not None:
                layer.bias.value = self.tensor(item.bias, dev)
            return self.numpy(call(model, self.tensor(item.x, dev)))

        return fn

    def _linen_path(self, batch: Batch, dev: Any, sigmoid: bool) -> PathFn:
        linen = self.flax().linen
        dtype = self.jnp.dtype(batch.dtype)
        # apply() traces the initializer on every call, only for its shape (flax checks the
        # given params against it): zeros trace one primitive, the default lecun_normal a
        # truncated-normal draw (1,000 random cases, JAX alone, warm: 54 s -> 30 s). The
        # outputs come from the given params either way.
        zeros = linen.initializers.zeros_init()
        dense = linen.Dense(
            batch.out_features,
            use_bias=batch.has_bias,
            dtype=dtype,
            param_dtype=dtype,
            kernel_init=zeros,
            bias_init=zeros,
        )

        def forward(params: Any, x: Any) -> Any:
            y = dense.apply({"params": params}, x)
            return linen.sigmoid(y) if sigmoid else y

        call = self.jax.jit(forward) if batch.mode == "compiled" else forward

        def fn(item: Item) -> np.ndarray:
            params = {"kernel": self.tensor(kernel_of(item), dev)}
            if item.bias is not None:
                params["bias"] = self.tensor(item.bias, dev)
            return self.numpy(call(params, self.tensor(item.x, dev)))

        return fn

    def nnx_linear(self, batch: Batch, dev: Any) -> PathFn:
        return self._nnx_path(batch, dev, sigmoid=False)

    def nnx_sequential(self, batch: Batch, dev: Any) -> PathFn:
        return self._nnx_path(batch, dev, sigmoid=True)

    def linen_dense(self, batch: Batch, dev: Any) -> PathFn:
        return self._linen_path(batch, dev, sigmoid=False)

    def linen_sigmoid_dense(self, batch: Batch, dev: Any) -> PathFn:
        return self._linen_path(batch, dev, sigmoid=True)

    #: JAX's own paths (jax.numpy / jax.nn)
    jax_paths = (
        ApiPath(
            "jnp.matmul+add",
            "affine",
            "dense",
            matmul_add,
            """
            y = jnp.matmul(T(x), T($kernel))
            if b is not None:
                y = y + T(b)
            """,
        ),
        ApiPath(
            "jax.nn.sigmoid(jnp.matmul+add)",
            "sigmoid",
            "dense",
            sigmoid_matmul_add,
            """
            y = jnp.matmul(T(x), T($kernel))
            if b is not None:
                y = y + T(b)
            y = jax.nn.sigmoid(y)
            """,
        ),
        ApiPath(
            "jax.nn.sigmoid",
            "sigmoid",
            "sigmoid",
            sigmoid,
            """
            y = jax.nn.sigmoid(T(z))
            """,
        ),
    )

    #: Flax layers (optional: skipped rows without flax), a block of their own
    flax_paths = (
        ApiPath(
            "flax.nnx.Linear",
            "affine",
            "dense",
            nnx_linear,
            """
            from flax import nnx

            layer = nnx.Linear(IN, OUT, use_bias=b is not None, dtype=dt, param_dtype=dt, rngs=nnx.Rngs(0))
            layer.kernel.value = T($kernel)
            if b is not None:
                layer.bias.value = T(b)
            y = layer(T(x))
            """,
        ),
        ApiPath(
            "flax.nnx.Sequential(nnx.Linear, nnx.sigmoid)",
            "sigmoid",
            "dense",
            nnx_sequential,
            """
            from flax import nnx

            layer = nnx.Linear(IN, OUT, use_bias=b is not None, dtype=dt, param_dtype=dt, rngs=nnx.Rngs(0))
            model = nnx.Sequential(layer, nnx.sigmoid)
            layer.kernel.value = T($kernel)
            if b is not None:
                layer.bias.value = T(b)
            y = model(T(x))
            """,
        ),
        ApiPath(
            "flax.linen.Dense",
            "affine",
            "dense",
            linen_dense,
            """
            from flax import linen

            params = {"kernel": T($kernel)}
            if b is not None:
                params["bias"] = T(b)
            dense = linen.Dense(OUT, use_bias=b is not None, dtype=dt, param_dtype=dt)
            y = dense.apply({"params": params}, T(x))
            """,
        ),
        ApiPath(
            "flax.linen.sigmoid(linen.Dense)",
            "sigmoid",
            "dense",
            linen_sigmoid_dense,
            """
            from flax import linen

            params = {"kernel": T($kernel)}
            if b is not None:
                params["bias"] = T(b)
            dense = linen.Dense(OUT, use_bias=b is not None, dtype=dt, param_dtype=dt)
            y = linen.sigmoid(dense.apply({"params": params}, T(x)))
            """,
        ),
    )

    paths = jax_paths + flax_paths
