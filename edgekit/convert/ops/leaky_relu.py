"""LeakyRelu -> LEAKY_RELU (same formula: x if x >= 0 else alpha * x)."""
from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import FLOAT, check_dtypes, options


@lowering("LeakyRelu", since=1)
def leaky_relu(n: NodeCtx, x: Value, *, alpha: float = 0.01):
    check_dtypes(n, [x], FLOAT)
    t, perm = n.get_as_is(x)
    return n.op("LEAKY_RELU", [t], n.out(0, perm, shape=x.shape), options("LeakyReluOptions", alpha=alpha))
