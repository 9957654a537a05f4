"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/student-t3-16x32x8',
    'file': 'cases/generated/student-t3-16x32x8.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 128 of 128 elements outside tolerance vs reference; worst at [14, 3]: got -2.190722213918662, want -2.1907215964294386 (1390462118 ulp, 1.53e+07x its allowance)',
    'tolerance': '2*(gamma_32(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 34*tiny + ulp/2 (max 6.74e-14; accumulation in float64)',
    'max_ulp': 15273782320.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 32, 8

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1022)
x = round_to(rng.standard_t(3.0, size=(16, 32)) * 1.0)
W = round_to(rng.normal(0.0, 0.1768, size=(8, 32)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(8,)))

# Target: the exact result rounded to float64.
want = np.array([-0.9146820706683456, -0.8235251400448919, -0.6739933994890978, 1.335648369898036, 3.308070186702438, -0.9983849848287676, 2.2348249229599184, -0.49270149947621156, -1.9888916464168638, -0.2107601501027952, 0.6965195502786737, 1.1920804097970077, -0.3621976821906042, 1.153726126479003, -0.22503697590214183, 1.555605311806742, -1.2918123834958744, 0.2917180183098397, 0.4859226472890054, 0.36491420677396663, -2.4744939889807998, 0.7839389533734537, 0.45587992936708016, 0.03802160783713535, -1.8293441655643192, 1.6272864215913132, 2.462406540895349, -1.0817774556835782, -1.291233899805215, 1.2815952473573906, 0.05230189670843408, 0.059516332843607814, 1.2569676531732072, 1.9902437813090992, 0.1342006281362974, 1.1884524859792438, 1.105983012647754, 1.1612245378969317, -2.319220542503882, 0.9974366803370744, -1.2987110383089668, -0.6455020765798409, 2.3692526443255715, -1.7074582244508407, -1.110475493436523, -1.7369510465607738, 1.1253911359074826, 0.9859683805061977, 0.29021571334536106, -1.6510922097237597, 2.562984673704755, 1.06208829734165, 1.8133071567625436, -0.05758171448758861, 1.508042223739942, 0.884921344377793, -0.1501419492013556, -0.38785654181602747, 0.4972145853560284, -2.1860286065005616, 0.7742708408238059, -2.6260225294085053, 0.3634103041201343, -0.7398521644947889, 1.470810750644781, 1.3357713513407368, -2.7190709140772507, 0.34772592456137363, -1.6811096884350758, 1.2804840198874634, -1.3471636670683418, -1.0823778720069228, 2.4989000010476516, 0.21693097087364802, -0.712055482210634, 3.7140585737985843, 3.8357631050355616, -1.1826692524254352, -1.2061732368182367, -0.9885260664257737, 0.47125305772257226, -0.7806497107254959, -1.9205555458163652, -1.046980493614288, -2.3185166232157055, -0.6542299581251186, -0.3963389043767985, -1.1435998415423718, -0.09333134388465936, 2.0316251782903, 0.10949294325554834, 2.883415658062477, 1.091431481245695, -0.3530943383024504, -1.205443220674902, 0.0977740504509713, 0.7027216641269026, 0.5333248045585306, 1.621873425633999, -3.417999748808781, -0.4284571707408347, 0.9736140782062739, 2.234657866636631, -0.19654835867312076, 1.4487400314541687, -2.4648750194398255, -1.1827030444921247, 2.3226082383786584, -6.1766056669291, 2.8854924610332606, 1.7708506271588789, -0.7836110998029236, -0.35029360164870693, -2.038166563361809, 5.703887078949899, -2.1907215964294386, -1.0184687011369267, -2.640130199319252, -0.4232497872940141, -3.0829303683138582, 0.8551426463389448, -0.3337017094600672, 0.8588772102325546, -0.7568256008334086, -0.936798516507383, -0.19348890737760507, 0.0823305663354869, 0.3756125755445274], dtype=np.float64).reshape((16, 8))

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
REPORTED = 15273782320.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
