"""Softmax -> SOFTMAX (beta 1) over the last PHYSICAL axis.

Opset >= 13: one axis; the input is read in its current layout with that axis moved last (no
TRANSPOSE when it already is, e.g. attention scores). Opset < 13: the input is coerced to 2-D
[prod(shape[:axis]), prod(shape[axis:])] (ONNX semantics), i.e. a RESHAPE around the SOFTMAX.
LogSoftmax (``log_softmax.py``) shares this with LOG_SOFTMAX.
"""
from __future__ import annotations

import math

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import options


def _opts(opcode: str):
    return options("SoftmaxOptions", beta=1.0) if opcode == "SOFTMAX" else options("LogSoftmaxOptions")


def softmax_axis(n: NodeCtx, x: Value, axis: int, opcode: str):
    axis %= x.rank
    t, perm = n.get_as_is(x)
    if perm[-1] != axis:
        perm = tuple(a for a in perm if a != axis) + (axis,)
        t = n.get(x, perm)
    return n.op(opcode, [t], n.out(0, perm, shape=x.shape, dtype=t.dtype), _opts(opcode))


def softmax_2d(n: NodeCtx, x: Value, axis: int, opcode: str):
    axis %= x.rank
    if axis == x.rank - 1:
        return softmax_axis(n, x, axis, opcode)
    rows = math.prod(x.shape[:axis])
    flat = n.reshape(n.get_flat(x), (rows, math.prod(x.shape) // rows))
    y = n.op(opcode, [flat], n.tensor(flat.shape, flat.dtype), _opts(opcode))
    return n.reshape(y, x.shape, out=n.out(0, shape=x.shape, dtype=flat.dtype))


@lowering("Softmax", since=1)
def softmax_v1(n: NodeCtx, x: Value, *, axis: int = 1):
    return softmax_2d(n, x, axis, "SOFTMAX")


@lowering("Softmax", since=13)
def softmax(n: NodeCtx, x: Value, *, axis: int = -1):
    return softmax_axis(n, x, axis, "SOFTMAX")
