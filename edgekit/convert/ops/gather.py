"""Gather -> GATHER.

* constant indices (a slice by index, ``x[:, 0]``): negative indices are normalised at conversion
  time and the gather runs on the physical axis, so the input's layout is kept;
* runtime indices into a constant table (embeddings): GATHER of the table (int32/int64 ids, as
  TFLite's kernel accepts). Negative runtime ids are not supported by TFLite's kernel (it bounds-
  checks), which matches what exporters produce (token ids are >= 0).
"""
import numpy as np

from ..context import NodeCtx, Value
from ..ir import identity, permute_axis
from ..registry import lowering
from ._axes import drop_axes
from ._base import options


@lowering("Gather", since=1)
def gather(n: NodeCtx, x: Value, indices: Value, *, axis: int = 0):
    axis %= x.rank
    shape = (*x.shape[:axis], *indices.shape, *x.shape[axis + 1:])
    if indices.is_const:
        idx = np.asarray(indices.const).astype(np.int64)
        idx = np.where(idx < 0, idx + x.shape[axis], idx).astype(np.int32)
        t, perm = n.get_as_is(x)
        if idx.ndim > 1:
            t, perm = n.get(x), identity(x.rank)
        out_perm = drop_axes(perm, [axis]) if idx.ndim == 0 else (
            perm if idx.ndim == 1 else identity(len(shape)))
        opts = options("GatherOptions", axis=permute_axis(axis, perm))
        out = n.out(0, out_perm, shape=shape, dtype=t.dtype)
        return n.op("GATHER", [t, n.const(idx, name=f"{n.name}/indices")], out, opts)
    ids = n.get(indices)
    if ids.dtype not in (np.int32, np.int64):
        raise n.unsupported(f"{ids.dtype} indices")
    return n.op("GATHER", [n.get(x), ids], n.out(0, shape=shape), options("GatherOptions", axis=axis))
