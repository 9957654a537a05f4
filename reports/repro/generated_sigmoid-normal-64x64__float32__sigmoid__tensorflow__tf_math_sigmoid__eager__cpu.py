"""Reproduce: generated/sigmoid-normal-64x64 [float32 sigmoid] on tensorflow 2.21.0 (keras 3.15.1)
path: tf.math.sigmoid; mode: eager; device: cpu
suite result: known: known deviation (fail): TensorFlow's float32 sigmoid (Eigen's scalar_logistic_op kernel, used by tf.math.sigmoid and keras.activations.sigmoid in eager mode) is up to 5 ulp off for a few z in [-15, 0) and 6 ulp near z = -53 (benchmarks/sigmoid_ulp_sweep.py), against a 4-ulp budget that torch (2), JAX (2) and NumPy's textbook formula (3) meet. Under XLA (jit_compile) the same p
case file: cases/generated/sigmoid-normal-64x64.yaml
target: reference; tolerance used: 4 ulp
Needs only tensorflow and NumPy. Exits 1 while the reported error still shows.
"""

import sys

import numpy as np

def round_to(a, p=24, emin=-126, top=3.4028234663852886e+38):
    """Round float64 values to float32 (nearest, ties to even), kept as float64."""
    a = np.asarray(a, dtype=np.float64)
    _, e = np.frexp(np.abs(a))
    q = np.maximum(e - 1, emin) - (p - 1)
    r = np.ldexp(np.rint(np.ldexp(a, -q)), q)
    return np.where(np.abs(r) > top, np.copysign(np.inf, a), r)

# Inputs: drawn from default_rng(2000) in the order x/z, parameter, bias, rounded to float32.
rng = np.random.default_rng(2000)
z = round_to(rng.normal(0.0, 6.0, size=(64, 64)))

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import tensorflow as tf

dt = tf.float32

def T(a):  # exact: a holds dtype values
    return tf.cast(tf.constant(a, dtype=tf.float64), dt)

y = tf.math.sigmoid(T(z))
got = np.asarray(tf.cast(y, tf.float64))

idx = tuple([24, 35])  # the worst element the suite reported
got, want = got[idx].reshape(1), np.array([0.001744576497003436])
P, EMIN = 24, -126  # float32: significand bits, smallest normal exponent
_, e = np.frexp(np.abs(np.where(np.isfinite(want), want, 1.0)))
spacing = np.ldexp(1.0, np.maximum(e - 1, EMIN) - (P - 1))
with np.errstate(invalid="ignore"):
    ulp = np.abs(got - want) / spacing
same = (got == want) | (np.isnan(got) & np.isnan(want))
ulp = np.where(same, 0.0, np.where(np.isfinite(ulp), ulp, np.inf))
worst = np.unravel_index(int(np.argmax(ulp)), ulp.shape)
print(f"max error {ulp.max():g} ulp at {list(map(int, worst))}: got {float(got[worst])!r}, want {float(want[worst])!r}")
REPORTED = 5.0  # ulp, as the suite measured
if ulp.max() >= REPORTED and ulp.max() > 0:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
