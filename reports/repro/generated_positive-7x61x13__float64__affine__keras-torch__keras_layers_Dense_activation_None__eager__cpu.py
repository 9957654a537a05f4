"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/positive-7x61x13',
    'file': 'cases/generated/positive-7x61x13.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 91 of 91 elements outside tolerance vs reference; worst at [3, 8]: got 0.580852356217988, want 0.580852150553126 (1852464392 ulp, 5.97e+06x its allowance)',
    'tolerance': '2*(gamma_61(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 63*tiny + ulp/2 (max 5.54e-14; accumulation in float64)',
    'max_ulp': 11784571188.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 61, 13

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1009)
x = round_to(rng.uniform(0.0, 1.0, size=(7, 61)))
W = round_to(rng.normal(0.0, 0.128, size=(13, 61)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(13,)))

# Target: the exact result rounded to float64.
want = np.array([0.3713202415743189, 0.25666045205451204, -0.44106997191923686, 0.5453929122177239, -0.8398155724884293, 0.362137911950751, 0.2810587869457247, 0.3215316878438473, 0.38168591957715703, 0.19900441020856496, -0.5730786587452908, 0.6298454073083891, 0.7099388451296028, 0.4017609014283959, 0.6767258241136616, -0.7518933410427441, 0.451700316379356, -1.0620715903128706, 0.4896139161533736, 0.14563184521467304, 0.6025338770441183, -0.1972502993826666, -0.35840026747014203, -0.09181892099241008, 0.7022345696623519, 0.17847010083215886, 1.043567759822755, 0.4982449086800701, -0.747265429480282, 0.8805060045260823, -1.0882038007819705, 0.3302189618975481, 0.43618104917894357, 0.3915868606364998, 0.418404482505676, 0.5723787058628869, -0.29539843027572343, 0.4649726318082214, 0.45264875394015897, 0.7095614135469167, 0.4078838865275391, -0.7717383685703552, 0.8021117367941236, -0.9797956962158204, 0.018689616308849428, -0.07700922226877678, 0.9724941411968749, 0.580852150553126, 0.18090710936616286, -0.5965460838360109, 0.629694551829626, 0.4437663522283809, 0.5431026236533237, 0.2490298558989909, -0.9010120771016501, 0.5889784533087439, -1.5158899218382402, -0.05047605203829798, -0.28158025316058427, 1.0807696313175135, 0.6138151012711476, 0.055262774103610565, -1.0021453644328007, 1.3116139489891847, 0.6184379977030393, 0.691680119481113, 0.32103991721822067, -0.4163366712063773, 0.6477963279573313, -1.108435012036849, 0.025980642842873995, 0.0419466922474119, 1.259393209104484, 0.16943619722134143, -0.19153727860015812, -1.1673750373848721, 1.2370510604466642, 0.5301732800111983, 0.41469922168830486, 0.43950840101561384, -0.7706292757516494, 1.0785298491765, -1.6244124071102763, 0.03257959230018194, -0.07913529155599251, 1.4458038874045207, 0.6722221705374265, -0.2501879312457392, -0.32089986748365557, 0.8209855936497593, 0.40304084109749644], dtype=np.float64).reshape((7, 13))

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
    layer = keras.layers.Dense(OUT, activation=None, use_bias=b is not None, dtype=DTYPE)
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
REPORTED = 11784571188.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
