"""Celu -> max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) as MAXIMUM, MUL, EXP, SUB, MUL, MINIMUM, ADD
(the ONNX definition; float32, float16/bfloat16 computed in float32)."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import F32, as_dtype, emit, options, work_dtype


@lowering("Celu", since=12)
def celu(n: NodeCtx, x: Value, *, alpha: float = 1.0):
    work = work_dtype(n, x.dtype, (F32,), "Celu")
    t, perm = n.get_as_is(x)
    w = as_dtype(n, t, work)

    def c(v):
        return n.const(np.array(v, work))

    def op(code, ins, opts=None):
        return n.op(code, ins, n.tensor(w.shape, work), opts)

    e = op("EXP", [op("MUL", [w, c(1.0 / alpha)], options("MulOptions"))])
    neg = op("MINIMUM", [op("MUL", [op("SUB", [e, c(1.0)], options("SubOptions")), c(alpha)], options("MulOptions")),
                         c(0.0)])
    pos = op("MAXIMUM", [w, c(0.0)])
    return emit(n, "ADD", [pos, neg], n.out(0, perm, shape=x.shape, dtype=t.dtype), work, options("AddOptions"))
