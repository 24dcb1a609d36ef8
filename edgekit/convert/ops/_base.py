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
          float_only: bool = True) -> None:
    """Register an elementwise one-input op: output keeps the input's layout (no transpose ever)."""

    @lowering(onnx_op, since=since)
    def lower_unary(n: NodeCtx, x: Value):
        if float_only:
            check_dtypes(n, [x], FLOAT)
        t, perm = n.get_as_is(x)
        return n.op(tflite_op, [t], n.out(0, perm, shape=x.shape, dtype=t.dtype), opts() if opts else None)


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


# Non-quantized dtypes the float/int kernels of TFLite accept (tensorflow/lite/kernels/add.cc, mul.cc,
# sub.cc): int8/uint8/int16 there mean QUANTIZED tensors and the interpreter aborts without scales.
FLOAT_INT = (np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.int64))
FLOAT = (np.dtype(np.float32),)


def check_dtypes(n: NodeCtx, inputs, allowed=FLOAT) -> None:
    """Raise UnsupportedOpError when an input's dtype has no (non-quantized) TFLite kernel."""
    for v in inputs:
        if v is not None and np.dtype(v.dtype) not in allowed:
            raise n.unsupported(f"input {v.name} has dtype {np.dtype(v.dtype)} "
                                f"(supported: {', '.join(d.name for d in allowed)})")


def binary(onnx_op: str, tflite_op: str, since: int = 1, opts: Optional[Callable[[], object]] = None,
           dtypes=FLOAT_INT) -> None:
    """Register a broadcasting two-input elementwise op (Add, Sub, Mul, Div, Pow, ...)."""

    @lowering(onnx_op, since=since)
    def lower_binary(n: NodeCtx, a: Value, b: Value):
        check_dtypes(n, [a, b], dtypes)
        return binary_op(n, tflite_op, [a, b], opts() if opts else None)


def binary_op(n: NodeCtx, tflite_op: str, inputs: list[Value], options_obj=None) -> TTensor:
    rank = max(v.rank for v in inputs)
    perm = common_layout(inputs, rank)
    dtype = next((v.dtype for v in inputs if not v.is_const), inputs[0].dtype)
    ts = [broadcast_operand(n, v, rank, perm, dtype) for v in inputs]
    shape = np.broadcast_shapes(*(tuple(v.shape) for v in inputs))
    return n.op(tflite_op, ts, n.out(0, perm, shape=shape, dtype=dtype), options_obj)


def passthrough(onnx_op: str, since: int = 1, ignore: tuple[str, ...] = ()) -> None:
    """Register an op that does nothing at inference (Identity, Dropout): its output IS its input."""

    @lowering(onnx_op, since=since, ignore=ignore)
    def lower_passthrough(n: NodeCtx, x: Value, *rest):
        if len([o for o in n.node.outputs if o]) > 1:
            raise n.unsupported("a second output (Dropout's mask) is used")
        t, _ = n.get_as_is(x)
        return t
