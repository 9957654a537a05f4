"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/student-t1-7x61x13',
    'file': 'cases/generated/student-t1-7x61x13.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 91 of 91 elements outside tolerance vs reference; worst at [1, 3]: got -5.499011139605502, want -5.499013684063053 (2864804520 ulp, 2.69e+07x its allowance)',
    'tolerance': '2*(gamma_61(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 63*tiny + ulp/2 (max 1.17e-12; accumulation in float64)',
    'max_ulp': 19365468587.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 61, 13

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1029)
x = round_to(rng.standard_t(1.0, size=(7, 61)) * 0.1)
W = round_to(rng.standard_t(1.0, size=(13, 61)) * 0.0128)  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(13,)))

# Target: the exact result rounded to float64.
want = np.array([-0.12134836007558074, 0.834344055316076, 0.5166859074713378, -0.03178097263007811, -0.07239621867566494, 0.19234672592130886, 0.05366379327207236, -0.04788298133914033, 0.06871969765431572, 0.3697493883335811, 1.0298543373736675, 0.3465589874094221, -0.4909928822800324, -9.374647280742785, -1.3813199234419842, 82.39581523438393, -5.499013684063053, -0.32396674259106456, 2.820586108849423, 11.131419571056869, 0.5840109517089598, 14.698726972054173, 0.5881929390482771, -2.32914486136158, 3.7497518882102066, 0.0918330073562706, -0.45827971836987696, 15.177984460193755, -0.6429383768590797, 0.9722367130410378, 0.17017621625580362, 0.1717650608924483, 0.2662527179403151, 0.3255920791154638, 0.24840673590181744, 0.8149032792624101, -0.19582509659911457, 0.035945943802960824, -7.42522772601538, -3.876523469157083, -1.2037521824925355, 37.39398441695779, -2.279082943998209, -0.16161486313918308, 1.3435066280906973, 5.030150902310267, 0.5897345447016054, 6.412165542313313, -0.15564001464707056, -1.8474934138938435, 3.2682400433142784, 0.34373088858316253, 0.13402694550922128, -2.9393149439993436, -0.14122893478863646, -0.06950412688212956, -0.05708103457069466, 0.27041386741669854, -1.2491970861315675, 3.844418915135012, -0.25568404909885645, 0.06166409275555703, -0.7432058341717113, -0.16702637839307546, 1.6770724386331268, 0.08595326006022946, 2.1147580659406198, 0.6639328804790475, 0.10622575843741089, 0.13911767984006676, -0.05965277116127234, -0.16018709753869517, 0.23769517838708717, 0.12011368164649772, 0.2533119745371795, -0.6449163994656002, -0.14682229402552793, 0.025679120651875487, -0.31876996037390154, 0.3945325859269493, -0.052387525737719084, -1.7430497879946707, 0.022633196441002323, 0.04131983546399662, 0.04796279516022688, 0.7199864862351593, -0.0960127851916568, 0.14835955812562568, -0.4183382995190806, 0.42392544542413046, -0.02023498448182216], dtype=np.float64).reshape((7, 13))

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
REPORTED = 19365468587.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
