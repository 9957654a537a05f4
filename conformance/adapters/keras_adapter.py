"""Keras 3 on the JAX and torch backends: ``keras.layers.Dense`` with ``activation=None`` and
``"sigmoid"``, and ``keras.activations.sigmoid`` — the same calls as the TensorFlow adapter's
Keras paths, so the report puts the three backends side by side.

Keras fixes its backend when it is first imported (``KERAS_BACKEND``), so each backend is an
adapter of its own, ``keras-jax`` and ``keras-torch``, and runs in a worker process of its
own; ``setup`` sets the variable before the import and checks that it took. The JAX backend
runs with ``jax_enable_x64`` (without it float64 would silently be float32).

Quirk (as in the TensorFlow adapter): ``Dense`` needs at least 2-D input; a 1-D case input
gets a leading axis of 1 and loses it again. Arrays are handed to the backend as its own
tensors (torch cannot take ml_dtypes' bfloat16 arrays), on the batch's device.

Mode: ``eager`` only (the layer called directly; Keras' compiled path is ``Model.predict``
under the backend's jit, not a per-layer call). Devices: ``cpu`` and ``cuda`` (``gpu:0``;
skipped with a reason where the backend sees none). Init ``keras``: as the TensorFlow
adapter draws it, ``keras.utils.set_random_seed(seed)`` then ``Dense(out)`` built on
``(None, in)``, on this backend: when a run has several Keras backends, the first one's draw
feeds every framework and each of the others draws too, for its ``op: init`` rows (do the
pins reproduce on this backend?).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any, ClassVar

import numpy as np

from .. import dtypes
from ..host import measure_denormals
from ._convert import bits16, from_bits16, is_bf16
from .base import (
    Adapter,
    ApiPath,
    Batch,
    InitRequest,
    InitResult,
    Item,
    PathFn,
    SkipBatch,
    kernel_of,
)
from .jax_adapter import (
    BoundedCompiledMemory,
    WarmWhileCompiling,
    configure_jax,
    share_ir_contexts,
)


class KerasBackendAdapter(Adapter):
    """Keras 3 on ``backend``; subclasses say which and how to move arrays in and out."""

    backend: ClassVar[str] = ""
    modes = ("eager",)
    devices = ("cpu", "cuda")
    init_kinds: ClassVar[dict[str, str]] = {"keras": "kernel"}

    def unavailable(self) -> str | None:
        for module in ("keras", self.requires):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed (pip install 'conformance[{self.name}]')"
        return None

    def setup(self) -> None:
        os.environ["KERAS_BACKEND"] = self.backend  # read once, when keras is first imported
        self.import_backend()
        import keras

        if keras.backend.backend() != self.backend:
            raise RuntimeError(
                f"keras was imported with the {keras.backend.backend()} backend before "
                f"KERAS_BACKEND={self.backend} could take effect"
            )
        self.keras = keras

    def import_backend(self) -> None:
        """Import the backend framework (and configure it) before Keras is imported."""

    def version(self) -> str:
        return f"{self.keras.__version__} ({self.backend} {self.backend_version()})"

    def backend_version(self) -> str:
        raise NotImplementedError

    def settings(self) -> dict[str, str]:
        return {"keras_backend": self.keras.backend.backend(), **self.backend_settings()}

    def backend_settings(self) -> dict[str, str]:
        return {}

    def denormals(self, compiled: bool = False) -> dict[str, str]:
        if compiled:
            return {}
        ops = self.keras.ops
        with self.keras.device("cpu:0"):
            return {
                "denormals": measure_denormals(
                    lambda a, s: self.numpy(ops.multiply(self.tensor(a, "cpu:0"), s))
                )
            }

    def device(self, batch: Batch) -> str:
        if batch.device == "cuda":
            why = self.no_gpu()
            if why:
                raise SkipBatch(why)
            return "gpu:0"
        return "cpu:0"

    def no_gpu(self) -> str:
        """Why the backend has no GPU here ("" when it has one)."""
        raise NotImplementedError

    # -- conversion (per backend) ---------------------------------------------------------------
    def tensor(self, a: np.ndarray, dev: str) -> Any:
        raise NotImplementedError

    def numpy(self, y: Any) -> np.ndarray:
        raise NotImplementedError

    # -- init -----------------------------------------------------------------------------------
    def init_params(self, request: InitRequest) -> InitResult:
        keras = self.keras
        self._set_random_seed(request.seed)
        with keras.device("cpu:0"):
            layer = keras.layers.Dense(
                request.out_features, use_bias=request.has_bias, dtype=request.dtype
            )
            layer.build((None, request.in_features))
        return InitResult(
            request.key,
            param=self.numpy(layer.kernel.value),
            layout="kernel",
            bias=self.numpy(layer.bias.value) if request.has_bias else None,
            paths={
                "kernel": "keras.layers.Dense.kernel (glorot_uniform)",
                "bias": "keras.layers.Dense.bias (zeros)",
            },
        )

    def _set_random_seed(self, seed: int) -> None:
        """``keras.utils.set_random_seed``, kept from importing TensorFlow: where TF is
        installed it imports it to seed ``tf.data`` too (TF's seed, which no draw on this
        backend reads), a TensorFlow import in this worker (2 CPU-s, 0.5 GB). ``None`` in
        ``sys.modules`` makes that import fail as if TF were absent, which Keras remembers."""
        blocked = "tensorflow" not in sys.modules
        if blocked:
            sys.modules["tensorflow"] = None  # type: ignore[assignment]
        try:
            self.keras.utils.set_random_seed(seed)
        finally:
            if blocked and sys.modules.get("tensorflow", 0) is None:
                del sys.modules["tensorflow"]

    # -- paths ----------------------------------------------------------------------------------
    def _dense_path(self, batch: Batch, dev: str, activation: str | None) -> PathFn:
        keras = self.keras
        np_dtype = dtypes.get(batch.dtype).np

        def zeros(shape: Any, dtype: Any = None) -> Any:
            return self.tensor(np.zeros(shape, np_dtype), dev)

        with keras.device(dev):
            # Zeros as backend tensors, not the default glorot_uniform draw: every case
            # assigns its own parameters, and on JAX a draw at a new shape compiles the
            # random-number programs (286 ms per new shape measured, against 0.6 ms).
            layer = keras.layers.Dense(
                batch.out_features,
                activation=activation,
                use_bias=batch.has_bias,
                dtype=batch.dtype,
                kernel_initializer=zeros,
                bias_initializer=zeros,
            )
            layer.build((None, batch.in_features))

        def fn(item: Item) -> np.ndarray:
            assert item.x is not None
            with keras.device(dev):
                layer.kernel.assign(self.tensor(kernel_of(item), dev))
                if item.bias is not None:
                    layer.bias.assign(self.tensor(item.bias, dev))
                x = item.x[None, :] if item.x.ndim == 1 else item.x  # Dense needs 2-D input
                y = self.numpy(layer(self.tensor(x, dev)))
            return y[0] if item.x.ndim == 1 else y

        return fn

    def dense(self, batch: Batch, dev: str) -> PathFn:
        return self._dense_path(batch, dev, None)

    def dense_sigmoid(self, batch: Batch, dev: str) -> PathFn:
        return self._dense_path(batch, dev, "sigmoid")

    def sigmoid(self, batch: Batch, dev: str) -> PathFn:
        keras = self.keras

        def fn(item: Item) -> np.ndarray:
            assert item.z is not None
            with keras.device(dev):
                return self.numpy(keras.activations.sigmoid(self.tensor(item.z, dev)))

        return fn

    paths = (
        ApiPath(
            "keras.layers.Dense(activation=None)",
            "affine",
            "dense",
            dense,
            """
            x2 = x[None, :] if x.ndim == 1 else x  # Dense needs 2-D input
            with keras.device(dev):
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
            with keras.device(dev):
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
            "keras.activations.sigmoid",
            "sigmoid",
            "sigmoid",
            sigmoid,
            """
            with keras.device(dev):
                y = keras.activations.sigmoid(T(z))
            """,
        ),
    )


