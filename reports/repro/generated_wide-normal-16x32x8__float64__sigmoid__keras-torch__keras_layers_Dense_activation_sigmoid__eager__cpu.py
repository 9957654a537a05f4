"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/wide-normal-16x32x8',
    'file': 'cases/generated/wide-normal-16x32x8.yaml',
    'dtype': 'float64',
    'op': 'sigmoid',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': "keras.layers.Dense(activation='sigmoid')",
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 71 of 128 elements outside tolerance vs reference; worst at [9, 4]: got 2.3930521965721288e-67, want 2.393003093960347e-67 (149047056931 ulp, 8.37e+06x its allowance)',
    'tolerance': "4 ulp + sigma'*affine bound",
    'max_ulp': 199524340616.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 32, 8

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1017)
x = round_to(rng.normal(0.0, 100.0, size=(16, 32)))
W = round_to(rng.normal(0.0, 0.1768, size=(8, 32)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(8,)))

# Target: the exact result rounded to float64.
want = np.array([1.0410638050719607e-06, 1.0, 1.0, 1.0, 5.133555843283086e-34, 1.0, 0.9999999999997096, 1.0615578730320458e-57, 3.6111350093934806e-05, 1.0, 1.0, 1.0, 0.9979904803449281, 0.998612096544183, 0.9848672616165631, 1.0, 1.0, 2.514698635928266e-06, 9.144324273610148e-19, 4.1334536168968673e-10, 0.9999999999998067, 3.1291518248145535e-07, 7.586708649822762e-12, 1.0, 1.0, 2.6074745049188306e-42, 1.0, 1.0, 5.562183919279424e-09, 7.635727702331571e-25, 5.058889846861044e-29, 1.0, 1.0, 0.9999999999999997, 1.0, 1.0, 2.5280820611433714e-35, 9.392054816720042e-43, 9.364685995309037e-20, 1.0, 0.9548392673219194, 6.455659291233611e-75, 9.183832535888904e-72, 1.0, 8.980158380676371e-20, 1.0, 1.0, 6.803593917121291e-57, 0.9999997601084937, 2.656881832734129e-64, 0.00762708441123258, 1.0, 1.0, 4.041536797678049e-45, 2.305600262334707e-19, 1.0, 1.0, 4.0318128278491687e-25, 3.689218796164282e-11, 1.0, 1.0, 1.3058538149943287e-07, 9.662413229533777e-06, 0.9999997960668867, 1.0, 1.0, 1.0, 1.1203237676215282e-69, 0.9999999993031663, 0.9999999998742672, 1.0, 1.9476135736551334e-25, 3.378127116589542e-33, 4.0380095010548264e-35, 0.999999982597287, 7.042195689955439e-45, 2.393003093960347e-67, 1.0, 1.0, 2.4858436363447786e-47, 1.0, 1.0, 1.0, 1.0778536293643401e-32, 0.9999999999999709, 1.557936573367099e-07, 2.3800602368855916e-06, 4.493285388855848e-11, 1.2602523397137502e-08, 4.938796353036111e-58, 4.332052842351252e-41, 1.6630788301756834e-06, 4.264836885715677e-08, 1.1940358094436673e-44, 2.576658517737077e-44, 1.0, 1.0, 1.897084746768476e-26, 1.0, 1.0, 5.068439642923625e-09, 0.9999999999999983, 2.8678601380916353e-14, 1.0, 5.944709204898839e-24, 1.0, 1.0, 5.896423228587144e-05, 1.0, 3.2066702531055464e-34, 0.9999999999999889, 3.1654877981563092e-58, 7.03640475253548e-40, 2.724669408260504e-80, 1.0, 0.9999749103064381, 3.161507821877068e-25, 1.0, 1.0, 4.915713130802491e-11, 3.1603246646441004e-31, 1.0, 1.0, 0.9999999989894063, 1.0, 0.0021861568011791277, 0.9999999929166834, 1.2232893249148007e-35], dtype=np.float64).reshape((16, 8))

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
REPORTED = 199524340616.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
