"""Slice -> SLICE (all steps 1) or STRIDED_SLICE, on the physical tensor (axes remapped, the output
keeps the input's layout). starts/ends/axes/steps must be constants; they are clamped like ONNX
(python slicing semantics), so negative indices and INT_MAX ends need no runtime work."""
from __future__ import annotations

from typing import Optional

from ..context import NodeCtx, Value
from ..ir import shape_of
from ..registry import lowering
from ._axes import const_ints
from ._base import options


def slice_op(n: NodeCtx, x: Value, starts, ends, axes, steps):
    axes = tuple(range(len(starts))) if axes is None else axes
    steps = (1,) * len(starts) if steps is None else steps
    begin, end, stride = [0] * x.rank, list(x.shape), [1] * x.rank
    end_mask, shape = 0, list(x.shape)
    for s, e, a, st in zip(starts, ends, axes, steps):
        a %= x.rank
        if st == 0:
            raise n.unsupported("a step of 0")
        b, e2, st2 = slice(s, e, st).indices(x.shape[a])   # ONNX clamps exactly like python slices
        begin[a], end[a], stride[a] = b, e2, st2
        shape[a] = len(range(b, e2, st2))
        if e2 < 0:           # negative step running to the start: "-1" would mean the last element
            end_mask |= 1 << a
    if 0 in shape:
        raise n.unsupported(f"an empty result {tuple(shape)} (TFLite has no zero-size tensors)")
    t, perm = n.get_as_is(x)
    out = n.out(0, perm, shape=shape, dtype=t.dtype)
    pb, pe, ps = shape_of(perm, begin), shape_of(perm, end), shape_of(perm, stride)
    if all(s == 1 for s in stride):
        return n.op("SLICE", [t, n.const_i32(pb), n.const_i32(shape_of(perm, shape))], out)
    mask = sum(1 << perm.index(a) for a in range(x.rank) if end_mask >> a & 1)
    return n.op("STRIDED_SLICE", [t, n.const_i32(pb), n.const_i32(pe), n.const_i32(ps)], out,
                options("StridedSliceOptions", endMask=mask))


@lowering("Slice", since=1)
def slice_attr(n: NodeCtx, x: Value, *, starts: tuple = (), ends: tuple = (), axes: tuple = ()):
    return slice_op(n, x, starts, ends, axes or None, None)


@lowering("Slice", since=10)
def slice_(n: NodeCtx, x: Value, starts: Value, ends: Value, axes: Optional[Value] = None,
           steps: Optional[Value] = None):
    return slice_op(n, x, const_ints(n, starts, "starts"), const_ints(n, ends, "ends"),
                    const_ints(n, axes, "axes"), const_ints(n, steps, "steps"))
