"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/batch-eq-out-kernel-6x9x6',
    'file': 'cases/generated/batch-eq-out-kernel-6x9x6.yaml',
    'dtype': 'float64',
    'op': 'sigmoid',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': "keras.layers.Dense(activation='sigmoid')",
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 36 of 36 elements outside tolerance vs reference; worst at [4, 1]: got 0.251497046023792, want 0.2514970724709282 (476429250 ulp, 2.65e+07x its allowance)',
    'tolerance': "4 ulp + sigma'*affine bound",
    'max_ulp': 476429250.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 9, 6

# Inputs: float64 values written as float64 literals (exact).
x = np.array([-1.6674734340542168, 0.37950008635800353, 1.879102955849361, -0.4855440758877118, 1.069763302270008, 0.14424418235489056, -0.5787805344941078, 0.295187610711052, 0.11253303001910013, -0.7159516233353044, 0.6817281246424534, -1.4073971775078375, 0.8552465635790126, 1.1333973760262446, 0.8668518567890079, -0.5952481203364121, 1.7824691126719894, 2.2202193159803323, -0.21213139994961824, 1.4223901197378308, 2.218300608551753, -0.2840709528834262, -2.8327219554615497, -0.8899674664606769, -1.1561721871905848, 0.7041118136838039, -0.9979224545973585, -0.24721922125288326, 1.4473579672530668, -0.08641979119346942, 1.2202275304313308, 0.5217728741271731, 0.792202255501654, 1.9029203677092137, 0.17272130518547688, 1.0447511200340305, 1.619998148947615, -1.8915638086410471, 1.6172506108831963, -0.06462264813177335, -0.20873961332856406, -0.22185031931437518, 0.35397166583132433, -0.3969499442721568, -0.2516723873255151, -1.057666411032837, -0.02494109705371195, 0.6207674967216995, 0.1886366337131293, 0.8114675691404971, -0.374660216197547, 0.7126527816070704, -1.4066489694354858, 0.04818472937288574], dtype=np.float64).reshape((6, 9))
K = np.array([0.17302244882077408, 0.06621288802715718, -0.10819424433223186, 0.17348260182013792, -0.0851081433966712, -0.10337269351353982, 0.0855373734918494, 0.5222816855347752, 0.08181284034087767, -0.22709189833683402, 0.2769627468840425, 0.0034034471279890516, 0.11666468078541618, 0.08977522050776457, 0.5276508624731693, 0.0824078986020061, 0.5444073715072718, 0.5644355289799906, -0.21440248790186103, 0.3063868438492394, -0.034744267189816776, -0.08313925140253267, -0.35041213202001287, -0.07767227604891558, -0.15701153603935394, 0.13507741925302344, -0.049297313159280806, -0.07603281417781955, -0.039900590721574834, -0.15958318504020902, 0.08538886087951324, -0.16977814125040097, 0.3529795291309596, -0.36141715321261897, 0.3463570731206668, 0.45603420287732155, 0.16404607865494994, 0.25545301398803705, -0.20490861740376667, -0.07444150569727687, -0.3423730040880049, -0.15384357177139757, -0.12650649354369972, 0.11706893875764839, -0.20753244639033083, 0.18353235472900095, 0.21012940121541474, -0.06340672266992359, 0.25223934118355523, 0.546124047771576, 0.008595780764637868, -0.40980926059000894, 0.053471250397099795, -0.030280587007186794], dtype=np.float64).reshape((9, 6))  # the case's kernel (in, out), as written
b = np.array([0.6084015671772494, -0.25134649251532926, -0.38450143320809627, -0.30008515361919946, 0.1983162131120991, -0.30224009323617335], dtype=np.float64).reshape((6,))

# Target: the exact result rounded to float64.
want = np.array([0.6025560023129359, 0.48114849142265614, 0.7092656038891162, 0.36293493352176887, 0.8712388152234785, 0.7174301440769778, 0.581327724841188, 0.8127596271469057, 0.26847935998044914, 0.15393373325311166, 0.5827949679091606, 0.2766868331794056, 0.70085856650424, 0.40135115735061894, 0.6990732740683226, 0.6699159849503783, 0.9013875555193768, 0.7700020439754024, 0.7225794543325315, 0.8661325857836581, 0.37984242920571565, 0.16187816817069034, 0.4600369093734483, 0.3839894744150672, 0.7287052004085456, 0.2514970724709282, 0.5201703822347845, 0.6568184325302998, 0.5381922493345285, 0.5871474335504, 0.6463094980859206, 0.49900767677888186, 0.5057362932604033, 0.33188150717430454, 0.4635983155216973, 0.45524031157338174], dtype=np.float64).reshape((6, 6))

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
    layer = keras.layers.Dense(
        OUT, activation="sigmoid", use_bias=b is not None, dtype=DTYPE
    )
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
REPORTED = 476429250.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
