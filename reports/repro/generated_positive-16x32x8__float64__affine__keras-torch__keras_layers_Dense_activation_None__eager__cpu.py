"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/positive-16x32x8',
    'file': 'cases/generated/positive-16x32x8.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 128 of 128 elements outside tolerance vs reference; worst at [15, 6]: got -0.45154316641319936, want -0.451543350547886 (3317075625 ulp, 1.14e+07x its allowance)',
    'tolerance': '2*(gamma_32(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 34*tiny + ulp/2 (max 2.92e-14; accumulation in float64)',
    'max_ulp': 31032381859.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 32, 8

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1007)
x = round_to(rng.uniform(0.0, 1.0, size=(16, 32)))
W = round_to(rng.normal(0.0, 0.1768, size=(8, 32)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(8,)))

# Target: the exact result rounded to float64.
want = np.array([0.06305900711353103, 1.0064015675369526, -0.7452956774598711, -0.021160798652462915, 0.9862489059017486, 0.18756191582691253, -0.03122223999649312, -0.3036238286577994, -0.5999996767558665, 1.0773104494360763, -0.4553989558486927, -0.3985592189717185, 1.4932067873349448, 0.36177511851648386, 0.026919882727062916, -0.05523490769072847, 0.08515735011488057, 1.04968745173536, -0.8109834624737623, -0.5970099982373841, 0.6383595047695388, -0.04758109097602104, -0.2985679756792154, -0.5441459368834054, -0.059046948448409416, 0.8631822194388158, -0.08976569419394086, -0.44687934441894267, 0.8632323061975631, -0.3785574437879719, 0.29745736678263884, -0.3812453262538348, -0.007951438824805706, 1.0373373374159778, -1.2476447516134228, -0.38058129989802064, 0.8459919395526091, 0.12655048688415602, -0.2541142133524945, -0.2936573552128144, -0.16193744429480353, 1.0288743816061126, -0.38463663257550357, -0.08275013107988373, 0.6406787324813672, 0.24316366154831373, 0.06220465602197795, 0.07571707175790941, -0.18638855529315101, 1.2087910419519974, -0.6104706916975321, -0.2992122360771408, 0.9912251696369037, 0.40555781988808604, -0.5161050924338232, -0.18729176137460019, -0.05247154358744282, 0.873373489842274, -0.5580500109932447, 0.06614581087384934, 1.5416726418254372, 0.054238432087638726, 0.008853241055131472, -0.19948373281743212, -0.2986757242320662, 0.7878368403627038, -0.3237169881473398, -0.3157789653408526, 1.2891653836300252, -0.11944159662055605, -0.18322160017442551, -0.26270232071746125, -0.14969078765003033, 1.1031093026192422, -0.4495583275699769, 0.2577062933860086, 0.8775556867466862, -0.1424662273967099, -0.04335803943809002, -0.23108364389639888, -0.4976591776738037, 0.9795213372710331, -0.2543331095885504, 0.05028838620520957, 0.8734413844243001, -0.07237395148245213, -0.5428911994751174, -0.42968318442964515, -0.22176613706442733, 0.5464955749204922, -0.6434551017299167, -0.3339525344759792, 1.4393872478698146, -0.3393529802044433, -0.0893862766596561, -0.06611823104743515, -1.0762710708225292, 1.0075742540075472, -0.0627821372796793, -0.49407720496451535, 1.983540472484436, 0.33267410076873183, 0.4191261036386103, -0.6454721570661598, -0.1631630181964396, 0.15501821021407938, -0.3140094075578852, -0.22955862897342727, 1.6247864856693544, -0.01887498564342004, -0.022440480287690315, -0.08446622955854705, -0.17438965118096658, 0.7679560134817219, -0.5452928152875387, -0.5376538693297104, 1.2812160509811836, 0.2658512818991241, -0.34271744927444303, -0.11118231347986271, -0.08983220352795702, 0.3480997173337646, -0.5348093632724541, -0.704719018483715, 1.2213984894251166, 0.0445514919132678, -0.451543350547886, 0.0872166840520668], dtype=np.float64).reshape((16, 8))

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
REPORTED = 31032381859.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
