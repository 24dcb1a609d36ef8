"""Broadcasting comparisons and logic (Equal, Less, ..., And, Or) -> the TFLite op of the same
meaning, bool output, in the common layout of the operands (like ``_base.binary``)."""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import broadcast_operand, common_layout


# operand types the TFLite comparison kernels implement (comparisons.cc; int8/uint8 tensors are quantized types there)
_TYPES = {"float32", "int32", "int64", "bool"}


def compare(onnx_op: str, tflite_op: str, since: int = 1) -> None:
    @lowering(onnx_op, since=since)
    def lower_compare(n: NodeCtx, a: Value, b: Value):
        rank = max(a.rank, b.rank)
        perm = common_layout([a, b], rank)
        dtype = next((v.dtype for v in (a, b) if not v.is_const), a.dtype)
        if np.dtype(dtype).name not in _TYPES:   # e.g. int16 EQUAL aborts the LiteRT process
            raise n.unsupported(f"{np.dtype(dtype)} operands (supported: {', '.join(sorted(_TYPES))})")
        ts = [broadcast_operand(n, v, rank, perm, dtype) for v in (a, b)]
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
        return n.op(tflite_op, ts, n.out(0, perm, shape=shape, dtype=np.bool_))
