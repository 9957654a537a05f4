"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/student-t1-16x32x8',
    'file': 'cases/generated/student-t1-16x32x8.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 128 of 128 elements outside tolerance vs reference; worst at [4, 2]: got 1.0469789193811656, want 1.0469785816941197 (1520807254 ulp, 3.39e+07x its allowance)',
    'tolerance': '2*(gamma_32(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 34*tiny + ulp/2 (max 4.44e-12; accumulation in float64)',
    'max_ulp': 464536457763.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 32, 8

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1027)
x = round_to(rng.standard_t(1.0, size=(16, 32)) * 0.1)
W = round_to(rng.standard_t(1.0, size=(8, 32)) * 0.01768)  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(8,)))

# Target: the exact result rounded to float64.
want = np.array([0.261278484252857, 0.7845551566837617, -0.3425068122862546, 0.4225920633058242, -0.5698320938152833, -2.57477763919942, -0.35130033988190645, 0.3337896152226448, -0.4606728750529645, -0.824993740595924, -0.23812883563630372, -0.025815048799996472, -0.6522092192317759, 0.16531289936315102, -0.08482029031552255, -0.14372094086350173, -1.2016396086534804, 0.3334211162268275, -1.6282686093463596, 0.4374471965529842, 1.1915742729150718, -42.55983335318969, -1.6760578214192035, 1.7407673057985698, -0.8927410578847932, -0.38848391270856425, -0.21295790002996642, 0.06571840886122603, -0.10739583628108103, -0.029889465866856778, -0.06283976349533126, -0.1293086909957513, -0.14642746237204832, -0.4471333749812736, 1.0469785816941197, -0.13324486860749082, 0.6312369665784558, 0.01900130092624619, -0.014915280095222068, -0.056370341914251346, 3.9910728142854572, 0.7506619080545252, -0.6451049723361899, -0.0034523749245022294, -0.2657777762343506, -1.031210653028052, -0.11389543300021533, 0.02236895568024512, 0.09052088290745772, -0.21233765578142233, 1.447644448824154, 0.6365509860573771, 0.22424332616618964, -0.11237313448727586, -0.1418697587921305, -0.09709291406541858, 0.5259186098458623, -0.08496442696536051, 1.799606015064464, -0.13941927510799754, -0.9979301505656976, -0.24070822058746888, -0.23516371948128856, 0.1406586943178569, -0.5394369890220234, -1.9728462905979673, -1.1879659815303392, -1.1651383484678552, 0.4458533866019137, 0.00463472236166151, -0.028059850687679723, -0.06532091577777864, 52.2169064477915, -50.39594322058249, 578.3236266193933, 402.17676889598965, 50.62792965959425, 53.64954526754757, -120.33415288482267, 39.24881495685615, 0.6106841114346477, 0.24849461800656797, -14.170366107450791, -0.303108089984294, 0.24642855121723414, 0.4167324924102477, 0.9590299018077006, 1.4812736282697776, -1.3722803797162295, 12.65844037286372, -0.2705415427501167, 0.15425670752558973, 44.50758541338422, 0.08579742335628927, -0.3633603279678762, -0.5309172632908993, 0.04069127261165373, -0.57370168591072, 0.3151001297706441, 0.010880763414323737, -0.00033564297783891616, -2.1736408829604748, -0.08326304336976251, -1.2159501197445248, -0.03591028541596568, 0.18306561402410038, 0.9277900678611208, 0.1401865474930477, 0.6087980423027779, -0.23919253963565715, 0.07498458618104213, -0.37135747058287877, -0.1398293276181723, 0.01935595520918799, 0.4534931175047562, -0.013925203207236291, -0.44772464031974885, 0.15333466962044925, -0.03308628209672818, -0.0667042594239631, -0.17527558818206648, -0.6407490818631176, 0.10410743681742671, 0.3239369885393531, 7.492781955391437, 0.1195478839793082, -0.16466024848109154, -2.812625199534284], dtype=np.float64).reshape((16, 8))

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
REPORTED = 464536457763.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
