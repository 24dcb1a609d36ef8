"""Reduce* family -> MEAN / REDUCE_MAX / REDUCE_MIN / SUM / REDUCE_PROD on the physical axes
(remapped through the layout). keepdims=1 keeps the input's layout; keepdims=0 drops the reduced
axes from it. Axes come from the attribute (before opset 18, ReduceSum before 13) or the input.

Composite reductions (ReduceL1/L2/SumSquare/LogSum/LogSumExp) are an elementwise op before and/or after
one of these (``pre``/``post``), as in their ONNX function bodies.

Dtypes: SUM/MEAN/REDUCE_PROD have plain float32/int32/int64 kernels, REDUCE_MAX/MIN also int8/uint8/
int16 (their int8/int16 SUM/MEAN are quantized kernels and return garbage without scales). Narrow
integers reduce in int32 and are cast back: a sum or product modulo 2**32 reduced to the narrow type is
the narrow type's wrapping result (``_base.work_dtype``); an integer MEAN is the int32 sum divided by the
count with truncation, which is numpy's mean cast back to the integer type. float16 reduces in float32
(rounded once, at the end). bool max/min are REDUCE_ANY/ALL."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._axes import const_ints, drop_axes, norm_axes, physical
from ._base import BOOL, F32, FLOAT_INT, I8, I16, I32, I64, U8, as_dtype, options, work_dtype

NATIVE = {"SUM": FLOAT_INT, "MEAN": FLOAT_INT, "REDUCE_PROD": FLOAT_INT,
          "REDUCE_MAX": (F32, I8, U8, I16, I32, I64), "REDUCE_MIN": (F32, I8, U8, I16, I32, I64)}


def reduce_op(n: NodeCtx, x: Value, opcode: str, axes, keepdims: int, noop_with_empty_axes: int = 0,
              pre=(), post=(), native=None):
    """``post(REDUCE(pre(x)))``: ``pre``/``post`` are callables ``(n, tensor) -> tensor`` in the
    compute dtype (elementwise, so layouts are unaffected)."""
    t, perm = n.get_as_is(x)
    if t.dtype == BOOL and opcode in ("REDUCE_MAX", "REDUCE_MIN"):  # any/all: TFLite's max/min have no bool kernel
        opcode, work = {"REDUCE_MAX": "REDUCE_ANY", "REDUCE_MIN": "REDUCE_ALL"}[opcode], BOOL
    else:
        work = work_dtype(n, t.dtype, native or NATIVE[opcode], n.op_type)
    reduce_now = bool(axes) or not noop_with_empty_axes
    axes = norm_axes(axes if axes else range(x.rank), x.rank)
    if not reduce_now:
        shape, out_perm = list(x.shape), perm
    elif keepdims:
        shape, out_perm = [1 if a in axes else d for a, d in enumerate(x.shape)], perm
    else:
        shape, out_perm = [d for a, d in enumerate(x.shape) if a not in axes], drop_axes(perm, axes)
    out = n.out(0, out_perm, shape=shape, dtype=t.dtype)
    if not reduce_now and not pre and not post:
        return t
    steps = [*(("pre", f) for f in pre), *([("reduce", None)] if reduce_now else []), *(("post", f) for f in post)]
    cur = as_dtype(n, t, work)
    for i, (kind, f) in enumerate(steps):
        last = i == len(steps) - 1
        target = out if last and out.dtype == work else None
        if kind == "reduce":
            pax = physical(axes, perm)
            dst = target or n.tensor([1 if a in pax else d for a, d in enumerate(cur.shape)] if keepdims else
                                     [d for a, d in enumerate(cur.shape) if a not in pax], work)
            cur = n.op(opcode, [cur, n.const_i32(pax)], dst,
                       options("ReducerOptions", keepDims=bool(keepdims)))
        else:
            cur = f(n, cur, target)
    if cur is not out:
        cur = n.op("CAST", [cur], out)
    return cur


def elementwise(opcode: str, square: bool = False):
    """A ``pre``/``post`` step: ``opcode(t)`` (or ``opcode(t, t)`` when ``square``) into ``dst``."""
    def step(n: NodeCtx, t, dst=None):
        dst = dst or n.tensor(t.shape, t.dtype)
        return n.op(opcode, [t, t] if square else [t], dst, options("MulOptions") if square else None)
    return step


def reduce(onnx_op: str, opcode: str, input_since: int, pre=(), post=(), native=None) -> None:
    """Register ``onnx_op`` with axes as an attribute (opset < input_since) and as an input."""

    @lowering(onnx_op, since=1)
    def reduce_attr(n: NodeCtx, x: Value, *, axes: tuple = (), keepdims: int = 1):
        return reduce_op(n, x, opcode, axes, keepdims, pre=pre, post=post, native=native)

    @lowering(onnx_op, since=input_since)
    def reduce_input(n: NodeCtx, x: Value, axes: Optional[Value] = None, *, keepdims: int = 1,
                     noop_with_empty_axes: int = 0):
        return reduce_op(n, x, opcode, const_ints(n, axes, "axes"), keepdims, noop_with_empty_axes,
                         pre=pre, post=post, native=native)
