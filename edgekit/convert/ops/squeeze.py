"""Squeeze -> a layout-aware RESHAPE (``n.reshape_value``): removing size-1 axes never needs a
TRANSPOSE. Axes from the attribute (opset < 13) or the input (>= 13); none = all size-1 axes."""
from __future__ import annotations

from typing import Optional

from ..context import NodeCtx, Value
from ..registry import lowering
from ._axes import const_ints, norm_axes


def squeeze_op(n: NodeCtx, x: Value, axes):
    axes = norm_axes(axes, x.rank) if axes else tuple(a for a, d in enumerate(x.shape) if d == 1)
    if any(x.shape[a] != 1 for a in axes):
        raise n.unsupported(f"squeezing axes {axes} of shape {x.shape} (not all of size 1)")
    return n.reshape_value(x, [d for a, d in enumerate(x.shape) if a not in axes])


@lowering("Squeeze", since=1)
def squeeze_attr(n: NodeCtx, x: Value, *, axes: tuple = ()):
    return squeeze_op(n, x, axes)


@lowering("Squeeze", since=13)
def squeeze(n: NodeCtx, x: Value, axes: Optional[Value] = None):
    return squeeze_op(n, x, const_ints(n, axes, "axes"))
