"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'shapes/core-batch-3d',
    'file': 'cases/shapes/core-batch-3d.yaml',
    'dtype': 'float64',
    'op': 'sigmoid',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': "keras.layers.Dense(activation='sigmoid')",
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 24 of 24 elements outside tolerance vs reference; worst at [0, 1, 3]: got 0.24308474408430897, want 0.24308475540873115 (408005308 ulp, 2.45e+07x its allowance)',
    'tolerance': "4 ulp + sigma'*affine bound",
    'max_ulp': 408005308.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 5, 4

# Inputs: float64 values written as float64 literals (exact).
x = np.array([2.0409191213851825, -2.5556650313141818, 0.41809884672577885, -0.5677696061279298, -0.45264929211044586, -0.2155971630897659, -2.019986129147251, -0.23193237764418947, -0.8652130762749417, 3.3229995166448827, 0.22578661322792176, -0.3526307943415954, -0.2812874181513504, -0.6680463461089501, -1.0551505512051214, -0.39080097723465473, 0.48194538850678587, -0.2385536065733667, 0.9577587029597641, -0.19980212906658, 0.024259565076664623, 1.545820851212812, 0.5451055226876446, -0.505228735614018, -0.1828389745977349, 0.5405251317548021, 1.9350880340988528, -0.2696203273419135, -0.24355867907910456, 1.0023136012756912], dtype=np.float64).reshape((2, 3, 5))
K = np.array([-0.1257561665215292, -0.40914728649574217, 0.1605000674278948, 0.4314638547413545, -0.29280883191899876, 0.13009019978534297, -0.20183690934257525, 0.24175668006933038, 0.22216480814211748, -0.28128457543119545, 0.3298868742743123, 0.15765221087324321, 0.18279890786035025, 0.320075750170535, -0.07142709570153805, 0.258705461154919, 0.3784801846662539, -0.3976800780779256, 0.34976833746615377, -0.10607266736766485], dtype=np.float64).reshape((5, 4))  # the case's kernel (in, out), as written
b = np.array([0.11116332052239922, -0.02055230499057925, -0.09258995736483681, 0.0584058311025248], dtype=np.float64).reshape((4,))

# Target: the exact result rounded to float64.
want = np.array([0.6036284538307958, 0.21292555607654898, 0.683729020868149, 0.5715510954233641, 0.8554185698627882, 0.1508042430540464, 0.8066023972887758, 0.24308475540873115, 0.4018070864996861, 0.5314839485510531, 0.40147766203948065, 0.49133175745581353, 0.5164063503470345, 0.6581708141383823, 0.3847161318896285, 0.5591382192760564, 0.40492866019227863, 0.4820797487155102, 0.43813338043510985, 0.6028157579927064, 0.4381955689240315, 0.4035516786628642, 0.4706891994967151, 0.6335806989296913], dtype=np.float64).reshape((2, 3, 4))

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
    layer.kernel.assign(T(K))
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
REPORTED = 408005308.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
