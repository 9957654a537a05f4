"""TensorFlow / Keras: ``keras.layers.Dense`` with and without ``activation="sigmoid"``,
``tf.linalg.matmul`` + ``tf.nn.bias_add`` and ``tf.math.sigmoid``.

Keras stores ``kernel`` as (in, out), the transpose of ``nn.Linear.weight``. ``Dense`` and
``tf.linalg.matmul`` need at least 2-D inputs; a 1-D case input gets a leading axis of 1 and
loses it again, as a user porting ``nn.Linear`` code would do.

Modes: ``eager``, and ``compiled`` = ``tf.function(jit_compile=True)`` (XLA), one function per
path and batch (variables are assigned, not re-captured, so only a new input shape retraces).
Devices: ``cpu`` and ``cuda`` (``/GPU:0``; skipped with a reason when TensorFlow sees no GPU).
Init: ``keras.utils.set_random_seed(seed)`` then ``Dense(out)`` built on ``(None, in)``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._env import measure_denormals
from .base import Adapter, Batch, InitRequest, InitResult, Item, PathFn, SkipBatch, kernel_of


class TensorflowAdapter(Adapter):
    name = "tensorflow"
    requires = "tensorflow"
    modes = ("eager", "compiled")
    devices = ("cpu", "cuda")
    init_kinds = ("keras",)

    def setup(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
        import tensorflow as tf

        self.tf = tf
        self.keras = keras
        self.options: dict[str, str] = {}

    def configure(self, options: dict[str, str]) -> None:
        super().configure(options)
        precision = options.get("matmul_precision")
        if precision:
            # TF's only float32 matmul knob: TF32 on (Ampere+ GPUs) or off.
            self.tf.config.experimental.enable_tensor_float_32_execution(precision != "highest")

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

    def _x(self, item: Item) -> tuple[Any, bool]:
        x = item.x
        assert x is not None
        return (x[None, :], True) if x.ndim == 1 else (x, False)

    def _np(self, y: Any, squeeze: bool) -> np.ndarray:
        arr = np.asarray(y.numpy() if hasattr(y, "numpy") else y)
        return arr[0] if squeeze else arr

    def _device(self, batch: Batch) -> str:
        if batch.device == "cuda":
            if not self.tf.config.list_physical_devices("GPU"):
                raise SkipBatch(
                    f"TensorFlow {self.tf.__version__} sees no GPU "
                    f"(built with CUDA: {self.tf.test.is_built_with_cuda()})"
                )
            return "/GPU:0"
        return "/CPU:0"

    def _compile(self, batch: Batch, fn: Any) -> Any:
        if batch.mode != "compiled":
            return fn
        return self.tf.function(fn, jit_compile=True, reduce_retracing=False)

    # -- init -----------------------------------------------------------------------------------
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

    # -- paths --------------------------------------------------------------------------------
    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        tf, keras = self.tf, self.keras
        dev = self._device(batch)

        def build(activation: str | None) -> Any:
            with tf.device(dev):
                layer = keras.layers.Dense(
                    batch.out_features,
                    activation=activation,
                    use_bias=batch.has_bias,
                    dtype=batch.dtype,
                )
                layer.build((None, batch.in_features))
            return layer

        plain, fused = build(None), build("sigmoid")
        plain_call = self._compile(batch, lambda x: plain(x))
        fused_call = self._compile(batch, lambda x: fused(x))

        def run_layer(layer: Any, call: Any, item: Item) -> np.ndarray:
            with tf.device(dev):
                layer.kernel.assign(kernel_of(item))
                if item.bias is not None:
                    layer.bias.assign(item.bias)
                x, squeeze = self._x(item)
                return self._np(call(tf.constant(x)), squeeze)

        if batch.has_bias:

            def raw_fn(x: Any, k: Any, b: Any) -> Any:
                return tf.nn.bias_add(tf.linalg.matmul(x, k), b)
        else:

            def raw_fn(x: Any, k: Any, b: Any) -> Any:
                return tf.linalg.matmul(x, k)

        def raw_sigmoid_fn(x: Any, k: Any, b: Any) -> Any:
            return tf.math.sigmoid(raw_fn(x, k, b))

        raw_call = self._compile(batch, raw_fn)
        raw_sigmoid_call = self._compile(batch, raw_sigmoid_fn)

        def raw(call: Any, item: Item) -> np.ndarray:
            with tf.device(dev):
                x, squeeze = self._x(item)
                k = tf.constant(np.ascontiguousarray(kernel_of(item)))
                b = tf.constant(item.bias) if item.bias is not None else tf.constant(0.0)
                return self._np(call(tf.constant(x), k, b), squeeze)

        return {
            "keras.layers.Dense(activation=None)": (
                "affine",
                lambda i: run_layer(plain, plain_call, i),
            ),
            "keras.layers.Dense(activation='sigmoid')": (
                "sigmoid",
                lambda i: run_layer(fused, fused_call, i),
            ),
            "tf.linalg.matmul+tf.nn.bias_add": ("affine", lambda i: raw(raw_call, i)),
            "tf.math.sigmoid(matmul+bias_add)": ("sigmoid", lambda i: raw(raw_sigmoid_call, i)),
        }

    def sigmoid_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        tf, keras = self.tf, self.keras
        dev = self._device(batch)
        sig_call = self._compile(batch, lambda z: tf.math.sigmoid(z))
        act_call = self._compile(batch, lambda z: keras.activations.sigmoid(z))

        def sig(item: Item) -> np.ndarray:
            with tf.device(dev):
                return np.asarray(sig_call(tf.constant(item.z)).numpy())

        def act(item: Item) -> np.ndarray:
            with tf.device(dev):
                return np.asarray(act_call(tf.constant(item.z)))

        return {"tf.math.sigmoid": ("sigmoid", sig), "keras.activations.sigmoid": ("sigmoid", act)}
