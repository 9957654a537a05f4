"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'semantics/negative-zero',
    'file': 'cases/semantics/negative-zero.yaml',
    'dtype': 'float16',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': "known deviation (fail): torch.matmul (Keras Dense's matmul on the torch backend) turns the one-term product [[-0]] @ [[1]] into +0 in every dtype (F.linear's addmm, which starts from the bias, keeps -0 for float32/float64), and + bias -0 keeps +0. — 1 of 2 elements outside tolerance vs reference; worst at [0, 0]: got 0.0, want -0.0 (zero of the wrong sign)",
    'tolerance': '2*(gamma_1(2^-24)*sum|xw| + 2^-11*(|P|+|S|)) + 3*tiny + ulp/2 (max 0.000427; accumulation in float32); signed zeros',
    'max_ulp': 0.0,
}
DTYPE, DEVICE = 'float16', 'cpu'
IN, OUT = 1, 2

# Inputs: float16 values written as float64 literals (exact).
x = np.array([-0.0], dtype=np.float64).reshape((1, 1))
W = np.array([1.0, -1.0], dtype=np.float64).reshape((2, 1))  # the case's weight (out, in), as written
b = np.array([-0.0, 0.0], dtype=np.float64).reshape((2,))

# Target: the exact result rounded to float16.
want = np.array([-0.0, 0.0], dtype=np.float64).reshape((1, 2))

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


def ordinal(a):  # float16 values in order, 1 apart; -0 and +0 are both 0
    bits = np.ascontiguousarray(np.asarray(a).astype(np.float16)).view(np.uint16)
    bits = bits.astype(np.uint64) >> np.uint64(0)
    sign = (bits >> np.uint64(15)).astype(bool)
    mag = (bits & np.uint64(32767)).astype(np.int64)
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
REPORTED = 0.0  # ulp, as the suite measured
REPORTED_ZEROS = 1  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
