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
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': "keras.layers.Dense(activation='sigmoid')",
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 57 of 91 elements outside tolerance vs reference; worst at [4, 6]: got 1.3511821558099066e-78, want 1.3512755524002345e-78 (389636535429 ulp, 8.34e+06x its allowance)',
    'tolerance': "4 ulp + sigma'*affine bound",
    'max_ulp': 389636535429.0,
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

# keras-torch: the framework, and T(a) / to_numpy(y) to hand arrays over exactly.
import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported
import keras
import torch

dev = "gpu:0" if DEVICE == "cuda" else "cpu:0"

def T(a):  # exact: a holds values of DTYPE
    return torch.tensor(np.ascontiguousarray(a), dtype=getattr(torch, DTYPE), device=DEVICE)

def to_numpy(y):
    return y.detach().to(torch.float64).cpu().numpy()

# The path, as the suite calls it.
x2 = x[None, :] if x.ndim == 1 else x  # Dense needs 2-D input
with keras.device(dev):
    layer = keras.layers.Dense(
        OUT, activation="sigmoid", use_bias=b is not None, dtype=DTYPE
    )
    layer.build((None, IN))
    layer.kernel.assign(T(W.T))
    if b is not None:
        layer.bias.assign(T(b))
    y = layer(T(x2))
y = y[0] if x.ndim == 1 else y
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
REPORTED = 389636535429.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
