"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/student-t3-7x61x13',
    'file': 'cases/generated/student-t3-7x61x13.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 91 of 91 elements outside tolerance vs reference; worst at [6, 8]: got -3.0544172475376747, want -3.054415439394909 (4071575543 ulp, 1.26e+07x its allowance)',
    'tolerance': '2*(gamma_61(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 63*tiny + ulp/2 (max 1.58e-13; accumulation in float64)',
    'max_ulp': 415182769637.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 61, 13

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1024)
x = round_to(rng.standard_t(3.0, size=(7, 61)) * 1.0)
W = round_to(rng.normal(0.0, 0.128, size=(13, 61)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(13,)))

# Target: the exact result rounded to float64.
want = np.array([0.10633819671926432, -0.24723891250408175, 1.0813095920157083, 0.015680610432394642, -1.38499953013697, 0.21212805432183218, 0.1748437008483705, -1.0046497741964218, -1.3238771544996593, 1.6587354249349762, 0.4801826727000418, -0.3918824463657302, -1.0999159737382778, -0.40695616757642056, 0.6730029661369726, 1.2214354054669947, 2.265359361961045, 2.765585558514322, 2.0403601611158915, -1.320751432368329, 1.321021708674289, -1.8691504476190655, -1.071601748642387, -3.795987984480275, -1.0614303676552166, 2.697819240003701, 1.8529666681247199, 2.009668192105929, 2.4548696031180346, -1.297908128220781, -2.4089750546935376, -1.539476299153081, 0.2526629567225642, -0.24298185079323587, -2.427213233634192, 0.5537173291245597, -1.218880334027634, 2.1340443871529375, 1.1434581327667555, 0.5342258918462827, 0.8947720566318754, -1.2307833211917112, -1.923358709009079, -0.7440303097146295, 0.2762451354069139, -0.781709579972794, -1.7200890299534934, 3.309283309583468, 0.5353977856441229, 0.5170609575905378, 0.06553871766447006, -0.9749398638103244, -2.696090792437125, 2.8867865676931195, -0.04408050498882233, 0.9381035046426566, -0.16613432419673635, 0.00407749490592015, 2.560587236238424, 0.5806814563101278, 1.4106050524749107, -2.174322895708147, -0.9409143839034476, -1.3919793070205804, -2.939285912085892, -2.9316795263659157, 2.7313178835743765, -0.7687758768944392, -1.6162940302622364, 0.6501894910427238, -1.2555512145600043, -3.421167828619034, 1.5185050137839144, 0.8563165611394202, 0.0358272168968708, 0.7478269371318765, -2.668262788459866, -0.6454396014803608, 0.3822260521972966, 4.213679664306067, 3.649785569401045, -0.32903035931669855, 0.1473163191009214, -0.9053110256385928, -3.313927560031088, 0.892125418138764, -3.054415439394909, 3.787338977623224, 1.559581037707726, -4.2083961993837065, 5.69299505425039], dtype=np.float64).reshape((7, 13))

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
REPORTED = 415182769637.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
