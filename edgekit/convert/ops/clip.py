"""Clip -> RELU / RELU6 / RELU_N1_TO_1 when the bounds are (0, inf), (0, 6), (-1, 1) on float32 (so they
fuse into the producing conv), else MAXIMUM and/or MINIMUM with the bounds.

Integer inputs use MAXIMUM/MINIMUM, which TFLite implements plainly for int8, uint8, int16, int32 and
int64 (no scales); uint16/uint32 clip in int32/int64 and float16 in float32 (exact: a clip selects a
value or a bound, and the bound is of the input's type). A missing bound is no op."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import F32, as_dtype, emit, work_dtype
from .max import MINMAX_TYPES

_NAMED = {(0.0, np.inf): "RELU", (0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1"}


def clip_op(n: NodeCtx, x: Value, lo: object = None, hi: object = None):
    """Clip ``x`` between ``lo`` and ``hi``: python numbers (constants) or runtime ``Value``s; None = no bound."""
    work = work_dtype(n, x.dtype, MINMAX_TYPES, "Clip")
    t, perm = n.get_as_is(x)
    out_dtype = t.dtype
    consts = all(b is None or not isinstance(b, Value) for b in (lo, hi))
    if consts and work == F32 and out_dtype == F32:
        named = _NAMED.get((-np.inf if lo is None else float(lo), np.inf if hi is None else float(hi)))
        if named:
            return n.op(named, [t], n.out(0, perm, shape=x.shape))
    bounds = [(op, b) for op, b in (("MAXIMUM", lo), ("MINIMUM", hi)) if b is not None]
    if not bounds:
        return t
    acc = as_dtype(n, t, work)
    for i, (opcode, b) in enumerate(bounds):
        bt = as_dtype(n, n.get(b), work) if isinstance(b, Value) else n.const(np.array(b, dtype=out_dtype).astype(work))
        if i == len(bounds) - 1:
            return emit(n, opcode, [acc, bt], n.out(0, perm, shape=x.shape, dtype=out_dtype), work)
        acc = n.op(opcode, [acc, bt], n.tensor(acc.shape, work))



@lowering("Clip", since=1)
def clip_attr(n: NodeCtx, x: Value, *, min: float = -np.inf, max: float = np.inf):
    return clip_op(n, x, None if min == -np.inf else float(min), None if max == np.inf else float(max))


@lowering("Clip", since=11)
def clip(n: NodeCtx, x: Value, lo: Optional[Value] = None, hi: Optional[Value] = None):
    def bound(b: Optional[Value]):
        if b is None or not b.is_const:
            return b
        return np.asarray(b.const).reshape(-1)[0].item()
    return clip_op(n, x, bound(lo), bound(hi))
