"""Where -> SELECT_V2 (numpy broadcasting of condition, X and Y), in the operands' common layout.
Attention masks in exported encoders (``scores.masked_fill(mask == 0, -inf)``) lower to this."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import broadcast_operand, common_layout


@lowering("Where", since=9)
def where(n: NodeCtx, cond: Value, x: Value, y: Value):
    rank = max(v.rank for v in (cond, x, y))
    perm = common_layout([cond, x, y], rank)
    dtype = next((v.dtype for v in (x, y) if not v.is_const), x.dtype)
    ts = [broadcast_operand(n, cond, rank, perm, np.bool_),
          broadcast_operand(n, x, rank, perm, dtype), broadcast_operand(n, y, rank, perm, dtype)]
    shape = np.broadcast_shapes(*(tuple(v.shape) for v in (cond, x, y)))
    return n.op("SELECT_V2", ts, n.out(0, perm, shape=shape, dtype=dtype))
