"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/wide-normal-32x128x16',
    'file': 'cases/generated/wide-normal-32x128x16.yaml',
    'dtype': 'float32',
    'op': 'sigmoid',
    'framework': 'onnxruntime',
    'framework_version': '1.32.0 (onnx 1.23.2)',
    'path': 'onnx Sigmoid(Gemm(transB=1))',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': "known deviation (fail): ONNX Runtime's CPU Sigmoid for float32 (MLAS MlasComputeLogistic; every sigmoid path here: onnx Sigmoid, Sigmoid after Gemm or MatMul+Add, the exported nn.Sigmoid, both graph optimisation levels) is 0.5 + p(z)/q(z), a rational approximation on z clamped to [-18, 18], clamped to [0, 1]: accurate to 1.2e-7 absolute, not relative. Below z = -1.96 it is over the 4-ulp budget (99 ulp at z = -4.9, 28,000 at -9.8, 2.6e6 at -15), and from z = -16.2 down it returns 0 where sigmoid is 9e-8 (8.7e8 ulp; benchmarks/sigmoid_ulp_sweep.py --points 8000). float16 (the same kernel, then rounded) stays within 2 ulp. — 119 of 512 elements outside tolerance vs reference; worst at [4, 4]: got 8.940696716308594e-08, want 3.9304342891455235e-08 (9908331 ulp, 130x its allowance)",
    'tolerance': "4 ulp + sigma'*affine bound; subnormal results may flush to +0",
    'max_ulp': 834929945.0,
}
DTYPE, DEVICE = 'float32', 'cpu'
IN, OUT = 128, 16

def round_to(a, p=24, emin=-126, top=3.4028234663852886e+38):
    """Round float64 values to float32 (nearest, ties to even), kept as float64."""
    a = np.asarray(a, dtype=np.float64)
    _, e = np.frexp(np.abs(a))
    q = np.maximum(e - 1, emin) - (p - 1)
    r = np.ldexp(np.rint(np.ldexp(a, -q)), q)
    return np.where(np.abs(r) > top, np.copysign(np.inf, a), r)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float32.
rng = np.random.default_rng(1018)
x = round_to(rng.normal(0.0, 100.0, size=(32, 128)))
W = round_to(rng.normal(0.0, 0.08839, size=(16, 128)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(16,)))

# Target: the exact result rounded to float32, at the worst element the suite reported (the output is large).
IDX = (4, 4)
want = np.array([3.9304342891455235e-08])

# onnxruntime: the framework, and T(a) / to_numpy(y) to hand arrays over exactly.
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

# The path, as the suite calls it.
gemm_in = ["x", "W"] + (["b"] if b is not None else [])
nodes = [
    helper.make_node("Gemm", gemm_in, ["t0"], transB=1),
    helper.make_node("Sigmoid", ["t0"], ["y"]),
]
params = {"W": W} if b is None else {"W": W, "b": b}
x2 = x.reshape(-1, IN)  # Gemm takes 2-D input
y = run(graph(nodes, x2, params), x2).reshape(*x.shape[:-1], OUT)
got = to_numpy(y)
if len(sys.argv) > 1:
    np.save(sys.argv[1], got)

got = got[IDX].reshape(1)

def ordinal(a):  # float32 values in order, 1 apart; -0 and +0 are both 0
    bits = np.ascontiguousarray(np.asarray(a).astype(np.float32)).view(np.uint32)
    bits = bits.astype(np.uint64) >> np.uint64(0)
    sign = (bits >> np.uint64(31)).astype(bool)
    mag = (bits & np.uint64(2147483647)).astype(np.int64)
    return np.where(sign, -mag, mag)


oa, ob = ordinal(got), ordinal(want)
ua, ub = oa.astype(np.uint64), ob.astype(np.uint64)
ulp = np.where(oa >= ob, ua - ub, ub - ua).astype(np.float64)
special = ~(np.isfinite(got) & np.isfinite(want))
same = (np.isnan(got) & np.isnan(want)) | (np.isinf(got) & (got == want))
ulp = np.where(special, np.where(same, 0.0, np.inf), ulp)
worst = np.unravel_index(int(np.argmax(ulp)), ulp.shape)
print(f"max error {ulp.max():g} ulp at {list(map(int, worst))}: got {float(got[worst])!r}, want {float(want[worst])!r}")
wrong_zeros = int(((got == 0) & (want == 0) & (np.signbit(got) != np.signbit(want))).sum())
print(f"zeros of the wrong sign: {wrong_zeros}")
REPORTED = 834929945.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
