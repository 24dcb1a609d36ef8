"""IsNaN -> NOT_EQUAL(x, x): the one float value unequal to itself is NaN (IEEE 754), so this is exact.

HF attention exports guard the softmax of fully masked rows with ``Where(IsNaN(p), 0, p)``.
TFLite has no ISNAN builtin. Layout is kept.
"""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import FLOAT, as_dtype, work_dtype


@lowering("IsNaN", since=9)
def is_nan(n: NodeCtx, x: Value):
    work = work_dtype(n, x.dtype, FLOAT, "IsNaN")   # float16/bfloat16 -> float32 keeps NaN a NaN
    t, perm = n.get_as_is(x)
    t = as_dtype(n, t, work)
    return n.op("NOT_EQUAL", [t, t], n.out(0, perm, shape=x.shape, dtype=np.bool_))
