"""Reproduce one conformance result row (ROW below): rebuild the case's inputs, call
the same API the suite called, and compare with the target the row was judged against.

Needs NumPy and the row's framework only. Exit status 1 while the reported error still
shows, 0 once it is gone. `python THIS.py FILE.npy` also saves the output there.
"""

import sys

import numpy as np

ROW = {
    'case': 'generated/square-kernel-8x16x16',
    'file': 'cases/generated/square-kernel-8x16x16.yaml',
    'dtype': 'float64',
    'op': 'sigmoid',
    'framework': 'keras-torch',
    'framework_version': '3.15.1 (torch 2.13.0+cpu)',
    'path': "keras.layers.Dense(activation='sigmoid')",
    'mode': 'eager',
    'device': 'cpu',
    'status': 'known',
    'message': 'known deviation (fail): Keras 3\'s torch backend multiplies float64 in float32: ops.matmul takes its compute dtype from keras.backend.result_type, which maps every 64-bit result to 32 bits ("to be aligned with JAX\'s default", backend/common/dtypes.py), so Dense(dtype="float64") rounds x and the kernel to float32, multiplies in float32 and returns float32; a bias (ops.add) brings the result back to float64. Measured: relative errors from 2e-8 (seed example) to 1.3e-3 (cancellation in generated/normal-64x512x32), up to 7e5 times the budget; without a bias the output is float32 (15 cases). keras-jax and the TensorFlow backend keep float64. — 128 of 128 elements outside tolerance vs reference; worst at [6, 12]: got 0.8641275028446062, want 0.8641274679713741 (314110150 ulp, 2.1e+07x its allowance)',
    'tolerance': "4 ulp + sigma'*affine bound",
    'max_ulp': 1721733365.0,
}
DTYPE, DEVICE = 'float64', 'cpu'
IN, OUT = 16, 16

def round_to(a):
    return np.asarray(a, dtype=np.float64)

# Inputs: drawn from default_rng(seed) in the order input, parameter, bias, rounded to float64.
rng = np.random.default_rng(1032)
x = round_to(rng.normal(0.0, 1.0, size=(8, 16)))
K = round_to(rng.normal(0.0, 0.25, size=(16, 16)))  # the case's kernel (in, out), as written
b = round_to(rng.normal(0.0, 0.5, size=(16,)))

# Target: the exact result rounded to float64.
want = np.array([0.11312819377835089, 0.3294313963480981, 0.26731517589057774, 0.12202827780837265, 0.8528723919868649, 0.7160345625022854, 0.8201761173122251, 0.37216974972392375, 0.5805429281062752, 0.11418124445751872, 0.7985446927530758, 0.6957210416679666, 0.6313247956815932, 0.4503208083569969, 0.7247373308689555, 0.9179160429267628, 0.30878239218182907, 0.7805436180769826, 0.6803997225737144, 0.40443692937800596, 0.5479042309959543, 0.6103311243998879, 0.3744367218068353, 0.2191288567480652, 0.7818420019874323, 0.5095643021081878, 0.5882169953553937, 0.8567650495124063, 0.35645154827110037, 0.5364370703589734, 0.5631112307373781, 0.4913160492703543, 0.6931022284244979, 0.4987305560724063, 0.7372069127943602, 0.6547738087329322, 0.5866992965892837, 0.40425414267697735, 0.4983128192346101, 0.15167270116096268, 0.7474961257301035, 0.5821151613565102, 0.8491100116865026, 0.8233613997072214, 0.5914062924607018, 0.45116240103186966, 0.8184413592355458, 0.54607783086785, 0.20359427854959217, 0.3271662225072234, 0.801643364810884, 0.20709870835689223, 0.3103982885626145, 0.7021356610438508, 0.047802263962211454, 0.08358234345310767, 0.5033238557020331, 0.8244918366187337, 0.6634489711679936, 0.41800027455139355, 0.8883619632219575, 0.41473724581923405, 0.5045094657161743, 0.643803407233981, 0.4288940898376867, 0.7603433218713519, 0.43196273443204347, 0.1647003438789176, 0.759667280538423, 0.3495866164776296, 0.08590605112301636, 0.20663926737507426, 0.6917985841616098, 0.19372151577155872, 0.5653173509130892, 0.4653647870410005, 0.1753869747279682, 0.9057178253332822, 0.5921600613298806, 0.31938129420178557, 0.6572069441667345, 0.32936285390601855, 0.5981782750072978, 0.148527195813739, 0.9316734352030585, 0.791274487231428, 0.7890889900135281, 0.5791235124279001, 0.33601120455273903, 0.17115643318624316, 0.6406668084764017, 0.858908904003503, 0.18760418502593323, 0.4867753968758286, 0.6460861660740445, 0.7979597387171375, 0.476745026339741, 0.16355951901594679, 0.7152234101813263, 0.1669675750775022, 0.3912537467781663, 0.6559273594471375, 0.1043291800983798, 0.08454795293908134, 0.7290878744473307, 0.623343112416164, 0.7718554851609626, 0.28872093007389926, 0.8641274679713741, 0.4454065293774874, 0.6666540029350295, 0.6745141222191268, 0.11856855648283998, 0.9071950803667348, 0.19219021346564122, 0.2566223512562109, 0.9463967961353986, 0.521401533015533, 0.34725669116560975, 0.05131443143103644, 0.6068520286788387, 0.1504370899892998, 0.6920291931386566, 0.5101326080417173, 0.10536605835021225, 0.6889711627766218, 0.7406601327108701, 0.12716523567738158], dtype=np.float64).reshape((8, 16))

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
REPORTED = 1721733365.0  # ulp, as the suite measured
REPORTED_ZEROS = 0  # zeros of the wrong sign, as measured
ulp_shows = ulp.max() >= REPORTED and ulp.max() > 0
if ulp_shows or 0 < REPORTED_ZEROS <= wrong_zeros:
    print("MISMATCH reproduced")
    sys.exit(1)
print("the reported error no longer shows")
