"""LRN -> LOCAL_RESPONSE_NORMALIZATION on NHWC (TFLite normalises over the last axis = channels).

ONNX:   y = x / (bias + alpha / size * sum_{c-(size-1)//2 .. c+ceil((size-1)/2)} x^2) ^ beta
TFLite: y = x / (bias + alpha * sum_{c-radius .. c+radius} x^2) ^ beta
(tensorflow/lite/kernels/internal/reference/reference_ops.h, LocalResponseNormalization), so
radius = (size - 1) / 2 and alpha is divided by size; an even size has an asymmetric window, which
TFLite cannot express.
"""
from ..context import NodeCtx, Value
from ..ir import channels_last
from ..registry import lowering
from ._base import options


@lowering("LRN", since=1)
def lrn(n: NodeCtx, x: Value, *, size: int, alpha: float = 1e-4, beta: float = 0.75, bias: float = 1.0):
    if size % 2 == 0:
        raise n.unsupported(f"an even size {size} (TFLite's window is symmetric: 2 * radius + 1)")
    if x.rank != 4:
        raise n.unsupported(f"rank {x.rank} input (NCHW only)")
    opts = options("LocalResponseNormalizationOptions", radius=(size - 1) // 2, bias=bias, alpha=alpha / size,
                   beta=beta)
    return n.op("LOCAL_RESPONSE_NORMALIZATION", [n.nhwc(x)], n.out(0, channels_last(4), shape=x.shape), opts)
