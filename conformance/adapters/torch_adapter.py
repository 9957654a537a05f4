"""PyTorch: ``nn.Linear`` (weights copied in), ``nn.Sequential(nn.Linear, nn.Sigmoid)``,
``F.linear`` and ``torch.sigmoid``. ``nn.Linear`` stores ``weight`` as (out, in).

Modes: ``eager``, and ``compiled`` = ``torch.compile(..., dynamic=False, fullgraph=True)``
(inductor; on CPU it builds C++ with the local compiler). Modules are compiled once per batch
and their parameters overwritten in place, so a batch recompiles only when an input shape
changes; the recompile limit is raised and hitting it is an error, never a silent fall-back
to eager. Devices: ``cpu`` and ``cuda`` (skipped with a reason when CUDA is absent).
Init: ``torch.manual_seed(seed)`` then ``nn.Linear(in, out, bias=..., dtype=...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._convert import bits16, from_bits16, is_bf16
from ._env import measure_denormals
from .base import Adapter, Batch, InitRequest, InitResult, Item, PathFn, SkipBatch, weight_of


def _linear(x: Any, w: Any, b: Any) -> Any:
    import torch.nn.functional as F

    return F.linear(x, w, b)


def _linear_sigmoid(x: Any, w: Any, b: Any) -> Any:
    import torch

    return torch.sigmoid(_linear(x, w, b))


def _sigmoid(z: Any) -> Any:
    import torch

    return torch.sigmoid(z)


class TorchAdapter(Adapter):
    name = "torch"
    requires = "torch"
    modes = ("eager", "compiled")
    devices = ("cpu", "cuda")
    init_kinds = ("torch",)

    def setup(self) -> None:
        import torch

        self.torch = torch
        self.options: dict[str, str] = {}

    def configure(self, options: dict[str, str]) -> None:
        super().configure(options)
        t = self.torch
        precision = options.get("matmul_precision")
        if precision:
            t.set_float32_matmul_precision(precision)
        if "compiled" in options.get("modes", "eager"):
            import torch._dynamo.config as dyn

            # One compiled graph per (module, input shape); never fall back to eager silently.
            for key, value in (
                ("recompile_limit", 1024),
                ("cache_size_limit", 1024),
                ("accumulated_recompile_limit", 4096),
                ("accumulated_cache_size_limit", 4096),
                ("fail_on_recompile_limit_hit", True),
            ):
                if hasattr(dyn, key):
                    setattr(dyn, key, value)

    def version(self) -> str:
        return str(self.torch.__version__)

    def settings(self) -> dict[str, str]:
        t = self.torch
        out = {
            "float32_matmul_precision": t.get_float32_matmul_precision(),
            "threads": str(t.get_num_threads()),
            "interop_threads": str(t.get_num_interop_threads()),
            "mkldnn": str(t.backends.mkldnn.is_available()),
            "mkl": str(t.backends.mkl.is_available()),
            "cuda_allow_tf32": str(t.backends.cuda.matmul.allow_tf32),
            "cuda_available": str(t.cuda.is_available()),
            "cpu_capability": str(t.backends.cpu.get_cpu_capability()),
        }
        for key, obj in (
            ("mkldnn_matmul_fp32_precision", getattr(t.backends.mkldnn, "matmul", None)),
            ("cuda_matmul_fp32_precision", t.backends.cuda.matmul),
        ):
            value = getattr(obj, "fp32_precision", None)
            if value is not None:
                out[key] = str(value)
        # What a float32 matmul on CUDA uses, for device-specific tolerances (runner).
        out["cuda_float32_matmul"] = (
            "bf16"
            if t.get_float32_matmul_precision() == "medium"
            else ("tf32" if t.backends.cuda.matmul.allow_tf32 else "ieee")
        )
        if t.cuda.is_available():
            out["cuda_device"] = t.cuda.get_device_name(0)
            out["cuda_version"] = str(t.version.cuda)
        return out

    def denormals(self, compiled: bool = False) -> dict[str, str]:
        t = self.torch
        if compiled:
            halve = t.compile(lambda a, s: a * s, dynamic=False, fullgraph=True)
            return {
                "denormals_compiled": measure_denormals(
                    lambda a, s: self._np(halve(t.from_numpy(a), s))
                )
            }
        return {"denormals": measure_denormals(lambda a, s: self._np(t.from_numpy(a) * s))}

    # -- conversion ---------------------------------------------------------------------------
    def _t(self, a: np.ndarray | None, device: str = "cpu") -> Any:
        t = self.torch
        assert a is not None
        if is_bf16(a):
            y = t.from_numpy(bits16(a).copy()).view(t.bfloat16)
        else:
            y = t.from_numpy(np.ascontiguousarray(a).copy())
        return y if device == "cpu" else y.to(device)

    def _np(self, y: Any) -> np.ndarray:
        y = y.detach().cpu()
        if y.dtype == self.torch.bfloat16:
            return from_bits16(y.view(self.torch.int16).numpy())
        return np.asarray(y.numpy())

    def _dtype(self, name: str) -> Any:
        return getattr(self.torch, name)

    def _device(self, batch: Batch) -> str:
        if batch.device == "cuda" and not self.torch.cuda.is_available():
            raise SkipBatch(
                f"CUDA is not available to torch {self.torch.__version__} "
                f"(torch.cuda.is_available() is False; CUDA build: {self.torch.version.cuda})"
            )
        return batch.device

    def _compile(self, batch: Batch, fn: Any) -> Any:
        if batch.mode != "compiled":
            return fn
        return self.torch.compile(fn, dynamic=False, fullgraph=True)

    def _context(self, batch: Batch) -> Any:
        # inference_mode for eager; no_grad under torch.compile (inference tensors and
        # dynamo have had rough edges).
        t = self.torch
        return t.no_grad() if batch.mode == "compiled" else t.inference_mode()

    # -- init -----------------------------------------------------------------------------------
    def init_params(self, request: InitRequest) -> InitResult:
        t = self.torch
        t.manual_seed(request.seed)
        layer = t.nn.Linear(
            request.in_features,
            request.out_features,
            bias=request.has_bias,
            dtype=self._dtype(request.dtype),
        )
        return InitResult(
            request.key,
            param=self._np(layer.weight),
            layout="weight",
            bias=None if layer.bias is None else self._np(layer.bias),
            paths={"weight": "nn.Linear.weight", "bias": "nn.Linear.bias"},
        )

    # -- paths --------------------------------------------------------------------------------
    def dense_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        t = self.torch
        nn = t.nn
        dev = self._device(batch)
        dtype = self._dtype(batch.dtype)
        linear = nn.Linear(batch.in_features, batch.out_features, bias=batch.has_bias, dtype=dtype)
        seq = nn.Sequential(
            nn.Linear(batch.in_features, batch.out_features, bias=batch.has_bias, dtype=dtype),
            nn.Sigmoid(),
        )
        linear.to(dev).eval()
        seq.to(dev).eval()
        linear_call = self._compile(batch, linear)
        seq_call = self._compile(batch, seq)
        f_linear = self._compile(batch, _linear)
        f_linear_sigmoid = self._compile(batch, _linear_sigmoid)

        def load(layer: Any, item: Item) -> None:
            with t.no_grad():
                layer.weight.copy_(self._t(weight_of(item), dev))
                if item.bias is not None:
                    layer.bias.copy_(self._t(item.bias, dev))

        def nn_linear(item: Item) -> np.ndarray:
            load(linear, item)
            with self._context(batch):
                return self._np(linear_call(self._t(item.x, dev)))

        def nn_sequential(item: Item) -> np.ndarray:
            load(seq[0], item)
            with self._context(batch):
                return self._np(seq_call(self._t(item.x, dev)))

        def args(item: Item) -> tuple[Any, Any, Any]:
            b = self._t(item.bias, dev) if item.bias is not None else None
            return self._t(item.x, dev), self._t(weight_of(item), dev), b

        def functional(item: Item) -> np.ndarray:
            with self._context(batch):
                return self._np(f_linear(*args(item)))

        def functional_sigmoid(item: Item) -> np.ndarray:
            with self._context(batch):
                return self._np(f_linear_sigmoid(*args(item)))

        return {
            "nn.Linear": ("affine", nn_linear),
            "nn.Sequential(nn.Linear, nn.Sigmoid)": ("sigmoid", nn_sequential),
            "F.linear": ("affine", functional),
            "torch.sigmoid(F.linear)": ("sigmoid", functional_sigmoid),
        }

    def sigmoid_paths(self, batch: Batch) -> dict[str, tuple[str, PathFn]]:
        t = self.torch
        dev = self._device(batch)
        module = t.nn.Sigmoid()
        sig_call = self._compile(batch, _sigmoid)
        mod_call = self._compile(batch, module)

        def sig(item: Item) -> np.ndarray:
            with self._context(batch):
                return self._np(sig_call(self._t(item.z, dev)))

        def mod(item: Item) -> np.ndarray:
            with self._context(batch):
                return self._np(mod_call(self._t(item.z, dev)))

        return {"torch.sigmoid": ("sigmoid", sig), "nn.Sigmoid": ("sigmoid", mod)}
