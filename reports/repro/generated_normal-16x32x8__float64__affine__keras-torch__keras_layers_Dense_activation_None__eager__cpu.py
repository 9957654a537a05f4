"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/normal-16x32x8',
    'file': 'cases/generated/normal-16x32x8.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 128 of 128 elements outside tolerance vs reference; worst at [2, 7]: got 1.0133194365181653, want 1.013319671390869 (1057772621 ulp, 1.23e+07x its allowance)',
    'tolerance': '2*(gamma_32(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 34*tiny + ulp/2 (max 3.86e-14; accumulation in float64)',
    'max_ulp': 70576179729.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 32, 8

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1012)
x = round_to(rng.normal(0.0, 1.0, size=(16, 32)))
W = round_to(rng.normal(0.0, 0.1768, size=(8, 32)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(8,)))

# Target: the exact result rounded to float64.
want = np.array([-0.41437750355441966, 0.6358676235927262, 2.1234551424618013, 1.1522698576841985, 0.9258891049769903, 1.1324970378013108, 1.9479116071332936, 0.06773110747212707, -0.08817567680458811, -0.40153926196322004, 0.03245105212903471, 0.41014808443697265, -0.6095831227998245, -0.5033298019646121, 1.2527043531190587, 1.5481018080726607, 0.9717429365603855, 0.7508794857843476, -0.6579014499640525, -0.4506891612188367, 0.1734575379431301, 0.08832217495512366, -0.23961956079518812, 1.013319671390869, 0.5140777937801078, -0.29151981830355195, -1.6291012943730778, 0.11498358738184115, 0.21520565261803148, 1.2725774724508347, 0.39587730585870695, 1.6449604305553447, 0.6274626032853402, -0.24109482199932783, -0.22495797337054993, 0.2770753240377973, -0.3581355763779285, 0.35870002271640106, -0.7271530120795759, -1.0787226281566078, 1.0254307927779853, 0.7189134790051577, -0.008446014509862959, 0.14481130974915982, 1.445594238876149, -2.243837038182187, 1.5422789653060003, 0.549238558129229, 1.0055823972313689, -0.42065457186840005, 0.6047645349739869, 0.06635582203503548, 0.801382221878493, -0.8987108468604296, -1.0426119362554664, 0.5431028500848557, 0.45571878011338496, -0.7088359238693032, -0.11455292178085999, 0.15806753108052596, -0.5971768214083363, -0.326739440160028, 0.16499280145893633, -1.5896382052343052, 0.08686038958636717, 0.29482510043408766, -0.45181943456519014, -0.7355799442319056, 1.0446281125896066, 1.695784969053384, -1.3887315606724386, 0.2326061550477561, 0.288227026739806, 0.8355158436192333, 1.4126967424222718, -0.9205830746689408, 0.9887296136336245, -1.4707454587238793, -0.508120198377828, -0.8440417513464822, -0.16150102965027335, -1.131068646206478, 0.04547665158213753, -0.5231993274141278, 0.005221164568794804, 0.3242145931938115, -0.30023923427751525, -0.620037302756363, -1.2819643364475282, -0.48885547643209815, -0.19704182952626037, -0.21713941362786768, 0.3721631978737942, -0.4695414320716627, -0.5130312783932075, 0.49427810255847987, -0.8082141741771225, -0.8271259221510764, -0.11059124907494851, -1.9072687776431443, -1.0822164287374987, 0.007704814246324491, 0.24107064874414122, 0.3390835838444041, -0.0467258765969811, -0.6606304699020006, -0.12784448776412496, -0.6987615378053498, -0.1080190840559728, -1.7604319329943416, 0.48279055151758316, -0.29620460242237395, 0.2424147761230202, 0.27643157175000344, 0.4203793232629754, -0.03298106396629119, 0.4913490767105506, 1.5297804352913722, -0.74017360006618, -0.36078322887915637, -0.6120793181934914, 1.1880751718311504, -0.6485706568392285, -0.3565811630131112, -0.02095660107450982, 0.08957352072177192, -1.220711748474664, -0.3010071521106433], dtype=np.float64).reshape((16, 8))

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
REPORTED = 70576179729.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
