"""Shared bases for op families: layout-agnostic unary ops, broadcasting binary ops, and options.

Families register many ONNX ops with one call; an op file then is one line, e.g.
``unary("Relu", "RELU")``.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..context import NodeCtx, Value
from ..ir import Perm, TTensor, identity
from ..registry import lowering

# Non-quantized dtypes the float/int kernels of TFLite accept (tensorflow/lite/kernels/add.cc, mul.cc,
# sub.cc): int8/uint8/int16 there mean QUANTIZED tensors and the interpreter aborts without scales.
FLOAT_INT = (np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.int64))
FLOAT = (np.dtype(np.float32),)
I8, U8, I16, U16, I32, U32, I64 = (np.dtype(t) for t in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64"))
F16, F32 = np.dtype(np.float16), np.dtype(np.float32)
BOOL = np.dtype(np.bool_)
try:   # numpy's bfloat16 comes from ml_dtypes (an onnx dependency)
    import ml_dtypes

    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    BF16 = None


def options(name: str, **fields):
    """A builtin options object (``fb.<name>T``) with the given fields set."""
    from ai_edge_litert import schema_py_generated as fb

    opts = getattr(fb, f"{name}T")()
    for key, value in fields.items():
        if not hasattr(opts, key):
            raise AttributeError(f"{name}T has no field {key}")
        setattr(opts, key, value)
    return opts


def activation(name: str) -> int:
    """``ActivationFunctionType`` value by name (NONE, RELU, RELU6, RELU_N1_TO_1, TANH)."""
    from ai_edge_litert import schema_py_generated as fb

    return getattr(fb.ActivationFunctionType, name)


def unary(onnx_op: str, tflite_op: str, since: int = 1, opts: Optional[Callable[[], object]] = None,
          native=FLOAT) -> None:
    """Register an elementwise one-input op: output keeps the input's layout (no transpose ever).
    ``native``: the kernel's plain dtypes; others compute in their exact wider type (``work_dtype``)."""

    @lowering(onnx_op, since=since)
    def lower_unary(n: NodeCtx, x: Value):
        return unary_op(n, tflite_op, x, native, opts() if opts else None)


def unary_op(n: NodeCtx, tflite_op: str, x: Value, native=FLOAT, options_obj=None) -> TTensor:
    work = work_dtype(n, x.dtype, native, tflite_op)
    t, perm = n.get_as_is(x)
    return emit(n, tflite_op, [as_dtype(n, t, work)], n.out(0, perm, shape=x.shape, dtype=t.dtype), work,
                options_obj)


def common_layout(inputs: list[Value], rank: int) -> Perm:
    """The layout a broadcasting op works in: that of its first full-rank runtime input carried
    permuted (so an NHWC chain stays NHWC), else the ONNX layout."""
    for v in inputs:
        if v is not None and not v.is_const and v.rank == rank and v.layout != identity(rank):
            return v.layout
    return identity(rank)


def broadcast_operand(n: NodeCtx, v: Value, rank: int, perm: Perm, dtype=None) -> TTensor:
    """``v`` as an operand of an op carried in ``perm``: lower-rank operands are first given the
    full rank (numpy broadcasting aligns trailing axes), then permuted like the other operand."""
    if v.rank == rank:
        return n.get(v, perm, dtype=dtype if v.is_const else None)
    if v.is_const:
        arr = np.asarray(v.const, dtype=dtype or v.const.dtype)
        if perm == identity(rank):
            return n.const(arr, name=v.name)   # TFLite broadcasts lower ranks like numpy
        full = arr.reshape((1,) * (rank - arr.ndim) + arr.shape)
        return n.const(np.transpose(full, perm), name=v.name)
    t = n.get(v)
    if perm == identity(rank):
        return t
    full = n.reshape(t, (1,) * (rank - v.rank) + tuple(v.shape))
    return n.transpose(full, perm)



# Widen-compute-narrow (used when the TFLite kernel has no plain kernel for the operand dtype; run
# ``tools/node_tests.py`` or tests/convert/test_int_dtypes.py to see each kernel's real dtype set):
# * int8/uint8/int16/uint16 -> int32, uint32 -> int64: every value is exactly representable in the wider
#   type. Add/Sub/Mul/Neg/Sum/Prod: the narrow result is the wide one reduced modulo 2**bits (TFLite's
#   CAST to a narrower integer is a C++ static_cast, which wraps), and arithmetic modulo 2**32 (or 2**64)
#   reduced modulo 2**bits equals arithmetic modulo 2**bits, so the result is bit-exact numpy/onnxruntime
#   wrapping arithmetic even when the wide op itself overflows. Div: quotients of narrow values fit the
#   narrow type (except MIN / -1, which wraps the same way in numpy) and int32 DIV truncates toward zero
#   like ONNX (-7 / 2 = -3, checked in test_int_dtypes.py). Max/Min/comparisons: widening keeps order.
# * float16/bfloat16 -> float32: float32 holds every float16 and bfloat16 exactly and has more than
#   2 * 11 + 2 significand bits (bfloat16: 8),
#   so one float32 add/sub/mul/div/sqrt rounded to float16 is the correctly rounded float16 result (the
#   double rounding is innocuous; the same argument as for float32 computed in float64); Max/Min and
#   comparisons only select or order values.
# float64 (and uint64) have no exact wider type in TFLite: refused.
_WIDER = {I8: I32, U8: I32, I16: I32, U16: I32, U32: I64, F16: F32, BF16: F32, BOOL: I32}


