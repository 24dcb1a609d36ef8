"""Split -> SPLIT (equal parts) or SPLIT_V (given sizes) on the physical axis; the outputs keep the
input's layout. Sizes come from the ``split`` attribute (opset < 13), the ``split`` input (>= 13),
or ``num_outputs`` (opset 18: ceil-sized parts, the last one smaller)."""
from __future__ import annotations

import math
from typing import Optional

from ..context import NodeCtx, Value
from ..ir import permute_axis
from ..registry import lowering
from ._axes import const_ints
from ._base import options


def split_op(n: NodeCtx, x: Value, axis: int, sizes: Optional[tuple[int, ...]], num_outputs: int = 0):
    axis %= x.rank
    dim = x.shape[axis]
    count = len(n.node.outputs)
    if sizes is None:
        parts = num_outputs or count
        size = math.ceil(dim / parts)
        sizes = tuple(min(size, dim - i * size) for i in range(parts))
    if sum(sizes) != dim or len(sizes) != count or min(sizes) <= 0:
        raise n.unsupported(f"split sizes {sizes} of axis {axis} (size {dim}) into {count} outputs")
    t, perm = n.get_as_is(x)
    phys = permute_axis(axis, perm)
    outs = []
    for i, s in enumerate(sizes):
        shape = list(x.shape)
        shape[axis] = s
        outs.append(n.out(i, perm, shape=shape, dtype=t.dtype))
    if len(set(sizes)) == 1:
        n.op("SPLIT", [n.const_i32(phys), t], outs, options("SplitOptions", numSplits=count))
    else:
        n.op("SPLIT_V", [t, n.const_i32(sizes), n.const_i32(phys)], outs, options("SplitVOptions", numSplits=count))
    return outs


@lowering("Split", since=1)
def split_attr(n: NodeCtx, x: Value, *, axis: int = 0, split: tuple = ()):
    return split_op(n, x, axis, tuple(split) or None)


@lowering("Split", since=13)
def split(n: NodeCtx, x: Value, sizes: Optional[Value] = None, *, axis: int = 0, num_outputs: int = 0):
    return split_op(n, x, axis, const_ints(n, sizes, "split"), num_outputs)
