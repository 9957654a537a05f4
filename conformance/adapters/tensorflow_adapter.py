"""TensorFlow / Keras: ``keras.layers.Dense`` with and without ``activation="sigmoid"``,
``tf.linalg.matmul`` + ``tf.nn.bias_add`` and ``tf.math.sigmoid``.

Keras stores ``kernel`` as (in, out), the transpose of ``nn.Linear.weight``. Quirk: ``Dense``
and ``tf.linalg.matmul`` need at least 2-D inputs; a 1-D case input gets a leading axis of 1
and loses it again, as a user porting ``nn.Linear`` code would do.

Modes: ``eager``, and ``compiled`` = ``tf.function(jit_compile=True)`` (XLA), one function per
path and batch (variables are assigned, not re-captured, so only a new input shape retraces).
Devices: ``cpu`` and ``cuda`` (``/GPU:0``; skipped with a reason when TensorFlow sees no GPU).
Init ``keras``: ``keras.utils.set_random_seed(seed)`` then ``Dense(out)`` built on ``(None, in)``.
"""

from __future__ import annotations

import os
import re
from typing import Any, ClassVar

import numpy as np

from ..host import measure_denormals
from .base import (
    Adapter,
    ApiPath,
    Batch,
    InitRequest,
    InitResult,
    Item,
    PathFn,
    PathResult,
    Progress,
    SkipBatch,
    kernel_of,
)

# Eager TensorFlow keeps a kernel for every distinct op it ran, and each new variable's
# ``VarHandleOp`` is distinct (its shape and shared name are attributes): ~0.13 MB per Dense
# built, 1.2 GB over 10,000 cases. The cache is cleared every this many batches, as
# ``tf.random.set_seed`` itself does; kernels are only re-made, results do not change.
CLEAR_KERNELS_EVERY = 256