def work_dtype(n: NodeCtx, dtype, native, what: str = "", widen=_WIDER) -> np.dtype:
    """The dtype an op computes in for operands of ``dtype``: ``dtype`` itself when the kernel has a
    plain (non-quantized) version for it (``native``), else its exact wider type, else refused."""
    dtype = np.dtype(dtype)
    if dtype in native:
        return dtype
    wider = widen.get(dtype)
    if wider is not None and wider in native:
        return wider
    raise n.unsupported(f"{dtype} operands{' of ' + what if what else ''} (TFLite kernel types: "
                        f"{', '.join(d.name for d in native)}; no exact wider type for {dtype})",
                        fix=_dtype_fix(native))


def _dtype_fix(native) -> str:
    kinds = ", ".join(d.name for d in native)
    return f"cast the operands to one of {kinds} in the model (e.g. a Cast node before this one)"


def as_dtype(n: NodeCtx, t: TTensor, dtype) -> TTensor:
    """``t`` as ``dtype``: itself, a converted constant, or one CAST op."""
    dtype = np.dtype(dtype)
    if t.dtype == dtype:
        return t
    if t.data is not None:
        return n.const(t.data.astype(dtype), name=t.name)
    return n.op("CAST", [t], n.tensor(t.shape, dtype))


def emit(n: NodeCtx, opcode: str, inputs, out: TTensor, work, options_obj=None) -> TTensor:
    """One op computing in ``work`` whose result lands in ``out`` (a CAST back when ``out`` is narrower)."""
    if out.dtype == np.dtype(work) or out.dtype == BOOL and opcode in _BOOL_OUT:
        return n.op(opcode, inputs, out, options_obj)
    wide = n.op(opcode, inputs, n.tensor(out.shape, work), options_obj)
    return n.op("CAST", [wide], out)


_BOOL_OUT = {"EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"}


def check_dtypes(n: NodeCtx, inputs, allowed=FLOAT) -> None:
    """Raise UnsupportedOpError when an input's dtype has no (non-quantized) TFLite kernel."""
    for v in inputs:
        if v is not None and np.dtype(v.dtype) not in allowed:
            raise n.unsupported(f"input {v.name} has dtype {np.dtype(v.dtype)} "
                                f"(supported: {', '.join(d.name for d in allowed)})", fix=_dtype_fix(allowed))


def binary(onnx_op: str, tflite_op: str, since: int = 1, opts: Optional[Callable[[], object]] = None,
           dtypes=FLOAT_INT) -> None:
    """Register a broadcasting two-input elementwise op (Add, Sub, Mul, Div, Pow, ...); ``dtypes`` are the
    kernel's plain types, other operand types are widened exactly (see ``work_dtype``) or refused."""

    @lowering(onnx_op, since=since)
    def lower_binary(n: NodeCtx, a: Value, b: Value):
        return binary_op(n, tflite_op, [a, b], opts() if opts else None, native=dtypes)


def binary_op(n: NodeCtx, tflite_op: str, inputs: list[Value], options_obj=None, native=None,
              out_dtype=None) -> TTensor:
    """``tflite_op`` over broadcast ``inputs`` in their common layout. With ``native`` (the kernel's plain
    dtypes) operands of another dtype compute in their exact wider type and the result is cast back."""
    rank = max(v.rank for v in inputs)
    perm = common_layout(inputs, rank)
    dtype = next((v.dtype for v in inputs if not v.is_const), inputs[0].dtype)
    work = work_dtype(n, dtype, native, tflite_op) if native is not None else np.dtype(dtype)
    ts = [as_dtype(n, broadcast_operand(n, v, rank, perm, work), work) for v in inputs]
    shape = np.broadcast_shapes(*(tuple(v.shape) for v in inputs))
    return emit(n, tflite_op, ts, n.out(0, perm, shape=shape, dtype=out_dtype or dtype), work, options_obj)


def passthrough(onnx_op: str, since: int = 1, ignore: tuple[str, ...] = ()) -> None:
    """Register an op that does nothing at inference (Identity, Dropout): its output IS its input."""

    @lowering(onnx_op, since=since, ignore=ignore)
    def lower_passthrough(n: NodeCtx, x: Value, *rest):
        if len([o for o in n.node.outputs if o]) > 1:
            raise n.unsupported("a second output (Dropout's mask) is used")
        t, _ = n.get_as_is(x)
        return t
