"""GlobalAveragePool -> MEAN over the NHWC spatial axes, keep_dims (XNNPACK delegates it)."""
from ..context import NodeCtx, Value
from ..ir import channels_last
from ..registry import lowering
from ._base import FLOAT, check_dtypes, options


@lowering("GlobalAveragePool", since=1)
def global_average_pool(n: NodeCtx, x: Value):
    check_dtypes(n, [x], FLOAT)
    xt = n.nhwc(x)
    axes = n.const_i32(list(range(1, x.rank - 1)))
    shape = (*x.shape[:2], *([1] * (x.rank - 2)))
    return n.op("MEAN", [xt, axes], n.out(0, channels_last(x.rank), shape=shape), options("ReducerOptions", keepDims=True))
