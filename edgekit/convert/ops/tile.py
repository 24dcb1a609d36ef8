"""Tile -> TILE with constant repeats, permuted like the input's layout (the output keeps it)."""
from ..context import NodeCtx, Value
from ..ir import shape_of
from ..registry import lowering
from ._axes import const_ints


@lowering("Tile", since=6)
def tile(n: NodeCtx, x: Value, repeats: Value):
    reps = const_ints(n, repeats, "repeats")
    if len(reps) != x.rank or min(reps) < 1:
        raise n.unsupported(f"repeats {reps} for a rank-{x.rank} input")
    t, perm = n.get_as_is(x)
    if all(r == 1 for r in reps):
        return t
    shape = [d * r for d, r in zip(x.shape, reps)]
    return n.op("TILE", [t, n.const_i32(shape_of(perm, reps))], n.out(0, perm, shape=shape, dtype=t.dtype))
