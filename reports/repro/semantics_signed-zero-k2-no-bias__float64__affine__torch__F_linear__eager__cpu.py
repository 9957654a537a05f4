"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'semantics/signed-zero-k2-no-bias',
    'file': 'cases/semantics/signed-zero-k2-no-bias.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'torch',
    'framework_version': '2.13.0+cpu',
    'path': 'F.linear',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': "known deviation (fail): torch's CPU matmul (nn.Linear, F.linear) starts a dot product of two or more terms from +0 (-0 + -0 gives +0) in every dtype; for float16/bfloat16 even a one-term product -0·1 comes out +0. A float32/float64 one-term product keeps -0. — 1 of 2 elements outside tolerance vs reference; worst at [0, 0]: got 0.0, want -0.0 (zero of the wrong sign)",
    'tolerance': '2*(gamma_2(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 4*tiny + ulp/2 (max 5.55e-17; accumulation in float64); signed zeros',
    'max_ulp': 0.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 2, 1

# Inputs: float64 values written as float64 literals (exact).
x = np.array([-0.0, -0.0, -0.0, 0.0], dtype=np.float64).reshape((2, 2))
W = np.array([1.0, 1.0], dtype=np.float64).reshape((1, 2))  # the case's weight (out, in), as written
b = None  # the layer has no bias

# Target: the exact result rounded to float64.
want = np.array([-0.0, 0.0], dtype=np.float64).reshape((2, 1))

# torch: the framework, and T(a) / to_numpy(y) to hand arrays over exactly.
import torch

dt, dev = getattr(torch, DTYPE), DEVICE

def T(a):  # exact: a holds values of DTYPE
    # contiguous, as the suite hands arrays over: torch.tensor keeps a transposed
    # view's strides, and F.linear then takes another kernel (other float64 sums)
    return torch.tensor(np.ascontiguousarray(a), dtype=dt, device=dev)

def to_numpy(y):
    return y.detach().to(torch.float64).cpu().numpy()

# The path, as the suite calls it.
with torch.inference_mode():
    y = torch.nn.functional.linear(T(x), T(W), None if b is None else T(b))
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
REPORTED = 0.0  # ulp, as the suite measured
REPORTED_ZEROS = 1  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
