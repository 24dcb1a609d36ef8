"""Flatten -> RESHAPE to (prod(shape[:axis]), prod(shape[axis:])) in ONNX element order.

After an NHWC tensor the ONNX (NCHW) meaning is kept: ``get_flat`` inserts the one TRANSPOSE
needed, or none when only size-1 axes moved (GlobalAveragePool -> Flatten -> Gemm).
"""
import math

from ..context import NodeCtx, Value
from ..registry import lowering


@lowering("Flatten", since=1)
def flatten(n: NodeCtx, x: Value, *, axis: int = 1):
    axis = axis + x.rank if axis < 0 else axis   # axis == rank is valid: (prod(shape), 1)
    shape = (math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))
    return n.reshape_value(x, shape)
