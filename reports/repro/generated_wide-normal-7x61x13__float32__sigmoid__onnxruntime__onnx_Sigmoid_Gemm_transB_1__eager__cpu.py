"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/wide-normal-7x61x13',
    'file': 'cases/generated/wide-normal-7x61x13.yaml',
    'dtype': 'float32',
    'op': 'sigmoid',
    'framework': 'onnxruntime',
    'framework_version': '1.32.0 (onnx 1.23.2)',
    'path': 'onnx Sigmoid(Gemm(transB=1))',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': "known deviation (fail): ONNX Runtime's CPU Sigmoid for float32 (MLAS MlasComputeLogistic; every sigmoid path here: onnx Sigmoid, Sigmoid after Gemm or MatMul+Add, the exported nn.Sigmoid, both graph optimisation levels) is 0.5 + p(z)/q(z), a rational approximation on z clamped to [-18, 18], clamped to [0, 1]: accurate to 1.2e-7 absolute, not relative. Below z = -1.96 it is over the 4-ulp budget (99 ulp at z = -4.9, 28,000 at -9.8, 2.6e6 at -15), and from z = -16.2 down it returns 0 where sigmoid is 9e-8 (8.7e8 ulp; benchmarks/sigmoid_ulp_sweep.py --points 8000). float16 (the same kernel, then rounded) stays within 2 ulp. — 29 of 91 elements outside tolerance vs reference; worst at [3, 7]: got 0.0, want 2.4386711400259387e-11 (769032702 ulp, 368x its allowance)",
    'tolerance': "4 ulp + sigma'*affine bound; subnormal results may flush to +0",
    'max_ulp': 807411043.0,
}
DTYPE, DEVICE = 'float32', 'cpu'
IN, OUT = 61, 13

def round_to(a, p=24, emin=-126, top=3.4028234663852886e+38):
    """Round float64 values to float32 (nearest, ties to even), kept as float64."""
    a = np.asarray(a, dtype=np.float64)
    _, e = np.frexp(np.abs(a))
    q = np.maximum(e - 1, emin) - (p - 1)
    r = np.ldexp(np.rint(np.ldexp(a, -q)), q)
    return np.where(np.abs(r) > top, np.copysign(np.inf, a), r)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float32.
rng = np.random.default_rng(1019)
x = round_to(rng.normal(0.0, 100.0, size=(7, 61)))
W = round_to(rng.normal(0.0, 0.128, size=(13, 61)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(13,)))

# Target: the exact result rounded to float32.
want = np.array([2.4772578433029935e-10, 1.0, 1.0, 1.0, 7.869521419022504e-34, 2.802596928649634e-45, 1.0347228837802424e-30, 1.0, 3.9324501699411485e-07, 3.4252295470204975e-19, 3.863072056388634e-15, 1.0, 1.0, 7.273285536246887e-40, 0.0, 7.462835450793796e-15, 0.16438141465187073, 1.0, 1.0, 1.0, 2.812415935564866e-16, 1.074202556315401e-37, 3.9007438945581896e-10, 1.6561050494687007e-22, 1.0, 0.9999999403953552, 0.0, 1.1699233937179088e-06, 7.943059455172975e-30, 1.0, 1.401298464324817e-45, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0002353652089368552, 0.0, 0.999997079372406, 8.267660939516421e-44, 1.0, 1.0203873719838555e-16, 0.0, 1.0, 8.109536178724465e-38, 5.824942195253868e-10, 2.4386711400259387e-11, 2.8585332328606966e-29, 1.0, 1.0, 1.0, 0.0, 1.0, 8.31056365066469e-24, 1.6507044212424327e-12, 1.0, 0.9999995231628418, 1.0, 0.0, 1.0, 4.134779324482807e-11, 8.967351683529231e-39, 1.0, 0.0020621747244149446, 1.0, 1.7395312568169174e-07, 1.0, 3.7652889736407835e-42, 0.9797178506851196, 1.1711589395773588e-30, 1.0, 1.0, 0.0, 0.9999537467956543, 0.9999887347221375, 1.0, 1.0, 1.0879990823748666e-14, 0.0, 0.0, 0.0, 6.400722372913378e-14, 1.0, 3.0426221226145313e-21, 1.1347540745595963e-12, 1.0, 1.0, 6.868766442766126e-21, 1.0, 2.0976072209049846e-32, 0.0], dtype=np.float64).reshape((7, 13))

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
REPORTED = 807411043.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
