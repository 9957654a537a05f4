"""PyTorch: ``nn.Linear`` (weights copied in), ``nn.Sequential(nn.Linear, nn.Sigmoid)``,
``F.linear`` and ``torch.sigmoid``. ``nn.Linear`` stores ``weight`` as (out, in)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._convert import bits16, from_bits16, is_bf16
from .base import Adapter, Batch, Item, PathFn, weight_of


class TorchAdapter(Adapter):
    name = "torch"
    requires = "torch"

    def setup(self) -> None:
        import torch

        self.torch = torch

    def version(self) -> str:
        return str(self.torch.__version__)

    def settings(self) -> dict[str, str]:
        t = self.torch
        return {
            "float32_matmul_precision": t.get_float32_matmul_precision(),
            "threads": str(t.get_num_threads()),
            "mkldnn": str(t.backends.mkldnn.is_available()),
            "cuda_allow_tf32": str(t.backends.cuda.matmul.allow_tf32),
        }

    # -- conversion ---------------------------------------------------------------------------
    def _t(self, a: np.ndarray | None) -> Any:
        t = self.torch
        assert a is not None
        if is_bf16(a):
            return t.from_numpy(bits16(a).copy()).view(t.bfloat16)
        return t.from_numpy(np.ascontiguousarray(a).copy())

    def _np(self, y: Any) -> np.ndarray:
        y = y.detach().cpu()
        if y.dtype == self.torch.bfloat16:
            return from_bits16(y.view(self.torch.int16).numpy())
        return np.asarray(y.numpy())

    def _dtype(self, name: str) -> Any:
        return getattr(self.torch, name)

    # -- paths --------------------------------------------------------------------------------
    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        t = self.torch
        nn, F = t.nn, t.nn.functional
        dtype = self._dtype(batch.dtype)
        linear = nn.Linear(batch.in_features, batch.out_features, bias=batch.has_bias, dtype=dtype)
        seq = nn.Sequential(
            nn.Linear(batch.in_features, batch.out_features, bias=batch.has_bias, dtype=dtype),
            nn.Sigmoid(),
        )

        def load(layer: Any, item: Item) -> None:
            with t.no_grad():
                layer.weight.copy_(self._t(weight_of(item)))
                if item.bias is not None:
                    layer.bias.copy_(self._t(item.bias))

        def nn_linear(item: Item) -> np.ndarray:
            load(linear, item)
            with t.inference_mode():
                return self._np(linear(self._t(item.x)))

        def nn_sequential(item: Item) -> np.ndarray:
            load(seq[0], item)
            with t.inference_mode():
                return self._np(seq(self._t(item.x)))

        def f_linear(item: Item) -> Any:
            b = self._t(item.bias) if item.bias is not None else None
            return F.linear(self._t(item.x), self._t(weight_of(item)), b)

        def functional(item: Item) -> np.ndarray:
            with t.inference_mode():
                return self._np(f_linear(item))

        def functional_sigmoid(item: Item) -> np.ndarray:
            with t.inference_mode():
                return self._np(t.sigmoid(f_linear(item)))

        return {
            "nn.Linear": ("affine", nn_linear),
            "nn.Sequential(nn.Linear, nn.Sigmoid)": ("sigmoid", nn_sequential),
            "F.linear": ("affine", functional),
            "torch.sigmoid(F.linear)": ("sigmoid", functional_sigmoid),
        }

    def sigmoid_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        t = self.torch
        module = t.nn.Sigmoid()

        def sig(item: Item) -> np.ndarray:
            with t.inference_mode():
                return self._np(t.sigmoid(self._t(item.z)))

        def mod(item: Item) -> np.ndarray:
            with t.inference_mode():
                return self._np(module(self._t(item.z)))

        return {"torch.sigmoid": ("sigmoid", sig), "nn.Sigmoid": ("sigmoid", mod)}
