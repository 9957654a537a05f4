"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/sigmoid-normal-64x64',
    'file': 'cases/generated/sigmoid-normal-64x64.yaml',
    'dtype': 'float32',
    'op': 'sigmoid',
    'framework': 'tensorflow',
    'framework_version': '2.21.0 (keras 3.15.1)',
    'path': 'keras.activations.sigmoid',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': "known deviation (fail): TensorFlow's float32 sigmoid (Eigen's scalar_logistic_op kernel, used by tf.math.sigmoid and keras.activations.sigmoid in eager mode) is up to 5 ulp off for a few z in [-15, 0) and 6 ulp near z = -53 (benchmarks/sigmoid_ulp_sweep.py), against a 4-ulp budget that torch (2), JAX (2) and NumPy's textbook formula (3) meet. Under XLA (jit_compile) the same paths stay within budget. Seen in generated/sigmoid-normal-64x64 (5 ulp at z = -6.35). — 4 of 4096 elements outside tolerance vs reference; worst at [24, 35]: got 0.0017445770790800452, want 0.001744576497003436 (5 ulp, 1.25x its allowance)",
    'tolerance': '4 ulp',
    'max_ulp': 5.0,
}
DTYPE, DEVICE = 'float32', 'cpu'

def round_to(a, p=24, emin=-126, top=3.4028234663852886e+38):
    """Round float64 values to float32 (nearest, ties to even), kept as float64."""
    a = np.asarray(a, dtype=np.float64)
    _, e = np.frexp(np.abs(a))
    q = np.maximum(e - 1, emin) - (p - 1)
    r = np.ldexp(np.rint(np.ldexp(a, -q)), q)
    return np.where(np.abs(r) > top, np.copysign(np.inf, a), r)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float32.
rng = np.random.default_rng(2000)
z = round_to(rng.normal(0.0, 6.0, size=(64, 64)))

# Target: the exact result rounded to float32, at the worst element the suite reported (the output is large).
IDX = (24, 35)
want = np.array([0.001744576497003436])

# tensorflow: the framework, and T(a) / to_numpy(y) to hand arrays over exactly.
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"  # before keras is imported
import keras
import tensorflow as tf

dt = getattr(tf, DTYPE)
dev = "/GPU:0" if DEVICE == "cuda" else "/CPU:0"

def T(a):  # exact: a holds values of DTYPE
    with tf.device(dev):
        return tf.cast(tf.constant(a, dtype=tf.float64), dt)

def to_numpy(y):
    return np.asarray(tf.cast(y, tf.float64))

# The path, as the suite calls it.
with tf.device(dev):
    y = keras.activations.sigmoid(T(z))
got = to_numpy(y)
if len(sys.argv) > 1:
    np.save(sys.argv[1], got)

got = got[IDX].reshape(1)

def ordinal(a):  # float32 values in order, 1 apart; -0 and +0 are both 0
    bits = np.ascontiguousarray(np.asarray(a).astype(np.float32)).view(np.uint32)
    bits = bits.astype(np.uint64) >> np.uint64(0)
    sign = (bits >> np.uint64(31)).astype(bool)
    mag = (bits & np.uint64(2147483647)).astype(np.int64)
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
REPORTED = 5.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
