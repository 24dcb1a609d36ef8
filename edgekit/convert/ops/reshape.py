"""Reshape -> RESHAPE with a constant target shape (0 copies the input dim unless allowzero, -1 is
inferred), in ONNX element order (see ``NodeCtx.get_flat``)."""
from __future__ import annotations

import math

from ..context import NodeCtx, Value
from ..registry import lowering


def target_shape(n: NodeCtx, in_shape, spec, allowzero: int = 0) -> tuple[int, ...]:
    out = [in_shape[i] if (d == 0 and not allowzero) else int(d) for i, d in enumerate(spec)]
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        out[out.index(-1)] = math.prod(in_shape) // known if known else 0
    if math.prod(out) != math.prod(in_shape):
        raise n.unsupported(f"cannot reshape {tuple(in_shape)} to {tuple(spec)}")
    return tuple(out)


@lowering("Reshape", since=1)
def reshape_v1(n: NodeCtx, x: Value, *, shape: tuple = (), consumed_inputs: tuple = ()):
    out = target_shape(n, x.shape, shape)
    return n.reshape_value(x, out)


@lowering("Reshape", since=5)
def reshape(n: NodeCtx, x: Value, shape: Value, *, allowzero: int = 0):
    if not shape.is_const:
        raise n.unsupported("a shape computed at run time (it did not fold to a constant)")
    out = target_shape(n, x.shape, [int(d) for d in shape.const], allowzero)
    return n.reshape_value(x, out)
