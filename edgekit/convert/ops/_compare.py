"""Broadcasting comparisons and logic (Equal, Less, ..., And, Or) -> the TFLite op of the same
meaning, bool output, in the common layout of the operands (like ``_base.binary``).

TFLite's comparison kernels are plain for float32/int32/int64 (and bool for EQUAL/NOT_EQUAL); their
int8/uint8 versions are quantized (they abort the interpreter without scales) and int16 NOT_EQUAL gives
wrong answers, so narrow integers and uint32 compare in int32/int64 and bool orders as int32 (False <
True): widening preserves equality and order, so the comparison is exact (``_base.work_dtype``)."""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import BOOL, F32, I32, I64, binary_op

_ORDERED = (F32, I32, I64)
_EQUALITY = (F32, I32, I64, BOOL)
_LOGIC = (BOOL,)


def compare(onnx_op: str, tflite_op: str, since: int = 1) -> None:
    native = _LOGIC if tflite_op.startswith("LOGICAL") else _EQUALITY if tflite_op in ("EQUAL", "NOT_EQUAL") else _ORDERED

    @lowering(onnx_op, since=since)
    def lower_compare(n: NodeCtx, a: Value, b: Value):
        kind = next((v.dtype for v in (a, b) if not v.is_const), a.dtype)
        if np.dtype(kind).kind in "OSU":   # string tensors: TFLite's EQUAL has a string kernel, edgekit does not
            raise n.unsupported("string operands (edgekit's TFLite models hold numeric and bool tensors)",
                                fix="compare the strings before the model (e.g. map them to integer ids)")
        return binary_op(n, tflite_op, [a, b], native=native, out_dtype=np.bool_)
