"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/uniform-16x32x8',
    'file': 'cases/generated/uniform-16x32x8.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 128 of 128 elements outside tolerance vs reference; worst at [0, 0]: got 1.4636345690573598, want 1.463634893586684 (1461550144 ulp, 1.72e+07x its allowance)',
    'tolerance': '2*(gamma_32(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 34*tiny + ulp/2 (max 2.62e-14; accumulation in float64)',
    'max_ulp': 85372813880.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 32, 8

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1002)
x = round_to(rng.uniform(-1.0, 1.0, size=(16, 32)))
W = round_to(rng.normal(0.0, 0.1768, size=(8, 32)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(8,)))

# Target: the exact result rounded to float64.
want = np.array([1.463634893586684, -0.14517496911358505, 0.7337853046424185, -0.9706218629679728, 0.9163273571315597, 0.427232704288576, 0.16410510098184375, 0.1364123678030612, 0.26216657713559677, -0.8260281237894849, -0.10650375315611864, 0.15509816134215226, 0.4492531243790604, -0.24801710698567023, 0.686165694366766, -0.3213169052287321, -0.23147086249724919, -0.2310611855099915, -0.2907975284246967, 0.16830299159202397, -0.533462736371698, -0.23288722481393068, -0.965425438120185, -0.36632495276847854, -0.41273226215066283, -0.24741101652019962, -0.034644088255674194, -0.36605063067292987, 1.3302981219626522, 0.1679077982077664, 0.08086878083980954, 0.060401853752355864, -0.6781479301884098, 0.25343334611146917, -0.25041425415202423, -0.46776487405797296, 0.5800896525618014, 0.49825613269854035, -1.0494171432588941, 0.3437258656600118, -0.12475205535034499, -0.3982350840264577, 1.5738346841506223, -0.13378970985645824, -0.6209870399985876, -0.07156768145373334, -0.7088851012355825, -0.7756419638881697, 0.31061840984012895, -0.4134832644462988, -0.67682236080673, 0.7661704743174945, -0.2252184643593352, -0.18974590593297866, 0.15137953827127418, 0.02984010892431169, 0.6806311889380641, -0.07823961891159643, -0.9172797812416792, -0.044317103810001396, -0.30965489482410247, 0.08999538651424129, -0.37280042893573057, -0.5516528339933323, -0.08314198212864933, -0.22779714534340165, -1.0776484543388798, 0.20585678245610345, -0.5510535681373135, -0.26797537953749867, 0.5836808787473604, -0.5640841186593174, 1.0960999284791373, 0.19679558864075197, 0.08443768141526996, -0.13224387488152972, 0.8141084964192973, 0.5664661262330167, 0.3756004556743095, -0.12425358094569734, -1.0180326321739384, -0.21023419998380172, 0.3661336343440958, -0.20422412450288793, -0.04681646904691077, -1.0356875424869474, -0.1107061328561832, -1.0953171520853962, -0.5985096688239112, 0.222751306138843, -0.490646104950749, 0.18383152322304525, -0.4502966207750222, 0.5427277646379041, -0.24547362231104142, -0.0032324808551468624, 0.290464892036434, 0.1480796769659662, 0.18181698996255388, -0.5552722826730826, -0.11350249240230091, 0.03876092300680221, -1.3408503828478096, 0.7129829654356065, 0.022866325825823465, -0.5534176730862753, -0.511100998645976, 0.34722094131030407, 0.02967519099042385, 0.12914266466974786, 0.4022029994998131, -0.00950378608665604, 0.042125535681134516, -0.05098186286231542, -0.6777269500898908, -0.43749346767256436, 0.0019458502045904076, 0.21771399109292378, 0.4427191734186753, 0.026670093418383566, -1.139236360813477, 0.3620275564909844, 0.25766194079817706, 0.2503681368934003, 0.19553446733573146, -0.13161182834576352, -0.2438078083995115, 1.068507742013018], dtype=np.float64).reshape((16, 8))

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
REPORTED = 85372813880.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
