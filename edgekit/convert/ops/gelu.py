"""Gelu (opset 20) -> GELU (approximate="tanh" -> GELU(approximate=True)). Registered from opset 1
because ``prepare`` fuses torch's erf-based pattern x * 0.5 * (1 + erf(x / sqrt 2)) into a Gelu node
in any opset (one GELU op instead of five, and exact: no erf approximation)."""
from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import options


@lowering("Gelu", since=1)
def gelu(n: NodeCtx, x: Value, *, approximate: str = "none"):
    if approximate not in ("none", "tanh"):
        raise n.unsupported(f"approximate={approximate!r}")
    t, perm = n.get_as_is(x)
    opts = options("GeluOptions", approximate=approximate == "tanh")
    return n.op("GELU", [t], n.out(0, perm, shape=x.shape, dtype=t.dtype), opts)
