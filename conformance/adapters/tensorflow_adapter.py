"""TensorFlow / Keras: ``keras.layers.Dense`` with and without ``activation="sigmoid"``,
``tf.linalg.matmul`` + ``tf.nn.bias_add`` and ``tf.math.sigmoid``.

Keras stores ``kernel`` as (in, out), the transpose of ``nn.Linear.weight``. ``Dense`` and
``tf.linalg.matmul`` need at least 2-D inputs; a 1-D case input gets a leading axis of 1 and
loses it again, as a user porting ``nn.Linear`` code would do.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .base import Adapter, Batch, Item, PathFn, kernel_of


class TensorflowAdapter(Adapter):
    name = "tensorflow"
    requires = "tensorflow"

    def setup(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
        import tensorflow as tf

        self.tf = tf
        self.keras = keras

    def version(self) -> str:
        return f"{self.tf.__version__} (keras {self.keras.__version__})"

    def settings(self) -> dict[str, str]:
        tf = self.tf
        return {
            "tf32_execution": str(tf.config.experimental.tensor_float_32_execution_enabled()),
            "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
            "intra_op_threads": str(tf.config.threading.get_intra_op_parallelism_threads()),
            "keras_backend": self.keras.backend.backend(),
        }

    def _x(self, item: Item) -> tuple[Any, bool]:
        x = item.x
        assert x is not None
        return (x[None, :], True) if x.ndim == 1 else (x, False)

    def _np(self, y: Any, squeeze: bool) -> np.ndarray:
        arr = np.asarray(y.numpy() if hasattr(y, "numpy") else y)
        return arr[0] if squeeze else arr

    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        tf, keras = self.tf, self.keras

        def build(activation: str | None) -> Any:
            layer = keras.layers.Dense(
                batch.out_features,
                activation=activation,
                use_bias=batch.has_bias,
                dtype=batch.dtype,
            )
            layer.build((None, batch.in_features))
            return layer

        plain, fused = build(None), build("sigmoid")

        def run_layer(layer: Any, item: Item) -> np.ndarray:
            layer.kernel.assign(kernel_of(item))
            if item.bias is not None:
                layer.bias.assign(item.bias)
            x, squeeze = self._x(item)
            return self._np(layer(tf.constant(x)), squeeze)

        def raw(item: Item) -> tuple[Any, bool]:
            x, squeeze = self._x(item)
            y = tf.linalg.matmul(tf.constant(x), tf.constant(np.ascontiguousarray(kernel_of(item))))
            if item.bias is not None:
                y = tf.nn.bias_add(y, tf.constant(item.bias))
            return y, squeeze

        def matmul(item: Item) -> np.ndarray:
            y, squeeze = raw(item)
            return self._np(y, squeeze)

        def matmul_sigmoid(item: Item) -> np.ndarray:
            y, squeeze = raw(item)
            return self._np(tf.math.sigmoid(y), squeeze)

        return {
            "keras.layers.Dense(activation=None)": ("affine", lambda i: run_layer(plain, i)),
            "keras.layers.Dense(activation='sigmoid')": ("sigmoid", lambda i: run_layer(fused, i)),
            "tf.linalg.matmul+tf.nn.bias_add": ("affine", matmul),
            "tf.math.sigmoid(matmul+bias_add)": ("sigmoid", matmul_sigmoid),
        }

    def sigmoid_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        tf, keras = self.tf, self.keras

        def sig(item: Item) -> np.ndarray:
            return np.asarray(tf.math.sigmoid(tf.constant(item.z)).numpy())

        def act(item: Item) -> np.ndarray:
            return np.asarray(keras.activations.sigmoid(tf.constant(item.z)))

        return {"tf.math.sigmoid": ("sigmoid", sig), "keras.activations.sigmoid": ("sigmoid", act)}