class KerasJaxAdapter(WarmWhileCompiling, BoundedCompiledMemory, KerasBackendAdapter):
    name = "keras-jax"
    requires = "jax"
    backend = "jax"

    repro_prelude = """
        import os

        os.environ["KERAS_BACKEND"] = "jax"  # before keras is imported
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 would silently be float32
        import jax.numpy as jnp
        import keras

        dev = "gpu:0" if DEVICE == "cuda" else "cpu:0"
        jdev = jax.devices("gpu" if DEVICE == "cuda" else "cpu")[0]

        def T(a):  # exact: a holds values of DTYPE
            return jax.device_put(jnp.asarray(a, dtype=jnp.dtype(DTYPE)), jdev)

        def to_numpy(y):
            return np.asarray(y).astype(np.float64)
    """

    def import_backend(self) -> None:
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 would silently be float32
        self.jax = jax
        share_ir_contexts()  # Keras' eager ops are JAX's eager primitives, lowered alike

    def configure(self, options: dict[str, str]) -> None:
        # Keras' eager ops are JAX's eager primitives: the same settings and cache
        configure_jax(self.jax, options, self.compile_cache(options))

    def backend_version(self) -> str:
        return str(self.jax.__version__)

    def backend_settings(self) -> dict[str, str]:
        cfg = self.jax.config
        precision = cfg.jax_default_matmul_precision  # type: ignore[attr-defined]
        return {
            "jax_enable_x64": str(cfg.jax_enable_x64),  # type: ignore[attr-defined]
            "jax_default_matmul_precision": str(precision),
            "backend": self.jax.default_backend(),
            "cuda_float32_matmul": "ieee"
            if precision == "highest"
            else ("bf16" if precision == "bfloat16" else "tf32"),
        }

    def no_gpu(self) -> str:
        try:
            self.jax.devices("gpu")
        except RuntimeError as exc:
            return f"JAX sees no GPU (backend {self.jax.default_backend()}): {str(exc)[:120]}"
        return ""

    def _jax_device(self, dev: str) -> Any:
        return self.jax.devices("gpu" if dev.startswith("gpu") else "cpu")[0]

    def tensor(self, a: np.ndarray, dev: str) -> Any:
        return self.jax.device_put(np.ascontiguousarray(a), self._jax_device(dev))

    def numpy(self, y: Any) -> np.ndarray:
        return np.asarray(y)


