"""ONNX Runtime: graphs built with ``onnx.helper`` — ``Gemm`` (``transB=1`` on the (out, in)
weight), ``MatMul`` + ``Add`` on the (in, out) kernel, each also followed by ``Sigmoid`` — and
what users ship: ``torch.onnx.export`` of ``nn.Linear`` and ``nn.Sequential(nn.Linear,
nn.Sigmoid)``. Parameters are initializers, as in an exported model, so ONNX Runtime sees
them as constants (it may pre-pack them); one session per case.

Modes: ``eager`` = ``ORT_DISABLE_ALL`` (every node as written, one kernel each) and
``compiled`` = ``ORT_ENABLE_ALL``, ``InferenceSession``'s default (constant folding, fusions
such as ``MatMul`` + ``Add`` -> ``Gemm`` and ``Gemm`` + activation). Devices: ``cpu``
(``CPUExecutionProvider``) and ``cuda`` (``CUDAExecutionProvider`` without CPU fall-back;
skipped with a reason where the installed package has none). A dtype the provider has no
kernel for (bfloat16 on the CPU) makes that path a ``skip`` with ONNX Runtime's own message.

Quirk: ``Gemm`` takes 2-D input only; another batch rank is flattened to (rows, in) around
the graph and reshaped back, as a user feeding a Gemm model does (``MatMul`` takes any rank).

``torch.onnx.export`` runs with torch's default exporter (``dynamo=True``, torch.export-based,
needs ``onnxscript``) and static shapes, once per input shape and path in each batch; each
case's parameters then replace the exported initializers (which are checked to be exactly the
layer's weight, its transpose or its bias, else the case is exported afresh). The exporter's
operator registry is built once per worker instead of once per export: the graphs are the
same bytes (tests/test_onnxruntime.py), the export 4x faster. The exporter and its default
opset are recorded in the settings (``torch_onnx_export``); every exported graph is checked
to carry that opset.

Exported graphs are also kept across runs, as the other frameworks keep their compiled
programs: under the run's cache dir (:meth:`Adapter.compile_cache`), one ``.onnx`` file per
input shape and path, keyed by torch's, onnxscript's and onnx's versions and the export's
opset. A kept graph is used only when its initializers are exactly the layer's marker
parameters (else it is exported afresh), so a damaged file costs an export, not a wrong row.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..host import measure_denormals
from ..reference.cache import prune
from .base import Adapter, ApiPath, Batch, Item, PathFn, SkipBatch, SkipPath, kernel_of, weight_of

#: the opset of the ``onnx.helper`` graphs: Gemm-13, MatMul-13, Add-14 and Sigmoid-13 are the
#: newest versions of these operators, so every opset from 14 on gives the same graphs
OPSET = 17

ELEM = {"float16": 10, "bfloat16": 16, "float32": 1, "float64": 11}  # onnx.TensorProto types
LEVELS = {"eager": "ORT_DISABLE_ALL", "compiled": "ORT_ENABLE_ALL"}
TEMPLATES_KEPT = 64  # exported graphs kept per worker (the largest bundled one holds 16 MiB)
EXPORTS_KEPT_BYTES = 512 << 20  # exported graphs kept on disk across runs
EXPORT_FORMAT = 1  # bump when the markers or what an export is called with change

#: nodes of each onnx.helper graph: (op, inputs, attributes); "b" is dropped without a bias
GRAPHS: dict[str, list[tuple[str, list[str], dict[str, int]]]] = {
    "gemm": [("Gemm", ["x", "W", "b"], {"transB": 1})],
    "matmul_add": [("MatMul", ["x", "K"], {}), ("Add", ["", "b"], {})],
    "sigmoid": [("Sigmoid", [""], {})],
}


def _nodes(
    helper: Any, specs: list[tuple[str, list[str], dict[str, int]]], bias: bool
) -> list[Any]:
    """Chain ``specs`` (an empty input name is the previous node's output) into nodes that
    end in ``y``; without a bias, ``Add`` is left out and ``Gemm`` has no ``C``."""
    nodes, last = [], "x"
    specs = [s for s in specs if bias or s[0] != "Add"]
    for i, (op, inputs, attrs) in enumerate(specs):
        ins = [last if n == "" else n for n in inputs if bias or n != "b"]
        last = "y" if i == len(specs) - 1 else f"t{i}"
        nodes.append(helper.make_node(op, ins, [last], **attrs))
    return nodes


def _opset(model: Any) -> int:
    """The default-domain opset of an ONNX model (0 when it names none)."""
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _export_registry_once() -> str:
    """Make ``torch.onnx.export`` build its operator registry once per process (a pure
    function of the opset that each export otherwise rebuilds, about 1 s). Returns what was
    done, for the settings."""
    try:
        from torch.onnx._internal.exporter import _registration
    except ImportError:
        return "registry built per export"
    reg = _registration.ONNXRegistry
    if getattr(reg.from_torchlib, "_conformance_cached", False):
        return "registry built once per worker"
    build = reg.from_torchlib.__func__  # type: ignore[attr-defined]

    @functools.lru_cache(maxsize=4)
    def cached(cls: type, *args: Any, **kwargs: Any) -> Any:
        return build(cls, *args, **kwargs)

    cached._conformance_cached = True  # type: ignore[attr-defined]
    reg.from_torchlib = classmethod(cached)  # type: ignore[assignment, method-assign, arg-type]
    return "registry built once per worker"


class OnnxruntimeAdapter(Adapter):
    name = "onnxruntime"
    requires = "onnxruntime"
    modes = ("eager", "compiled")
    devices = ("cpu", "cuda")

    repro_prelude = """
        import onnxruntime as ort
        from onnx import helper

        ELEM = {"float16": 10, "bfloat16": 16, "float32": 1, "float64": 11}[DTYPE]
        if DTYPE == "bfloat16":
            import ml_dtypes

            dt = np.dtype(ml_dtypes.bfloat16)
        else:
            dt = np.dtype(DTYPE)

        def T(a):  # exact: a holds values of DTYPE
            return np.ascontiguousarray(np.asarray(a).astype(dt))

        def to_numpy(y):
            return np.asarray(y).astype(np.float64)

        def session(model):  # the suite's eager mode: the graph as written, node by node
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            if DEVICE == "cuda":
                so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
            provider = "CUDAExecutionProvider" if DEVICE == "cuda" else "CPUExecutionProvider"
            return ort.InferenceSession(model.SerializeToString(), so, providers=[provider])

        def graph(nodes, x, params):  # x: the input; params: initializers by name
            inits = [
                helper.make_tensor(n, ELEM, a.shape, T(a).tobytes(), raw=True)
                for n, a in params.items()
            ]
            dims = [f"d{i}" for i in range(x.ndim - 1)] + [x.shape[-1]]
            xi = helper.make_tensor_value_info("x", ELEM, dims)
            yi = helper.make_tensor_value_info("y", ELEM, None)
            g = helper.make_graph(nodes, "dense", [xi], [yi], initializer=inits)
            return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])

        def run(model, x):
            return session(model).run(None, {"x": T(x)})[0]
    """

    def unavailable(self) -> str | None:
        for module in ("onnxruntime", "onnx"):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed (pip install 'conformance[onnxruntime]')"
        return None

    def setup(self) -> None:
        import onnx
        import onnxruntime as ort
        from onnx import helper

        ort.set_default_logger_severity(3)
        self.ort, self.onnx, self.helper = ort, onnx, helper
        self.options: dict[str, str] = {}
        self.export_opset = 0  # torch.onnx.export's default opset, once the settings read it
        # torch.onnx.export: exported graphs by (dtype, rank, bias, sigmoid, in, out, input
        # shape), and the graph structures (dtype, rank, bias, sigmoid, device) the provider
        # has no kernel for
        self._templates: dict[tuple[Any, ...], tuple[Any, dict[str, str]]] = {}
        self._lacking: dict[tuple[Any, ...], str] = {}
        self._export_dir: Path | None = None  # exported graphs kept across runs

    def configure(self, options: dict[str, str]) -> None:
        self.options = dict(options)
        cache = self.compile_cache(options)
        self._export_dir = Path(cache) / "torch-onnx-export" if cache else None

    def version(self) -> str:
        return f"{self.ort.__version__} (onnx {self.onnx.__version__})"

    def settings(self) -> dict[str, str]:
        precision = self.options.get("matmul_precision")
        out = {
            "providers": ", ".join(self.ort.get_available_providers()),
            "execution_provider": "cpu: CPUExecutionProvider; cuda: CUDAExecutionProvider "
            "(session.disable_cpu_ep_fallback=1)",
            "graph_optimization_level": "; ".join(f"{m}: {lv}" for m, lv in LEVELS.items()),
            "intra_op_threads": "0 (ONNX Runtime's default: one per physical core)",
            "thread_spinning": "off (session.intra_op/inter_op.allow_spinning=0)",
            "onnx_helper_opset": str(OPSET),
            # The CUDA provider's use_tf32 option defaults to 1 (TF32 float32 GEMMs on Ampere+).
            "cuda_float32_matmul": "ieee" if precision == "highest" else "tf32",
            "torch_onnx_export": self._exporter_text(),
            "onnxscript": _version("onnxscript"),
        }
        return out

    def denormals(self, compiled: bool = False) -> dict[str, str]:
        helper = self.helper
        xi = helper.make_tensor_value_info("x", ELEM["float32"], [1])
        si = helper.make_tensor_value_info("s", ELEM["float32"], [])
        yi = helper.make_tensor_value_info("y", ELEM["float32"], None)
        g = helper.make_graph([helper.make_node("Mul", ["x", "s"], ["y"])], "mul", [xi, si], [yi])
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
        sess = self._session(model, "compiled" if compiled else "eager", "cpu")
        key = "denormals_compiled" if compiled else "denormals"
        return {
            key: measure_denormals(
                lambda a, s: sess.run(None, {"x": a, "s": np.array(s, np.float32)})[0]
            )
        }

    def device(self, batch: Batch) -> str:
        if batch.device == "cuda" and "CUDAExecutionProvider" not in (
            self.ort.get_available_providers()
        ):
            raise SkipBatch(
                f"ONNX Runtime {self.ort.__version__} has no CUDAExecutionProvider "
                f"(providers: {', '.join(self.ort.get_available_providers())}; "
                "the onnxruntime-gpu package has one)"
            )
        return batch.device

    # -- sessions -------------------------------------------------------------------------------
    def _session(self, model: Any, mode: str, device: str) -> Any:
        ort = self.ort
        so = ort.SessionOptions()
        so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, LEVELS[mode])
        so.log_severity_level = 3
        # Idle pool threads block instead of spinning: one session per case, and workers of
        # other frameworks beside it, would otherwise burn the cores while waiting. How the
        # threads wait does not change what they compute.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        providers: list[Any] = ["CPUExecutionProvider"]
        if device == "cuda":
            so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
            cuda: dict[str, str] = {}
            if self.options.get("matmul_precision"):
                cuda["use_tf32"] = "0" if self.options["matmul_precision"] == "highest" else "1"
            providers = [("CUDAExecutionProvider", cuda)]
        return ort.InferenceSession(model.SerializeToString(), so, providers=providers)

    def _first(self, batch: Batch, make: Callable[[Item], Any]) -> Any:
        """The first item's session, built in the path's builder: a dtype the provider has no
        kernel for is a ``skip`` of the path, with ONNX Runtime's message."""
        try:
            return make(batch.items[0])
        except self.ort.capi.onnxruntime_pybind11_state.NotImplemented as exc:
            text = str(exc).split(":", 2)[-1].strip()
            raise SkipPath(
                f"ONNX Runtime {self.ort.__version__} {self._provider(batch)} has no "
                f"{batch.dtype} kernel: {text}"
            ) from None

    @staticmethod
    def _provider(batch: Batch) -> str:
        return "CUDAExecutionProvider" if batch.device == "cuda" else "CPUExecutionProvider"

    def _tensor(self, name: str, a: np.ndarray, dtype: str) -> Any:
        a = np.ascontiguousarray(a)
        return self.helper.make_tensor(name, ELEM[dtype], a.shape, a.tobytes(), raw=True)

    def _graph(
        self, nodes: list[Any], x: np.ndarray, params: dict[str, np.ndarray], dtype: str
    ) -> Any:
        """The model of ``nodes`` on input ``x`` (batch dimensions symbolic) with ``params`` as
        initializers; the reproduction prelude's ``graph`` builds the same one."""
        helper = self.helper
        inits = [self._tensor(n, a, dtype) for n, a in params.items()]
        dims: list[Any] = [f"d{i}" for i in range(x.ndim - 1)] + [x.shape[-1]]
        xi = helper.make_tensor_value_info("x", ELEM[dtype], dims)
        yi = helper.make_tensor_value_info("y", ELEM[dtype], None)
        g = helper.make_graph(nodes, "dense", [xi], [yi], initializer=inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])

    # -- onnx.helper paths ----------------------------------------------------------------------
    def _helper_path(self, batch: Batch, graph: str, sigmoid: bool) -> PathFn:
        specs = GRAPHS[graph] + (GRAPHS["sigmoid"] if sigmoid else [])
        nodes = _nodes(self.helper, specs, batch.has_bias)
        gemm = graph == "gemm"

        def params(item: Item) -> dict[str, np.ndarray]:
            out = {"W": weight_of(item)} if gemm else {"K": kernel_of(item)}
            return out if item.bias is None else {**out, "b": item.bias}

        def make(item: Item) -> Any:
            assert item.x is not None
            x = item.x.reshape(-1, batch.in_features) if gemm else item.x
            model = self._graph(nodes, x, params(item), batch.dtype)
            return self._session(model, batch.mode, batch.device)

        first = self._first(batch, make)

        def fn(item: Item) -> np.ndarray:
            assert item.x is not None
            sess = first if item is batch.items[0] else make(item)
            x = item.x.reshape(-1, batch.in_features) if gemm else item.x
            y = sess.run(None, {"x": np.ascontiguousarray(x)})[0]
            return y.reshape(*item.x.shape[:-1], batch.out_features) if gemm else y

        return fn

    def gemm(self, batch: Batch, dev: str) -> PathFn:
        return self._helper_path(batch, "gemm", sigmoid=False)

    def sigmoid_gemm(self, batch: Batch, dev: str) -> PathFn:
        return self._helper_path(batch, "gemm", sigmoid=True)

    def matmul_add(self, batch: Batch, dev: str) -> PathFn:
        return self._helper_path(batch, "matmul_add", sigmoid=False)

    def sigmoid_matmul_add(self, batch: Batch, dev: str) -> PathFn:
        return self._helper_path(batch, "matmul_add", sigmoid=True)

    def sigmoid(self, batch: Batch, dev: str) -> PathFn:
        nodes = _nodes(self.helper, GRAPHS["sigmoid"], False)
        sessions: dict[int, Any] = {}

        def make(item: Item) -> Any:  # one session per input rank (dimensions symbolic)
            assert item.z is not None
            if item.z.ndim not in sessions:
                # a sigmoid graph's "x" is the case's z; its last dimension is symbolic too
                model = self._graph(nodes, item.z[..., None], {}, batch.dtype)
                model.graph.input[0].type.tensor_type.shape.dim.pop()
                sessions[item.z.ndim] = self._session(model, batch.mode, batch.device)
            return sessions[item.z.ndim]

        self._first(batch, make)

        def fn(item: Item) -> np.ndarray:
            assert item.z is not None
            return make(item).run(None, {"x": np.ascontiguousarray(item.z)})[0]

        return fn

    # -- torch.onnx.export paths ----------------------------------------------------------------
    def _exporter_text(self) -> str:
        """Which exporter and opset ``torch.onnx.export`` uses here (torch's default opset,
        read without exporting; every exported graph is checked to carry it)."""
        missing = self._export_missing()
        if missing:
            return f"not available: {missing}"
        import torch

        try:
            from torch.onnx import _constants

            self.export_opset = int(_constants.ONNX_DEFAULT_OPSET)
        except (ImportError, AttributeError, TypeError, ValueError):
            self.export_opset = 0  # not known: recorded as such, not checked
        opset = self.export_opset or "unknown"
        return (
            f"torch {torch.__version__} torch.onnx.export(dynamo=True) (torch.export-based, "
            f"the default), opset {opset}, static shapes, {_export_registry_once()}"
        )

    @staticmethod
    def _export_missing() -> str:
        """Why ``torch.onnx.export`` cannot run here ("" when it can)."""
        if importlib.util.find_spec("torch") is None:
            return "torch is not installed (pip install 'conformance[torch]')"
        if importlib.util.find_spec("onnxscript") is None:
            return (
                "onnxscript is not installed (torch's default ONNX exporter needs it; "
                "pip install 'conformance[onnxruntime]')"
            )
        return ""

    def _export(self, module: Any, x: Any) -> Any:
        import torch

        _export_registry_once()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, (x,), dynamo=True, verbose=False)
        assert program is not None  # dynamo=True returns the ONNXProgram
        model = program.model_proto
        if not self._recorded_opset(model):
            raise RuntimeError(
                f"torch.onnx.export wrote opset {_opset(model)}, not the default opset "
                f"{self.export_opset} the settings record"
            )
        return model

    def _recorded_opset(self, model: Any) -> bool:
        """Whether ``model`` carries the export opset the settings record (when known)."""
        return not self.export_opset or _opset(model) == self.export_opset

    def _torch_path(self, batch: Batch, sigmoid: bool) -> PathFn:
        missing = self._export_missing()
        if missing:
            raise SkipPath(f"torch.onnx.export: {missing}")
        import torch

        from ._convert import bits16, is_bf16

        tdt = getattr(torch, batch.dtype)

        def tensor(a: np.ndarray) -> Any:
            if is_bf16(a):
                return torch.from_numpy(bits16(a).copy()).view(torch.bfloat16)
            return torch.from_numpy(np.ascontiguousarray(a).copy())

        def exported(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> Any:
            layer = torch.nn.Linear(
                batch.in_features, batch.out_features, bias=bias is not None, dtype=tdt
            )
            with torch.no_grad():
                layer.weight.copy_(tensor(weight))
                if bias is not None:
                    layer.bias.copy_(tensor(bias))
            module = torch.nn.Sequential(layer, torch.nn.Sigmoid()) if sigmoid else layer
            return self._export(module.eval(), tensor(x))

        # One export per input shape (kept across batches and modes), with parameters that
        # tell the weight from its transpose (1 + k/8: exact in every dtype; W[i, j] != W[j, i]
        # for a square layer).
        x0 = batch.items[0].x
        assert x0 is not None
        i, j = np.indices((batch.out_features, batch.in_features))
        marker_w = (1 + ((3 * i + j) % 7) / 8).astype(x0.dtype)
        marker_b = (0.5 + np.arange(batch.out_features) % 5 / 8).astype(x0.dtype)
        structure = (batch.dtype, x0.ndim, batch.has_bias, sigmoid, batch.device)
        if structure in self._lacking:  # the same graph, other sizes: the same missing kernel
            raise SkipPath(self._lacking[structure])

        def make(item: Item) -> Any:
            assert item.x is not None
            key = (*structure[:4], batch.in_features, batch.out_features, item.x.shape)
            if key not in self._templates:
                bias = marker_b if batch.has_bias else None
                kept = self._kept_export(key)
                model = kept if kept is not None else exported(item.x, marker_w, bias)
                roles = self._roles(model, marker_w, bias)
                if kept is not None and not roles:  # not what this export gives: redo it
                    model = exported(item.x, marker_w, bias)
                    roles = self._roles(model, marker_w, bias)
                    kept = None
                if kept is None and roles:
                    self._keep_export(key, model)
                while len(self._templates) >= TEMPLATES_KEPT:
                    del self._templates[next(iter(self._templates))]
                self._templates[key] = (model, roles)
            model, roles = self._templates[key]
            if roles:  # every initializer is the weight, its transpose or the bias: swap in
                model = self._with_params(model, roles, item, batch.dtype)
            else:  # the graph holds something else: export this case afresh
                model = exported(item.x, weight_of(item), item.bias)
            return self._session(model, batch.mode, batch.device)

        try:
            first = self._first(batch, make)
        except SkipPath as exc:
            self._lacking[structure] = f"{exc} (seen on an earlier export of this graph)"
            raise

        def fn(item: Item) -> np.ndarray:
            assert item.x is not None
            sess = first if item is batch.items[0] else make(item)
            name = sess.get_inputs()[0].name
            return sess.run(None, {name: np.ascontiguousarray(item.x)})[0]

        return fn

    def _export_file(self, key: tuple[Any, ...]) -> Path | None:
        """Where the export of ``key`` is kept across runs (None: no cache dir)."""
        if self._export_dir is None:
            return None
        import torch

        what = (EXPORT_FORMAT, torch.__version__, _version("onnxscript"), _version("onnx"))
        text = repr((*what, self.export_opset, key)).encode()
        return self._export_dir / f"{hashlib.sha256(text).hexdigest()[:40]}.onnx"

    def _kept_export(self, key: tuple[Any, ...]) -> Any | None:
        """The kept export of ``key``, or None (none kept, or unreadable: exported afresh)."""
        file = self._export_file(key)
        if file is None:
            return None
        try:
            data = file.read_bytes()
            model = self.onnx.load_model_from_string(data)
        except Exception:  # missing, truncated or not a model: a miss
            return None
        return model if self._recorded_opset(model) else None

    def _keep_export(self, key: tuple[Any, ...], model: Any) -> None:
        """Write the export of ``key`` for later runs (atomically; best effort)."""
        file = self._export_file(key)
        if file is None:
            return
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
            tmp.write_bytes(model.SerializeToString())
            os.replace(tmp, file)
            prune(file.parent, "*.onnx", EXPORTS_KEPT_BYTES)
        except OSError:
            pass  # a read-only or full cache dir: the next run exports again

    def _roles(self, model: Any, weight: np.ndarray, bias: np.ndarray | None) -> dict[str, str]:
        """Initializer name -> "weight", "weight.T" or "bias" when every initializer of the
        exported model is exactly one of them (bit for bit, shape included), else {}."""
        from onnx import numpy_helper

        candidates = [("weight", weight), ("weight.T", weight.T)]
        if bias is not None:
            candidates.append(("bias", bias))
        roles: dict[str, str] = {}
        for init in model.graph.initializer:
            a = numpy_helper.to_array(init)
            role = next(
                (
                    r
                    for r, v in candidates
                    if a.shape == v.shape
                    and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(v).tobytes()
                ),
                None,
            )
            if role is None:
                return {}
            roles[init.name] = role
        wanted = {"bias"} if bias is not None else set()
        if not wanted <= set(roles.values()) or not {"weight", "weight.T"} & set(roles.values()):
            return {}
        return roles

    def _with_params(self, model: Any, roles: dict[str, str], item: Item, dtype: str) -> Any:
        """A copy of the exported ``model`` holding ``item``'s parameters."""
        out = type(model)()
        out.CopyFrom(model)
        values = {"weight": weight_of(item), "weight.T": weight_of(item).T, "bias": item.bias}
        for i, init in enumerate(out.graph.initializer):
            value = values[roles[init.name]]
            assert value is not None
            out.graph.initializer[i].CopyFrom(self._tensor(init.name, value, dtype))
        return out

    def torch_linear(self, batch: Batch, dev: str) -> PathFn:
        return self._torch_path(batch, sigmoid=False)

    def torch_sequential(self, batch: Batch, dev: str) -> PathFn:
        return self._torch_path(batch, sigmoid=True)

    # -- the table ------------------------------------------------------------------------------
    paths = (
        ApiPath(
            "onnx Gemm(transB=1)",
            "affine",
            "dense",
            gemm,
            """
            nodes = [helper.make_node("Gemm", ["x", "W"] + (["b"] if b is not None else []), ["y"], transB=1)]
            params = {"W": $weight} if b is None else {"W": $weight, "b": b}
            x2 = x.reshape(-1, IN)  # Gemm takes 2-D input
            y = run(graph(nodes, x2, params), x2).reshape(*x.shape[:-1], OUT)
            """,
        ),
        ApiPath(
            "onnx Sigmoid(Gemm(transB=1))",
            "sigmoid",
            "dense",
            sigmoid_gemm,
            """
            gemm_in = ["x", "W"] + (["b"] if b is not None else [])
            nodes = [
                helper.make_node("Gemm", gemm_in, ["t0"], transB=1),
                helper.make_node("Sigmoid", ["t0"], ["y"]),
            ]
            params = {"W": $weight} if b is None else {"W": $weight, "b": b}
            x2 = x.reshape(-1, IN)  # Gemm takes 2-D input
            y = run(graph(nodes, x2, params), x2).reshape(*x.shape[:-1], OUT)
            """,
        ),
        ApiPath(
            "onnx MatMul+Add",
            "affine",
            "dense",
            matmul_add,
            """
            if b is None:
                nodes = [helper.make_node("MatMul", ["x", "K"], ["y"])]
                params = {"K": $kernel}
            else:
                nodes = [
                    helper.make_node("MatMul", ["x", "K"], ["t0"]),
                    helper.make_node("Add", ["t0", "b"], ["y"]),
                ]
                params = {"K": $kernel, "b": b}
            y = run(graph(nodes, x, params), x)
            """,
        ),
        ApiPath(
            "onnx Sigmoid(MatMul+Add)",
            "sigmoid",
            "dense",
            sigmoid_matmul_add,
            """
            if b is None:
                nodes = [helper.make_node("MatMul", ["x", "K"], ["t0"])]
                params = {"K": $kernel}
            else:
                nodes = [
                    helper.make_node("MatMul", ["x", "K"], ["t0"]),
                    helper.make_node("Add", ["t0", "b"], ["t1"]),
                ]
                params = {"K": $kernel, "b": b}
            nodes.append(helper.make_node("Sigmoid", [nodes[-1].output[0]], ["y"]))
            y = run(graph(nodes, x, params), x)
            """,
        ),
        ApiPath(
            "onnx Sigmoid",
            "sigmoid",
            "sigmoid",
            sigmoid,
            """
            model = graph([helper.make_node("Sigmoid", ["x"], ["y"])], z[..., None], {})
            model.graph.input[0].type.tensor_type.shape.dim.pop()  # every dimension symbolic
            y = run(model, z)
            """,
        ),
        ApiPath(
            "torch.onnx.export(nn.Linear)",
            "affine",
            "dense",
            torch_linear,
            """
            import warnings

            import torch

            def tt(a):  # exact: a holds values of DTYPE
                return torch.tensor(np.ascontiguousarray(a), dtype=getattr(torch, DTYPE))

            layer = torch.nn.Linear(IN, OUT, bias=b is not None, dtype=getattr(torch, DTYPE))
            with torch.no_grad():
                layer.weight.copy_(tt($weight))
                if b is not None:
                    layer.bias.copy_(tt(b))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program = torch.onnx.export(layer.eval(), (tt(x),), dynamo=True, verbose=False)
            sess = session(program.model_proto)
            y = sess.run(None, {sess.get_inputs()[0].name: T(x)})[0]
            """,
        ),
        ApiPath(
            "torch.onnx.export(nn.Sequential(nn.Linear, nn.Sigmoid))",
            "sigmoid",
            "dense",
            torch_sequential,
            """
            import warnings

            import torch

            def tt(a):  # exact: a holds values of DTYPE
                return torch.tensor(np.ascontiguousarray(a), dtype=getattr(torch, DTYPE))

            layer = torch.nn.Linear(IN, OUT, bias=b is not None, dtype=getattr(torch, DTYPE))
            model = torch.nn.Sequential(layer, torch.nn.Sigmoid()).eval()
            with torch.no_grad():
                layer.weight.copy_(tt($weight))
                if b is not None:
                    layer.bias.copy_(tt(b))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program = torch.onnx.export(model, (tt(x),), dynamo=True, verbose=False)
            sess = session(program.model_proto)
            y = sess.run(None, {sess.get_inputs()[0].name: T(x)})[0]
            """,
        ),
    )
