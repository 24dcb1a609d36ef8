"""Pow with a constant scalar exponent -> the cheapest exact op: 2 -> MUL(x, x), 0.5 -> SQRT,
1 -> nothing, -1 -> DIV(1, x), -0.5 -> RSQRT; any other exponent (or a runtime/tensor one) -> POW
with broadcasting."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import binary_op, options


@lowering("Pow", since=1)
def pow_(n: NodeCtx, x: Value, y: Value):
    if y.is_const and y.const.size == 1 and not x.is_const and np.dtype(x.dtype).kind == "f":
        e = float(np.asarray(y.const).reshape(-1)[0])
        t, perm = n.get_as_is(x)
        shape = np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
        if tuple(shape) == tuple(x.shape) and e in (1.0, 2.0, 0.5, -1.0, -0.5):
            if e == 1.0:
                return t
            out = n.out(0, perm, shape=shape, dtype=t.dtype)
            if e == 2.0:
                return n.op("MUL", [t, t], out, options("MulOptions"))
            if e == -1.0:
                return n.op("DIV", [n.const(np.array(1.0, t.dtype)), t], out, options("DivOptions"))
            return n.op("SQRT" if e == 0.5 else "RSQRT", [t], out)
    if np.dtype(x.dtype).kind != "f":
        raise n.unsupported(f"{x.dtype} base (TFLite POW takes float32 or int32 with matching exponent)")
    return binary_op(n, "POW", [x, y])
