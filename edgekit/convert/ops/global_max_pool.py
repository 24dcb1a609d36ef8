"""GlobalMaxPool -> MAX_POOL_2D over the whole (H, W) window (delegated by XNNPACK, unlike REDUCE_MAX
in older releases)."""
from ..context import NodeCtx, Value
from ..ir import channels_last
from ..registry import lowering
from ._base import FLOAT, check_dtypes, options
from ._spatial import padding_enum


@lowering("GlobalMaxPool", since=1)
def global_max_pool(n: NodeCtx, x: Value):
    check_dtypes(n, [x], FLOAT)
    if x.rank != 4:
        raise n.unsupported(f"rank {x.rank} input (NCHW only)")
    h, w = x.shape[2:]
    opts = options("Pool2DOptions", padding=padding_enum("VALID"), strideH=1, strideW=1, filterHeight=h, filterWidth=w)
    return n.op("MAX_POOL_2D", [n.nhwc(x)], n.out(0, channels_last(4), shape=(*x.shape[:2], 1, 1)), opts)
