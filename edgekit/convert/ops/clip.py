"""Clip -> RELU / RELU6 / RELU_N1_TO_1 when the bounds are (0, inf), (0, 6), (-1, 1) (so they fuse
into the producing conv), else MAXIMUM and/or MINIMUM with scalar constants."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import FLOAT, check_dtypes

_NAMED = {(0.0, np.inf): "RELU", (0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1"}


def clip_op(n: NodeCtx, x: Value, lo: float, hi: float):
    check_dtypes(n, [x], FLOAT)
    t, perm = n.get_as_is(x)
    named = _NAMED.get((lo, hi))
    if named:
        return n.op(named, [t], n.out(0, perm, shape=x.shape))
    out = t
    if lo > -np.inf:
        nxt = n.tensor(t.shape, t.dtype) if hi < np.inf else n.out(0, perm, shape=x.shape)
        out = n.op("MAXIMUM", [out, n.const(np.array(lo, t.dtype))], nxt)
    if hi < np.inf:
        out = n.op("MINIMUM", [out, n.const(np.array(hi, t.dtype))], n.out(0, perm, shape=x.shape))
    if out is t:  # no bounds at all: the identity
        return t
    return out


@lowering("Clip", since=1)
def clip_attr(n: NodeCtx, x: Value, *, min: float = -np.inf, max: float = np.inf):
    return clip_op(n, x, float(min), float(max))


@lowering("Clip", since=11)
def clip(n: NodeCtx, x: Value, lo: Optional[Value] = None, hi: Optional[Value] = None):
    check_dtypes(n, [x, lo, hi], FLOAT)
    if (lo is not None and not lo.is_const) or (hi is not None and not hi.is_const):
        return _clip_runtime(n, x, lo, hi)
    return clip_op(n, x, float(lo.const) if lo is not None else -np.inf,
                   float(hi.const) if hi is not None else np.inf)


def _clip_runtime(n: NodeCtx, x: Value, lo: Optional[Value], hi: Optional[Value]):
    """Bounds computed at run time (scalars): MAXIMUM then MINIMUM, in x's layout."""
    t, perm = n.get_as_is(x)
    out = t
    if lo is not None:
        nxt = n.tensor(t.shape) if hi is not None else n.out(0, perm, shape=x.shape)
        out = n.op("MAXIMUM", [out, n.get(lo)], nxt)
    if hi is not None:
        out = n.op("MINIMUM", [out, n.get(hi)], n.out(0, perm, shape=x.shape))
    return out
