"""LogSoftmax -> LOG_SOFTMAX, with Softmax's axis handling (``softmax.py``): one axis since opset 13,
2-D coercion before."""
from ..context import NodeCtx, Value
from ..registry import lowering
from .softmax import softmax_2d, softmax_axis


@lowering("LogSoftmax", since=1)
def log_softmax_v1(n: NodeCtx, x: Value, *, axis: int = 1):
    return softmax_2d(n, x, axis, "LOG_SOFTMAX")


@lowering("LogSoftmax", since=13)
def log_softmax(n: NodeCtx, x: Value, *, axis: int = -1):
    return softmax_axis(n, x, axis, "LOG_SOFTMAX")
