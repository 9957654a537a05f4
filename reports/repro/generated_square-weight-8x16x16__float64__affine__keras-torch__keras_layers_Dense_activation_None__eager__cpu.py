"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/square-weight-8x16x16',
    'file': 'cases/generated/square-weight-8x16x16.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 128 of 128 elements outside tolerance vs reference; worst at [1, 0]: got -1.20884193433897, want -1.2088422150975429 (1264424204 ulp, 3.05e+07x its allowance)',
    'tolerance': '2*(gamma_16(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 18*tiny + ulp/2 (max 1.62e-14; accumulation in float64)',
    'max_ulp': 10367777986.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 16, 16

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1031)
x = round_to(rng.normal(0.0, 1.0, size=(8, 16)))
W = round_to(rng.normal(0.0, 0.25, size=(16, 16)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.5, size=(16,)))

# Target: the exact result rounded to float64.
want = np.array([0.027366846943109015, 0.649564501660419, 1.0090018252895125, -0.9335245184972017, -0.8116185597653875, 0.7881962988769198, -0.4213692672314959, -1.5229715737673413, 0.18199246917339723, -0.3094546144377862, 1.5740571841774988, 1.1290673557346242, 0.24310462053891668, -1.7324051341391962, 0.5066063397570082, 1.393972731132099, -1.2088422150975429, 2.5227893459628183, 2.0383916750667774, -0.42260733486349045, -0.8776938785094274, 0.7151772428828854, 0.08701740175012633, 0.8824613238426537, 0.07071225591970697, -0.5984431394611927, -0.29216284232207934, 0.4266166041113637, 0.7554688835989769, -0.8888844972117593, -0.27211779227899696, 1.3473002262712939, 1.1366397928245435, 2.0107063540809365, 0.4641073439518111, -0.9478039228708134, 0.13402611007154722, 0.8371762152765888, 2.670523189297038, 2.255810139237072, 0.17522999463432068, -1.1849858918491702, 0.38466004448330837, -0.5048952077591999, -0.6136715978162175, -1.063535376046416, 0.522396707418962, 0.5183768152458755, 0.8799473022955403, 1.2723241751871488, 1.8672270253945622, -1.2427861900188888, -1.50122847219342, 1.1029578621291434, 0.7296950640510144, 0.4738590517838173, 0.5577853366263814, -1.271424936087233, -0.8875595592268637, 0.43939673658801387, -0.44933753584443026, -0.9549505761726959, -0.4595735571498376, 0.9246774002917171, -1.2549023187831925, 2.7497241807916537, 0.6369595087120815, -0.9062276270218671, 0.8277334651750202, 0.2218089683233599, 0.1401484022416527, 0.03595149954130883, -0.2535953304893411, -0.7996690678757002, 0.32196958515292534, 0.2750595653574829, 0.9347533507760429, -1.0013560560597632, 0.43055240018028557, 0.989837485167949, 0.2663561823970284, 0.6678189543168641, 1.6169710086484426, -1.2065601986352779, -2.064036404199602, -1.3358297963318018, 1.555353557103043, 2.886012220823665, 0.005814635731144139, 1.7145907819561974, -0.6289467261657217, 0.5914252325402034, -2.5968461898502126, -1.3838697499310502, -0.37874153578024417, 1.2426626091959836, 0.8392132659608627, 1.7611080517900517, 1.2887749329391087, -0.4402557337119688, 0.05333492650968167, -0.35726446859960637, 1.2158872598383081, 2.870936591627182, 0.2786895633107403, 1.027967445887886, -1.4860442452354512, -0.5913841836714415, -0.49558191773288934, 0.3488036718488559, -0.33393935606228725, 1.8161468261806921, 1.5461069846888116, 0.8324415918103691, 0.5916034447864331, -0.9882807578817157, 0.017938318408617406, -0.24491999212605117, 3.0415757131245567, 1.9074772926916874, 0.38902053295914096, -0.35880515954199194, -1.2045179816946445, -1.1830082420587211, -2.365570386974572, -0.8252007789402277, -0.6943887998281033, -0.10139128908778704], dtype=np.float64).reshape((8, 16))

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
REPORTED = 10367777986.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
