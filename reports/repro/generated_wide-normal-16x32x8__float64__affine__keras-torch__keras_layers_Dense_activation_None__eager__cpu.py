"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/wide-normal-16x32x8',
    'file': 'cases/generated/wide-normal-16x32x8.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 128 of 128 elements outside tolerance vs reference; worst at [14, 5]: got 309.3352231135819, want 309.33517950892207 (767101288 ulp, 1.31e+07x its allowance)',
    'tolerance': '2*(gamma_32(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 34*tiny + ulp/2 (max 4.52e-12; accumulation in float64)',
    'max_ulp': 32668768559.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 32, 8

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1017)
x = round_to(rng.normal(0.0, 100.0, size=(16, 32)))
W = round_to(rng.normal(0.0, 0.1768, size=(8, 32)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(8,)))

# Target: the exact result rounded to float64.
want = np.array([-13.775266437049355, 49.520203429000674, 199.60077586006415, 163.99209241568136, -76.65209459589138, 48.561707991518965, 28.86745605241423, -131.18761277993656, -10.228867223004643, 46.6174171992013, 122.90030192112725, 89.28710584821454, 6.207848021598305, 6.578572108158581, 4.175646370574466, 62.25891940733164, 106.1576354395519, -12.893355073559244, -41.53598337802992, -21.606737645145508, 29.274427809783692, -14.977333352700779, -25.604623261538332, 49.24418928480945, 99.48674151808656, -95.75019177550078, 174.42043065448047, 101.46071617342997, -19.00727500900671, -55.53178907934956, -65.15382063545273, 56.22501351670256, 110.2096427812269, 35.72995590931144, 165.96869689785052, 86.91400832437097, -79.66301731813851, -96.77129489914203, -43.8147560541456, 92.19418655522979, 3.0513150566469442, -170.82892481895087, -163.56868209049298, 143.22727358080255, -43.85668434067597, 263.5356603713032, 85.85538666810228, -129.32989931087087, 15.243078833092513, -146.38829275977298, -4.868393309072571, 208.1261478267239, 96.75069188096074, -102.21970416962614, -42.913775706842216, 122.2770241629578, 39.64290820290017, -56.170411216823986, -24.023021295615116, 55.5472582299656, 110.98661323312297, -15.851238429172422, -11.547257461757015, 15.40547356919893, 134.89481174274593, 60.89789719597618, 59.857908118462646, -158.7647536948237, 21.084474263425637, 22.79686219785148, 59.07740335705877, -56.89802251012248, -74.76798662040078, -79.19472638199267, 17.866639701853437, -101.66440917541122, -153.4006521287545, 48.383455866983454, 44.888650657342794, -107.31088727729892, 214.3127005642163, 81.71274811446739, 77.84565392065525, -73.60775129235202, 31.167376444578995, -15.674733258835474, -12.94838238092231, -23.825851876266384, -18.18936876082365, -131.95281374537464, -92.93994728554951, -13.30683829340606, -16.970276765941488, -101.13640508605847, -100.36725068039766, 112.19674950544403, 67.32828048587646, -59.226894053789756, 174.2530569886181, 92.1287977679127, -19.10023282438051, 34.020912382414494, -31.18262514672413, 97.65037707852976, -53.47954061714133, 55.605743366242066, 109.41968788494006, -9.738520564363855, 44.051037326432414, -77.12266006735659, 32.13013653081287, -132.39762822729395, -90.15230636859799, -183.20446033683763, 252.79827048807613, 10.59302832120785, -56.41357825223454, 309.33517950892207, 89.82077869521713, -23.73599918707412, -70.22946311851821, 77.47740587222127, 112.12733771448111, 20.712727882440962, 60.984727403014936, -6.123421612144685, 18.76552358057652, -80.38893485622441], dtype=np.float64).reshape((16, 8))

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
REPORTED = 32668768559.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
