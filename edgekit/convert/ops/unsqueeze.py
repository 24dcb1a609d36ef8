"""Unsqueeze -> a layout-aware RESHAPE (``n.reshape_value``): inserting size-1 axes never needs a
TRANSPOSE. Axes (relative to the OUTPUT rank) from the attribute (opset < 13) or the input (>= 13)."""
from __future__ import annotations

from ..context import NodeCtx, Value
from ..registry import lowering
from ._axes import const_ints, norm_axes


def unsqueeze_op(n: NodeCtx, x: Value, axes):
    rank = x.rank + len(axes)
    axes = norm_axes(axes, rank)
    dims = iter(x.shape)
    return n.reshape_value(x, [1 if a in axes else next(dims) for a in range(rank)])


@lowering("Unsqueeze", since=1)
def unsqueeze_attr(n: NodeCtx, x: Value, *, axes: tuple = ()):
    return unsqueeze_op(n, x, axes)


@lowering("Unsqueeze", since=13)
def unsqueeze(n: NodeCtx, x: Value, axes: Value):
    return unsqueeze_op(n, x, const_ints(n, axes, "axes"))
