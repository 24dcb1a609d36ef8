"""Reduce* family -> MEAN / REDUCE_MAX / REDUCE_MIN / SUM / REDUCE_PROD on the physical axes
(remapped through the layout). keepdims=1 keeps the input's layout; keepdims=0 drops the reduced
axes from it. Axes come from the attribute (before opset 18, ReduceSum before 13) or the input."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._axes import const_ints, drop_axes, norm_axes, physical
from ._base import options


def reduce_op(n: NodeCtx, x: Value, opcode: str, axes, keepdims: int, noop_with_empty_axes: int = 0):
    if not axes:
        if noop_with_empty_axes:
            return n.get_as_is(x)[0]
        axes = range(x.rank)
    axes = norm_axes(axes, x.rank)
    t, perm = n.get_as_is(x)
    if t.dtype == np.bool_:   # TFLite's max/min kernels have no bool version: any/all are the same thing
        opcode = {"REDUCE_MAX": "REDUCE_ANY", "REDUCE_MIN": "REDUCE_ALL"}.get(opcode)
        if opcode is None:
            raise n.unsupported("a bool input")
    if keepdims:
        shape, out_perm = [1 if a in axes else d for a, d in enumerate(x.shape)], perm
    else:
        shape, out_perm = [d for a, d in enumerate(x.shape) if a not in axes], drop_axes(perm, axes)
    out = n.out(0, out_perm, shape=shape, dtype=t.dtype)
    return n.op(opcode, [t, n.const_i32(physical(axes, perm))], out, options("ReducerOptions", keepDims=bool(keepdims)))


def reduce(onnx_op: str, opcode: str, input_since: int) -> None:
    """Register ``onnx_op`` with axes as an attribute (opset < input_since) and as an input."""

    @lowering(onnx_op, since=1)
    def reduce_attr(n: NodeCtx, x: Value, *, axes: tuple = (), keepdims: int = 1):
        return reduce_op(n, x, opcode, axes, keepdims)

    @lowering(onnx_op, since=input_since)
    def reduce_input(n: NodeCtx, x: Value, axes: Optional[Value] = None, *, keepdims: int = 1,
                     noop_with_empty_axes: int = 0):
        return reduce_op(n, x, opcode, const_ints(n, axes, "axes"), keepdims, noop_with_empty_axes)
