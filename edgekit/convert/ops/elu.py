"""Elu -> ELU when alpha is 1 (TFLite's ELU has no alpha), else x if x > 0 else alpha * (exp(x) - 1) as
SELECT_V2(x > 0, x, alpha * (EXP(x) - 1)) (float32; float16 computes in float32)."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import F32, as_dtype, emit, options, work_dtype


@lowering("Elu", since=1)
def elu(n: NodeCtx, x: Value, *, alpha: float = 1.0):
    work = work_dtype(n, x.dtype, (F32,), "Elu")
    t, perm = n.get_as_is(x)
    out = n.out(0, perm, shape=x.shape, dtype=t.dtype)
    w = as_dtype(n, t, work)
    if alpha == 1.0:
        return emit(n, "ELU", [w], out, work)
    e = n.op("EXP", [w], n.tensor(w.shape, work))
    em1 = n.op("SUB", [e, n.const(np.array(1.0, work))], n.tensor(w.shape, work), options("SubOptions"))
    neg = n.op("MUL", [em1, n.const(np.array(alpha, work))], n.tensor(w.shape, work), options("MulOptions"))
    pos = n.op("GREATER", [w, n.const(np.array(0.0, work))], n.tensor(w.shape, np.bool_))
    return emit(n, "SELECT_V2", [pos, w, neg], out, work)
