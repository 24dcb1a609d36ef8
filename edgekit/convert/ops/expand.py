"""Expand -> BROADCAST_TO (numpy broadcasting of the input against the constant shape). A same-rank
input keeps its layout (the target shape is permuted); otherwise it is read in the ONNX layout."""
import numpy as np

from ..context import NodeCtx, Value
from ..ir import identity, shape_of
from ..registry import lowering
from ._axes import const_ints


@lowering("Expand", since=8)
def expand(n: NodeCtx, x: Value, shape: Value):
    target = np.broadcast_shapes(tuple(x.shape), const_ints(n, shape, "shape"))
    if tuple(target) == tuple(x.shape):
        return n.get_as_is(x)[0]
    t, perm = n.get_as_is(x)
    if len(target) != x.rank:
        t, perm = n.get(x), identity(len(target))
    return n.op("BROADCAST_TO", [t, n.const_i32(shape_of(perm, target))], n.out(0, perm, shape=target, dtype=t.dtype),
                version=2)   # BROADCAST_TO is registered from version 2 (tflite/kernels/register.cc)
