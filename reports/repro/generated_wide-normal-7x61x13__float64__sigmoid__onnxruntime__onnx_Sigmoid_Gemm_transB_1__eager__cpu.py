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
    'dtype': 'float64',
    'op': 'sigmoid',
    'framework': 'onnxruntime',
    'framework_version': '1.32.0 (onnx 1.23.2)',
    'path': 'onnx Sigmoid(Gemm(transB=1))',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': "known deviation (fail): ONNX Runtime's CPU Sigmoid for float64 is Eigen's 1 - 1/(1 + exp(-|z|)) for z < 0 (providers/cpu/activation/activations.h): the subtraction cancels, so the error is absolute, up to 1.6e-16. Below z = -1.96 it is over the 4-ulp budget (130 ulp at z = -5, 13,800 at -9.8, 2.2e6 at -14.8), and from z = -36.8 down it returns 0 where sigmoid is 1.1e-16 (4.4e18 ulp). Every float64 sigmoid path, both graph optimisation levels. — 47 of 91 elements outside tolerance vs reference; worst at [0, 4]: got 0.0, want 7.869535216532433e-34 (4111883395603490304 ulp, 1.89e+11x its allowance)",
    'tolerance': "4 ulp + sigma'*affine bound",
    'max_ulp': 4.3677628242451615e+18,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 61, 13

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1019)
x = round_to(rng.normal(0.0, 100.0, size=(7, 61)))
W = round_to(rng.normal(0.0, 0.128, size=(13, 61)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(13,)))

# Target: the exact result rounded to float64.
want = np.array([2.477251597676439e-10, 1.0, 1.0, 1.0, 7.869535216532433e-34, 2.4587872991132967e-45, 1.0347237342985912e-30, 1.0, 3.9324560494334567e-07, 3.4252374951676156e-19, 3.863080793805282e-15, 1.0, 1.0, 7.2731985483525744e-40, 3.3175381265599655e-47, 7.462832000464187e-15, 0.16438078968902736, 0.9999999999988249, 1.0, 1.0, 2.812395970406456e-16, 1.074200750712256e-37, 3.900755433926759e-10, 1.656107781574625e-22, 1.0, 0.9999999621990747, 2.740102182340209e-82, 1.1699234934515725e-06, 7.943073089805156e-30, 0.9999999766245311, 8.120207009320958e-46, 1.0, 1.0, 1.0, 4.694405610684357e-46, 1.0, 0.00023536519780869991, 6.686039617172416e-46, 0.9999970764367733, 8.237605725180915e-44, 1.0, 1.020389725911945e-16, 6.716471798465517e-73, 1.0, 8.109538137920351e-38, 5.824930707377362e-10, 2.4386756375526386e-11, 2.85854171008795e-29, 0.9999999999598541, 1.0, 1.0, 9.338311585429872e-54, 1.0, 8.310537284031795e-24, 1.6507053279335121e-12, 1.0, 0.9999995313904746, 1.0, 1.3512755524002345e-78, 1.0, 4.134796690934715e-11, 8.967391260582731e-39, 1.0, 0.0020621582865857292, 1.0, 1.7395318516324856e-07, 1.0, 3.764942867352849e-42, 0.9797178990400934, 1.171160467060895e-30, 0.9999999999773211, 0.9999999999999999, 7.317938646822681e-75, 0.9999537756503855, 0.9999887370445193, 1.0, 1.0, 1.0880058882021638e-14, 8.89317011643144e-60, 3.6724486213539505e-75, 4.900855377965516e-101, 6.40068298527822e-14, 1.0, 3.0426288422313426e-21, 1.1347523036908673e-12, 1.0, 1.0, 6.86875740365403e-21, 1.0, 2.0976095462971347e-32, 3.467615035183301e-50], dtype=np.float64).reshape((7, 13))

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


def ordinal(a):  # float64 values in order, 1 apart; -0 and +0 are both 0
    bits = np.ascontiguousarray(np.asarray(a).astype(np.float64)).view(np.uint64)
    bits = bits.astype(np.uint64) >> np.uint64(0)
    sign = (bits >> np.uint64(63)).astype(bool)
    mag = (bits & np.uint64(9223372036854775807)).astype(np.int64)
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
REPORTED = 4.3677628242451615e+18  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
