"""MaxPool -> MAX_POOL_2D (PADV2 with -inf in front when ONNX pads are not TFLite's SAME)."""
from ..context import NodeCtx, Value
from ..registry import lowering
from ._pool import pool2d


@lowering("MaxPool", since=1, ignore=("storage_order",))
def max_pool(n: NodeCtx, x: Value, *, auto_pad: str = "NOTSET", ceil_mode: int = 0, dilations: tuple = (),
             kernel_shape: tuple = (), pads: tuple = (), strides: tuple = ()):
    if len([o for o in n.node.outputs if o]) > 1:
        # TFLite's argmax pooling (MaxPoolingWithArgmax2D) is a custom op, not a builtin LiteRT runs
        raise n.unsupported("the Indices output (no TFLite builtin computes max-pool argmax indices; export "
                            "with torch's MaxPool return_indices=False)")
    return pool2d(n, "MAX_POOL_2D", x, kernel_shape, strides, pads, auto_pad, ceil_mode, dilations)
