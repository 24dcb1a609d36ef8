"""Abs -> ABS (elementwise, keeps the layout).

TFLite's ABS has plain float32/int32 kernels (its int8/int16 versions are quantized): int8/int16 compute
in int32 (|-128| = 128 wraps back to -128 in the narrowing CAST, as numpy's int8 abs does); int64 is
MAXIMUM(x, NEG(x)) (exact: both are int64 kernels; only INT64_MIN wraps, as in numpy); unsigned values
are their own absolute value (no op)."""
from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import F32, I32, I64, unary_op


@lowering("Abs", since=1)
def abs_(n: NodeCtx, x: Value):
    t, perm = n.get_as_is(x)
    if t.dtype.kind == "u":
        return t
    if t.dtype == I64:
        neg = n.op("NEG", [t], n.tensor(t.shape, t.dtype))
        return n.op("MAXIMUM", [t, neg], n.out(0, perm, shape=x.shape, dtype=t.dtype))
    return unary_op(n, "ABS", x, native=(F32, I32))
