"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/normal-7x61x13',
    'file': 'cases/generated/normal-7x61x13.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 91 of 91 elements outside tolerance vs reference; worst at [0, 7]: got 2.5314373936407084, want 2.5314367989386053 (1339150085 ulp, 6.9e+06x its allowance)',
    'tolerance': '2*(gamma_61(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 63*tiny + ulp/2 (max 8.62e-14; accumulation in float64)',
    'max_ulp': 25740764808.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 61, 13

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1014)
x = round_to(rng.normal(0.0, 1.0, size=(7, 61)))
W = round_to(rng.normal(0.0, 0.128, size=(13, 61)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(13,)))

# Target: the exact result rounded to float64.
want = np.array([-0.6775789187746517, 0.40421098279076884, -1.4103564838288338, 0.2908258452316429, 0.4947087205448539, -1.16920728414628, -0.9748828885900218, 2.5314367989386053, -0.3798116562965093, 0.09779545201435612, -1.1094035978765304, 0.9337586090725418, 0.8164692761866424, 0.5782876271552835, 0.45796186256810395, -1.2390132998901673, 0.5198119865400224, 0.966118138531871, 1.3745550340736603, 0.359967577111696, -1.7496671778234234, -1.3534515250555668, -0.2785851366404262, -0.9013969735081521, -0.4096505286618129, 0.27087598824693776, 0.34107950939338016, 0.7777697948374012, 1.1732741732519025, -1.35496485038199, 0.3041733761923887, -0.7580412630610145, 0.18111809819493632, -0.10172883666204616, -0.17147556331985903, -0.072329486999478, 1.3640929292263606, -0.8089625211693253, -1.0927214558711345, 1.0546335213752898, -0.18513587411233418, -2.3444347537210697, -0.7427708182182553, -1.6369219748255335, 0.31935213787618527, -1.3428310491308266, 1.406645467148115, 0.760811329090236, -1.7368840968133377, 0.8458491344732609, -0.6779170782016622, -1.0898820091272161, -0.06506980255051632, 0.42617880648866663, -0.48362492677016683, -0.018624784702946595, 1.3471993543853094, 1.1665488977013228, -0.4794937061395476, -0.8714392120243462, 1.2914870790025694, 0.41089759276319465, 0.1037910169856308, 0.5885142178454548, 1.9533267763356055, 0.2394925254796122, 1.0664870597086014, -1.8421773873189011, -0.9186865113759239, -1.5534567873164824, 0.8004664777396185, 1.3476046271325475, -0.28690184551231473, -1.3892318750545667, -0.08328304859820994, 0.3582549417845796, -0.5706157893548806, -1.2423926057704606, 0.2856265248100925, 1.084193037712976, 0.1980266616345933, 0.5088833839121908, 1.2553795896973043, 0.8042707837657525, -1.2969384175170673, -1.7700333163927018, -0.18336679985174034, -0.42237959405797915, 0.17185628977873063, 1.0928265408598574, -1.4487874771783966], dtype=np.float64).reshape((7, 13))

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
REPORTED = 25740764808.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
