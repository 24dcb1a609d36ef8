"""Variadic broadcasting ops (Min, Max, Mean...) as a chain of one binary TFLite op."""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import broadcast_operand, common_layout


def variadic(onnx_op: str, tflite_op: str) -> None:
    @lowering(onnx_op, since=1)
    def lower_variadic(n: NodeCtx, *xs: Value):
        if len(xs) == 1:
            return n.get_as_is(xs[0])[0]
        rank = max(v.rank for v in xs)
        perm = common_layout(list(xs), rank)
        dtype = next((v.dtype for v in xs if not v.is_const), xs[0].dtype)
        ts = [broadcast_operand(n, v, rank, perm, dtype) for v in xs]
        final = np.broadcast_shapes(*(tuple(v.shape) for v in xs))
        acc = ts[0]
        for i, t in enumerate(ts[1:], start=2):
            last = i == len(ts)
            step = np.broadcast_shapes(acc.shape, t.shape)
            out = n.out(0, perm, shape=final, dtype=dtype) if last else n.tensor(step, dtype)
            acc = n.op(tflite_op, [acc, t], out)
        return acc