class KerasTorchAdapter(KerasBackendAdapter):
    name = "keras-torch"
    requires = "torch"
    backend = "torch"

    repro_prelude = """
        import os

        os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported
        import keras
        import torch

        dev = "gpu:0" if DEVICE == "cuda" else "cpu:0"

        def T(a):  # exact: a holds values of DTYPE
            return torch.tensor(np.ascontiguousarray(a), dtype=getattr(torch, DTYPE), device=DEVICE)

        def to_numpy(y):
            return y.detach().to(torch.float64).cpu().numpy()
    """

    def import_backend(self) -> None:
        import torch

        self.torch = torch

    def configure(self, options: dict[str, str]) -> None:
        precision = options.get("matmul_precision")
        if precision:
            self.torch.set_float32_matmul_precision(precision)

    def backend_version(self) -> str:
        return str(self.torch.__version__)

    def backend_settings(self) -> dict[str, str]:
        t = self.torch
        return {
            "float32_matmul_precision": t.get_float32_matmul_precision(),
            "threads": str(t.get_num_threads()),
            "cuda_available": str(t.cuda.is_available()),
            "cuda_float32_matmul": "bf16"
            if t.get_float32_matmul_precision() == "medium"
            else ("tf32" if t.backends.cuda.matmul.allow_tf32 else "ieee"),
        }

    def no_gpu(self) -> str:
        if self.torch.cuda.is_available():
            return ""
        return (
            f"CUDA is not available to torch {self.torch.__version__} "
            f"(torch.cuda.is_available() is False; CUDA build: {self.torch.version.cuda})"
        )

    def tensor(self, a: np.ndarray, dev: str) -> Any:
        t = self.torch
        if is_bf16(a):
            y = t.from_numpy(bits16(a).copy()).view(t.bfloat16)
        else:
            y = t.from_numpy(np.ascontiguousarray(a).copy())
        return y.to("cuda") if dev.startswith("gpu") else y

    def numpy(self, y: Any) -> np.ndarray:
        y = y.detach().cpu()
        if y.dtype == self.torch.bfloat16:
            return from_bits16(y.view(self.torch.int16).numpy())
        return np.asarray(y.numpy())
