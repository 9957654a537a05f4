"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/student-t3-8x4x3',
    'file': 'cases/generated/student-t3-8x4x3.yaml',
    'dtype': 'float64',
    'op': 'sigmoid',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': "keras.layers.Dense(activation='sigmoid')",
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 24 of 24 elements outside tolerance vs reference; worst at [1, 1]: got 0.08910803200929698, want 0.08910801487633326 (1234560145 ulp, 5.45e+07x its allowance)',
    'tolerance': "4 ulp + sigma'*affine bound",
    'max_ulp': 1387399606.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 4, 3

# Inputs: float64 values written as float64 literals (exact).
x = np.array([0.8714684403317836, -0.4742498567129427, -1.352816399573782, -0.8243491616960477, -1.161028660328231, -1.1422222864290579, -3.465095396236056, -0.19676717996444507, -0.7318736127024618, -0.20127621790075484, 1.3663470197078793, 1.0248138960554483, -0.4673039708671016, 0.5951052080531615, -0.2182023056946224, 0.6210213990349255, 0.7282553338447076, 0.736501917139669, 2.1038862451251084, 1.3781205925556077, -0.38576320163172456, 2.516867786927526, 1.4690741515603234, 0.22099624932834747, -0.9904581663085706, -0.3184520461653979, -0.19676615677870368, 1.528024305655141, -4.048719683650039, -8.014869798984158, -0.6969228003684815, 0.7286481496188281], dtype=np.float64).reshape((8, 4))
W = np.array([0.4943471044359313, 0.9559108311392946, 0.16521903809115354, 0.24908592915379427, 0.5207710517338743, 0.1786097025978808, 0.44821724976604427, 0.04740500892323282, -0.0883076608460979, -0.8359621897755742, 0.1179622838362798, 0.4973668284353202], dtype=np.float64).reshape((3, 4))  # the case's weight (out, in), as written
b = np.array([0.12096786883576166, 0.04651033930402004, -0.18531659774872], dtype=np.float64).reshape((3,))

# Target: the exact result rounded to float64.
want = np.array([0.41814096282453467, 0.4428030508732404, 0.3928365927438143, 0.10281252974957367, 0.08910801487633326, 0.5903590184389347, 0.5119425812986353, 0.5720998042312649, 0.6722675020128318, 0.640483096679113, 0.46035365742943757, 0.41134700161057663, 0.867137345148486, 0.8271610170315947, 0.5170673206945047, 0.9330138522355504, 0.7239406915693444, 0.12216934827285421, 0.41946398292049614, 0.3677391463530288, 0.7120046141684602, 7.669059778957534e-05, 0.022503795424889086, 0.9992177387987294], dtype=np.float64).reshape((8, 3))

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
REPORTED = 1387399606.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
