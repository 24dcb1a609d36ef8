"""Concat -> CONCATENATION in the layout of the first permuted runtime input (so NHWC branches of
ShuffleNet/Inception stay NHWC); the axis is remapped to its physical position."""
from ..context import NodeCtx, Value
from ..ir import permute_axis
from ..registry import lowering
from ._base import common_layout, options


@lowering("Concat", since=1)
def concat(n: NodeCtx, *xs: Value, axis: int = 1):
    xs = [v for v in xs if v is not None and 0 not in v.shape]   # ONNX allows empty inputs
    rank = xs[0].rank
    axis %= rank
    perm = common_layout(xs, rank)
    dtype = next((v.dtype for v in xs if not v.is_const), xs[0].dtype)
    ts = [n.get(v, perm, dtype=dtype if v.is_const else None) for v in xs]
    if len(ts) == 1:
        return n.get_as_is(xs[0])[0]
    out = n.out(0, perm, dtype=dtype)
    return n.op("CONCATENATION", ts, out, options("ConcatenationOptions", axis=permute_axis(axis, perm)))
