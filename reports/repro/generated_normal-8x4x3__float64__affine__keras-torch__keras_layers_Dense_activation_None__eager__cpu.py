"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/normal-8x4x3',
    'file': 'cases/generated/normal-8x4x3.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 24 of 24 elements outside tolerance vs reference; worst at [3, 1]: got 0.1753643642931306, want 0.17536417727305073 (6738108496 ulp, 9.24e+07x its allowance)',
    'tolerance': '2*(gamma_4(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 6*tiny + ulp/2 (max 4.31e-15; accumulation in float64)',
    'max_ulp': 18718236754.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 4, 3

# Inputs: float64 values written as float64 literals (exact).
x = np.array([-0.6624780795521352, 0.4176882250308474, -1.7864972085704278, 0.30428870771402866, 1.5248638958145113, 0.45872379508548683, -0.4538415856473101, 2.262685416592059, 1.8810305121443334, 0.23740917087913027, -0.6224940543652728, 1.988456070310583, -2.498230138505336, 0.7593508777404251, -0.04575848790866302, -1.3157625644341988, -0.8819328199408853, 0.4473616647248134, -0.0472534113450897, 1.4655698517329492, -0.20463064754720278, 1.5972471860923159, -0.11664636804720112, -0.854711270102868, 0.053102886813733735, -0.38693001640324726, 0.23673819989866096, -0.2995152280035904, -0.673482673404759, -0.0986503542152574, 1.7124338212490715, 1.173023364998639], dtype=np.float64).reshape((8, 4))
W = np.array([-0.23637020878870874, -0.727003895935474, -1.5521581536922486, 0.05024964575896948, -0.32764440459616656, 0.3704712734727442, -0.6530688707441379, 0.765566535796859, 0.11604112771204574, 0.34261722504200404, 0.07614922607481484, 1.0633225866472955], dtype=np.float64).reshape((3, 4))  # the case's weight (out, in), as written
b = np.array([-0.038456920089227895, 0.052935708668740956, -0.028283904920676384], dtype=np.float64).reshape((3,))

# Target: the exact result rounded to float64.
want = np.array([2.60268880361077, 1.824393399678736, 0.22546524819296124, 0.08574975459210589, 1.751892621785848, 2.677234519322121, 0.41045454810572934, 1.4534067788208653, 2.338301279936526, 0.004907020194540027, 0.17536417727305073, -1.4605791837808708, -0.008238814855643914, 1.660481674331035, 1.5774246431989551, -1.0131885855508314, 0.13355576012665443, -0.42250140663501046, -0.15221489252286516, -0.4917147953763568, -0.4551445508319876, -2.4065705978630056, 0.01674162793119653, 1.2374678444127918], dtype=np.float64).reshape((8, 3))

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
REPORTED = 18718236754.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
