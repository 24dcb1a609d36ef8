"""Reciprocal -> DIV(1, x) (TFLite has no reciprocal builtin; DIV is exact IEEE division)."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import options


@lowering("Reciprocal", since=1)
def reciprocal(n: NodeCtx, x: Value):
    t, perm = n.get_as_is(x)
    one = n.const(np.array(1.0, t.dtype))
    return n.op("DIV", [one, t], n.out(0, perm, shape=x.shape, dtype=t.dtype), options("DivOptions"))
