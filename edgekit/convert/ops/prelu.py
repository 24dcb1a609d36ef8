"""PRelu -> PRELU; the slope (usually C x 1 x 1) is broadcast and permuted like the input."""
from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import FLOAT, broadcast_operand, check_dtypes


@lowering("PRelu", since=1)
def prelu(n: NodeCtx, x: Value, slope: Value):
    check_dtypes(n, [x, slope], FLOAT)
    t, perm = n.get_as_is(x)
    alpha = broadcast_operand(n, slope, x.rank, perm, t.dtype)
    if alpha.is_const and alpha.rank == x.rank and alpha.shape[0] == 1:
        # (1, H, W, C) -> (H, W, C): the per-channel form XNNPACK delegates (it broadcasts trailing axes)
        alpha = n.const(alpha.data.reshape(alpha.shape[1:]), name=alpha.name)
    return n.op("PRELU", [t, alpha], n.out(0, perm, shape=x.shape))
