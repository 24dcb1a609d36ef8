"""Variadic broadcasting ops (Min, Max, Sum) as a chain of one binary TFLite op.

``native`` are the kernel's plain dtypes; other operand dtypes compute in their exact wider type
(``_base.work_dtype``) and the result is cast back once at the end: MAXIMUM/MINIMUM select one of their
operands, so the wide chain's result is an operand value and the narrowing CAST is exact; for a chain of
ADD the wrap-around argument of ``work_dtype`` applies to the whole sum."""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import as_dtype, broadcast_operand, common_layout, emit, work_dtype


def variadic(onnx_op: str, tflite_op: str, native, options=None, since: int = 1) -> None:
    @lowering(onnx_op, since=since)
    def lower_variadic(n: NodeCtx, *xs: Value):
        return variadic_op(n, tflite_op, xs, native, options)


def variadic_op(n: NodeCtx, tflite_op: str, xs, native, options=None):
    dtype = next((v.dtype for v in xs if not v.is_const), xs[0].dtype)
    work = work_dtype(n, dtype, native, tflite_op)
    if len(xs) == 1:
        return n.get_as_is(xs[0])[0]
    rank = max(v.rank for v in xs)
    perm = common_layout(list(xs), rank)
    ts = [as_dtype(n, broadcast_operand(n, v, rank, perm, work), work) for v in xs]
    final = np.broadcast_shapes(*(tuple(v.shape) for v in xs))
    acc = ts[0]
    for i, t in enumerate(ts[1:], start=2):
        opts = options() if options else None
        if i == len(ts):
            return emit(n, tflite_op, [acc, t], n.out(0, perm, shape=final, dtype=dtype), work, opts)
        acc = n.op(tflite_op, [acc, t], n.tensor(np.broadcast_shapes(acc.shape, t.shape), work), opts)
    return acc
