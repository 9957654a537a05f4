"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'init/jax-lecun-4x3-seed42',
    'file': 'cases/init/jax-lecun-4x3-seed42.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 15 of 15 elements outside tolerance vs reference; worst at [3, 2]: got 0.7459009885787964, want 0.7459009106905663 (701554808 ulp, 5.69e+07x its allowance)',
    'tolerance': '2*(gamma_4(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 6*tiny + ulp/2 (max 3.08e-15; accumulation in float64)',
    'max_ulp': 849858081.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 4, 3

# Inputs: float64 values written as float64 literals (exact).
x = np.array([0.30471707975443135, -1.0399841062404955, 0.7504511958064572, 0.9405647163912139, -1.9510351886538364, -1.302179506862318, 0.12784040316728537, -0.3162425923435822, -0.016801157504288795, -0.85304392757358, 0.8793979748628286, 0.7777919354289483, 0.06603069756121605, 1.1272412069680329, 0.4675093422520456, -0.8592924628832382, 0.36875078408249884, -0.9588826008289989, 0.8784503013072725, -0.049925910986252896], dtype=np.float64).reshape((5, 4))
K = np.array([-0.10016626798689694, -1.015010779316416, 0.10137094623413338, 0.33022427118031644, 0.2646680364998076, 0.19979358541201303, 0.20080193651168446, 0.12757345278849722, -0.38572871741637643, -0.3421215947846043, -0.3768070368104872, -0.808017715727804], dtype=np.float64).reshape((4, 3))  # the case's kernel (in, out), as written
b = np.array([0.0, 0.0, 0.0], dtype=np.float64).reshape((3,))

# Target: the exact result rounded to float64.
want = np.array([-0.5450458135876927, -0.8432154254958303, -1.226356225523497, -0.10071934448915744, 1.77114792982992, -0.2517274934024089, -0.36952750106536164, -0.38960974380275015, -1.1398145699571138, 0.7534876465176789, 0.6147520748140773, 0.7459009106905663, -0.16010744394556434, -0.4971922233006979, -0.4527004643883422], dtype=np.float64).reshape((5, 3))

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
REPORTED = 849858081.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
