"""Adapters used by the tests through ``--adapter tests.plugins:Class``."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any, ClassVar

import numpy as np

from conformance.adapters.base import (
    Adapter,
    ApiPath,
    Batch,
    InitRequest,
    InitResult,
    Item,
    PathFn,
    PathResult,
    kernel_of,
    weight_of,
)

NUMPY_PRELUDE = """
    dt = np.dtype(DTYPE)

    def T(a):
        return np.asarray(a).astype(dt)

    def to_numpy(y):
        return np.asarray(y).astype(np.float64)
"""


def _expit(item: Item) -> np.ndarray:
    assert item.z is not None
    return (1 / (1 + np.exp(-item.z))).astype(item.z.dtype)


class TinyAdapter(Adapter):
    """A correct pure-NumPy plugin that takes the Keras layout, and owns an init kind."""

    name = "tiny"
    init_kinds: ClassVar[dict[str, str]] = {"tiny": "kernel"}
    repro_prelude = NUMPY_PRELUDE

    def version(self) -> str:
        return "1.0"

    def init_params(self, request: InitRequest) -> InitResult:
        rng = np.random.default_rng(request.seed + 1000)
        shape = (request.in_features, request.out_features)
        kernel = rng.uniform(-1, 1, shape).astype(request.dtype)
        bias = np.full(request.out_features, 0.5, request.dtype) if request.has_bias else None
        return InitResult(request.key, kernel, "kernel", bias, {"kernel": "tiny.kernel"})

    def matmul(self, batch: Batch, dev: Any) -> PathFn:
        def fn(item: Item) -> np.ndarray:
            assert item.x is not None
            y = item.x @ kernel_of(item)
            return y + item.bias if item.bias is not None else y

        return fn

    def expit(self, batch: Batch, dev: Any) -> PathFn:
        return _expit

    paths = (
        ApiPath(
            "x @ K + b",
            "affine",
            "dense",
            matmul,
            """
            y = T(x) @ T($kernel)
            if b is not None:
                y = y + T(b)
            """,
        ),
        ApiPath("expit", "sigmoid", "sigmoid", expit, "y = (1 / (1 + np.exp(-T(z)))).astype(dt)"),
    )


class WrongLayoutAdapter(TinyAdapter):
    """Ignores the layout: uses the parameter as a kernel whatever the case wrote."""

    name = "wronglayout"

    def matmul(self, batch: Batch, dev: Any) -> PathFn:
        def fn(item: Item) -> np.ndarray:
            assert item.x is not None and item.param is not None and item.bias is not None
            return item.x @ item.param + item.bias  # bug under test: layout ignored

        return fn

    def matmul_fixed(self, batch: Batch, dev: Any) -> PathFn:
        def fn(item: Item) -> np.ndarray:
            assert item.x is not None and item.bias is not None
            return item.x @ kernel_of(item) + item.bias  # the same path, layout honoured

        return fn

    paths = (
        ApiPath("x @ P + b", "affine", "dense", matmul),
        ApiPath("x @ kernel_of(P) + b", "affine", "dense", matmul_fixed),
    )


class WrongLayoutWeightAdapter(WrongLayoutAdapter):
    """Ignores the layout the other way: uses the parameter as a weight whatever was written."""

    name = "wronglayoutweight"

    def matmul(self, batch: Batch, dev: Any) -> PathFn:
        def fn(item: Item) -> np.ndarray:
            assert item.x is not None and item.param is not None and item.bias is not None
            return item.x @ item.param.T + item.bias  # bug under test: layout ignored

        return fn

    def matmul_fixed(self, batch: Batch, dev: Any) -> PathFn:
        def fn(item: Item) -> np.ndarray:
            assert item.x is not None and item.bias is not None
            return item.x @ weight_of(item).T + item.bias

        return fn

    paths = (
        ApiPath("x @ P.T + b", "affine", "dense", matmul),
        ApiPath("x @ weight_of(P).T + b", "affine", "dense", matmul_fixed),
    )


class SloppyAdapter(TinyAdapter):
    """A sigmoid evaluated in float16 and cast back: wrong for float32 against the reference."""

    name = "sloppy"
    init_kinds: ClassVar[dict[str, str]] = {}

    def expit16(self, batch: Batch, dev: Any) -> PathFn:
        def fn(item: Item) -> np.ndarray:
            assert item.z is not None
            z16 = item.z.astype(np.float16)
            return (1 / (1 + np.exp(-z16))).astype(item.z.dtype)

        return fn

    paths = (
        ApiPath(
            "expit16",
            "sigmoid",
            "sigmoid",
            expit16,
            """
            z16 = T(z).astype(np.float16)
            y = (1 / (1 + np.exp(-z16))).astype(dt)
            """,
        ),
        ApiPath("expit16, no program", "sigmoid", "sigmoid", expit16),
    )


class NumpyImpostor(TinyAdapter):
    """Takes the built-in NumPy adapter's name: refused unless the run allows replacing."""

    name = "numpy"
    init_kinds: ClassVar[dict[str, str]] = {}

    def version(self) -> str:
        return "impostor 0.1"


