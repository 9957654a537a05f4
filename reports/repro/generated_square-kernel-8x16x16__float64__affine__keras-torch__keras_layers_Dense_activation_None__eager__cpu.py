"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/square-kernel-8x16x16',
    'file': 'cases/generated/square-kernel-8x16x16.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 128 of 128 elements outside tolerance vs reference; worst at [6, 12]: got 1.850003405580856, want 1.8500031085628577 (1337650147 ulp, 2.83e+07x its allowance)',
    'tolerance': '2*(gamma_16(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 18*tiny + ulp/2 (max 2.26e-14; accumulation in float64)',
    'max_ulp': 35978836596.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 16, 16

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1032)
x = round_to(rng.normal(0.0, 1.0, size=(8, 16)))
K = round_to(rng.normal(0.0, 0.25, size=(16, 16)))  # the case's kernel (in, out), as written
b = round_to(rng.normal(0.0, 0.5, size=(16,)))

# Target: the exact result rounded to float64.
want = np.array([-2.05917881283192, -0.7107578876939299, -1.0082872323844072, -1.9733615828556978, 1.7573096452873724, 0.9248759056432645, 1.5175411520037665, -0.5229197611672289, 0.3250025595590584, -2.0487253152667044, 1.3772233804534952, 0.8270038710535556, 0.5379044104454765, -0.19937458389957954, 0.9680834846900462, 2.4143633397143045, -0.8058178950510089, 1.2688371260259383, 0.7556093708477006, -0.38701149331701384, 0.19220647500252933, 0.4487042952102894, -0.5132296674251743, -1.27075020303107, 1.2764331148356163, 0.038261875606247844, 0.3565993966952752, 1.7886774340182383, -0.5907989971238886, 0.1460071122420432, 0.2537985464260475, -0.0347392961663594, 0.8146628035521511, -0.0050777866207824115, 1.0315016209746573, 0.6400900167532967, 0.3503369935500657, -0.3877704160233736, -0.006748748676098416, -1.7215416095726053, 1.085302530040792, 0.3314624109754649, 1.7276377387999586, 1.5392893900959461, 0.3697819650878125, -0.1959752196389559, 1.5058230589267914, 0.18483576324770956, -1.363979573450732, -0.7210299443039341, 1.396597228360547, -1.3425032077151229, -0.7982579264866628, 0.8574884902550155, -2.9916997175435345, -2.3946399226160793, 0.013295618664063683, 1.5470816841253294, 0.6787021588029026, -0.3309878866474806, 2.074117452958312, -0.34441572173182244, 0.018038351961915524, 0.5919106059285715, -0.2863646627381548, 1.154562679189716, -0.27384770332883934, -1.6236628049863782, 1.1508562542955008, -0.6208567747313598, -2.364679084561321, -1.3453034109586914, 0.8085413331299315, -1.426007554708467, 0.262771033979347, -0.13876308310008528, -1.547919399222395, 2.2624356626181426, 0.3729021819571325, -0.7566165773287841, 0.6508720230761271, -0.7110681823952547, 0.39788030817373266, -1.7461994826120242, 2.612683728058875, 1.332624867759741, 1.3194428119481842, 0.3191763631290692, -0.6811207687172853, -1.5774534839899221, 0.5782594540552478, 1.806257114809333, -1.4656533336939082, -0.0529107528903065, 0.6018794023866345, 1.373591152619161, -0.09308705460626276, -1.631978410682769, 0.9208899781911155, -1.6072729345339893, -0.4420452012677999, 0.6451972507835014, -2.150021863252647, -2.3820991199767554, 0.9899997574813555, 0.5037624488911925, 1.2188180719362545, -0.9016042745069828, 1.8500031085628577, -0.21924794568605036, 0.6930901943088065, 0.7286735382703263, -2.006055897278074, 2.279857858406114, -1.4358410413553937, -1.0635986373238608, 2.871053087457125, 0.08565846934163965, -0.6311197063300016, -2.9171053874265604, 0.4340989281516205, -1.7311770036251304, 0.8096231457807218, 0.040535981866640085, -2.13897407365917, 0.7953137843312816, 1.0494024293748674, -1.9262589553976084], dtype=np.float64).reshape((8, 16))

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
REPORTED = 35978836596.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
