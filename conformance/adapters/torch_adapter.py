"""PyTorch: ``nn.Linear`` (weights copied in), ``nn.Sequential(nn.Linear, nn.Sigmoid)``,
``F.linear`` and ``torch.sigmoid``. ``nn.Linear`` stores ``weight`` as (out, in).

Modes: ``eager``, and ``compiled`` = ``torch.compile(..., dynamic=False, fullgraph=True)``
(inductor; on CPU it builds C++ with the local compiler). Modules are compiled once per batch
and their parameters overwritten in place, so a batch recompiles only when an input shape
changes; the recompile limit is raised and hitting it is an error, never a silent fall-back
to eager. Devices: ``cpu`` and ``cuda`` (skipped with a reason when CUDA is absent).
Init ``torch``: ``torch.manual_seed(seed)`` then ``nn.Linear(in, out, bias=..., dtype=...)``.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

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
    weight_of,
)


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
    init_kinds: ClassVar[dict[str, str]] = {"torch": "weight"}

    repro_prelude = """
        import torch

        dt, dev = getattr(torch, DTYPE), DEVICE

        def T(a):  # exact: a holds values of DTYPE
            # contiguous, as the suite hands arrays over: torch.tensor keeps a transposed
            # view's strides, and F.linear then takes another kernel (other float64 sums)
            return torch.tensor(np.ascontiguousarray(a), dtype=dt, device=dev)

        def to_numpy(y):
            return y.detach().to(torch.float64).cpu().numpy()
    """

    def setup(self) -> None:
        import torch

        self.torch = torch

    def configure(self, options: dict[str, str]) -> None:
        t = self.torch
        precision = options.get("matmul_precision")
        if precision:
            t.set_float32_matmul_precision(precision)
        cache = self.compile_cache(options)
        if cache:  # inductor's caches (FX graphs, generated C++) follow this variable
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", cache)
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
        # What a float32 matmul on CUDA uses, for device-specific tolerances (judge).
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
                    lambda a, s: self.numpy(halve(t.from_numpy(a), s))
                )
            }
        return {"denormals": measure_denormals(lambda a, s: self.numpy(t.from_numpy(a) * s))}

    def device(self, batch: Batch) -> str:
        if batch.device == "cuda" and not self.torch.cuda.is_available():
            raise SkipBatch(
                f"CUDA is not available to torch {self.torch.__version__} "
                f"(torch.cuda.is_available() is False; CUDA build: {self.torch.version.cuda})"
            )
        return batch.device

    # -- conversion -----------------------------------------------------------------------------
    def tensor(self, a: np.ndarray | None, dev: str) -> Any:
        # torch.from_numpy cannot take ml_dtypes' bfloat16: pass its 16 bits and reinterpret.
        t = self.torch
        assert a is not None
        if is_bf16(a):
            y = t.from_numpy(bits16(a).copy()).view(t.bfloat16)
        else:
            y = t.from_numpy(np.ascontiguousarray(a).copy())
        return y if dev == "cpu" else y.to(dev)

    def numpy(self, y: Any) -> np.ndarray:
        y = y.detach().cpu()
        if y.dtype == self.torch.bfloat16:
            return from_bits16(y.view(self.torch.int16).numpy())
        return np.asarray(y.numpy())

    def compile(self, batch: Batch, fn: Any) -> Any:
        if batch.mode != "compiled":
            return fn
        return self.torch.compile(fn, dynamic=False, fullgraph=True)

    def context(self, batch: Batch) -> Any:
        # inference_mode for eager; no_grad under torch.compile (inference tensors and dynamo
        # have had rough edges).
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
            dtype=getattr(t, request.dtype),
        )
        return InitResult(
            request.key,
            param=self.numpy(layer.weight),
            layout="weight",
            bias=None if layer.bias is None else self.numpy(layer.bias),
            paths={"weight": "nn.Linear.weight", "bias": "nn.Linear.bias"},
        )

    # -- paths ----------------------------------------------------------------------------------
    def _layer(self, batch: Batch, dev: str, sigmoid: bool) -> Any:
        nn = self.torch.nn
        dtype = getattr(self.torch, batch.dtype)
        layer = nn.Linear(batch.in_features, batch.out_features, bias=batch.has_bias, dtype=dtype)
        module = nn.Sequential(layer, nn.Sigmoid()) if sigmoid else layer
        module.to(dev).eval()
        return module, layer

    def _module_path(self, batch: Batch, dev: str, sigmoid: bool) -> PathFn:
        module, layer = self._layer(batch, dev, sigmoid)
        call = self.compile(batch, module)

        def fn(item: Item) -> np.ndarray:
            with self.torch.no_grad():  # copy the case's parameters in, in place
                layer.weight.copy_(self.tensor(weight_of(item), dev))
                if item.bias is not None:
                    layer.bias.copy_(self.tensor(item.bias, dev))
            with self.context(batch):
                return self.numpy(call(self.tensor(item.x, dev)))

        return fn

    def _functional_path(self, batch: Batch, dev: str, f: Any) -> PathFn:
        call = self.compile(batch, f)

        def fn(item: Item) -> np.ndarray:
            b = None if item.bias is None else self.tensor(item.bias, dev)
            with self.context(batch):
                return self.numpy(
                    call(self.tensor(item.x, dev), self.tensor(weight_of(item), dev), b)
                )

        return fn

    def nn_linear(self, batch: Batch, dev: str) -> PathFn:
        return self._module_path(batch, dev, sigmoid=False)

    def nn_sequential(self, batch: Batch, dev: str) -> PathFn:
        return self._module_path(batch, dev, sigmoid=True)

    def f_linear(self, batch: Batch, dev: str) -> PathFn:
        return self._functional_path(batch, dev, _linear)

    def sigmoid_f_linear(self, batch: Batch, dev: str) -> PathFn:
        return self._functional_path(batch, dev, _linear_sigmoid)

    def _sigmoid_path(self, batch: Batch, dev: str, f: Any) -> PathFn:
        call = self.compile(batch, f)

        def fn(item: Item) -> np.ndarray:
            with self.context(batch):
                return self.numpy(call(self.tensor(item.z, dev)))

        return fn

    def sigmoid(self, batch: Batch, dev: str) -> PathFn:
        return self._sigmoid_path(batch, dev, _sigmoid)

    def nn_sigmoid(self, batch: Batch, dev: str) -> PathFn:
        return self._sigmoid_path(batch, dev, self.torch.nn.Sigmoid())

    paths = (
        ApiPath(
            "nn.Linear",
            "affine",
            "dense",
            nn_linear,
            """
            layer = torch.nn.Linear(IN, OUT, bias=b is not None, dtype=dt, device=dev)
            with torch.no_grad():
                layer.weight.copy_(T($weight))
                if b is not None:
                    layer.bias.copy_(T(b))
            with torch.inference_mode():
                y = layer(T(x))
            """,
        ),
        ApiPath(
            "nn.Sequential(nn.Linear, nn.Sigmoid)",
            "sigmoid",
            "dense",
            nn_sequential,
            """
            layer = torch.nn.Linear(IN, OUT, bias=b is not None, dtype=dt, device=dev)
            model = torch.nn.Sequential(layer, torch.nn.Sigmoid())
            with torch.no_grad():
                layer.weight.copy_(T($weight))
                if b is not None:
                    layer.bias.copy_(T(b))
            with torch.inference_mode():
                y = model(T(x))
            """,
        ),
        ApiPath(
            "F.linear",
            "affine",
            "dense",
            f_linear,
            """
            with torch.inference_mode():
                y = torch.nn.functional.linear(T(x), T($weight), None if b is None else T(b))
            """,
        ),
        ApiPath(
            "torch.sigmoid(F.linear)",
            "sigmoid",
            "dense",
            sigmoid_f_linear,
            """
            with torch.inference_mode():
                bias = None if b is None else T(b)
                y = torch.sigmoid(torch.nn.functional.linear(T(x), T($weight), bias))
            """,
        ),
        ApiPath(
            "torch.sigmoid",
            "sigmoid",
            "sigmoid",
            sigmoid,
            """
            with torch.inference_mode():
                y = torch.sigmoid(T(z))
            """,
        ),
        ApiPath(
            "nn.Sigmoid",
            "sigmoid",
            "sigmoid",
            nn_sigmoid,
            """
            with torch.inference_mode():
                y = torch.nn.Sigmoid()(T(z))
            """,
        ),
    )
