"""Pad, on the physical tensor (pads permuted like the layout, output keeps it):

* constant -> PAD (value 0) or PADV2 (any other constant value);
* reflect -> MIRROR_PAD(REFLECT) (same definition: the edge element is not repeated);
* edge / wrap -> one GATHER per padded axis with constant clamped / modular indices (TFLite has no
  edge-mode pad; a gather with precomputed indices is exact).
Negative pads (cropping) are not supported.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..context import NodeCtx, Value
from ..ir import shape_of
from ..registry import lowering
from ._axes import const_ints
from ._base import options


def pad_op(n: NodeCtx, x: Value, pads, mode: str, value: float = 0.0, axes=None):
    axes = tuple(a % x.rank for a in axes) if axes else tuple(range(x.rank))
    begins, ends = [0] * x.rank, [0] * x.rank
    for i, a in enumerate(axes):
        begins[a], ends[a] = pads[i], pads[i + len(axes)]
    if min(begins + ends) < 0:
        raise n.unsupported("negative pads (cropping)")
    t, perm = n.get_as_is(x)
    shape = [d + b + e for d, b, e in zip(x.shape, begins, ends)]
    if not any(begins + ends):
        return t
    paddings = n.const(np.array([[begins[a], ends[a]] for a in perm], np.int32))
    out = n.out(0, perm, shape=shape, dtype=t.dtype)
    if mode == "constant":
        if value == 0:
            return n.op("PAD", [t, paddings], out)
        return n.op("PADV2", [t, paddings, n.const(np.array([value], t.dtype))], out)
    if mode == "reflect":
        if any(b >= d or e >= d for b, e, d in zip(begins, ends, x.shape)):
            raise n.unsupported("reflect pads as large as the axis")
        from ai_edge_litert import schema_py_generated as fb

        return n.op("MIRROR_PAD", [t, paddings], out, options("MirrorPadOptions", mode=fb.MirrorPadMode.REFLECT))
    if mode not in ("edge", "wrap"):
        raise n.unsupported(f"mode {mode!r}")
    cur, cur_shape = t, list(x.shape)
    padded = [a for a in range(x.rank) if begins[a] or ends[a]]
    for k, a in enumerate(padded):
        pos = np.arange(-begins[a], x.shape[a] + ends[a])
        idx = np.clip(pos, 0, x.shape[a] - 1) if mode == "edge" else pos % x.shape[a]
        cur_shape[a] = len(pos)
        dst = out if k == len(padded) - 1 else n.tensor(shape_of(perm, cur_shape), t.dtype)
        cur = n.op("GATHER", [cur, n.const(idx.astype(np.int32))], dst, options("GatherOptions", axis=perm.index(a)))
    return cur


@lowering("Pad", since=1)
def pad_attr(n: NodeCtx, x: Value, *, pads: tuple = (), paddings: tuple = (), mode: str = "constant",
             value: float = 0.0):
    return pad_op(n, x, pads or paddings, mode, value)


@lowering("Pad", since=11)
def pad(n: NodeCtx, x: Value, pads: Value, value: Optional[Value] = None, axes: Optional[Value] = None, *,
        mode: str = "constant"):
    if value is not None and not value.is_const:
        raise n.unsupported("a constant_value computed at run time")
    v = float(np.asarray(value.const).reshape(-1)[0]) if value is not None and value.const.size else 0.0
    return pad_op(n, x, const_ints(n, pads, "pads"), mode, v, const_ints(n, axes, "axes"))