class TorchInitPlugin(TinyAdapter):
    """Declares the ``torch`` init kind (drawing with NumPy): a replacement need not be named
    torch to own it."""

    name = "mytorch"
    init_kinds: ClassVar[dict[str, str]] = {"torch": "weight"}

    def init_params(self, request: InitRequest) -> InitResult:
        drawn = super().init_params(request)
        assert drawn.param is not None
        return InitResult(request.key, drawn.param.T.copy(), "weight", drawn.bias, {})


class CrashingAdapter(TinyAdapter):
    """Dies hard (like a segfaulting framework) on its first batch."""

    name = "crashy"
    init_kinds: ClassVar[dict[str, str]] = {}

    def run(self, batch: Batch):  # type: ignore[no-untyped-def]
        os.abort()


class MissingAdapter(TinyAdapter):
    name = "missing"
    requires = "no_such_framework_xyz"
    init_kinds: ClassVar[dict[str, str]] = {}


class OffByHalfAdapter(TinyAdapter):
    """A wrong affine: the right value plus 0.5."""

    name = "offbyhalf"
    init_kinds: ClassVar[dict[str, str]] = {}

    def matmul_off(self, batch: Batch, dev: Any) -> PathFn:
        right = self.matmul(batch, dev)
        return lambda item: right(item) + 0.5

    paths = (ApiPath("x @ K + b", "affine", "dense", matmul_off), TinyAdapter.paths[1])


# --------------------------------------------------------------------------------------------
# Faulty adapters: each breaks in one way; the runner must cost only its own rows.


class _Faulty(TinyAdapter):
    """A dense path that calls :meth:`bad` (overridden below); sigmoid-only cases run right."""

    init_kinds: ClassVar[dict[str, str]] = {}

    def bad(self, item: Item) -> Any:
        raise NotImplementedError

    def right(self, item: Item) -> np.ndarray:
        assert item.x is not None
        y = item.x @ kernel_of(item)
        return y + item.bias if item.bias is not None else y

    def faulty(self, batch: Batch, dev: Any) -> PathFn:
        return self.bad

    paths = (ApiPath("faulty affine", "affine", "dense", faulty), TinyAdapter.paths[1])


class HangInSetup(_Faulty):
    name = "hangsetup"

    def setup(self) -> None:
        time.sleep(3600)


class HangInPath(_Faulty):
    name = "hangpath"

    def bad(self, item: Item) -> Any:
        time.sleep(3600)


class SpawnsAndHangs(_Faulty):
    """Starts a process of its own (as compilers and thread pools do), then hangs."""

    name = "spawnshangs"

    def bad(self, item: Item) -> Any:
        import subprocess

        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        time.sleep(3600)


class KillsItself(_Faulty):
    """SIGKILL, as the OOM killer sends it."""

    name = "sigkill"

    def bad(self, item: Item) -> Any:
        os.kill(os.getpid(), signal.SIGKILL)


class Segfaults(_Faulty):
    name = "segfault"

    def bad(self, item: Item) -> Any:
        import ctypes

        return ctypes.string_at(0)  # reads address 0


class ExitsNonZero(_Faulty):
    """Says something hostile on stderr, then exits with code 3."""

    name = "exits3"

    def bad(self, item: Item) -> Any:
        sys.stderr.write("about to fail \x1b[31mred\x1b[0m\n")
        sys.stderr.flush()
        os._exit(3)