class TensorflowAdapter(Adapter):
    name = "tensorflow"
    requires = "tensorflow"
    modes = ("eager", "compiled")
    devices = ("cpu", "cuda")
    init_kinds: ClassVar[dict[str, str]] = {"keras": "kernel"}

    repro_prelude = """
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ["KERAS_BACKEND"] = "tensorflow"  # before keras is imported
        import keras
        import tensorflow as tf

        dt = getattr(tf, DTYPE)
        dev = "/GPU:0" if DEVICE == "cuda" else "/CPU:0"

        def T(a):  # exact: a holds values of DTYPE
            with tf.device(dev):
                return tf.cast(tf.constant(a, dtype=tf.float64), dt)

        def to_numpy(y):
            return np.asarray(tf.cast(y, tf.float64))
    """

    def setup(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ["KERAS_BACKEND"] = "tensorflow"  # Keras' backend is fixed at its import
        import keras
        import tensorflow as tf

        self.tf = tf
        self.keras = keras
        self.batches_run = 0

    def configure(self, options: dict[str, str]) -> None:
        precision = options.get("matmul_precision")
        if precision:
            # TF's only float32 matmul knob: TF32 on (Ampere+ GPUs) or off.
            self.tf.config.experimental.enable_tensor_float_32_execution(precision != "highest")
        cache = self.compile_cache(options)
        flags = os.environ.get("TF_XLA_FLAGS", "")
        if (
            cache
            and re.fullmatch(r"[\w./+-]+", cache)  # TF splits its flags on spaces
            and "tf_xla_persistent_cache_directory" not in flags
        ):
            # read when XLA first compiles (jit_compile=True), which is after this
            os.environ["TF_XLA_FLAGS"] = f"{flags} --tf_xla_persistent_cache_directory={cache}"

    def version(self) -> str:
        return f"{self.tf.__version__} (keras {self.keras.__version__})"

    def settings(self) -> dict[str, str]:
        tf = self.tf
        tf32 = tf.config.experimental.tensor_float_32_execution_enabled()
        gpus = tf.config.list_physical_devices("GPU")
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
        out = {
            "tf32_execution": str(tf32),
            "cuda_float32_matmul": "tf32" if tf32 else "ieee",
            "onednn_opts": onednn if onednn is not None else "unset (TF default: on for x86 CPUs)",
            "intra_op_threads": str(tf.config.threading.get_intra_op_parallelism_threads()),
            "inter_op_threads": str(tf.config.threading.get_inter_op_parallelism_threads()),
            "keras_backend": self.keras.backend.backend(),
            "gpus": str(len(gpus)),
            "built_with_cuda": str(tf.test.is_built_with_cuda()),
        }
        if os.environ.get("XLA_FLAGS"):
            out["xla_flags"] = os.environ["XLA_FLAGS"]
        return out

    def denormals(self, compiled: bool = False) -> dict[str, str]:
        tf = self.tf
        if compiled:
            halve = tf.function(lambda a, s: a * s, jit_compile=True)
            return {
                "denormals_compiled": measure_denormals(
                    lambda a, s: halve(tf.constant(a), tf.constant(s, tf.float32)).numpy()
                )
            }
        return {"denormals": measure_denormals(lambda a, s: (tf.constant(a) * s).numpy())}

    def device(self, batch: Batch) -> str:
        if batch.device == "cuda":
            if not self.tf.config.list_physical_devices("GPU"):
                raise SkipBatch(
                    f"TensorFlow {self.tf.__version__} sees no GPU "
                    f"(built with CUDA: {self.tf.test.is_built_with_cuda()})"
                )
            return "/GPU:0"
        return "/CPU:0"

    # -- conversion -----------------------------------------------------------------------------
    def tensor(self, a: np.ndarray | None) -> Any:
        """``a`` as a 2-D-or-more constant (call inside ``tf.device``); see the 1-D quirk."""
        assert a is not None
        return self.tf.constant(a[None, :] if a.ndim == 1 else a)

    def numpy(self, y: Any, like: np.ndarray | None = None) -> np.ndarray:
        """``y`` as NumPy; ``like``: the input, whose 1-D shape drops the added axis again."""
        arr = np.asarray(y.numpy() if hasattr(y, "numpy") else y)
        return arr[0] if like is not None and like.ndim == 1 else arr

    def compile(self, batch: Batch, fn: Any) -> Any:
        if batch.mode != "compiled":
            return fn
        return self.tf.function(fn, jit_compile=True, reduce_retracing=False)

    # -- init -----------------------------------------------------------------------------------
    def run(self, batch: Batch, progress: Progress | None = None) -> list[PathResult]:
        try:
            return super().run(batch, progress)
        finally:
            self.batches_run += 1
            if self.batches_run % CLEAR_KERNELS_EVERY == 0:
                self.clear_kernels()

    def clear_kernels(self) -> None:
        """Drop eager TensorFlow's cached kernels (feature-detected: a private API)."""
        from tensorflow.python.eager import context

        clear = getattr(context.context(), "clear_kernel_cache", None)
        if clear is not None:
            clear()

    def init_params(self, request: InitRequest) -> InitResult:
        keras = self.keras
        keras.utils.set_random_seed(request.seed)
        with self.tf.device("/CPU:0"):
            layer = keras.layers.Dense(
                request.out_features, use_bias=request.has_bias, dtype=request.dtype
            )
            layer.build((None, request.in_features))
        return InitResult(
            request.key,
            param=np.asarray(layer.kernel.numpy()),
            layout="kernel",
            bias=np.asarray(layer.bias.numpy()) if request.has_bias else None,
            paths={
                "kernel": "keras.layers.Dense.kernel (glorot_uniform)",
                "bias": "keras.layers.Dense.bias (zeros)",
            },
        )

    # -- paths ----------------------------------------------------------------------------------
    def _dense_path(self, batch: Batch, dev: str, activation: str | None) -> PathFn:
        tf = self.tf
        with tf.device(dev):
            # built on zeros, not the default glorot_uniform draw: every case assigns its own
            # parameters (a build took 7.7 ms with the draw, 4.1 ms without)
            layer = self.keras.layers.Dense(
                batch.out_features,
                activation=activation,
                use_bias=batch.has_bias,
                dtype=batch.dtype,
                kernel_initializer="zeros",
                bias_initializer="zeros",
            )
            layer.build((None, batch.in_features))
        call = self.compile(batch, lambda x: layer(x))

        def fn(item: Item) -> np.ndarray:
            with tf.device(dev):
                layer.kernel.assign(kernel_of(item))
                if item.bias is not None:
                    layer.bias.assign(item.bias)
                return self.numpy(call(self.tensor(item.x)), item.x)

        return fn

    def _matmul_path(self, batch: Batch, dev: str, sigmoid: bool) -> PathFn:
        tf = self.tf

        def affine(x: Any, k: Any, b: Any) -> Any:
            y = tf.linalg.matmul(x, k)
            return tf.nn.bias_add(y, b) if batch.has_bias else y

        call = self.compile(
            batch, (lambda x, k, b: tf.math.sigmoid(affine(x, k, b))) if sigmoid else affine
        )

        def fn(item: Item) -> np.ndarray:
            with tf.device(dev):
                k = tf.constant(np.ascontiguousarray(kernel_of(item)))
                b = tf.constant(item.bias) if item.bias is not None else tf.constant(0.0)
                return self.numpy(call(self.tensor(item.x), k, b), item.x)

        return fn

    def dense(self, batch: Batch, dev: str) -> PathFn:
        return self._dense_path(batch, dev, None)

    def dense_sigmoid(self, batch: Batch, dev: str) -> PathFn:
        return self._dense_path(batch, dev, "sigmoid")

    def matmul_bias_add(self, batch: Batch, dev: str) -> PathFn:
        return self._matmul_path(batch, dev, sigmoid=False)

    def sigmoid_matmul_bias_add(self, batch: Batch, dev: str) -> PathFn:
        return self._matmul_path(batch, dev, sigmoid=True)

    def _sigmoid_path(self, batch: Batch, dev: str, f: Any) -> PathFn:
        tf = self.tf
        call = self.compile(batch, f)

        def fn(item: Item) -> np.ndarray:
            with tf.device(dev):
                return self.numpy(call(tf.constant(item.z)))

        return fn

    def sigmoid(self, batch: Batch, dev: str) -> PathFn:
        return self._sigmoid_path(batch, dev, lambda z: self.tf.math.sigmoid(z))

    def keras_sigmoid(self, batch: Batch, dev: str) -> PathFn:
        return self._sigmoid_path(batch, dev, lambda z: self.keras.activations.sigmoid(z))

    paths = (
        ApiPath(
            "keras.layers.Dense(activation=None)",
            "affine",
            "dense",
            dense,
            """
            x2 = x[None, :] if x.ndim == 1 else x  # Dense needs 2-D input
            with tf.device(dev):
                layer = keras.layers.Dense(OUT, activation=None, use_bias=b is not None, dtype=DTYPE)
                layer.build((None, IN))
                layer.kernel.assign(T($kernel))
                if b is not None:
                    layer.bias.assign(T(b))
                y = layer(T(x2))
            y = y[0] if x.ndim == 1 else y
            """,
        ),
        ApiPath(
            "keras.layers.Dense(activation='sigmoid')",
            "sigmoid",
            "dense",
            dense_sigmoid,
            """
            x2 = x[None, :] if x.ndim == 1 else x  # Dense needs 2-D input
            with tf.device(dev):
                layer = keras.layers.Dense(
                    OUT, activation="sigmoid", use_bias=b is not None, dtype=DTYPE
                )
                layer.build((None, IN))
                layer.kernel.assign(T($kernel))
                if b is not None:
                    layer.bias.assign(T(b))
                y = layer(T(x2))
            y = y[0] if x.ndim == 1 else y
            """,
        ),
        ApiPath(
            "tf.linalg.matmul+tf.nn.bias_add",
            "affine",
            "dense",
            matmul_bias_add,
            """
            x2 = x[None, :] if x.ndim == 1 else x  # matmul needs 2-D input
            with tf.device(dev):
                y = tf.linalg.matmul(T(x2), T($kernel))
                if b is not None:
                    y = tf.nn.bias_add(y, T(b))
            y = y[0] if x.ndim == 1 else y
            """,
        ),
        ApiPath(
            "tf.math.sigmoid(matmul+bias_add)",
            "sigmoid",
            "dense",
            sigmoid_matmul_bias_add,
            """
            x2 = x[None, :] if x.ndim == 1 else x  # matmul needs 2-D input
            with tf.device(dev):
                y = tf.linalg.matmul(T(x2), T($kernel))
                if b is not None:
                    y = tf.nn.bias_add(y, T(b))
                y = tf.math.sigmoid(y)
            y = y[0] if x.ndim == 1 else y
            """,
        ),
        ApiPath(
            "tf.math.sigmoid",
            "sigmoid",
            "sigmoid",
            sigmoid,
            """
            with tf.device(dev):
                y = tf.math.sigmoid(T(z))
            """,
        ),
        ApiPath(
            "keras.activations.sigmoid",
            "sigmoid",
            "sigmoid",
            keras_sigmoid,
            """
            with tf.device(dev):
                y = keras.activations.sigmoid(T(z))
            """,
        ),
    )
