"""Pow.

Float base with a constant scalar exponent -> the cheapest exact op: 2 -> MUL(x, x), 0.5 -> SQRT,
1 -> nothing, -1 -> DIV(1, x), -0.5 -> RSQRT; any other exponent (or a runtime/tensor one) -> POW with
broadcasting (float32 kernel; float16 computes in float32, an integer exponent is cast to float32).

Integer base (ONNX: integer power, wrapping like numpy): the exponent must be a constant of
non-negative whole numbers (a float exponent such as 2.0 counts). int8/uint8/int16/uint16/int32 compute in
int32 with TFLite's int32 POW (repeated multiplication modulo 2**32; reduced to the narrow type by the
CAST back, which is the narrow type's wrapping power: see ``_base.work_dtype``). int64/uint32 have no POW
kernel: x**e is built by square-and-multiply over the exponent's bits, MUL in int64 (exact modulo 2**64,
as numpy's int64 power). A negative or fractional exponent of an integer base is refused."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import F32, I32, I64, as_dtype, binary_op, broadcast_operand, common_layout, emit, options, work_dtype


@lowering("Pow", since=1)
def pow_(n: NodeCtx, x: Value, y: Value):
    if np.dtype(x.dtype).kind in "iu":
        return _int_pow(n, x, y)
    if y.is_const and y.const.size == 1 and not x.is_const and np.dtype(x.dtype) == F32:
        e = float(np.asarray(y.const).reshape(-1)[0])
        t, perm = n.get_as_is(x)
        shape = np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
        if tuple(shape) == tuple(x.shape) and e in (1.0, 2.0, 0.5, -1.0, -0.5):
            if e == 1.0:
                return t
            out = n.out(0, perm, shape=shape, dtype=t.dtype)
            if e == 2.0:
                return n.op("MUL", [t, t], out, options("MulOptions"))
            if e == -1.0:
                return n.op("DIV", [n.const(np.array(1.0, t.dtype)), t], out, options("DivOptions"))
            return n.op("SQRT" if e == 0.5 else "RSQRT", [t], out)
    return binary_op(n, "POW", [x, y], native=(F32,))


def _int_pow(n: NodeCtx, x: Value, y: Value):
    if not y.is_const:
        raise n.unsupported(f"an integer base ({x.dtype}) with a runtime exponent",
                            fix="make the exponent a constant, or compute the power in float32")
    e = np.asarray(y.const)
    if not np.all(np.isfinite(e)) or np.any(e < 0) or np.any(e != np.round(e)):
        raise n.unsupported(f"an integer base ({x.dtype}) with a negative or fractional exponent",
                            fix="compute the power in float32 (Cast the base to float)")
    work = work_dtype(n, x.dtype, (I32, I64), "Pow")
    rank = max(x.rank, y.rank)
    perm = common_layout([x, y], rank)
    shape = np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
    out = n.out(0, perm, shape=shape, dtype=x.dtype)
    base = as_dtype(n, broadcast_operand(n, x, rank, perm, work), work)
    exp = Value(y.name, y.shape, np.dtype(work), e.astype(work), y.layout)
    if work == I32:
        return emit(n, "POW", [base, broadcast_operand(n, exp, rank, perm, work)], out, work)
    return emit(n, "MUL", _square_multiply(n, base, broadcast_operand(n, exp, rank, perm, work)), out, work)


def _square_multiply(n: NodeCtx, base, exp):
    """Two factors whose product is base ** exp (int64, ``exp`` a constant tensor): over the bits k of
    the exponents, result *= (base ** 2**k if bit k else 1) = base ** 2**k * bit + (1 - bit)."""
    e = exp.data
    acc, power = n.const(np.ones((1,) * e.ndim, e.dtype)), base
    for k in range(max(1, int(e.max()).bit_length())):
        bit = (e >> k) & 1
        if k:
            power = n.op("MUL", [power, power], n.tensor(power.shape, power.dtype), options("MulOptions"))
        if not bit.any():
            continue
        if bit.all():
            factor = power
        else:
            masked = n.op("MUL", [power, n.const(bit)], n.tensor(np.broadcast_shapes(power.shape, bit.shape), power.dtype),
                          options("MulOptions"))
            factor = n.op("ADD", [masked, n.const(1 - bit)], n.tensor(masked.shape, power.dtype), options("AddOptions"))
        if acc.data is not None and np.all(acc.data == 1):
            acc = factor
        else:
            acc = n.op("MUL", [acc, factor], n.tensor(np.broadcast_shapes(acc.shape, factor.shape), power.dtype),
                       options("MulOptions"))
    return [acc, n.const(np.ones((1,) * e.ndim, e.dtype))]