class ReturnsString(_Faulty):
    name = "returnsstr"

    def bad(self, item: Item) -> Any:
        return "garbage"


class ReturnsNone(_Faulty):
    name = "returnsnone"

    def bad(self, item: Item) -> Any:
        return None


def _explode() -> None:
    raise RuntimeError("unpickling this object raises")


class Unpicklable:
    """An object whose unpickling raises (it pickles fine)."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_explode, ())


class ReturnsUnpicklable(_Faulty):
    name = "returnsunpicklable"

    def bad(self, item: Item) -> Any:
        return Unpicklable()


class WrongShape(_Faulty):
    name = "wrongshape"

    def bad(self, item: Item) -> Any:
        return self.right(item)[..., None]


class WrongDtype(_Faulty):
    name = "wrongdtype"

    def bad(self, item: Item) -> Any:
        return self.right(item).astype(np.float64)


class ShortOutputs(_Faulty):
    """Its own ``run`` drops the last output of every path (the contract: one per item)."""

    name = "shortoutputs"

    def bad(self, item: Item) -> Any:
        return self.right(item)

    def run(self, batch: Batch, progress: Any = None) -> list[PathResult]:
        results = super().run(batch, progress)
        for r in results:
            r.outputs.pop()
        return results


class RunReturnsString(_Faulty):
    """Its own ``run`` returns a string instead of a list of results."""

    name = "runreturnsstr"

    def run(self, batch: Batch, progress: Any = None) -> Any:
        return "not a list"


class DeviceRaises(_Faulty):
    """Every batch fails before any path runs (the traceback must be kept)."""

    name = "deviceraises"

    def device(self, batch: Batch) -> Any:
        raise LookupError("no device for this batch")


#: a file the gate adapters below open and wait for (set by the test)
GATE_ENV = "_CONFORMANCE_TEST_GATE"


class GateOpener(TinyAdapter):
    """Opens the gate (touches ``$_CONFORMANCE_TEST_GATE``) when it runs a batch."""

    name = "gateopener"
    init_kinds: ClassVar[dict[str, str]] = {}

    def run(self, batch: Batch, progress: Any = None) -> list[PathResult]:
        with open(os.environ[GATE_ENV], "a", encoding="utf-8"):
            pass
        return super().run(batch, progress)


class GatedDraw(TinyAdapter):
    """Owns the init kind ``gated`` and draws only once the gate is open: that happens only
    when another framework runs a batch while this one is still drawing."""

    name = "gated"
    init_kinds: ClassVar[dict[str, str]] = {"gated": "kernel"}

    def init_params(self, request: InitRequest) -> InitResult:
        deadline = time.monotonic() + 20
        while not os.path.exists(os.environ[GATE_ENV]):
            if time.monotonic() > deadline:
                raise RuntimeError("the gate never opened: no batch ran during the draws")
            time.sleep(0.05)
        return super().init_params(request)


SPREAD_LOG_ENV = "CONFORMANCE_TEST_SPREAD_LOG"


class LoggingTiny(TinyAdapter):
    """TinyAdapter that appends [pid, kind, dtype, out features, case ids] of every batch it
    runs to the file named by ``SPREAD_LOG_ENV`` (which process ran which batch)."""

    name = "spready"
    init_kinds: ClassVar[dict[str, str]] = {}

    def run(self, batch: Batch, progress: Any = None) -> Any:
        with open(os.environ[SPREAD_LOG_ENV], "a") as f:
            cases = [it.case for it in batch.items]
            print(
                json.dumps([os.getpid(), batch.kind, batch.dtype, batch.out_features, cases]),
                file=f,
            )
        return super().run(batch, progress)


class KilledInOne(LoggingTiny):
    """Dies by SIGKILL (as the OOM killer kills) on a dense float32 batch of output width 5:
    in one of its processes only, since such batches stay together."""

    def run(self, batch: Batch, progress: Any = None) -> Any:
        got = super().run(batch, progress)
        if (batch.kind, batch.dtype, batch.out_features) == ("dense", "float32", 5):
            os.kill(os.getpid(), signal.SIGKILL)
        return got
