"""Sum (variadic, broadcasting) -> a chain of ADD in the common layout."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import FLOAT, broadcast_operand, check_dtypes, common_layout, options


@lowering("Sum", since=1)
def sum_(n: NodeCtx, *xs: Value):
    check_dtypes(n, xs, FLOAT)
    if len(xs) == 1:
        return n.get_as_is(xs[0])[0]
    rank = max(v.rank for v in xs)
    perm = common_layout(list(xs), rank)
    ts = [broadcast_operand(n, v, rank, perm, np.float32) for v in xs]
    acc = ts[0]
    for i, t in enumerate(ts[1:], start=2):
        shape = np.broadcast_shapes(acc.shape, t.shape)
        out = n.out(0, perm, shape=np.broadcast_shapes(*(v.shape for v in xs))) if i == len(ts) else n.tensor(shape)
        acc = n.op("ADD", [acc, t], out, options("AddOptions"))
    return acc
