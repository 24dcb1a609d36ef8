"""AveragePool -> AVERAGE_POOL_2D; count_include_pad and ceil_mode via explicit PAD + a constant
per-position rescale (only when the divisor differs from TFLite's)."""
from ..context import NodeCtx, Value
from ..registry import lowering
from ._pool import pool2d


@lowering("AveragePool", since=1)
def average_pool(n: NodeCtx, x: Value, *, auto_pad: str = "NOTSET", ceil_mode: int = 0, count_include_pad: int = 0,
                 dilations: tuple = (), kernel_shape: tuple = (), pads: tuple = (), strides: tuple = ()):
    return pool2d(n, "AVERAGE_POOL_2D", x, kernel_shape, strides, pads, auto_pad, ceil_mode, dilations,
                  count_include_pad)
