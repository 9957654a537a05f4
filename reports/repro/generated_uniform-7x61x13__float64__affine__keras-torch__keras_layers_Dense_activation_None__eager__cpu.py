"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/uniform-7x61x13',
    'file': 'cases/generated/uniform-7x61x13.yaml',
    'dtype': 'float64',
    'op': 'affine',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': 'keras.layers.Dense(activation=None)',
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 91 of 91 elements outside tolerance vs reference; worst at [0, 12]: got -1.2101773709837764, want -1.2101770548828346 (1423592084 ulp, 8.02e+06x its allowance)',
    'tolerance': '2*(gamma_61(2^-53)*sum|xw| + 2^-53*(|P|+|S|)) + 63*tiny + ulp/2 (max 6.02e-14; accumulation in float64)',
    'max_ulp': 457444598844.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 61, 13

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1004)
x = round_to(rng.uniform(-1.0, 1.0, size=(7, 61)))
W = round_to(rng.normal(0.0, 0.128, size=(13, 61)))  # the case's weight (out, in), as written
b = round_to(rng.normal(0.0, 0.1, size=(13,)))

# Target: the exact result rounded to float64.
want = np.array([-0.5482266723722454, 0.3605281933168454, 0.2656553918430127, -0.6316716193727709, 0.027576964965519445, 0.6271003232363007, -0.15625335763686815, 0.5435840995583773, 0.04111382606476639, 0.16545751541685114, -0.06531942116945633, 1.695939747407511, -1.2101770548828346, -0.6789514458427967, 0.8140923441517944, -0.47612611048034764, -0.10649723821021413, 0.8688717515179135, -0.3976810451626469, 0.40950618917624976, -0.05129374288020872, 0.029867974167134888, 1.4814788089866375, 0.373483744959654, 0.536334937693757, 1.2316257741778598, -0.5514163041489389, 0.0008260864624144468, -0.23168310282406548, 0.22182924606363547, -0.4780954308507467, 1.053590489836591, -1.0445667381233557, 0.05109162932441067, 0.1500218236887706, 0.8278249974501144, -1.0404427321577876, 1.617842463147909, -0.8179523209690159, 0.41407789634057607, -0.04920091377961375, -0.04830378167424917, 1.2944122017274933, -0.18425212677856734, -0.4353333023326954, 0.46347862817547447, -0.22385183699144498, 0.6303213746948879, 1.0605141869960049, 0.5699183392321784, -0.02398774296269856, -0.44002998808353855, 0.8049026183714026, 0.35733028031187136, 0.5006787401916721, -0.24296986932403472, 0.8767090294320817, -1.358639728416841, 0.3193273817918115, 0.5918177458253346, -0.02453154122816676, 0.48571797402789574, 0.25260498314861857, 0.02555693838293462, -0.39689449644877567, -0.6354238831475608, -0.3445069120735709, -0.36212527128894856, -0.16180524971418886, -0.38182410971402514, -0.8321953171844318, 0.12018672718511922, -0.8769454999988737, -0.06577195011118289, -0.48064197394593383, -0.3711705259689823, -0.517003521602425, 0.43140513277848164, -0.7987193647017677, -0.7036311964819574, 0.24085346198964902, -0.34154849459837244, -0.9375527642200178, 0.05054313090716558, -0.8583025920209314, -0.532259572143835, -0.2141828189768863, 0.6379895295850709, -0.030363780431992633, -1.2561170346036126, -0.0738016832057751], dtype=np.float64).reshape((7, 13))

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
REPORTED = 457444598844.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
