"""Mod -> FLOOR_MOD (broadcasting, in the operands' common layout).

``fmod=0`` (integers; the result takes the divisor's sign, numpy's ``mod``) is exactly TFLite's
FLOOR_MOD, a plain kernel for int8, int16, int32, int64 and float32; uint8/uint16 compute in int32 and
uint32 in int64 (non-negative values: every form of remainder agrees, and it fits the narrow type).
``fmod=1`` (C's fmod: the dividend's sign) is sign(a) * FLOOR_MOD(|a|, |b|): for non-negative operands
FLOOR_MOD is the truncated remainder (TFLite computes std::fmod and only adjusts when the signs differ),
std::fmod is exact in floating point, and the sign is applied with a SELECT, so the result is exact for
floats and integers. int8/int16 compute in int32 there (their NEG/ABS are quantized kernels); |x| of an
int64 is MAXIMUM(x, NEG(x)); float16 computes in float32."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import F32, I8, I16, I32, I64, as_dtype, binary_op, broadcast_operand, common_layout, emit, work_dtype


@lowering("Mod", since=10)
def mod(n: NodeCtx, a: Value, b: Value, *, fmod: int = 0):
    unsigned = np.dtype(a.dtype).kind == "u"
    if not fmod or unsigned:
        return binary_op(n, "FLOOR_MOD", [a, b], native=(F32, I8, I16, I32, I64))
    work = work_dtype(n, a.dtype, (F32, I32, I64), "Mod")
    rank = max(a.rank, b.rank)
    perm = common_layout([a, b], rank)
    ta, tb = (as_dtype(n, broadcast_operand(n, v, rank, perm, work), work) for v in (a, b))
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    phys = np.broadcast_shapes(ta.shape, tb.shape)
    m = n.op("FLOOR_MOD", [_abs(n, ta), _abs(n, tb)], n.tensor(phys, work))
    neg = n.op("NEG", [m], n.tensor(phys, work))
    below = n.op("LESS", [ta, n.const(np.zeros((), work))], n.tensor(ta.shape, np.bool_))
    return emit(n, "SELECT_V2", [below, neg, m], n.out(0, perm, shape=shape, dtype=a.dtype), work)


def _abs(n: NodeCtx, t):
    if t.data is not None:
        return n.const(np.abs(t.data))
    if t.dtype == I64:   # TFLite's ABS has no int64 kernel
        return n.op("MAXIMUM", [t, n.op("NEG", [t], n.tensor(t.shape, t.dtype))], n.tensor(t.shape, t.dtype))
    return n.op("ABS", [t], n.tensor(t.shape, t.dtype))
