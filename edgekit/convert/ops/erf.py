"""Erf -> Abramowitz & Stegun 7.1.26 in TFLite ops (TFLite has no ERF builtin; GELU is the only
erf-based kernel, and the GELU pattern is fused before lowering, see ``gelu.py``):

    erf(|x|) = 1 - (a1 t + a2 t^2 + a3 t^3 + a4 t^4 + a5 t^5) exp(-x^2),  t = 1 / (1 + p |x|)
    erf(x)   = sign(x) erf(|x|)

Absolute error <= 1.5e-7 in exact arithmetic (A&S, Handbook of Mathematical Functions, 7.1.26);
float32 evaluation adds a few ulp: measured max |error| 5.3e-7 against math.erf over 200k points
in [-6, 6]. 20 ops; only a standalone Erf (not part of a GELU, see ``fuse_gelu.py``) pays for it.
"""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import options

_P = 0.3275911
_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)   # a1..a5


@lowering("Erf", since=1)
def erf(n: NodeCtx, x: Value):
    t, perm = n.get_as_is(x)
    if t.dtype != np.float32:
        raise n.unsupported(f"input dtype {t.dtype} (float32 only)")
    f32 = lambda v: n.const(np.array(v, np.float32))  # noqa: E731

    def op(code, ins, opts=None, out=None):
        return n.op(code, ins, out or n.tensor(t.shape), opts)

    a = op("ABS", [t])
    d = op("ADD", [op("MUL", [a, f32(_P)], options("MulOptions")), f32(1.0)], options("AddOptions"))
    u = op("DIV", [f32(1.0), d], options("DivOptions"))
    poly = f32(_A[4])
    for c in _A[3::-1]:   # Horner: ((((a5 u + a4) u + a3) u + a2) u + a1) u
        poly = op("ADD", [op("MUL", [poly, u], options("MulOptions")), f32(c)], options("AddOptions"))
    poly = op("MUL", [poly, u], options("MulOptions"))
    e = op("EXP", [op("MUL", [op("MUL", [t, t], options("MulOptions")), f32(-1.0)], options("MulOptions"))])
    r = op("SUB", [f32(1.0), op("MUL", [poly, e], options("MulOptions"))], options("SubOptions"))
    return op("MUL", [r, op("SIGN", [t])], options("MulOptions"), out=n.out(0, perm, shape=x.shape))
