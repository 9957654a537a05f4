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
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 91 of 91 elements outside tolerance vs reference; worst at [4, 6]: got -179.30065737329107, want -179.30058825354865 (2431934736 ulp, 8.33e+06x its allowance)',
    'tolerance': '2*(gamma_61(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 63*tiny + ulp/2 (max 9.33e-12; accumulation in float64)',
    'max_ulp': 15447115260.0,
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
want = np.array([-22.11870121079654, 57.75611904224974, 175.94572620023598, 132.3557160576271, -76.22489415873198, -102.7166609241765, -69.04341832211743, 58.98570782240354, -14.748831078065495, -42.517945955921924, -33.18731139666262, 233.0949988387524, 62.704227417746445, -90.1192075595873, -107.02227639100433, -32.52884142800714, -1.6259873945044632, 27.469696501049732, 50.15105145128673, 48.95543165277748, -35.807324709358205, -85.12407154343364, -21.664680694165536, -50.152401906531985, 66.57751075437926, 17.090932218453016, -187.80398241298224, -13.658571031580795, -67.00525255042433, 17.571578677220003, -103.82455863011873, 95.81433581372252, 61.34758730768435, 81.49541083293761, -104.37254277357361, 58.69835987080703, -8.354136823951148, -104.01889256435352, 12.742704478941192, -99.20503435737191, 149.58124122019618, -36.821176849356746, -166.18414880189704, 118.89170853978412, -85.40519261696967, -21.263703825706163, -24.436980902453595, -65.72465609361213, 23.938500420717858, 169.3373504926635, 65.98624369446004, -122.10546955821694, 126.3026190331648, -53.14451796996165, -27.129818447879455, 177.62163197772054, 14.57349551507101, 285.8504228589262, -179.30058825354865, 73.70628859631485, -23.908997863477616, -87.60722382236261, 80.24093216410552, -6.181937845250299, 70.88599382423352, -15.564479450765266, 134.4518135408435, -95.38284121928707, 3.877525901117512, -68.91955768038328, 24.509587231087668, 36.83839955498687, -170.70355329186384, 9.98195762536643, 11.393980230592915, 58.29396657661097, 77.02170549554467, -32.151844741547, -135.96982200015694, -171.39302333568642, -230.97168463558532, -30.379786600795022, 119.07095206494083, -47.24156506040434, -27.504606723444287, 136.77674050266137, 73.70330875570687, -46.427303735830726, 173.82933909857888, -72.94192459073554, -113.88578760179459], dtype=np.float64).reshape((7, 13))

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
REPORTED = 15447115260.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
